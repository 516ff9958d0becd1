"""`sitekit plan`, `sites` and `explain`: a site's resources, every site's summary, a site's effective spec."""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from sitekit.cli.app import (
    AllSites,
    Format,
    Jobs,
    NoCache,
    NoProgress,
    Sites,
    app,
    check_site_name,
    fail,
    out,
    project_root,
)
from sitekit.errors import Problem, SitekitError, SpecError
from sitekit.progress import progress
from sitekit.run.batch import default_jobs, raise_for, run_sites
from sitekit.run.report import plan_summary, print_plan
from sitekit.spec.explain import explain_rows
from sitekit.spec.layout import list_sites
from sitekit.spec.loader import load_site
from sitekit.spec.validate import site_power


@app.command()
def plan(sites: Sites = None,
         all_sites: AllSites = False,
         format: Format = typer.Option(Format.table, "--format", "-f", help="table for people, json for machines."),
         jobs: Jobs = None,
         no_cache: NoCache = False,
         no_progress: NoProgress = False):
    """Run each site's real Pulumi program offline (SDK mocks) and print every resource it declares; with
    several sites (or --all), one line per site, planned in one process or in --jobs workers."""

    root = project_root()
    names = list_sites(root) if all_sites else list(dict.fromkeys(sites or []))
    try:
        if not names:
            raise SpecError([Problem("", None, "", "name a site, or use --all")])
        for name in names:
            check_site_name(root, name)
        with progress("planning", len(names), enabled=len(names) > 1 and not no_progress) as bar:
            outcomes = run_sites(root, names, "plan", jobs or default_jobs(), not no_cache, on_done=bar.advance)
        raise_for(outcomes.values())
    except SitekitError as exc:
        fail(exc)
    plans = [outcomes[n][1] for n in names]
    if format is Format.json:
        data = plans[0].to_dict() if len(plans) == 1 and not all_sites else {"sites": [p.to_dict() for p in plans]}
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    elif len(plans) == 1 and not all_sites:
        print_plan(plans[0], out)
    else:
        table = Table(title=f"sitekit plan: {len(plans)} sites")
        for col in ("site", "resources", "protected", "GPUs", "IT MW", "facility MW", "envelope MW"):
            table.add_column(col, justify="left" if col == "site" else "right")
        for p in plans:
            row, o = plan_summary(p), p.outputs
            table.add_row(Text(p.site), f"{row['resources']:,}", f"{row['protected']:,}", f"{o.get('gpus', 0):,}",
                          f"{o.get('itMw', 0):.2f}", f"{o.get('facilityMw', 0):.2f}", f"{o.get('envelopeMw', 0):g}")
        out.print(table)


@app.command()
def sites(format: Format = typer.Option(Format.table, "--format", "-f")):
    """One line per site: jurisdiction, region, GPUs, IT MW, facility MW, envelope MW."""

    root = project_root()
    rows, problems = [], []
    for name in list_sites(root):
        try:
            loaded = load_site(root, name)
        except SpecError as exc:
            problems += exc.problems
            continue
        p = site_power(loaded.spec, loaded.catalog)
        s = loaded.spec.site
        rows.append({"site": name, "jurisdiction": loaded.spec.jurisdiction.code, "region": s.region,
                     "regionKind": s.region_kind, "gpus": p.gpus, "itMw": p.it_mw,
                     "facilityMw": p.facility_mw, "envelopeMw": p.envelope_mw})
    if format is Format.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        table = Table(title="sitekit sites")
        for col in ("site", "jurisdiction", "region", "GPUs", "IT MW", "facility MW", "envelope MW"):
            table.add_column(col, justify="right" if "MW" in col or col == "GPUs" else "left")
        for r in rows:
            region = r["region"] + (" (dedicated)" if r["regionKind"] == "dedicated" else "")
            table.add_row(*map(Text, (r["site"], r["jurisdiction"], region)), f"{r['gpus']:,}", f"{r['itMw']:.2f}",
                          f"{r['facilityMw']:.2f}", f"{r['envelopeMw']:g}")
        out.print(table)
    if problems:
        fail(SpecError(problems))


@app.command()
def explain(site: str = typer.Argument(..., help="Site (stack) name."),
            key: Optional[str] = typer.Argument(None, help="Dotted key to show, e.g. jurisdiction.vault.type."),
            format: Format = typer.Option(Format.table, "--format", "-f")):
    """The effective spec of a site, each value with the file:line that set it."""

    root = project_root()
    try:
        check_site_name(root, site)
        rows = explain_rows(root, site, key)
    except SitekitError as exc:
        fail(exc)
    if format is Format.json:
        sys.stdout.write(json.dumps([{"key": k, "value": v, "origin": o} for k, v, o in rows], indent=2) + "\n")
        return
    width = max((len(k) for k, _, _ in rows), default=0)
    for k, v, o in rows:  # as written: a value's `[bold]` or `:100:` is not console markup
        out.print(Text.assemble(f"{k.ljust(width)}  {json.dumps(v)}  ", (f"# {o}", "dim")),
                  highlight=False)

