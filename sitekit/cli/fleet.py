"""`sitekit fleet` (issue 11): every site in one table or JSON, a static HTML report, and where GPU shapes
could move (`--capacity`).

Exit codes: 0 when the report is written (a failing mandatory rule is shown, not an error: `sitekit policy`
gates); 2 on bad input (a site that does not load or whose policy cannot be evaluated, after the report of the
others, whose first lines name it; an unknown shape; an index.html that exists without --force); 1 anything else.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from sitekit.atomic import write_atomic
from sitekit.cli.app import (
    Jobs,
    NoCache,
    NoProgress,
    app,
    emit,
    fail,
    format_option,
    out,
    output_folder,
    project_root,
)
from sitekit.cli.formats import CAPACITY, FLEET
from sitekit.errors import Problem, SitekitError, SpecError, clip, nearest
from sitekit.fleet.capacity import CapacityReport, SharedRegion, shape_view, shared_regions
from sitekit.fleet.collect import collect, jurisdictions, specs
from sitekit.fleet.drift import read_drift
from sitekit.fleet.history import Point, capacity_history
from sitekit.fleet.html import render
from sitekit.progress import progress
from sitekit.run.batch import default_jobs
from sitekit.spec.catalog import load_capacity, load_catalog
from sitekit.spec.layout import BASELINE, list_sites
from sitekit.spec.ledger import load_ledger
from sitekit.spec.loader import load_site

FleetFormat = format_option(FLEET)


@app.command("fleet")
def fleet(shape: Optional[str] = typer.Argument(None, help="With --capacity: the GPU shape to show, e.g. BM.GPU.H100.8."),
          format: FleetFormat = FLEET.default,
          html: Optional[str] = typer.Option(None, "--html", help="Write a static report (no server, no external "
                                                                   "assets) to DIR/index.html."),
          force: bool = typer.Option(False, "--force", help="Overwrite DIR/index.html if it exists."),
          capacity: bool = typer.Option(False, "--capacity", help="Where GPU shapes could move: regions known to "
                                                                  "offer each, the sites using it, jurisdiction limits."),
          history: int = typer.Option(20, "--history", min=0, help="Commits of capacity history in the HTML report."),
          docs_url: Optional[str] = typer.Option(None, "--docs-url", help="Where the report's rule links point "
                                                 "(default: docs/policies.md of this project, relative to DIR)."),
          drift: Optional[Path] = typer.Option(None, "--drift", help="A drift report in JSON, as `sitekit drift` writes it "
                                               "(-f json -o FILE): a drift column (last run, counts per class)."),
          jobs: Jobs = None,
          no_cache: NoCache = False,
          no_progress: NoProgress = False):
    """One row per site: jurisdiction, region, GPUs by shape and role, IT and facility MW against the
    envelope, monthly list cost, mandatory policy status, waivers due within 30 days, peerings."""
    root = project_root()
    try:
        if shape is not None and not capacity:
            raise SpecError([Problem("", None, "", f"a shape ('{clip(shape)}') is only taken with --capacity")])
        if capacity:
            _capacity(root, shape, format)
            return
        drift_cells = read_drift(drift) if drift is not None else None  # before planning: bad input first
        if html is not None:
            _html(root, html, force, history, docs_url, jobs, no_cache, no_progress, drift_cells)
            return

        fleet_ = _collect(root, jobs, no_cache, no_progress)
        fleet_.drift = drift_cells
        emit(FLEET[format], fleet_)
        if fleet_.problems:
            raise SpecError(fleet_.problems)
    except SitekitError as exc:
        fail(exc)


def _collect(root: Path, jobs: int | None, no_cache: bool, no_progress: bool):

    total = len(list_sites(root))
    with progress("planning", total, enabled=total > 1 and not no_progress) as bar:
        return collect(root, jobs or default_jobs(), not no_cache, on_done=bar.advance)


def _html(root: Path, given: str, force: bool, commits: int, docs_url: str | None, jobs: int | None,
          no_cache: bool, no_progress: bool, drift: dict | None = None) -> None:

    folder = output_folder(given, "--html", force)  # before any planning: nothing is done that would be thrown away
    target = folder / "index.html"
    capacity = load_capacity(root)
    fleet_ = _collect(root, jobs, no_cache, no_progress)
    fleet_.drift = drift
    now = {r.site: Point(r.gpus, r.it_mw, r.facility_mw, r.envelope_mw) for r in fleet_.rows}
    past = capacity_history(root, commits, use_cache=not no_cache, now=now)
    docs = docs_url or Path(os.path.relpath(root / "docs/policies.md", folder.resolve())).as_posix()
    text = render(fleet_, past, capacity, docs)
    try:
        write_atomic(target, text, overwrite=force)
    except FileExistsError:
        raise SpecError([Problem(str(target), None, "--html", "file exists; pass --force to overwrite it")]) from None
    except OSError as exc:
        raise SpecError([Problem(str(target), None, "--html", f"cannot write the report: {exc.strerror or exc}")]) \
            from None
    out.print(f"wrote {target} ({len(fleet_.rows)} sites, {len(past.commits)} commits of history, "
              f"{len(text.encode()) // 1024} KB)", highlight=False, markup=False)
    if fleet_.problems:
        raise SpecError(fleet_.problems)


def _capacity(root: Path, shape: str | None, format: str) -> None:

    catalog = load_catalog(root)
    capacity = load_capacity(root)
    if shape is not None and shape not in catalog.shapes:
        raise SpecError([Problem("stacks/catalog/shapes.yaml", None, "shapes",
                                 f"unknown GPU shape '{clip(shape)}'; {nearest(shape, catalog.shapes)}")])
    found, problems = specs(root)
    profiles = jurisdictions(root)
    views = tuple(shape_view(s, capacity, catalog, profiles, found) for s in ([shape] if shape else sorted(catalog.shapes)))
    shared = shared_regions(found, lambda region: load_ledger(root, region, catalog.shapes), catalog.shapes)
    emit(CAPACITY[format], CapacityReport(views, capacity.recorded.isoformat(), detail=shape is not None,
                                          shared=shared))
    problems += [p for region in shared for p in _shortfalls(root, region)]
    if problems:
        raise SpecError(problems)


def _shortfalls(root: Path, shared: SharedRegion) -> list[Problem]:
    """A problem at each pool line of a region's sites whose pools together need more than it offers (each site
    alone fits: its own load checks that)."""
    out = []
    for verdict in shared.short:
        site, pool = verdict.pool.split("/", 1)
        path = ("compute", "pools", pool, "nodes")
        origin = load_site(root, site).origin(path)
        others = ", ".join(s for s in shared.sites if s != site)
        out.append(Problem(origin.file if origin else BASELINE, origin.line if origin else 1, ".".join(path),
                           f"with the other sites of its tenancy in {shared.region} ({others}): {verdict.detail}"))
    return out
