"""A site's network as the plan declares it: the DRG, each VCN with its CIDRs, subnets and gateways, which
VCNs the DRG attaches, and any remote peering connections. Read from the registrations only (types, inputs,
dependency URNs), never from ids, so it reads a plan of older code, or one the engine produced, the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_network
from typing import TYPE_CHECKING, Mapping

from sitekit.naming import Kind, key_of
from sitekit.oci.types import (
    DRG,
    DRG_ATTACHMENT,
    INTERNET_GATEWAY,
    NAT_GATEWAY,
    REMOTE_PEERING_CONNECTION,
    SERVICE_GATEWAY,
    SUBNET,
    VCN,
)

if TYPE_CHECKING:
    from sitekit.plan import Plan, PlannedResource

GATEWAYS = {INTERNET_GATEWAY: "internet gateway", NAT_GATEWAY: "NAT gateway", SERVICE_GATEWAY: "service gateway"}
"""A gateway's type -> what the fleet map calls it."""


@dataclass(frozen=True)
class SubnetBox:
    name: str
    cidr: str
    public: bool


@dataclass(frozen=True)
class VcnBox:
    name: str
    """The network's key in the spec (the logical name after '<site>-vcn-')."""
    role: str
    cidrs: tuple[str, ...]
    subnets: tuple[SubnetBox, ...]
    gateways: tuple[str, ...]
    attached: bool
    """Whether the DRG attaches this VCN."""


@dataclass(frozen=True)
class Peering:
    name: str
    """The connection's display name."""
    site: str
    """The peer site (the key of the connection's logical name)."""
    region: str
    """The peer's region: the connection's `peerRegionName` at the requesting end; at the accepting end, which
    does not name it, the peer's region as the fleet knows it ('' when it does not)."""
    requests: bool
    """This end requests the connection (it names the peer's connection and region); the other end accepts."""


@dataclass(frozen=True)
class Topology:
    site: str
    drg: str | None
    vcns: tuple[VcnBox, ...]
    peerings: tuple[Peering, ...]


def _key(site: str, kind: Kind, name: str) -> str:
    """The data key of a logical name, else the whole name."""
    return key_of(site, kind, name) or name


def _text(value: object) -> str:
    return value if isinstance(value, str) else "?"


def _cidr_order(cidr: str) -> tuple:
    try:
        net = ip_network(cidr, strict=False)
        return (0, net.version, int(net.network_address), net.prefixlen)
    except ValueError:
        return (1, 0, 0, cidr)


def topology(plan: "Plan", roles: Mapping[str, str] | None = None,
             regions: Mapping[str, str] | None = None) -> Topology:
    """The site's network from its plan; `roles` (network name -> role) labels the VCNs, `regions` (peer site ->
    region) names the peer's region at the end of a peering that does not name it."""
    roles, regions = roles or {}, regions or {}
    by_urn = {r.urn: r for r in plan.resources}

    def deps(res: "PlannedResource", type_: str) -> list["PlannedResource"]:
        return [by_urn[u] for u in res.dependencies if u in by_urn and by_urn[u].type == type_]

    vcns = plan.of_type(VCN)
    subnets: dict[str, list[SubnetBox]] = {v.urn: [] for v in vcns}
    gateways: dict[str, list[str]] = {v.urn: [] for v in vcns}
    attached: set[str] = set()
    for r in plan.resources:
        if r.type == SUBNET:
            for v in deps(r, VCN):
                name = _key(plan.site, Kind.SUBNET, r.name)
                network = _key(plan.site, Kind.VCN, v.name)
                name = name[len(network) + 1:] if name.startswith(network + "-") else name
                subnets[v.urn].append(SubnetBox(name, _text(r.inputs.get("cidrBlock")),
                                                r.inputs.get("prohibitPublicIpOnVnic") is False))
        elif r.type in GATEWAYS:
            for v in deps(r, VCN):
                gateways[v.urn].append(GATEWAYS[r.type])
        elif r.type == DRG_ATTACHMENT:
            attached.update(v.urn for v in deps(r, VCN))
    boxes = []
    for v in vcns:
        name = _key(plan.site, Kind.VCN, v.name)
        cidrs = v.inputs.get("cidrBlocks") or ([v.inputs["cidrBlock"]] if v.inputs.get("cidrBlock") else [])
        boxes.append(VcnBox(name, roles.get(name, ""), tuple(_text(c) for c in cidrs),
                            tuple(sorted(subnets[v.urn], key=lambda s: _cidr_order(s.cidr))),
                            tuple(sorted(gateways[v.urn])),
                            v.urn in attached))
    drgs = plan.of_type(DRG)
    drg = _text(drgs[0].inputs.get("displayName", drgs[0].name)) if drgs else None
    rpcs = []
    for r in plan.of_type(REMOTE_PEERING_CONNECTION):
        peer = _key(plan.site, Kind.RPC, r.name)
        named = r.inputs.get("peerRegionName")
        rpcs.append(Peering(_text(r.inputs.get("displayName", r.name)), peer,
                            _text(named) if named else regions.get(peer, ""), bool(named or r.inputs.get("peerId"))))
    return Topology(plan.site, drg, tuple(sorted(boxes, key=lambda b: [_cidr_order(c) for c in b.cidrs])),
                    tuple(sorted(rpcs, key=lambda p: p.site)))
