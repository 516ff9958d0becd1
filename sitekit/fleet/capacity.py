"""Where a GPU shape could move: the regions the capacity catalog knows to offer it, the sites that use it, and
for each of those sites the regions its jurisdiction lets its data live in (resident, or with a transfer
mechanism the jurisdiction accepts), each with what the catalog knows of the shape there. Pure: catalogs,
jurisdiction profiles and site specs in, plain data out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from sitekit.spec.ledger import RegionLedger, Verdict, check_pools, pool_demands
from sitekit.spec.validate import site_power

if TYPE_CHECKING:
    from sitekit.spec.catalog import Capacity, Catalog

STATUS_ORDER = {"offered": 0, "unknown": 1, "not-offered": 2}
DEDICATED = "in-country Dedicated Region"


@dataclass(frozen=True)
class Option:
    region: str
    country: str
    status: str
    """offered | not-offered | unknown (the capacity catalog)"""
    residency: str
    """resident | cross-border (the profile lets the site's data class cross to the region's jurisdiction) |
    transfer (the jurisdiction accepts a transfer mechanism for it)"""
    how: str

    def to_dict(self) -> dict[str, Any]:
        return {"region": self.region, "country": self.country, "capacity": self.status,
                "residency": self.residency, "how": self.how}


@dataclass(frozen=True)
class Use:
    site: str
    jurisdiction: str
    region: str
    status: str
    """What the catalog knows of the shape in the site's own region."""
    nodes: int
    gpus: int
    approved: bool
    options: tuple[Option, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"site": self.site, "jurisdiction": self.jurisdiction, "region": self.region, "capacity": self.status,
                "nodes": self.nodes, "gpus": self.gpus, "approvedByJurisdiction": self.approved,
                "couldMoveTo": [o.to_dict() for o in self.options]}


@dataclass(frozen=True)
class ShapeView:
    shape: str
    gpu_model: str
    notes: tuple[str, ...]
    offered_in: tuple[str, ...]
    not_offered_in: tuple[str, ...]
    unknown_in: int
    """How many catalog regions the catalog knows nothing of for this shape."""
    approved_by: tuple[str, ...]
    uses: tuple[Use, ...]

    @property
    def gpus(self) -> int:
        return sum(u.gpus for u in self.uses)

    def to_dict(self) -> dict[str, Any]:
        return {"shape": self.shape, "gpuModel": self.gpu_model, "notes": list(self.notes),
                "offeredIn": list(self.offered_in), "notOfferedIn": list(self.not_offered_in),
                "regionsUnknown": self.unknown_in, "approvedBy": list(self.approved_by), "gpusInFleet": self.gpus,
                "sites": [u.to_dict() for u in self.uses]}


@dataclass(frozen=True)
class SharedRegion:
    """Sites of one tenancy in one region: their GPU pools draw on the same service limits, quotas and
    reservations, so the ledger is checked against their sum. A verdict's pool is `site/pool`."""

    region: str
    sites: tuple[str, ...]
    verdicts: tuple[Verdict, ...]

    @property
    def short(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.status == "short")

    def to_dict(self) -> dict[str, Any]:
        return {"region": self.region, "sites": list(self.sites), "pools": [v.to_dict() for v in self.verdicts]}


def shared_regions(specs: Iterable[Any], ledger: Callable[[str], RegionLedger | None],
                   shapes: Iterable[str]) -> tuple[SharedRegion, ...]:
    """Every region that two or more sites of one tenancy share, with their pools checked together against
    `ledger(region)` (`check_pools`: on-demand pools summed per AD and shape, pools of one reservation against what
    it holds free)."""
    shapes = set(shapes)
    groups: dict[tuple[str, str], list[Any]] = {}
    for spec in specs:
        groups.setdefault((spec.site.tenancy_id, spec.site.region), []).append(spec)
    out = []
    for (_, region), group in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if len(group) < 2:
            continue
        demands = [replace(d, pool=f"{spec.site.name}/{d.pool}") for spec in group for d in pool_demands(spec, shapes)]
        out.append(SharedRegion(region, tuple(sorted(s.site.name for s in group)),
                                tuple(check_pools(ledger(region), region, demands))))
    return tuple(out)


@dataclass(frozen=True)
class CapacityReport:
    """What `sitekit fleet --capacity [SHAPE]` shows: a view per shape, with the catalog's date; `detail` when
    one shape was asked for (where each site using it could move it); the regions sites share (`shared`)."""

    views: tuple[ShapeView, ...]
    recorded: str
    detail: bool = False
    shared: tuple[SharedRegion, ...] = ()


def options(jurisdiction: Any, shape: str, here: str, capacity: "Capacity", catalog: "Catalog",
            dedicated_here: bool = False, jurisdictions: Mapping[str, Any] | None = None) -> list[Option]:
    """The regions a site of `jurisdiction` could move `shape` to (other than `here`), best known first: its
    residency regions; the regions of the jurisdictions its profile lets its data class cross to
    (`Residency.crossing`, the meaning peering validation and SK-PEER-003 read); elsewhere, under a transfer
    mechanism it accepts."""
    residency = jurisdiction.residency
    owner = {r: code for code, j in (jurisdictions or {}).items() for r in j.residency.regions}
    found = []
    for region, info in catalog.regions.items():
        if region == here:
            continue
        crossing = residency.crossing(jurisdiction.tags.data_classification, owner.get(region))
        if region in residency.regions:
            kind, how = "resident", f"within {jurisdiction.name}'s residency regions"
        elif crossing:
            kind, how = "cross-border", (f"{jurisdiction.tags.data_classification} data may go to "
                                         f"{owner[region]} ({crossing})")
        elif residency.transfer_mechanisms:
            kind, how = "transfer", f"needs a transfer mechanism: {', '.join(residency.transfer_mechanisms)}"
        else:
            continue
        found.append(Option(region, info.country, capacity.status(region, shape).status, kind, how))
    if residency.dedicated_in_country and not dedicated_here:
        found.append(Option(DEDICATED, jurisdiction.code.upper(), capacity.status("", shape, "dedicated").status,
                            "resident", "a Dedicated Region in the country counts as resident"))
    return sorted(found, key=lambda o: (STATUS_ORDER[o.status], o.residency != "resident", o.region))


def shape_view(shape: str, capacity: "Capacity", catalog: "Catalog", jurisdictions: Mapping[str, Any],
               specs: Iterable[Any]) -> ShapeView:
    """Everything the fleet knows about moving `shape` (a name from the shape catalog)."""

    uses = []
    for spec in specs:
        pools = [p for p in site_power(spec, catalog).pools if p.shape == shape]
        if not pools:
            continue
        s, j = spec.site, spec.jurisdiction
        uses.append(Use(s.name, j.code, s.region, capacity.status(s.region, shape, s.region_kind).status,
                        sum(p.peak_nodes for p in pools), sum(p.gpus for p in pools), shape in j.shapes.approved,
                        tuple(options(j, shape, s.region, capacity, catalog, s.region_kind == "dedicated",
                                      jurisdictions))))
    statuses = {r: capacity.status(r, shape).status for r in catalog.regions}
    note = capacity.shapes.get(shape)
    return ShapeView(shape, catalog.shapes[shape].gpu_model, (note.note,) if note else (),
                     tuple(sorted(r for r, st in statuses.items() if st == "offered")),
                     tuple(sorted(r for r, st in statuses.items() if st == "not-offered")),
                     sum(st == "unknown" for st in statuses.values()),
                     tuple(sorted(code for code, j in jurisdictions.items() if shape in j.shapes.approved)),
                     tuple(sorted(uses, key=lambda u: u.site)))
