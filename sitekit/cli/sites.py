"""`sitekit plan`, `sites` and `explain`: a site's resources, every site's summary, a site's effective spec."""

from __future__ import annotations

from typing import Optional

import typer

from sitekit.cli.app import (
    AllSites,
    Jobs,
    NoCache,
    NoProgress,
    Sites,
    app,
    check_site_name,
    chosen_sites,
    emit,
    fail,
    format_option,
    project_root,
)
from sitekit.cli.formats import EXPLAIN, PLAN, SITES
from sitekit.errors import SitekitError, SpecError
from sitekit.progress import progress
from sitekit.run.batch import default_jobs, raise_for, rendered_plans, run_sites
from sitekit.run.report import SITE_JSON_VERSION, PlanReport, site_json
from sitekit.spec.explain import explain_rows
from sitekit.spec.halls import hall_usage, pool_racks
from sitekit.spec.layout import list_sites
from sitekit.spec.loader import load_site
from sitekit.spec.racks import load_racks
from sitekit.spec.validate import site_power

PlanFormat = format_option(PLAN)
SitesFormat = format_option(SITES)
ExplainFormat = format_option(EXPLAIN)


@app.command()
def plan(sites: Sites = None,
         all_sites: AllSites = False,
         format: PlanFormat = PLAN.default,
         jobs: Jobs = None,
         no_cache: NoCache = False,
         no_progress: NoProgress = False):
    """Run each site's real Pulumi program offline (SDK mocks) and print every resource it declares; with
    several sites (or --all), one line per site, planned in one process or in --jobs workers."""

    root = project_root()
    try:
        names = chosen_sites(root, sites, all_sites)
        one = len(names) == 1 and not all_sites
        kept = format == "json" and not one  # a line per site: each site's part kept rendered in the cache
        with progress("planning", len(names), enabled=len(names) > 1 and not no_progress) as bar:
            if kept:
                outcomes = rendered_plans(root, names, site_json, f"site_json={SITE_JSON_VERSION}",
                                          jobs or default_jobs(), not no_cache, on_done=bar.advance)
            else:
                outcomes = run_sites(root, names, "plan", jobs or default_jobs(), not no_cache, on_done=bar.advance)
        raise_for(outcomes.values())
    except SitekitError as exc:
        fail(exc)
    found = tuple(outcomes[n][1] for n in names)
    emit(PLAN[format], PlanReport((), one, texts=found) if kept else PlanReport(found, one))


@app.command()
def sites(format: SitesFormat = SITES.default):
    """One line per site: jurisdiction, region, GPUs, IT MW, facility MW, envelope MW, MW per hall (used of
    delivered) and racks per pool."""

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
        racks = load_racks(root, loaded.catalog)  # loading the site checked it
        rows.append({"site": name, "jurisdiction": loaded.spec.jurisdiction.code, "region": s.region,
                     "regionKind": s.region_kind, "gpus": p.gpus, "itMw": p.it_mw,
                     "facilityMw": p.facility_mw, "envelopeMw": p.envelope_mw,
                     "halls": [{"name": h.name, "itMw": h.it_mw, "usedMw": h.used_mw, "racks": h.racks,
                                "cooling": list(h.cooling), "maxRackKw": h.max_rack_kw}
                               for h in hall_usage(loaded.spec, loaded.catalog, racks)],
                     "pools": [{"pool": r.pool, "hall": r.hall, "shape": r.shape, "nodes": r.nodes, "racks": r.racks,
                                "rackKw": r.rack_kw, "cooling": r.cooling, "itMw": r.it_mw}
                               for r in pool_racks(loaded.spec, loaded.catalog, racks)]})
    emit(SITES[format], rows)
    if problems:
        fail(SpecError(problems))


@app.command()
def explain(site: str = typer.Argument(..., help="Site (stack) name."),
            key: Optional[str] = typer.Argument(None, help="Dotted key to show, e.g. jurisdiction.vault.type."),
            format: ExplainFormat = EXPLAIN.default):
    """The effective spec of a site, each value with the file:line that set it."""

    root = project_root()
    try:
        check_site_name(root, site)
        rows = explain_rows(root, site, key)
    except SitekitError as exc:
        fail(exc)
    emit(EXPLAIN[format], rows)
