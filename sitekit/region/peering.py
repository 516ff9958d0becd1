"""Peering: the site's end of each DRG remote peering connection, with the routes and rules that make it
carry exactly the peered networks' traffic (links validated with the fleet by `sitekit.spec.peering`).

Per peer: a remote peering connection on the site's DRG, in the site's own region and provider; the site whose
name sorts first requests the connection, naming the peer's connection (read from the peer's stack outputs,
`peering.rpcs`) and region, so the accepting site is deployed first. The connection's DRG attachment gets a
route table that imports only the peered networks' VCN attachments: a peer learns the storage and services
ranges, never the GPU network or the RDMA fabric. The NSG rules of `peering.rules` admit each peer's
peered ranges, and nothing else of it.
"""

from __future__ import annotations

import pulumi
import pulumi_oci as oci

from sitekit.naming import Kind
from sitekit.region.context import SiteContext
from sitekit.region.network import PROTOCOLS, port_options


def peer_stack(peer: str) -> str:
    """The fully qualified name of a peer site's stack: same organisation, same project."""
    return f"{pulumi.get_organization() or 'organization'}/{pulumi.get_project()}/{peer}"


class Peering(pulumi.ComponentResource):
    def __init__(self, name: str, ctx: SiteContext, opts: pulumi.ResourceOptions | None = None):
        super().__init__("sitekit:index:Peering", name, None, opts)
        spec = ctx.spec
        compartment = ctx.compartments["network"]
        tags = ctx.defined_tags
        peered = spec.peering.networks

        dist = oci.core.DrgRouteDistribution(
            ctx.logical(Kind.DRG_IMPORT, "to-peers"), drg_id=ctx.drg.id, distribution_type="IMPORT",
            display_name=ctx.display("drg", "import", "to-peers"), defined_tags=tags, opts=ctx.opts(self))
        for priority, net in enumerate(peered, start=1):
            oci.core.DrgRouteDistributionStatement(
                ctx.logical(Kind.DRG_IMPORT, "to-peers", net), drg_route_distribution_id=dist.id, action="ACCEPT",
                priority=priority, match_criteria=oci.core.DrgRouteDistributionStatementMatchCriteriaArgs(
                    match_type="DRG_ATTACHMENT_ID", drg_attachment_id=ctx.drg_attachments[net].id),
                opts=ctx.opts(self))
        table = oci.core.DrgRouteTable(
            ctx.logical(Kind.DRG_ROUTES, "to-peers"), drg_id=ctx.drg.id, import_drg_route_distribution_id=dist.id,
            display_name=ctx.display("drg", "to-peers"), defined_tags=tags, opts=ctx.opts(self))

        self.rpcs: dict[str, pulumi.Output[str]] = {}
        for link in ctx.site.peers:
            peer_id = None
            if link.requestor:
                ref = pulumi.StackReference(ctx.logical(Kind.PEER_STACK, link.site), stack_name=peer_stack(link.site),
                                            opts=pulumi.ResourceOptions(parent=self))
                peer_id = ref.get_output("peering").apply(
                    lambda peering, me=ctx.name: ((peering or {}).get("rpcs") or {}).get(me))
            rpc = oci.core.RemotePeeringConnection(
                ctx.logical(Kind.RPC, link.site), compartment_id=compartment, drg_id=ctx.drg.id,
                display_name=ctx.display("rpc", link.site), peer_id=peer_id,
                peer_region_name=link.region if link.requestor else None, defined_tags=tags, opts=ctx.opts(self))
            self.rpcs[link.site] = rpc.id
            oci.core.DrgAttachmentManagement(
                ctx.logical(Kind.RPC_ATTACHMENT, link.site), attachment_type="REMOTE_PEERING_CONNECTION",
                compartment_id=compartment, network_id=rpc.id, drg_id=ctx.drg.id, drg_route_table_id=table.id,
                display_name=ctx.display("rpc", link.site, "drg"), defined_tags=tags, opts=ctx.opts(self))
            for rule in spec.peering.rules:
                cidr = link.ranges.get(rule.network)
                if cidr is not None:
                    self._admit(ctx, rule, link.site, str(cidr))
        self.register_outputs({"rpcs": self.rpcs})

    def _admit(self, ctx: SiteContext, rule, peer: str, cidr: str) -> None:
        oci.core.NetworkSecurityGroupSecurityRule(
            ctx.logical(Kind.NSG, rule.nsg, "peer", peer, rule.network, rule.protocol,
                        *(rule.ports or "all").split("-")),
            network_security_group_id=ctx.nsgs[rule.nsg].id, direction="INGRESS", protocol=PROTOCOLS[rule.protocol],
            stateless=False, source=cidr, source_type="CIDR_BLOCK",
            description=rule.description or f"from {peer}'s {rule.network} network", opts=ctx.opts(self),
            **port_options(rule.protocol, rule.ports))
