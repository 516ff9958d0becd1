"""`sitekit policy`: evaluate the policy pack offline against each site's plan (issue 3).

Exit codes: 0 when no mandatory rule fails (waived findings do not fail), 1 when one does, 2 on bad input
(a bad site spec, an unknown rule id in a waiver or an enforcement override, an unknown site).
"""

from __future__ import annotations

import io
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
    output_file,
    project_root,
    write_report,
)
from sitekit.errors import Problem, SitekitError, SpecError
from sitekit.progress import progress
from sitekit.run.batch import default_jobs, raise_for, run_sites
from sitekit.spec.layout import list_sites
from sitekit.spec.sources import load_json


class PolicyFormat(str, Enum):
    table = "table"
    json = "json"
    sarif = "sarif"
    markdown = "markdown"


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
        path = output_file(output, "--output", force)
        pack_config = _read_config(config) if config else None
        for name in names:
            check_site_name(root, name)
    except SitekitError as exc:
        fail(exc)
    with progress("checking", len(names), enabled=len(names) > 1 and not no_progress) as bar:
        outcomes = run_sites(root, names, "policy", jobs or default_jobs(), not no_cache, pack_config, bar.advance)
    try:
        raise_for(outcomes.values())
    except SitekitError as exc:
        fail(exc)
    results = [outcomes[name][1] for name in names]

    if format is PolicyFormat.table:
        if path is None:
            render.print_table(results, out)
            text = None
        else:
            buffer = io.StringIO()
            render.print_table(results, Console(file=buffer, width=200, soft_wrap=True, emoji=False))
            text = buffer.getvalue()
    else:
        text = {PolicyFormat.json: lambda: render.dumps(render.to_json(results)),
                PolicyFormat.sarif: lambda: render.dumps(render.to_sarif(results)),
                PolicyFormat.markdown: lambda: render.to_markdown(results)}[format]()
        if path is None:
            sys.stdout.write(text)
    if path is not None:
        try:
            write_report(path, text)
        except SitekitError as exc:
            fail(exc)
    if not all(r.passed for r in results):
        raise typer.Exit(1)
