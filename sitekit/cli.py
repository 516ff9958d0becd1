"""The `sitekit` command line: plan, sites, explain (and the commands the other modules add).

Exit codes: 0 ok; 2 bad input (one line per problem, `file:line: dotted.key: what is wrong`); 1 anything else.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from . import ROOT
from .errors import Problem, SitekitError, SpecError, nearest

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Plan, check and stamp standard AI sites on Oracle Cloud.")
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)


class Format(str, Enum):
    table = "table"
    json = "json"


def project_root() -> Path:
    """The project a command acts on: the nearest folder above the working directory with a Pulumi.yaml
    of project 'sitekit' and a stacks/ folder, else the installed checkout."""
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / "Pulumi.yaml").exists() and (folder / "stacks").is_dir():
            return folder
    return ROOT


def fail(exc: SitekitError) -> None:
    if isinstance(exc, SpecError):
        for problem in exc.problems:
            err.print(str(problem), markup=False, highlight=False)
    else:
        err.print(f"error: {exc}", markup=False, highlight=False)
    raise typer.Exit(exc.exit_code)


def refuse_overwrite(path: Optional[Path], force: bool) -> None:
    """sitekit never overwrites a user's file unless told to (--force)."""
    if path is not None and path.exists() and not force:
        raise SpecError([Problem(str(path), None, "", "file exists; pass --force to overwrite it")])


def check_site_name(root: Path, site: str) -> None:
    from .loader import list_sites, stack_file

    sites = list_sites(root)
    if site not in sites:
        raise SpecError([Problem(stack_file(site), None, "", f"no such site; {nearest(site, sites)}")])


@app.command()
def plan(site: str = typer.Argument(..., help="Site (stack) name, e.g. us-ashburn."),
         format: Format = typer.Option(Format.table, "--format", "-f", help="table for people, json for machines.")):
    """Run the site's real Pulumi program offline (SDK mocks) and print every resource it declares."""
    from .offline import plan_site
    from .report import print_plan

    root = project_root()
    try:
        check_site_name(root, site)
        result = plan_site(root, site)
    except SitekitError as exc:
        fail(exc)
    if format is Format.json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n")
    else:
        print_plan(result, out)


@app.command()
def sites(format: Format = typer.Option(Format.table, "--format", "-f")):
    """One line per site: jurisdiction, region, GPUs, IT MW, facility MW, envelope MW."""
    from .loader import list_sites, load_site
    from .validate import site_power

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
            table.add_row(r["site"], r["jurisdiction"], region, f"{r['gpus']:,}", f"{r['itMw']:.2f}",
                          f"{r['facilityMw']:.2f}", f"{r['envelopeMw']:g}")
        out.print(table)
    if problems:
        fail(SpecError(problems))


@app.command()
def explain(site: str = typer.Argument(..., help="Site (stack) name."),
            key: Optional[str] = typer.Argument(None, help="Dotted key to show, e.g. jurisdiction.vault.type."),
            format: Format = typer.Option(Format.table, "--format", "-f")):
    """The effective spec of a site, each value with the file:line that set it."""
    from .explain import explain_rows

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
    for k, v, o in rows:
        out.print(f"{k.ljust(width)}  {json.dumps(v)}  [dim]# {o}[/dim]", highlight=False)


def main() -> None:  # pragma: no cover - console entry
    app()


# Commands defined in their own modules register themselves on `app` when imported.
from . import cli_newsite, cli_policy, cli_review  # noqa: E402,F401
