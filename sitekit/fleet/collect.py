"""Gather the fleet: every site planned and checked once (`batch.run_sites`, plans from the content-hash cache
when nothing changed, `jobs` workers otherwise), then one row and one network topology per site.

A site whose spec does not load (or whose policy cannot be evaluated) is left out of the rows and its problems
are kept: the report names it first (`Fleet.not_evaluated`), the CLI prints them and exits 2 after the report;
any other failure stops the run (exit 1).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Callable

from sitekit.errors import SitekitError, SpecError
from sitekit.fleet.model import Fleet, site_row
from sitekit.fleet.network import topology
from sitekit.git import head_commit, is_dirty
from sitekit.policy import RULES
from sitekit.run.batch import run_sites
from sitekit.run.cost import load_prices
from sitekit.spec.catalog import load_catalog
from sitekit.spec.layout import list_jurisdictions, list_sites
from sitekit.spec.loader import load_profile, load_site


def git_state(root: Path) -> tuple[str | None, bool]:
    """(HEAD commit, whether the work tree differs from it), or (None, False) outside git."""

    try:
        return head_commit(root), is_dirty(root)
    except SitekitError:
        return None, False


def jurisdictions(root: Path) -> dict:
    """{code: Jurisdiction} of every profile in stacks/jurisdictions/ (its `jurisdiction:` section); a
    SpecError with the problems of every profile that does not load."""

    found, problems = {}, []
    for code in list_jurisdictions(root):
        try:
            found[code] = load_profile(root, code)[1]
        except SpecError as exc:
            problems += exc.problems
    if problems:
        raise SpecError(problems)
    return found


def specs(root: Path) -> tuple[list, list]:
    """(validated specs, problems) of every site, without planning."""

    found, problems = [], []
    for name in list_sites(root):
        try:
            found.append(load_site(root, name).spec)
        except SpecError as exc:
            problems += exc.problems
    return found, problems


def collect(root: Path, jobs: int = 1, use_cache: bool = True, today: datetime.date | None = None,
            on_done: Callable[[str], None] = lambda s: None, plans: dict | None = None) -> Fleet:
    """The fleet of the project at `root`. `plans` ({site: Plan}) skips planning for the sites it holds (tests
    plan each shipped site once per run and share it)."""
    from sitekit.policy.runner import evaluate  # heavy: deferred

    today = today or datetime.date.today()
    root = root.resolve()
    prices = load_prices(root)  # before any planning: a bad price catalog is refused at once
    names = list_sites(root)
    given = {n: p for n, p in (plans or {}).items() if n in names}
    outcomes = run_sites(root, [n for n in names if n not in given], "both", jobs, use_cache, on_done=on_done)
    for name, plan in given.items():
        loaded = load_site(root, name)
        outcomes[name] = ("both", (plan, evaluate(loaded, plan, today=today), loaded.spec))
        on_done(name)
    catalog = load_catalog(root)
    rule_ids = sorted(RULES)
    commit, dirty = git_state(root)
    fleet = Fleet(rows=[], generated=today, rule_ids=rule_ids, prices_recorded=prices.recorded,
                  commit=commit, dirty=dirty)
    planned: dict[str, tuple] = {}
    for name in names:
        kind, value = outcomes[name]
        if kind == "spec":
            fleet.problems += value
            fleet.not_evaluated[name] = [str(p) for p in value]
        elif kind == "error":
            raise SitekitError(value)
        else:
            plan, result, spec = value
            fleet.rows.append(site_row(spec, catalog, plan, result, prices, rule_ids, today))
            planned[name] = (plan, {n.name: n.role for n in spec.network.networks})
    regions = {r.site: r.region for r in fleet.rows}  # a peer's region, for the end that does not name it
    for name, (plan, roles) in planned.items():
        fleet.topologies[name] = topology(plan, roles, regions)
    return fleet
