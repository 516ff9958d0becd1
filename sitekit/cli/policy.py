"""`sitekit policy`: evaluate the policy pack offline against each site's plan (issue 3).

Exit codes: 0 when no mandatory rule fails (waived findings do not fail), 1 when one does, 2 on bad input
(a bad site spec, an unknown rule id in a waiver or an enforcement override, an unknown site). It fails closed:
a site that cannot be evaluated stops the command before any report is written (nothing that could be read as a
pass), its problems on stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sitekit.cli.app import (
    AllSites,
    Force,
    Jobs,
    NoCache,
    NoProgress,
    Output,
    Sites,
    app,
    check_site_name,
    emit,
    fail,
    format_option,
    output_file,
    project_root,
)
from sitekit.cli.formats import POLICY
from sitekit.errors import Problem, SitekitError, SpecError
from sitekit.progress import progress
from sitekit.run.batch import default_jobs, raise_for, run_sites
from sitekit.spec.layout import list_sites
from sitekit.spec.sources import load_json

PolicyFormat = format_option(POLICY)


def _read_config(path: Path) -> dict:
    """The policy-pack config, read within sitekit's bounds (a pipe, a folder, NaN or nesting past Python's
    depth are refused at the file, never a hang or a traceback)."""
    data = load_json(path, str(path), what="a policy config (JSON)")
    if not isinstance(data, dict):
        raise SpecError([Problem(str(path), None, "", "policy config maps rule ids (or \"all\") to a level or an "
                                                      'object, e.g. {"SK-DATA-004": {"enforcementLevel": "mandatory"}}')])
    return data


@app.command("policy")
def policy(sites: Sites = None,
           all_sites: AllSites = False,
           format: PolicyFormat = POLICY.default,
           output: Output = None,
           force: Force = False,
           config: Optional[Path] = typer.Option(None, "--config", help="Policy-pack config JSON, as "
                                                 "`pulumi preview --policy-pack-config` takes it."),
           jobs: Jobs = None,
           no_cache: NoCache = False,
           no_progress: NoProgress = False):
    """Evaluate every policy rule against the offline plan of each site (no cloud credentials)."""

    root = project_root()
    names = list_sites(root) if all_sites else list(sites or [])
    if not names:
        fail(SpecError([Problem("", None, "", "name at least one site, or use --all")]))
    try:
        path = output_file(output, "--output", force)
        pack_config = _read_config(config) if config else None
        for name in names:
            check_site_name(root, name)
    except SitekitError as exc:
        fail(exc)
    try:  # the cache directory may be refused (another user's): an error, never a traceback
        with progress("checking", len(names), enabled=len(names) > 1 and not no_progress) as bar:
            outcomes = run_sites(root, names, "policy", jobs or default_jobs(), not no_cache, pack_config, bar.advance)
        raise_for(outcomes.values())
    except SitekitError as exc:
        fail(exc)
    results = [outcomes[name][1] for name in names]

    try:
        emit(POLICY[format], results, path)
    except SitekitError as exc:
        fail(exc)
    if not all(r.passed for r in results):
        raise typer.Exit(1)
