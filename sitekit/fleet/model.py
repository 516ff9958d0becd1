"""The fleet as plain data: one `SiteRow` per site, built from what earlier steps produce (the validated spec
and catalog, the site's plan, its policy result, the price catalog), and totals per country and for the fleet.
Pure functions: no files, no git, no Pulumi.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from sitekit.run.cost import Prices, monthly_cost
from sitekit.spec.halls import hall_usage, pool_racks
from sitekit.spec.validate import site_power

if TYPE_CHECKING:
    from sitekit.plan import Plan
    from sitekit.policy.runner import SiteResult
    from sitekit.spec.catalog import Catalog
    from sitekit.spec.models import SiteSpec

WAIVER_HORIZON_DAYS = 30
"""A waiver that expires within this many days is listed as expiring soon."""

STATUSES = ("fail", "advisory", "waived", "pass", "disabled")
"""A rule's status at a site, worst first: a blocking (mandatory, unwaived) finding, an advisory finding,
findings all waived, no finding, or the rule disabled for the site."""


def peerings(spec: "SiteSpec") -> list[str]:
    """Names of the sites this site peers with (its `site.peers`), sorted and each once: the one place the fleet
    report reads peerings from."""
    return sorted({p.site for p in spec.site.peers})


@dataclass(frozen=True)
class WaiverDue:
    rule: str
    resource: str | None
    expires: datetime.date
    days_left: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "resource": self.resource, "expires": self.expires.isoformat(),
                "daysLeft": self.days_left, "reason": self.reason}


@dataclass(frozen=True)
class SiteRow:
    site: str
    jurisdiction: str
    jurisdiction_name: str
    country: str
    region: str
    region_kind: str
    gpus: int
    gpus_by_shape: dict[str, int]
    nodes_by_shape: dict[str, int]
    gpus_by_role: dict[str, int]
    it_mw: float
    facility_mw: float
    envelope_mw: float
    monthly_usd: float
    """At the planned size (autoscaled pools at their initial size), as the plan declares them."""
    monthly_peak_usd: float
    """At peak (autoscaled pools at their maximum), the size the GPUs and MW columns show."""
    unpriced: dict[str, int]
    """GPU shape -> nodes with no list price (counted, not priced)."""
    passed: bool
    rule_status: dict[str, str]
    """Rule id -> one of STATUSES."""
    mandatory_failures: tuple[str, ...]
    advisory: tuple[str, ...]
    waived: int
    waivers_due: tuple[WaiverDue, ...]
    """Current waivers that expire within WAIVER_HORIZON_DAYS, soonest first."""
    waivers_expired: tuple[WaiverDue, ...]
    peerings: tuple[str, ...]
    halls: tuple[dict[str, Any], ...] = ()
    """Each hall: {name, itMw (delivered), usedMw (drawn at peak), racks, cooling, maxRackKw} (`spec/halls.py`)."""
    racks: tuple[dict[str, Any], ...] = ()
    """Each pool: {pool, hall, shape, nodes (at peak), racks, rackKw, cooling, itMw}."""

    @property
    def headroom_mw(self) -> float:
        return round(self.envelope_mw - self.facility_mw, 4)

    def to_dict(self) -> dict[str, Any]:
        return {"site": self.site, "jurisdiction": self.jurisdiction, "jurisdictionName": self.jurisdiction_name,
                "country": self.country, "region": self.region, "regionKind": self.region_kind,
                "gpus": self.gpus, "gpusByShape": self.gpus_by_shape, "nodesByShape": self.nodes_by_shape,
                "gpusByRole": self.gpus_by_role, "itMw": self.it_mw, "facilityMw": self.facility_mw,
                "envelopeMw": self.envelope_mw, "headroomMw": self.headroom_mw,
                "monthlyCostUsd": round(self.monthly_usd, 2), "monthlyCostPeakUsd": round(self.monthly_peak_usd, 2),
                "unpricedNodes": self.unpriced,
                "policy": {"passed": self.passed, "mandatoryFailures": list(self.mandatory_failures),
                           "advisory": list(self.advisory), "waived": self.waived},
                "waiversExpiringSoon": [w.to_dict() for w in self.waivers_due],
                "waiversExpired": [w.to_dict() for w in self.waivers_expired],
                "peerings": list(self.peerings), "halls": list(self.halls), "racks": list(self.racks)}


HALL_COLUMNS = ("site", "hall", "IT MW", "cooling", "kW per rack", "racks", "pools (racks, rack kW)")
"""The columns of the fleet's power-by-hall table, in the text and HTML reports alike."""


