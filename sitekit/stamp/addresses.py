"""A new site's address plan: the ranges other sites hold, the subnets its pools need, a free block carved
for it (request + fleet -> address plan). The arithmetic is `planners.allocate` and `planners.carve`."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from sitekit.errors import Problem, SpecError
from sitekit.planners import PlanningError, allocate, carve
from sitekit.spec.layout import list_sites, stack_file
from sitekit.spec.stackfiles import declared_plans, read_stack_values
from sitekit.stamp.pools import SizedPool
from sitekit.stamp.request import FIX_FIRST

NETWORK_HEADROOM_BITS = 1
"""Each network gets twice the space its subnets need (one prefix bit), and at least a /24."""


SMALLEST_NETWORK = 24


LARGEST_NETWORK = 16
"""An OCI VCN CIDR block is at most a /16 (and a subnet at most its VCN's block)."""


OCI_RESERVED_ADDRESSES = 3
"""OCI keeps the first two and the last address of every subnet."""


def existing_ranges(root: Path, exclude: str | None = None) -> dict[str, IPv4Network]:
    """Every range other sites' stack files declare (supernets and networks), by 'site.key'.

    Both places a stack file can hold its plan count: `sitekit:addressPlan` and `sitekit:overrides`
    (`site.addressPlan`). A file that does not load as a site still has its ranges read; one whose ranges
    cannot be read stops the stamping."""
    out: dict[str, IPv4Network] = {}
    problems: list[Problem] = []
    for site in list_sites(root):
        if site == exclude:
            continue
        values, _, _ = read_stack_values(root, site)
        for where, plan in declared_plans(values).items():
            networks = (plan.get("networks") or {}) if isinstance(plan, dict) else {}
            if not isinstance(plan, dict) or not isinstance(networks, dict):
                problems.append(Problem(stack_file(site), None, where,
                                        "cannot read this site's ranges ({supernet, networks: {<network>: <cidr>}} "
                                        f"expected); {FIX_FIRST}"))
                continue
            cidrs = {"supernet": plan.get("supernet"), **{f"networks.{k}": v for k, v in networks.items()}}
            for key, cidr in cidrs.items():
                if cidr is None:
                    continue
                try:
                    out[f"{site}.{where}.{key}"] = IPv4Network(str(cidr))
                except ValueError as exc:
                    problems.append(Problem(stack_file(site), None, f"{where}.{key}",
                                            f"cannot read this site's range ({exc}); {FIX_FIRST}"))
    if problems:
        raise SpecError(problems)
    return out


def own_supernet(root: Path, site: str) -> IPv4Network | None:
    """The supernet a site's stack file declares now, if it has one that reads."""
    if not (root / stack_file(site)).exists():
        return None
    try:
        return IPv4Network(str(read_stack_values(root, site)[0]["addressPlan"]["supernet"]))
    except (SpecError, KeyError, TypeError, ValueError):
        return None


def fit_prefix(requests: list[tuple[str, int]]) -> int:
    """The longest prefix (smallest block) whose block holds all `requests` carved without overlap."""
    prefix = min(p for _, p in requests)
    while prefix > 0:
        try:
            carve(IPv4Network((0, prefix)), requests)
            return prefix
        except PlanningError:
            prefix -= 1
    raise PlanningError("requests do not fit in the IPv4 space")


def hosts_prefix(hosts: int) -> int:
    """The longest prefix whose subnet holds `hosts` addresses besides the ones OCI reserves."""
    return 32 - (hosts + OCI_RESERVED_ADDRESSES - 1).bit_length()


def subnet_demand(compute: dict[str, Any], pools: list["SizedPool"]) -> dict[tuple[str, str], int]:
    """Addresses each (network, subnet) needs at peak: one per node, as the compute component places them
    (bare-metal: the GPU subnet and the RDMA subnet; OKE: the worker subnet)."""
    oke = compute.get("oke") or {}
    demand: dict[tuple[str, str], int] = {}
    for p in pools:
        places = ([(compute["gpuNetwork"], compute["gpuSubnet"]), (compute["rdmaNetwork"], compute["rdmaSubnet"])]
                  if p.placement == "bare-metal" else [(oke["workerNetwork"], oke["workerSubnet"])])
        for place in places:
            demand[place] = demand.get(place, 0) + p.peak
    return demand


def grown_subnets(networks: list[dict[str, Any]], demand: dict[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    """{network: {subnet: prefix}} for the subnets too small for their nodes: each grows to the prefix that
    holds them. Subnets that are big enough keep the baseline's prefix (and are left out)."""
    out: dict[str, dict[str, int]] = {}
    for net in networks:
        for sub in net["subnets"]:
            hosts = demand.get((net["name"], sub["name"]), 0)
            if hosts and hosts_prefix(hosts) < int(sub["prefix"]):
                out.setdefault(net["name"], {})[sub["name"]] = hosts_prefix(hosts)
    return out


def with_subnets(networks: list[dict[str, Any]], grown: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    return [{**net, "subnets": [{**sub, "prefix": grown.get(net["name"], {}).get(sub["name"], sub["prefix"])}
                                for sub in net["subnets"]]} for net in networks]


def address_plan(org_space: list[IPv4Network], networks: list[dict[str, Any]], existing: list[IPv4Network],
                 keep: IPv4Network | None = None) -> tuple[IPv4Network, dict[str, IPv4Network]]:
    """A supernet from the organisation's space overlapping nothing in `existing`, carved into networks.

    `keep` (the site's current supernet, when it is re-stamped) is kept while it is the right size, inside
    the space and free, so that re-stamping never moves a site (replacing every VCN) only because a lower
    block became free.

    Each network gets twice what its subnets need (at least a /24, at most a /16, the largest VCN); the
    supernet is the smallest block holding the networks; both carvings depend only on the data, so the same
    inputs give the same plan."""
    sizes = []
    for net in networks:
        need = fit_prefix([(s["name"], int(s["prefix"])) for s in net["subnets"]])
        if need < LARGEST_NETWORK:
            subnets = ", ".join(f"{s['name']} /{s['prefix']}" for s in net["subnets"])
            raise PlanningError(f"network '{net['name']}' needs a /{need} for its subnets ({subnets}) and an OCI "
                                f"VCN is at most a /{LARGEST_NETWORK}: lower --power-mw or split the pools among sites")
        sizes.append((net["name"], max(LARGEST_NETWORK, min(need - NETWORK_HEADROOM_BITS, SMALLEST_NETWORK))))
    prefix = fit_prefix(sizes)
    if (keep is not None and keep.prefixlen == prefix and any(keep.subnet_of(b) for b in org_space)
            and not any(keep.overlaps(e) for e in existing)):
        supernet = keep
    else:
        supernet = allocate(org_space, existing, prefix)
    carved = carve(supernet, sizes)
    return supernet, {name: carved[name] for name, _ in sizes}
