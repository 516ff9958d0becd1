"""Power by rack and hall: each pool's racks (stacks/catalog/racks.yaml) fitted into its hall (site.power.halls).

`hall_usage` is the pure arithmetic (plain data in, plain data out), read by validation, `sitekit sites` and the
fleet; `hall_problems` turns what does not fit into problems at the pool's line, naming the shortfall. A pool's load
is its peak nodes x the shape's nameplate node kW, the figure the site's envelope is checked with, so a site that
declares no hall (one hall, 'main', of envelope / PUE) fits its hall exactly when it fits its envelope; that is
checked once, by the envelope.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import Any

from sitekit.errors import nearest


@dataclass(frozen=True)
class PoolRacks:
    pool: str
    hall: str | None
    """The pool's hall: as named, or the site's only hall; None when the site has several and the pool names none."""
    shape: str
    nodes: int
    """Peak nodes (an autoscaled pool at its maximum)."""
    racks: int
    rack_kw: float
    cooling: str
    it_mw: float


@dataclass(frozen=True)
class HallLoad:
    name: str
    it_mw: float
    cooling: tuple[str, ...]
    max_rack_kw: float | None
    used_mw: float
    racks: int
    pools: tuple[str, ...]

    @property
    def fits(self) -> bool:
        return self.used_mw <= self.it_mw + 1e-9


def pool_racks(spec: Any, catalog: Any, racks: dict) -> list[PoolRacks]:
    """Each pool with a known shape and rack: its hall, racks at peak and IT MW."""
    halls = spec.site.power.halls
    only = halls[0].name if len(halls) == 1 else None
    out = []
    for p in spec.compute.pools:
        shape, rack = catalog.shapes.get(p.shape), racks.get(p.shape)
        if shape is None or rack is None:
            continue
        peak = p.autoscale.max if p.autoscale else p.nodes
        out.append(PoolRacks(p.name, p.hall or only, p.shape, peak, ceil(peak / rack.nodes_per_rack), rack.rack_kw,
                             rack.cooling, round(peak * shape.node_kw / 1000, 3)))
    return out


def hall_usage(spec: Any, catalog: Any, racks: dict) -> list[HallLoad]:
    """Every hall of the site with what its pools draw (IT MW) and the racks they fill."""
    pools = pool_racks(spec, catalog, racks)
    return [HallLoad(h.name, h.it_mw, tuple(h.cooling), h.max_rack_kw,
                     round(sum(p.it_mw for p in pools if p.hall == h.name), 3),
                     sum(p.racks for p in pools if p.hall == h.name),
                     tuple(p.pool for p in pools if p.hall == h.name))
            for h in spec.site.power.halls]


def hall_problems(spec: Any, catalog: Any, racks: dict, declared: bool) -> list[tuple[tuple, str]]:
    """(spec path, message) for each pool that does not fit its hall: an unknown hall, no hall named where the site
    has several, a cooling the hall does not offer, a rack denser than the hall takes, a hall over its IT power
    (at each of its pools, with the shortfall); and halls that together exceed the envelope. `declared`: whether
    the site declares its halls (the default hall is the envelope itself, checked once, there)."""
    problems: list[tuple[tuple, str]] = []
    halls = {h.name: h for h in spec.site.power.halls}
    loads = {h.name: h for h in hall_usage(spec, catalog, racks)}
    pools = {p.name: p for p in spec.compute.pools}
    for pr in pool_racks(spec, catalog, racks):
        path = ("compute", "pools", pr.pool)
        named = pools[pr.pool].hall
        if pr.hall is None:
            problems.append((path + ("hall",), f"the site has {len(halls)} halls ({', '.join(halls)}); name the "
                                               "hall this pool's racks stand in"))
            continue
        if pr.hall not in halls:
            problems.append((path + ("hall",), f"unknown hall '{pr.hall}'; {nearest(pr.hall, halls)}"))
            continue
        hall = halls[pr.hall]
        where = path + ("hall",) if named else path
        if pr.cooling not in hall.cooling:
            problems.append((where, f"{pr.shape} racks are {pr.cooling}-cooled; hall '{hall.name}' offers "
                                    f"{' and '.join(hall.cooling)} cooling only"))
        if hall.max_rack_kw is not None and pr.rack_kw > hall.max_rack_kw:
            problems.append((where, f"a {pr.shape} rack draws {pr.rack_kw:g} kW; hall '{hall.name}' takes at most "
                                    f"{hall.max_rack_kw:g} kW per rack ({pr.rack_kw - hall.max_rack_kw:.1f} kW short)"))
        load = loads[hall.name]
        if declared and not load.fits:
            problems.append((path + ("nodes",), f"hall '{hall.name}' delivers {hall.it_mw:g} MW of IT power; its "
                                                f"pools ({', '.join(load.pools)}) draw {load.used_mw:.2f} MW at peak, "
                                                f"this one {pr.it_mw:.2f} MW ({load.used_mw - hall.it_mw:.2f} MW short)"))
    if declared:
        total = sum(h.it_mw for h in halls.values())
        facility = total * spec.site.power.pue
        if facility > spec.site.power.envelope_mw + 1e-9:
            problems.append((("site", "power", "halls"),
                             f"the halls deliver {total:g} MW of IT power, {facility:.2f} MW at the facility (PUE "
                             f"{spec.site.power.pue}), over the envelope of {spec.site.power.envelope_mw:g} MW"))
    return problems
