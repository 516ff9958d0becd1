"""`sitekit drift` (issue 19): each deployed site's stack state against what the cloud reports, through the
engine's refresh preview (the state is not changed), every difference classified and given what to do.

Exit codes: 0 no drift; 1 drift of a class `--fail-on` names (default any; pending operations and a site whose
refresh failed count under `any`); 2 bad input (an unknown site, a site with no deployed stack, a file this
command would overwrite).
"""

from __future__ import annotations

from enum import Enum
from typing import Optional

import typer

from sitekit.cli.app import (
    AllSites,
    Force,
    Jobs,
    NoProgress,
    Output,
    Sites,
    app,
    chosen_sites,
    emit,
    err,
    fail,
    format_option,
    output_file,
    project_root,
)
from sitekit.cli.formats import DRIFT
from sitekit.drift.run import Runner
from sitekit.drift.run import drift as run_drift
from sitekit.errors import Problem, SitekitError, SpecError
from sitekit.progress import progress
from sitekit.run.batch import default_jobs
from sitekit.spec.layout import stack_file

DriftFormat = format_option(DRIFT)


class FailOn(str, Enum):
    any = "any"
    security = "security"
    capacity = "capacity"


@app.command("drift")
def drift(sites: Sites = None,
          all_sites: AllSites = False,
          format: DriftFormat = DRIFT.default,
          fail_on: FailOn = typer.Option(FailOn.any, "--fail-on", help="Exit 1 only on drift of this class "
                                         "(any: every class, pending operations and failed refreshes)."),
          output: Output = None,
          json_output: Optional[str] = typer.Option(None, "--json-output", help="Also write the drift report in "
                                                     "JSON here, whatever the format (what `sitekit fleet --drift` "
                                                     "reads)."),
          force: Force = False,
          jobs: Jobs = None,
          no_progress: NoProgress = False):
    """For each deployed site, `pulumi refresh --preview-only` against its stack in your backend: every
    difference between the state and the cloud (security, capacity, cosmetic, gone, other), with the value in
    each and what to do; the state's pending operations. Read-only: nothing is changed."""
    root = project_root()
    try:
        names = chosen_sites(root, sites, all_sites)
        output_path = output_file(output, "--output", force)  # every path before any work
        json_path = output_file(json_output, "--json-output", force)
        runner = Runner.here(root)
        with progress("refreshing", len(names), enabled=len(names) > 1 and not no_progress) as bar:
            report, missing = run_drift(runner, names, jobs or default_jobs(), fail_on.value, on_done=bar.advance)
        emit(DRIFT[format], report, output_path)
        if json_path is not None:
            emit(DRIFT["json"], report, json_path)
        if missing:
            raise SpecError([Problem(stack_file(m.split(":", 1)[0]), None, "", m.split(": ", 1)[1])
                             for m in missing])
    except SitekitError as exc:
        fail(exc)
    if any(s.fails(fail_on.value) or (fail_on is FailOn.any and s.error) for s in report.sites):
        for s in report.sites:
            if s.error:
                err.print(f"{s.site}: {s.error}", markup=False, highlight=False)
        raise typer.Exit(1)
