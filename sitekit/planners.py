"""Pure planners: address carving, power arithmetic and fabric blocks over plain data. No Pulumi here."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Iterable, Mapping, Sequence


class PlanningError(ValueError):
    """A request that cannot be met (it does not fit)."""


def carve(cidr: IPv4Network, requests: Sequence[tuple[str, int]]) -> dict[str, IPv4Network]:
    """Carve named blocks of the given prefix lengths out of `cidr`, without overlap.

    Largest blocks first (ties by name), each at the lowest free aligned address, so the result depends
    only on the set of requests, never on their order. Raises PlanningError when they do not fit.
    """
    out: dict[str, IPv4Network] = {}
    taken: list[IPv4Network] = []
    for name, prefix in sorted(requests, key=lambda r: (r[1], r[0])):
        if prefix < cidr.prefixlen:
            raise PlanningError(f"/{prefix} for '{name}' is larger than {cidr}")
        for candidate in cidr.subnets(new_prefix=prefix):
            if not any(candidate.overlaps(t) for t in taken):
                out[name] = candidate
                taken.append(candidate)
                break
        else:
            raise PlanningError(f"no room for /{prefix} '{name}' in {cidr}")
    return out


def overlaps(named: Mapping[str, IPv4Network]) -> list[tuple[str, str]]:
    """Pairs of names whose ranges overlap, in name order."""
    items = sorted(named.items())
    return [(a, b) for i, (a, na) in enumerate(items) for b, nb in items[i + 1:] if na.overlaps(nb)]


def allocate(space: Sequence[IPv4Network], existing: Iterable[IPv4Network], prefix: int) -> IPv4Network:
    """The lowest block of `prefix` inside the organisation's `space` overlapping nothing in `existing`."""
    used = sorted(set(existing), key=lambda n: (int(n.network_address), n.prefixlen))
    for block in space:
        if prefix < block.prefixlen:
            continue
        for candidate in block.subnets(new_prefix=prefix):
            if not any(candidate.overlaps(u) for u in used):
                return candidate
    spaces = ", ".join(str(s) for s in space)
    blocks = sum(2 ** (prefix - s.prefixlen) for s in space if prefix >= s.prefixlen)
    raise PlanningError(f"no free /{prefix} left in the organisation's address space ({spaces}): each of its "
                        f"{blocks} blocks of /{prefix} overlaps a range other sites declare ({len(used)} ranges in "
                        "use); add a range to organisation.addressSpace in stacks/baseline.yaml, or retire a site")


@dataclass(frozen=True)
class PoolLoad:
    name: str
    role: str
    shape: str
    nodes: int
    peak_nodes: int
    gpus: int
    it_kw: float


@dataclass(frozen=True)
class PowerSummary:
    """IT and facility load of a site at peak (autoscaled pools at their maximum)."""

    pools: tuple[PoolLoad, ...]
    pue: float
    envelope_mw: float
    gpus_by_role: dict[str, int] = field(default_factory=dict)

    @property
    def it_mw(self) -> float:
        return round(sum(p.it_kw for p in self.pools) / 1000, 4)

    @property
    def facility_mw(self) -> float:
        return round(self.it_mw * self.pue, 4)

    @property
    def gpus(self) -> int:
        return sum(p.gpus for p in self.pools)

    @property
    def fits(self) -> bool:
        """Judged on the unrounded load: the rounded MW shown can exceed an exact fit by rounding alone."""
        return sum(p.it_kw for p in self.pools) * self.pue <= self.envelope_mw * 1000 * (1 + 1e-9)


def power(pools: Iterable[tuple[str, str, str, int, int]], shapes: Mapping[str, tuple[int, float]],
          pue: float, envelope_mw: float) -> PowerSummary:
    """Power of pools given as (name, role, shape, nodes, peak nodes) with shapes as (gpus, node kW)."""
    loads = []
    by_role: dict[str, int] = {"training": 0, "inference": 0, "mixed": 0}
    for name, role, shape, nodes, peak in pools:
        gpus_per_node, kw = shapes[shape]
        load = PoolLoad(name, role, shape, nodes, peak, peak * gpus_per_node, round(peak * kw, 3))
        by_role[role] = by_role.get(role, 0) + load.gpus
        loads.append(load)
    return PowerSummary(tuple(loads), pue, envelope_mw, by_role)


def fit_nodes(envelope_mw: float, pue: float, node_kw: float, reserved_mw: float = 0.0) -> int:
    """How many nodes of `node_kw` fit in what the envelope leaves after `reserved_mw` of facility load."""
    it_kw = (envelope_mw - reserved_mw) * 1000 / pue
    return max(0, int(it_kw // node_kw))


# ------------------------------------------------------------------------------------------------ fabric blocks
def buildable_sizes(nodes: int, block: int) -> tuple[int, ...]:
    """The whole-block sizes nearest `nodes` (one below, one above; one when `nodes` is under a block)."""
    below, above = nodes // block * block, -(-nodes // block) * block
    return tuple(n for n in dict.fromkeys((below, above)) if n > 0)


def fabric_blocks(nodes: int, block: int | None, whole: bool) -> tuple[int, ...]:
    """The hosts of each block a pool of `nodes` is built as: full blocks of `block` hosts, then the rest (a
    block of its own), or one cluster of every node where `block` is None (the pool is not split). Where a block
    is built only `whole`, a size that is not a whole number of blocks raises PlanningError naming the nearest
    sizes that are. No blocks for a pool of 0 nodes."""
    if nodes <= 0:
        return ()
    if block is None:
        return (nodes,)
    full, rest = divmod(nodes, block)
    if rest and whole:
        sizes = " or ".join(map(str, buildable_sizes(nodes, block)))
        raise PlanningError(f"{nodes} hosts: blocks hold {block} and are built only whole; nearest buildable "
                            f"sizes {sizes}")
    return (block,) * full + ((rest,) if rest else ())