def hall_rows(rows: Iterable[SiteRow]) -> list[tuple[str, str, float, float, str, str, int, str]]:
    """One row per site and hall: site, hall, IT MW drawn at peak, IT MW delivered, cooling, kW per rack at most
    ('-': no limit), racks, and the pools standing there with their racks."""
    out = []
    for r in rows:
        for h in r.halls:
            pools = ", ".join(f"{p['pool']} {p['racks']:,} x {p['rackKw']:g} kW {p['cooling']}"
                              for p in r.racks if p["hall"] == h["name"])
            limit = "-" if h["maxRackKw"] is None else f"{h['maxRackKw']:g}"
            out.append((r.site, h["name"], h["usedMw"], h["itMw"], "+".join(h["cooling"]), limit, h["racks"],
                        pools or "-"))
    return out


def rule_statuses(result: "SiteResult", rule_ids: Iterable[str]) -> dict[str, str]:
    """Each rule's status at the site (see STATUSES)."""
    out = {}
    for rule_id in rule_ids:
        found = [f for f in result.findings if f.rule == rule_id]
        if any(f.blocking for f in found):
            out[rule_id] = "fail"
        elif any(f.waiver is None for f in found):
            out[rule_id] = "advisory"
        elif found:
            out[rule_id] = "waived"
        elif result.levels.get(rule_id) == "disabled":
            out[rule_id] = "disabled"
        else:
            out[rule_id] = "pass"
    return out


def waivers_due(result: "SiteResult", today: datetime.date) -> tuple[tuple[WaiverDue, ...], tuple[WaiverDue, ...]]:
    """(current waivers expiring within the horizon, expired waivers), soonest first."""
    due, expired = [], []
    for w in sorted(result.waivers, key=lambda w: (w.expires, w.rule)):
        item = WaiverDue(w.rule, w.resource, w.expires, (w.expires - today).days, w.reason)
        if w.expired(today):
            expired.append(item)
        elif item.days_left <= WAIVER_HORIZON_DAYS:
            due.append(item)
    return tuple(due), tuple(expired)


def country_of(region: str, jurisdiction: str, catalog: "Catalog") -> str:
    """The country a site's region is in: the region catalog's, else (a Dedicated Region) the jurisdiction's."""
    if region in catalog.regions:
        return catalog.regions[region].country
    return jurisdiction.upper()


def plan_resources(plan: "Plan") -> list[dict[str, Any]]:
    """A plan's resources as the plain mappings `cost` reads."""
    return [{"type": r.type, "name": r.name, "urn": r.urn, "inputs": r.inputs} for r in plan.resources]


def site_row(spec: "SiteSpec", catalog: "Catalog", plan: "Plan", result: "SiteResult", prices: Prices,
             rule_ids: Iterable[str], today: datetime.date, racks: dict | None = None) -> SiteRow:
    """One site's row: GPUs and power at peak from the spec (the numbers the program exports), MW per hall and
    racks per pool (with the rack catalog, `racks`), cost from the plan's registrations, policy status and waivers
    from its result."""
    power = site_power(spec, catalog)
    by_shape: dict[str, int] = {}
    nodes: dict[str, int] = {}
    for pool in power.pools:
        by_shape[pool.shape] = by_shape.get(pool.shape, 0) + pool.gpus
        nodes[pool.shape] = nodes.get(pool.shape, 0) + pool.peak_nodes
    cost = monthly_cost(plan_resources(plan), prices)
    boot_gb = spec.compute.boot_volume_gbs
    surge = sum((p.peak_nodes - p.nodes) * (prices.gpu_shapes[p.shape] * prices.hours + boot_gb * prices.block_gb_month)
                for p in power.pools if prices.gpu_shapes.get(p.shape) is not None)
    statuses = rule_statuses(result, rule_ids)
    due, expired = waivers_due(result, today)
    s, j = spec.site, spec.jurisdiction
    return SiteRow(
        site=s.name, jurisdiction=j.code, jurisdiction_name=j.name,
        country=country_of(s.region, j.code, catalog), region=s.region, region_kind=s.region_kind,
        gpus=power.gpus, gpus_by_shape=dict(sorted(by_shape.items())), nodes_by_shape=dict(sorted(nodes.items())),
        gpus_by_role={k: v for k, v in sorted(power.gpus_by_role.items()) if v},
        it_mw=power.it_mw, facility_mw=power.facility_mw, envelope_mw=power.envelope_mw,
        monthly_usd=round(cost.monthly, 2), monthly_peak_usd=round(cost.monthly + surge, 2), unpriced=dict(sorted(cost.unpriced.items())), passed=result.passed,
        rule_status=statuses, mandatory_failures=tuple(r for r, st in statuses.items() if st == "fail"),
        advisory=tuple(r for r, st in statuses.items() if st == "advisory"), waived=len(result.waived()),
        waivers_due=due, waivers_expired=expired, peerings=tuple(peerings(spec)),
        halls=tuple({"name": h.name, "itMw": h.it_mw, "usedMw": h.used_mw, "racks": h.racks, "cooling": list(h.cooling),
                     "maxRackKw": h.max_rack_kw} for h in hall_usage(spec, catalog, racks or {})),
        racks=tuple({"pool": p.pool, "hall": p.hall, "shape": p.shape, "nodes": p.nodes, "racks": p.racks,
                     "rackKw": p.rack_kw, "cooling": p.cooling, "itMw": p.it_mw}
                    for p in pool_racks(spec, catalog, racks or {})))


