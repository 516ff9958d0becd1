"""`sitekit policy`: evaluate the policy pack offline against each site's plan (issue 3).

Exit codes: 0 when no mandatory rule fails (waived findings do not fail), 1 when one does, 2 on bad input
(a bad site spec, an unknown rule id in a waiver or an enforcement override, an unknown site). It fails closed:
a site that cannot be evaluated stops the command before any report is written (nothing that could be read as a
pass), its problems on stderr.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

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
    fail,
    out,
    project_root,
    refuse_overwrite,
)
from sitekit.errors import Problem, SitekitError, SpecError
from sitekit.progress import progress
from sitekit.run.batch import default_jobs, raise_for, run_sites
from sitekit.spec.layout import list_sites


class PolicyFormat(str, Enum):
    table = "table"
    json = "json"
    sarif = "sarif"
    markdown = "markdown"


def _read_config(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SpecError([Problem(str(path), None, "", f"cannot read policy config: {exc}")]) from None
    if not isinstance(data, dict):
        raise SpecError([Problem(str(path), None, "", "policy config maps rule ids (or \"all\") to a level or an "
                                                      'object, e.g. {"SK-DATA-004": {"enforcementLevel": "mandatory"}}')])
    return data


@app.command("policy")
def policy(sites: Sites = None,
           all_sites: AllSites = False,
           format: PolicyFormat = typer.Option(PolicyFormat.table, "--format", "-f",
                                               help="table, json, sarif (SARIF 2.1.0) or markdown."),
           output: Output = None,
           force: Force = False,
           config: Optional[Path] = typer.Option(None, "--config", help="Policy-pack config JSON, as "
                                                 "`pulumi preview --policy-pack-config` takes it."),
           jobs: Jobs = None,
           no_cache: NoCache = False,
           no_progress: NoProgress = False):
    """Evaluate every policy rule against the offline plan of each site (no cloud credentials)."""
    from sitekit.policy import render  # heavy: deferred

    root = project_root()
    names = list_sites(root) if all_sites else list(sites or [])
    if not names:
        fail(SpecError([Problem("", None, "", "name at least one site, or use --all")]))
    try:
        refuse_overwrite(output, force)
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
        if format is PolicyFormat.table:
            if output:

                with output.open("w", encoding="utf-8") as fh:
                    render.print_table(results, Console(file=fh, width=200, soft_wrap=True))
            else:
                render.print_table(results, out)
        else:
            text = {PolicyFormat.json: lambda: render.dumps(render.to_json(results)),
                    PolicyFormat.sarif: lambda: render.dumps(render.to_sarif(results)),
                    PolicyFormat.markdown: lambda: render.to_markdown(results)}[format]()
            if output:
                output.write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
    except OSError as exc:
        fail(SpecError([Problem(str(output), None, "", f"cannot write the report: {exc.strerror or exc}")]))
    if not all(r.passed for r in results):
        raise typer.Exit(1)
