"""The multi-network: a DRG hub and one VCN per role, with gateways, routes, NSGs and flow logs."""

from __future__ import annotations

import pulumi
import pulumi_oci as oci

from sitekit import naming
from sitekit.naming import Kind, rule_key
from sitekit.region.context import SiteContext
from sitekit.spec.models import NsgRule

PROTOCOLS = {"tcp": "6", "udp": "17", "icmp": "1", "all": "all"}
ORACLE_SERVICES = "oracle-services"


def port_options(protocol: str, ports: str | None) -> dict[str, object]:
    """An NSG rule's destination port range ("443" or "8000-8100") as its tcp_options / udp_options argument;
    none for other protocols or all ports."""
    if not ports or protocol not in ("tcp", "udp"):
        return {}
    lo, _, hi = ports.partition("-")
    span = {"min": int(lo), "max": int(hi or lo)}
    if protocol == "tcp":
        return {"tcp_options": oci.core.NetworkSecurityGroupSecurityRuleTcpOptionsArgs(
            destination_port_range=oci.core.NetworkSecurityGroupSecurityRuleTcpOptionsDestinationPortRangeArgs(**span))}
    return {"udp_options": oci.core.NetworkSecurityGroupSecurityRuleUdpOptionsArgs(
        destination_port_range=oci.core.NetworkSecurityGroupSecurityRuleUdpOptionsDestinationPortRangeArgs(**span))}


