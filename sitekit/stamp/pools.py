"""A new site's GPU pools sized to its power envelope, with the shapes its jurisdiction allows (request +
catalog -> sized pools). The arithmetic is `planners.fit_nodes` and `planners.power`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sitekit.errors import Problem, clip, nearest
from sitekit.planners import fit_nodes, power
from sitekit.spec.catalog import Catalog
from sitekit.spec.models import Jurisdiction
from sitekit.stamp.request import PoolRequest, problem

AUTOSCALED_WEIGHT, FIXED_WEIGHT = 1, 9
"""Default split of the envelope among pools without an explicit share: each autoscaled (serving) pool
weighs 1, each fixed pool 9 (the baseline's train + serve get 90% and 10%)."""


AUTOSCALE_MIN_FRACTION = 8
"""An autoscaled pool starts at (and never shrinks below) 1/8 of its maximum, as the shipped sites do."""


@dataclass
class SizedPool:
    name: str
    role: str
    placement: str
    shape: str
    nodes: int
    autoscale: dict[str, int] | None
    share: float
    new: bool
    note: str = ""

    @property
    def peak(self) -> int:
        return self.autoscale["max"] if self.autoscale else self.nodes


def _default_shape(preferred: str | None, placement: str, j: Jurisdiction, catalog: Catalog) -> str | None:
    def usable(shape: str) -> bool:
        return shape in catalog.shapes and (placement != "oke" or catalog.shapes[shape].grouping == "cluster-network")

    if preferred and preferred in j.shapes.approved and usable(preferred):
        return preferred
    return next((s for s in j.shapes.approved if usable(s)), None)


def size_pools(base_pools: list[dict[str, Any]], asked: list[PoolRequest], j: Jurisdiction, catalog: Catalog,
               envelope_mw: float, pue: float) -> tuple[list[SizedPool], list[Problem]]:
    """Choose each pool's shape and size it to its share of the envelope at the PUE."""
    problems: list[Problem] = []
    by_name = {p.name: p for p in asked}
    pools: list[SizedPool] = []
    for base in base_pools + [{"name": r.name, "role": "mixed", "placement": "bare-metal", "new": True}
                              for r in asked if r.name not in {b["name"] for b in base_pools}]:
        req = by_name.get(base["name"], PoolRequest(base["name"]))
        placement = base.get("placement", "bare-metal")
        shape = req.shape or _default_shape(base.get("shape"), placement, j, catalog)
        key = f"--pools {req.name}" if req.name in by_name else f"pool {req.name}"
        if shape is None:
            problems.append(problem(key, f"no shape approved in {j.name} suits placement '{placement}' "
                                          f"(approved: {', '.join(j.shapes.approved)})"))
            continue
        if shape not in catalog.shapes:
            problems.append(problem(key, f"unknown GPU shape '{clip(shape)}'; {nearest(shape, catalog.shapes)}"))
            continue
        if shape not in j.shapes.approved:
            problems.append(problem(key, f"shape '{clip(shape)}' is not approved in {j.name} (approved: "
                                          f"{', '.join(j.shapes.approved)}) [{j.shapes.basis}]"))
            continue
        if placement == "oke" and catalog.shapes[shape].grouping != "cluster-network":
            problems.append(problem(key, f"{shape} needs a GPU memory cluster; pool '{req.name}' is an OKE pool"))
            continue
        pools.append(SizedPool(req.name, base.get("role", "mixed"), placement, shape, 0,
                               {} if base.get("autoscale") else None, req.share or 0.0, bool(base.get("new"))))
    explicit = sum(p.share for p in pools)
    if explicit > 100:
        problems.append(problem("--pools", f"shares add up to {explicit:g}% (at most 100%)"))
    rest = [p for p in pools if not p.share]
    weights = {p.name: AUTOSCALED_WEIGHT if p.autoscale is not None else FIXED_WEIGHT for p in rest}
    for p in rest:
        p.share = round(max(0.0, 100 - explicit) * weights[p.name] / sum(weights.values()), 4)
    for p in pools:
        shape = catalog.shapes[p.shape]
        nodes = fit_nodes(envelope_mw * p.share / 100, pue, shape.node_kw)
        block = shape.fabric.block if shape.fabric.whole_blocks and p.placement == "bare-metal" else None
        if block and nodes % block:  # only whole fabric blocks build (an NVL72 rack is 18 hosts)
            whole = nodes // block * block
            if whole:
                p.note = f"rounded down to {whole // block} whole block(s) of {block} hosts (from {nodes})"
            nodes = whole
        if nodes < 1:
            unit = f"block of {block} {p.shape} hosts" if block else f"{p.shape} node"
            problems.append(problem(f"pool {p.name}", f"its share ({p.share:g}% of {envelope_mw:g} MW at PUE "
                                                       f"{pue:g}) is too small for one {unit} "
                                                       f"({shape.node_kw:g} kW each)"))
            continue
        if p.autoscale is not None:
            p.autoscale = {"min": max(1, nodes // AUTOSCALE_MIN_FRACTION), "max": nodes}
            p.nodes = p.autoscale["min"]
        else:
            p.nodes = nodes
    return pools, problems


def summary(pools: list[SizedPool], catalog: Catalog, pue: float, envelope_mw: float):
    shapes = {n: (s.gpus, s.node_kw) for n, s in catalog.shapes.items()}
    return power([(p.name, p.role, p.shape, p.nodes, p.peak) for p in pools], shapes, pue, envelope_mw)