@dataclass(frozen=True)
class Totals:
    """Sums over a group of sites (a country, or the fleet)."""

    name: str
    sites: int
    gpus: int
    gpus_by_shape: dict[str, int]
    gpus_by_role: dict[str, int]
    it_mw: float
    facility_mw: float
    envelope_mw: float
    monthly_usd: float
    monthly_peak_usd: float
    failing: int

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sites": self.sites, "gpus": self.gpus, "gpusByShape": self.gpus_by_shape,
                "gpusByRole": self.gpus_by_role, "itMw": self.it_mw, "facilityMw": self.facility_mw,
                "envelopeMw": self.envelope_mw, "monthlyCostUsd": round(self.monthly_usd, 2),
                "monthlyCostPeakUsd": round(self.monthly_peak_usd, 2), "sitesFailingMandatory": self.failing}


def _add(into: dict[str, int], more: dict[str, int]) -> None:
    for k, v in more.items():
        into[k] = into.get(k, 0) + v


def totals(name: str, rows: Iterable[SiteRow]) -> Totals:
    rows = list(rows)
    shapes: dict[str, int] = {}
    roles: dict[str, int] = {}
    for r in rows:
        _add(shapes, r.gpus_by_shape)
        _add(roles, r.gpus_by_role)
    return Totals(name, len(rows), sum(r.gpus for r in rows), dict(sorted(shapes.items())), dict(sorted(roles.items())),
                  round(sum(r.it_mw for r in rows), 4), round(sum(r.facility_mw for r in rows), 4),
                  round(sum(r.envelope_mw for r in rows), 4), round(sum(r.monthly_usd for r in rows), 2),
                  round(sum(r.monthly_peak_usd for r in rows), 2), sum(not r.passed for r in rows))


def by_country(rows: Iterable[SiteRow]) -> list[Totals]:
    groups: dict[str, list[SiteRow]] = {}
    for r in rows:
        groups.setdefault(r.country, []).append(r)
    return [totals(country, groups[country]) for country in sorted(groups)]


def edges(rows: Iterable[SiteRow]) -> list[tuple[str, str]]:
    """Peerings as undirected edges between known sites, each once, sorted; a peering declared at one end
    only still shows (the inter-site validation, not the report, refuses it)."""
    rows = list(rows)
    known = {r.site for r in rows}
    return sorted({tuple(sorted((r.site, p))) for r in rows for p in r.peerings if p in known and p != r.site})


@dataclass
class Fleet:
    """Everything the renderers show, as plain data."""

    rows: list[SiteRow]
    generated: datetime.date
    rule_ids: list[str]
    prices_recorded: str = ""
    commit: str | None = None
    dirty: bool = False
    topologies: dict[str, Any] = field(default_factory=dict)
    """Site -> `network.Topology`."""
    problems: list[Any] = field(default_factory=list)
    """Problems of sites that did not load (bad input); their rows are missing."""
    not_evaluated: dict[str, list[str]] = field(default_factory=dict)
    """Site -> its problems, for each site left out (not planned or not checked): the report says so first."""
    drift: dict[str, Any] | None = None
    """Site -> `drift.DriftCell` of the drift report given (`--drift FILE`); None when none was given."""

    @property
    def total(self) -> Totals:
        return totals("fleet", self.rows)

    @property
    def countries(self) -> list[Totals]:
        return by_country(self.rows)

    def drift_of(self, site: str) -> dict[str, Any] | None:
        """The site's cell of the drift report as JSON; None when no report was given or it has no such site."""
        cell = (self.drift or {}).get(site)
        return cell.to_dict() if cell is not None else None

    def drift_text(self, site: str) -> str:
        if self.drift is None:
            return "-"
        cell = self.drift.get(site)
        return f"{cell.text()} ({cell.checked})" if cell is not None else "not checked"

    def to_dict(self) -> dict[str, Any]:
        return {"schemaVersion": 1, "generated": self.generated.isoformat(), "commit": self.commit,
                "dirty": self.dirty, "waiverHorizonDays": WAIVER_HORIZON_DAYS, "pricesRecorded": self.prices_recorded,
                "sites": [dict(r.to_dict(), drift=self.drift_of(r.site)) for r in self.rows], "countries": [c.to_dict() for c in self.countries],
                "total": self.total.to_dict(), "peerings": [list(e) for e in edges(self.rows)],
                "problems": [str(p) for p in self.problems],
                "notEvaluated": [{"site": site, "problems": why} for site, why in sorted(self.not_evaluated.items())]}
