"""Peering rules: what a site routes to other sites stays inside the organisation's space, the GPU network and
the RDMA fabric are never reachable from a peer, and peered data leaves its jurisdiction only where its profile
lets its class cross (residency.crossBorder) or under a declared transfer mechanism."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any, Iterator

from sitekit.naming import Kind, key_of, logical
from sitekit.oci.types import (
    DRG_ATTACHMENT,
    DRG_ATTACHMENT_MANAGEMENT,
    DRG_ROUTE_DISTRIBUTION,
    DRG_ROUTE_DISTRIBUTION_STATEMENT,
    DRG_ROUTE_TABLE,
    NSG,
    NSG_RULE,
    REMOTE_PEERING_CONNECTION,
    ROUTE_TABLE,
    VCN,
)
from sitekit.policy.model import Res, Stack, get, is_unknown, items, rule
from sitekit.policy.rules.network import SEALED_ROLES


def _network(cidr: Any):
    if not isinstance(cidr, str) or is_unknown(cidr):
        return None
    try:
        return ip_network(cidr, strict=False)
    except ValueError:
        return None


@rule("SK-PEER-001", "Routes to other networks stay inside the organisation's address space",
      severity="high", level="mandatory", area="peering", types=(ROUTE_TABLE,), needs_site=True,
      anchor=("organisation", "addressSpace"),
      remediation="Peer only with sites of the organisation (sitekit:peers); a range outside its space is not "
                  "one of them.")
def routes_stay_in_the_organisation(res: Res, ctx) -> Iterator[str]:
    for i, r in enumerate(items(res.get("routeRules"))):
        dest = get(r, "destination")
        net = _network(dest)
        if net is None or get(r, "destinationType", "CIDR_BLOCK") != "CIDR_BLOCK" or net.prefixlen == 0:
            continue  # the default route goes to a gateway, judged by the gateway rules
        if not any(net.version == space.version and net.subnet_of(space) for space in ctx.address_space):
            yield f"route rule {i} sends {dest} through the site's network, outside the organisation's space " \
                  f"({', '.join(map(str, ctx.address_space))})"


def _foreign(ctx, cidr: Any) -> bool:
    """A range that is neither this site's nor the internet: another site's."""
    net = _network(cidr)
    return net is not None and net.prefixlen > 0 and ctx.supernet is not None and not (
        net.version == ctx.supernet.version and net.subnet_of(ctx.supernet))


def _matches_every_vcn(statement: Res) -> bool:
    """Whether an import statement accepts every VCN attachment of its DRG: match-all (or no criteria, which OCI
    reads as match-all), or a match by attachment type VCN; the GPU network's and the RDMA fabric's attachments
    among them, without naming them."""
    criteria = statement.get("matchCriteria")
    if is_unknown(criteria):
        return False
    found = items(criteria) if isinstance(criteria, (list, tuple)) else [criteria] if criteria else []
    if not found:
        return True
    for c in found:
        kind = str(get(c, "matchType", "")).upper()
        if kind == "MATCH_ALL" or (kind == "DRG_ATTACHMENT_TYPE" and str(get(c, "attachmentType", "")).upper() == "VCN"):
            return True
    return False


@rule("SK-PEER-002", "The GPU network and the RDMA fabric are never exposed to peer sites", severity="high",
      level="mandatory", area="peering", needs_site=True, stack=True, anchor=("peering", "networks"),
      remediation="Route only the peered networks (peering.networks: storage and services) to peers, each import "
                  "statement naming its attachment (never match-all or attachment type VCN while the GPU network "
                  "or RDMA fabric is attached to the DRG).")
def no_fabric_to_peers(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    fabric = {name for name, (_, role) in ctx.networks.items() if role in SEALED_ROLES}
    fabric_attachments = {r.urn for r in stack.of_type(DRG_ATTACHMENT)
                          if any(r.name == logical(ctx.site, Kind.DRG_ATTACHMENT, n) for n in fabric)}
    # what the route tables of remote peering attachments import
    peer_tables = {d.urn for m in stack.of_type(DRG_ATTACHMENT_MANAGEMENT)
                   if m.get("attachmentType") == "REMOTE_PEERING_CONNECTION"
                   for d in stack.deps(m, DRG_ROUTE_TABLE)}
    for statement in stack.of_type(DRG_ROUTE_DISTRIBUTION_STATEMENT):
        exposed = [a for a in statement.dependencies if a in fabric_attachments] or sorted(
            a for a in fabric_attachments if _matches_every_vcn(statement))
        tables = {t.urn for d in stack.deps(statement, DRG_ROUTE_DISTRIBUTION)
                  for t in stack.dependents(d, DRG_ROUTE_TABLE)}  # the tables importing its distribution
        if exposed and tables & peer_tables:
            yield statement, (f"imports {stack.by_urn[exposed[0]].name} into the routes peer sites learn: "
                              "the GPU network or RDMA fabric would be reachable from another site")
    for table in stack.of_type(ROUTE_TABLE):
        network = ctx.network_of_display(table.get("displayName"))
        if ctx.role(network) in SEALED_ROLES:
            for i, r in enumerate(items(table.get("routeRules"))):
                if _foreign(ctx, get(r, "destination")):
                    yield table, f"route rule {i} of the {network} network reaches {get(r, 'destination')}, " \
                                 "another site's range"
    for nsg_rule in stack.of_type(NSG_RULE):
        if str(nsg_rule.get("direction", "")).upper() != "INGRESS" or not _foreign(ctx, nsg_rule.get("source")):
            continue
        network = next((key_of(ctx.site, Kind.VCN, vcn.name) for nsg in stack.deps(nsg_rule, NSG)
                        for vcn in stack.deps(nsg, VCN)), None)
        if ctx.role(network) in SEALED_ROLES:
            yield nsg_rule, f"admits {nsg_rule.get('source')}, another site's range, into the {network} network"


@rule("SK-PEER-003", "Peered data leaves its jurisdiction only where its profile lets it or under a transfer mechanism",
      severity="high", level="mandatory", area="peering", types=(REMOTE_PEERING_CONNECTION,), needs_site=True,
      anchor=("site", "peers"),
      remediation="Declare the transfer on the peer entry (sitekit:peers: [{site, transfer: {mechanism, "
                  "reference}}]) with a mechanism the jurisdiction accepts, have the profile let the site's data "
                  "class cross to the peer's jurisdiction (residency.crossBorder, with basis; never personal data), "
                  "or do not peer this site.")
def peered_data_stays_resident(res: Res, ctx) -> Iterator[str]:
    peer = key_of(ctx.site, Kind.RPC, res.name)
    info = ctx.peers.get(peer) if peer else None
    if info is None:
        yield f"remote peering connection to '{peer or res.name}', a site this site does not declare as a peer: " \
              "sitekit cannot tell where the data goes"
        return
    if info.jurisdiction == ctx.jurisdiction or info.jurisdiction in ctx.cross_border:
        return  # resident, or a class the profile lets cross to that jurisdiction (residency.crossBorder)
    if info.transfer is None:
        yield f"data here is '{ctx.data_classification}' and {peer} is in jurisdiction '{info.jurisdiction}', " \
              f"which {ctx.jurisdiction}'s residency.crossBorder does not open to it, with no transfer mechanism declared"
    elif info.transfer not in ctx.transfer_mechanisms:
        yield f"transfer mechanism '{info.transfer}' for {peer} is not one {ctx.jurisdiction} accepts"