class Network(pulumi.ComponentResource):
    """DRG hub; per network a VCN, locked-down default security list, gateways its role allows, a route
    table, subnets (no public IPs outside the frontend), a DRG attachment and a flow log per subnet; NSGs
    with the baseline's least-privilege rules."""

    def __init__(self, name: str, ctx: SiteContext, opts: pulumi.ResourceOptions | None = None):
        super().__init__("sitekit:index:Network", name, None, opts)
        spec = ctx.spec
        compartment = ctx.compartments["network"]
        tags = ctx.defined_tags

        services = oci.core.get_services_output(
            filters=[oci.core.GetServicesFilterArgs(name="name", values=["All .* Services In Oracle Services Network"],
                                                     regex=True)],
            opts=pulumi.InvokeOutputOptions(parent=self))
        self.osn_id = services.services[0].id
        self.osn_cidr = services.services[0].cidr_block

        self.drg = oci.core.Drg(ctx.logical(Kind.DRG), compartment_id=compartment, display_name=ctx.display("drg"),
                                defined_tags=tags, opts=ctx.opts(self))
        ctx.drg = self.drg
        peered = set(spec.peering.networks) if ctx.site.peers else set()
        drg_tables = self._drg_tables(ctx, compartment) if peered else {}
        self.log_group = oci.logging.LogGroup(
            ctx.logical(Kind.FLOW_LOGS), compartment_id=compartment, display_name=ctx.display("flow-logs"),
            description=f"VCN flow logs of AI site {ctx.name}", defined_tags=tags, opts=ctx.opts(self))

        cidrs = spec.site.address_plan.networks
        for net in spec.network.networks:
            vcn = oci.core.Vcn(
                ctx.logical(Kind.VCN, net.name), compartment_id=compartment, cidr_blocks=[str(cidrs[net.name])],
                dns_label=naming.dns_label(net.name), display_name=ctx.display(net.name),
                defined_tags=tags, opts=ctx.opts(self))
            ctx.vcns[net.name] = vcn
            oci.core.DefaultSecurityList(
                ctx.logical(Kind.DEFAULT_SECURITY_LIST, net.name),
                manage_default_resource_id=vcn.default_security_list_id,
                compartment_id=compartment, display_name=ctx.display(net.name, "default"),
                ingress_security_rules=[], egress_security_rules=[], defined_tags=tags, opts=ctx.opts(self))

            # A route rule may target the DRG only once the DRG is attached to the VCN.
            attachment = oci.core.DrgAttachment(
                ctx.logical(Kind.DRG_ATTACHMENT, net.name), drg_id=self.drg.id,
                network_details=oci.core.DrgAttachmentNetworkDetailsArgs(type="VCN", id=vcn.id),
                drg_route_table_id=(drg_tables["peered" if net.name in peered else "internal"].id
                                    if drg_tables else None),
                display_name=ctx.display(net.name, "drg"), defined_tags=tags, opts=ctx.opts(self))
            ctx.drg_attachments[net.name] = attachment
            rules: list[oci.core.RouteTableRouteRuleArgs] = []
            if net.internet:
                igw = oci.core.InternetGateway(
                    ctx.logical(Kind.IGW, net.name), compartment_id=compartment, vcn_id=vcn.id, enabled=True,
                    display_name=ctx.display(net.name, "igw"), defined_tags=tags, opts=ctx.opts(self))
                rules.append(oci.core.RouteTableRouteRuleArgs(
                    network_entity_id=igw.id, destination="0.0.0.0/0", destination_type="CIDR_BLOCK",
                    description="internet through the internet gateway"))
            if net.nat:
                nat = oci.core.NatGateway(
                    ctx.logical(Kind.NAT, net.name), compartment_id=compartment, vcn_id=vcn.id,
                    display_name=ctx.display(net.name, "nat"), defined_tags=tags, opts=ctx.opts(self))
                rules.append(oci.core.RouteTableRouteRuleArgs(
                    network_entity_id=nat.id, destination="0.0.0.0/0", destination_type="CIDR_BLOCK",
                    description="egress through the NAT gateway"))
            if net.service_gateway:
                sgw = oci.core.ServiceGateway(
                    ctx.logical(Kind.SGW, net.name), compartment_id=compartment, vcn_id=vcn.id,
                    services=[oci.core.ServiceGatewayServiceArgs(service_id=self.osn_id)],
                    display_name=ctx.display(net.name, "sgw"), defined_tags=tags, opts=ctx.opts(self))
                rules.append(oci.core.RouteTableRouteRuleArgs(
                    network_entity_id=sgw.id, destination=self.osn_cidr, destination_type="SERVICE_CIDR_BLOCK",
                    description="Oracle Services Network through the service gateway"))
            if net.role != "rdma":  # the RDMA fabric stays inside its own network
                for other in spec.network.networks:
                    if other.name != net.name and other.role != "rdma":
                        rules.append(oci.core.RouteTableRouteRuleArgs(
                            network_entity_id=self.drg.id, destination=str(cidrs[other.name]),
                            destination_type="CIDR_BLOCK", description=f"to {other.name} through the DRG"))
            if net.name in peered:  # exactly the peers' peered networks, through the DRG and its peering
                for link in ctx.site.peers:
                    for their_net, cidr in sorted(link.ranges.items()):
                        rules.append(oci.core.RouteTableRouteRuleArgs(
                            network_entity_id=self.drg.id, destination=str(cidr), destination_type="CIDR_BLOCK",
                            description=f"to {link.site}'s {their_net} network through the DRG"))
            route_table = oci.core.RouteTable(
                ctx.logical(Kind.ROUTES, net.name), compartment_id=compartment, vcn_id=vcn.id, route_rules=rules,
                display_name=ctx.display(net.name, "routes"), defined_tags=tags,
                opts=ctx.opts(self, depends_on=[attachment]))

            carved = ctx.subnet_cidrs(net.name)
            for sub in net.subnets:
                subnet = oci.core.Subnet(
                    ctx.logical(Kind.SUBNET, net.name, sub.name), compartment_id=compartment, vcn_id=vcn.id,
                    cidr_block=str(carved[sub.name]), dns_label=naming.dns_label(sub.name),
                    display_name=ctx.display(net.name, sub.name), route_table_id=route_table.id,
                    security_list_ids=[vcn.default_security_list_id],
                    prohibit_public_ip_on_vnic=not sub.public, prohibit_internet_ingress=not sub.public,
                    defined_tags=tags, opts=ctx.opts(self))
                ctx.subnets[(net.name, sub.name)] = subnet
                oci.logging.Log(
                    ctx.logical(Kind.FLOW_LOG, net.name, sub.name),
                    display_name=ctx.display(net.name, sub.name, "flow"),
                    log_group_id=self.log_group.id, log_type="SERVICE", is_enabled=True,
                    retention_duration=spec.jurisdiction.retention.log_days,
                    configuration=oci.logging.LogConfigurationArgs(
                        source=oci.logging.LogConfigurationSourceArgs(
                            category="all", resource=subnet.id, service="flowlogs", source_type="OCISERVICE")),
                    defined_tags=tags, opts=ctx.opts(self))

        for nsg in spec.network.nsgs:
            group = oci.core.NetworkSecurityGroup(
                ctx.logical(Kind.NSG, nsg.name), compartment_id=compartment, vcn_id=ctx.vcns[nsg.network].id,
                display_name=ctx.display("nsg", nsg.name), defined_tags=tags, opts=ctx.opts(self))
            ctx.nsgs[nsg.name] = group
            for rule in nsg.rules:
                self._rule(ctx, nsg.name, group, rule)
        workers = spec.compute.oke.worker_nsg
        for allow in spec.network.egress_allow:  # the workers' only egress beyond the site and the service gateway
            self._rule(ctx, workers, ctx.nsgs[workers], NsgRule(
                direction="egress", protocol="tcp", ports=allow.ports, peer=str(allow.cidr),
                description=f"egress allow list: {allow.name}"))
        self.register_outputs({"drgId": self.drg.id})

    def _drg_tables(self, ctx: SiteContext, compartment) -> dict[str, oci.core.DrgRouteTable]:
        """With peers, each VCN attachment gets a DRG route table: the peered networks' imports the routes of
        the site's VCNs and of its remote peering connections; the others' only the site's VCNs, so the GPU
        network and the RDMA fabric have no route to a peer."""
        tables = {}
        for kind, types in (("internal", ["VCN"]), ("peered", ["VCN", "REMOTE_PEERING_CONNECTION"])):
            dist = oci.core.DrgRouteDistribution(
                ctx.logical(Kind.DRG_IMPORT, kind), drg_id=self.drg.id, distribution_type="IMPORT",
                display_name=ctx.display("drg", "import", kind), defined_tags=ctx.defined_tags, opts=ctx.opts(self))
            for priority, attachment_type in enumerate(types, start=1):
                oci.core.DrgRouteDistributionStatement(
                    ctx.logical(Kind.DRG_IMPORT, kind, attachment_type.lower().replace("_", "-")),
                    drg_route_distribution_id=dist.id, action="ACCEPT", priority=priority,
                    match_criteria=oci.core.DrgRouteDistributionStatementMatchCriteriaArgs(
                        match_type="DRG_ATTACHMENT_TYPE", attachment_type=attachment_type),
                    opts=ctx.opts(self))
            tables[kind] = oci.core.DrgRouteTable(
                ctx.logical(Kind.DRG_ROUTES, kind), drg_id=self.drg.id, import_drg_route_distribution_id=dist.id,
                display_name=ctx.display("drg", kind), defined_tags=ctx.defined_tags, opts=ctx.opts(self))
        return tables

    def _rule(self, ctx: SiteContext, nsg_name: str, group, rule) -> None:
        ingress = rule.direction == "ingress"
        if rule.peer == ORACLE_SERVICES:
            peer, peer_type = self.osn_cidr, "SERVICE_CIDR_BLOCK"
        else:
            peer, peer_type = ctx.peer_cidr(rule.peer), "CIDR_BLOCK"
        key = rule_key(rule.direction, rule.protocol, rule.ports, rule.peer)
        oci.core.NetworkSecurityGroupSecurityRule(
            ctx.logical(Kind.NSG, nsg_name, key), network_security_group_id=group.id,
            direction=rule.direction.upper(), protocol=PROTOCOLS[rule.protocol], stateless=False,
            description=rule.description or None,
            source=peer if ingress else None, source_type=peer_type if ingress else None,
            destination=None if ingress else peer, destination_type=None if ingress else peer_type,
            opts=ctx.opts(self), **port_options(rule.protocol, rule.ports))
