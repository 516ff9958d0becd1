"""Network rules: internet ingress, public IPs, routes out of the GPU fabric, flow logs, default security
lists, where load balancers may live, who may reach the bastion, and managed services (Integration, Analytics,
Autonomous Database) open to the internet."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any, Iterator

from sitekit.oci.types import (
    ANALYTICS_INSTANCE,
    AUTONOMOUS_DATABASE,
    BASTION,
    DEFAULT_SECURITY_LIST,
    INSTANCE,
    INSTANCE_CONFIGURATION,
    INTEGRATION_INSTANCE,
    INTERNET_GATEWAY,
    LOAD_BALANCER,
    LOG,
    NETWORK_LOAD_BALANCER,
    NSG_RULE,
    PUBLIC_IP,
    ROUTE_TABLE,
    SECURITY_LIST,
    SUBNET,
    VCN,
    VNIC_ATTACHMENT,
)
from sitekit.policy.model import NotApplicable, Res, Stack, get, is_unknown, items, rule

ANYWHERE = ("0.0.0.0/0", "::/0")
TCP = ("6", "tcp", "all")
SSH, RDP = 22, 3389
SEALED_ROLES = ("gpu", "rdma")


def _covers(port: int, low: Any, high: Any) -> bool:
    """Whether a port range (missing bounds mean 'all ports') holds `port`; unknown bounds never match."""
    if is_unknown(low) or is_unknown(high):
        return False
    low = 1 if low is None else low
    high = 65535 if high is None else high
    try:
        return float(low) <= port <= float(high)
    except (TypeError, ValueError):
        return False


def _security_list_opens(res: Res, port: int) -> Iterator[str]:
    for i, r in enumerate(items(res.get("ingressSecurityRules"))):
        if get(r, "source") not in ANYWHERE or str(get(r, "protocol", "")).lower() not in TCP:
            continue
        tcp = get(r, "tcpOptions")
        if is_unknown(tcp):
            continue
        if _covers(port, get(r, "tcpOptions.min"), get(r, "tcpOptions.max")):
            yield f"ingress rule {i} allows TCP {port} from {get(r, 'source')}"


def _nsg_rule_opens(res: Res, port: int) -> Iterator[str]:
    if str(res.get("direction", "")).upper() != "INGRESS" or res.get("source") not in ANYWHERE:
        return
    if str(res.get("protocol", "")).lower() not in TCP:
        return
    if _covers(port, res.get("tcpOptions.destinationPortRange.min"), res.get("tcpOptions.destinationPortRange.max")):
        yield f"NSG rule allows TCP {port} from {res.get('source')}"


@rule("SK-NET-001", "No security-list ingress from the internet to SSH (22)", severity="high", level="mandatory",
      area="network", types=(SECURITY_LIST, DEFAULT_SECURITY_LIST), cis="2.1",
      remediation="Reach hosts through the OCI Bastion service; restrict the rule's source to an internal CIDR.")
def no_internet_ssh_in_security_lists(res: Res, ctx) -> Iterator[str]:
    yield from _security_list_opens(res, SSH)


@rule("SK-NET-002", "No security-list ingress from the internet to RDP (3389)", severity="high", level="mandatory",
      area="network", types=(SECURITY_LIST, DEFAULT_SECURITY_LIST), cis="2.2",
      remediation="Reach hosts through the OCI Bastion service; restrict the rule's source to an internal CIDR.")
def no_internet_rdp_in_security_lists(res: Res, ctx) -> Iterator[str]:
    yield from _security_list_opens(res, RDP)


@rule("SK-NET-003", "No NSG ingress from the internet to SSH (22)", severity="high", level="mandatory",
      area="network", types=(NSG_RULE,), cis="2.3", anchor=("peer",),
      remediation="Set the NSG rule's peer to a network of the site (e.g. 'services') instead of 0.0.0.0/0.")
def no_internet_ssh_in_nsgs(res: Res, ctx) -> Iterator[str]:
    yield from _nsg_rule_opens(res, SSH)


@rule("SK-NET-004", "No NSG ingress from the internet to RDP (3389)", severity="high", level="mandatory",
      area="network", types=(NSG_RULE,), cis="2.4", anchor=("peer",),
      remediation="Set the NSG rule's peer to a network of the site instead of 0.0.0.0/0.")
def no_internet_rdp_in_nsgs(res: Res, ctx) -> Iterator[str]:
    yield from _nsg_rule_opens(res, RDP)


def subnet_public(props) -> bool | None:
    """Whether a subnet lets VNICs have public IPs: OCI allows them unless `prohibitPublicIpOnVnic` or
    `prohibitInternetIngress` (which sets the former for IPv4) is true; None when unknown."""
    flags = [get(props, "prohibitPublicIpOnVnic"), get(props, "prohibitInternetIngress")]
    if any(f is True for f in flags):
        return False
    if any(is_unknown(f) for f in flags):
        return None
    return True


@rule("SK-NET-005", "No public IP on any VNIC outside the frontend role", severity="high", level="mandatory",
      area="network", types=(SUBNET, INSTANCE, INSTANCE_CONFIGURATION, VNIC_ATTACHMENT, PUBLIC_IP),
      anchor=("public",),
      remediation="Keep `public: false` on subnets outside the frontend network (`prohibitPublicIpOnVnic` or "
                  "`prohibitInternetIngress`) and `assignPublicIp: false` on instances and their secondary VNICs, "
                  "and assign no public IP to a private IP; publish services through a load balancer in the "
                  "frontend.")
def no_public_ip_outside_frontend(res: Res, ctx) -> Iterator[str]:
    if res.type == PUBLIC_IP:  # a load balancer takes its reserved IP itself; a private IP is an instance's VNIC
        if res.get("privateIpId") not in (None, ""):
            yield ("a public IP is assigned to a private IP of an instance VNIC; instances are never in the "
                   "frontend role")
        return
    if res.type == SUBNET:
        if subnet_public(res.props) is not True:
            return
        role = ctx.role_of_subnet(res.props)
        if role == "frontend":
            return
        if role is None and not ctx.known:
            raise NotApplicable("a subnet that allows public IPs is right only in the frontend role, which only "
                                "the site's network roles can tell")
        yield f"subnet {res.get('displayName', res.name)} allows public IPs (role {role or 'unknown'})"
        return
    vnics = {INSTANCE: [("primary", res.get("createVnicDetails"))],
             VNIC_ATTACHMENT: [("secondary", res.get("createVnicDetails"))],
             INSTANCE_CONFIGURATION: [("primary", res.get("instanceDetails.launchDetails.createVnicDetails"))] + [
                 (f"secondary {i}", get(v, "createVnicDetails"))
                 for i, v in enumerate(items(res.get("instanceDetails.secondaryVnics")))]}[res.type]
    for which, details in vnics:
        assign = get(details, "assignPublicIp")  # a string ("true") on Instance, a bool in launch details
        if assign is True or (isinstance(assign, str) and assign.strip().lower() == "true"):
            yield f"the instance's {which} VNIC gets a public IP; instances are never in the frontend role"


@rule("SK-NET-006", "GPU and RDMA networks have no route to an internet gateway", severity="critical",
      level="mandatory", area="network", stack=True, needs_site=True,
      remediation="Remove the internet gateway from GPU and RDMA networks (`internet: false`); GPU nodes reach "
                  "the internet, if at all, through a NAT gateway.")
def no_internet_route_from_gpu_fabric(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    for res in stack.of_type(INTERNET_GATEWAY, ROUTE_TABLE):
        roles = {ctx.role_of_vcn(v.props) for v in stack.deps(res, VCN)}
        sealed = sorted(r for r in roles if r in SEALED_ROLES)
        if not sealed:
            continue
        if res.type == INTERNET_GATEWAY:
            yield res, f"internet gateway in a {sealed[0]} network"
        elif stack.deps(res, INTERNET_GATEWAY):
            yield res, f"route table of a {sealed[0]} network routes to an internet gateway"


@rule("SK-NET-007", "Every subnet has a flow log", severity="medium", level="mandatory", area="network",
      stack=True, cis="4.13",
      remediation="Declare an OCI Logging service log (service 'flowlogs', category 'all') for every subnet.")
def every_subnet_has_a_flow_log(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    covered: set[str] = set()
    for log in stack.of_type(LOG):  # a disabled flow log is SK-NET-011's, on the log itself
        if log.get("configuration.source.service") == "flowlogs":
            covered.update(d.urn for d in stack.deps(log, SUBNET))
    for subnet in stack.of_type(SUBNET):
        if subnet.urn not in covered:
            yield subnet, f"subnet {subnet.get('displayName', subnet.name)} has no flow log"


def _within(source: Any, blocks: list[Any]) -> bool:
    """Whether a rule's source lies inside one of the VCN's CIDR blocks (unknown ones cannot be judged; with no
    known block, only the internet is outside)."""
    if is_unknown(source) or any(is_unknown(b) for b in blocks):
        return True
    if not isinstance(source, str) or source in ANYWHERE:
        return False
    try:
        net = ip_network(source, strict=False)
        nets = [ip_network(b, strict=False) for b in blocks if isinstance(b, str)]
    except ValueError:
        return False
    return not nets or any(net.version == b.version and net.subnet_of(b) for b in nets)


@rule("SK-NET-008", "The default security list allows nothing but ICMP within the VCN", severity="medium",
      level="mandatory", area="network", stack=True, cis="2.5",
      remediation="Manage every VCN's default security list (a DefaultSecurityList on the VCN's "
                  "default_security_list_id) with empty rule lists, and use NSGs for traffic.")
def default_security_list_is_closed(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    managed: set[str] = set()
    for res in stack.of_type(DEFAULT_SECURITY_LIST):
        vcns = stack.deps(res, VCN)
        managed.update(v.urn for v in vcns)
        blocks = [b for v in vcns for b in items(v.get("cidrBlocks")) + [v.get("cidrBlock")]]
        for direction in ("ingress", "egress"):
            for i, r in enumerate(items(res.get(f"{direction}SecurityRules"))):
                protocol, source = get(r, "protocol", ""), get(r, "source")
                if is_unknown(protocol) or (direction == "ingress" and str(protocol) in ("1", "58")
                                            and _within(source, blocks)):
                    continue  # CIS 2.5 leaves ICMP (and ICMPv6) from within the VCN; unknown cannot be judged
                if get(r, "source" if direction == "ingress" else "destination") in ANYWHERE:
                    continue  # open to the internet: SK-NET-010 reports it on the list itself
                yield res, (f"{direction} rule {i} (protocol {get(r, 'protocol', '?')}"
                            f"{', from ' + source if direction == 'ingress' and isinstance(source, str) else ''}) "
                            "in the default security list")
    for vcn in stack.of_type(VCN):
        if vcn.urn not in managed:  # OCI creates it with SSH from 0.0.0.0/0, ICMP and all egress
            yield vcn, (f"VCN {vcn.get('displayName', vcn.name)} leaves its default security list unmanaged, "
                        "with OCI's default rules (SSH from 0.0.0.0/0, all egress)")


@rule("SK-NET-009", "Load balancers only in the frontend role", severity="high", level="mandatory", area="network",
      stack=True, needs_site=True,
      remediation="Place load balancers in the frontend network's subnets; internal services use private "
                  "load balancers in the frontend too, or none.")
def load_balancers_only_in_frontend(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    for lb in stack.of_type(LOAD_BALANCER, NETWORK_LOAD_BALANCER):
        subnets = stack.deps(lb, SUBNET)
        roles = sorted({ctx.role_of_subnet(s.props) or "unknown" for s in subnets})
        outside = [r for r in roles if r not in ("frontend", "unknown")]
        if outside:
            yield lb, f"load balancer in a subnet of role {', '.join(outside)}"



@rule("SK-NET-010", "The default security list is not open to the internet", severity="high", level="mandatory",
      area="network", types=(DEFAULT_SECURITY_LIST,), cis="2.5",
      remediation="Leave every VCN's default security list empty (sitekit does); CIS 2.5 allows at most ICMP from "
                  "within the VCN, and traffic belongs in NSGs.")
def default_security_list_closed_to_internet(res: Res, ctx) -> Iterator[str]:
    """The per-resource half of CIS 2.5: any rule from or to 0.0.0.0/0 or ::/0, whatever its protocol (ICMP
    from within the VCN cannot name the internet). Rules from other ranges outside the VCN need the VCN's CIDR:
    SK-NET-008 judges them on the stack."""
    for direction, peer in (("ingress", "source"), ("egress", "destination")):
        for i, r in enumerate(items(res.get(f"{direction}SecurityRules"))):
            if get(r, peer) in ANYWHERE:
                yield (f"{direction} rule {i} (protocol {get(r, 'protocol', '?')}) of the default security list is "
                       f"open to {get(r, peer)}")


@rule("SK-NET-011", "Flow logs are enabled", severity="medium", level="mandatory", area="network", types=(LOG,),
      cis="4.13",
      remediation="Leave `is_enabled` unset or true on VCN flow logs (CIS 4.13: a flow log for every subnet).")
def flow_logs_enabled(res: Res, ctx) -> Iterator[str]:
    if res.get("configuration.source.service") == "flowlogs" and res.get("isEnabled") is False:
        yield f"flow log {res.get('displayName', res.name)} is disabled (isEnabled false)"


def _open_to_anywhere(value) -> list[str]:
    """The internet ranges (0.0.0.0/0, ::/0) anywhere in a value (lists and maps walked)."""
    if isinstance(value, str):
        return [value] if value.strip() in ANYWHERE else []
    if isinstance(value, dict):
        return [c for v in value.values() for c in _open_to_anywhere(v)]
    if isinstance(value, (list, tuple)):
        return [c for v in value for c in _open_to_anywhere(v)]
    return []


def _service_open(no_control: str | None, allow_list, what: str) -> Iterator[str]:
    """The two ways CIS OCI 2.6-2.8 find a managed service open to the internet: no access control at all
    (`no_control` says which setting is missing), or 0.0.0.0/0 (or ::/0) in its allow list."""
    if no_control:
        yield f"{no_control}: it admits every source address"
    for cidr in _open_to_anywhere(allow_list):
        yield f"{what} admits {cidr}"


INTEGRATION_SCOPES = ("", "runtime.", "designTime.")
"""Where an integration instance's network endpoint details hold allow lists: for the whole instance, or for its
runtime or design time alone."""


@rule("SK-NET-012", "Oracle Integration is not open to the internet", severity="high", level="mandatory",
      area="network", types=(INTEGRATION_INSTANCE,), cis="2.6",
      remediation="Give the integration instance `network_endpoint_details` with allow-listed IPs or VCNs, none "
                  "of them 0.0.0.0/0.")
def integration_restricted(res: Res, ctx) -> Iterator[str]:
    """CIS OCI 2.6: no allow list, or 0.0.0.0/0 anywhere in the network endpoint details. Oracle's compliance
    script asks only for network endpoint details; sitekit asks for an allow list in them too (allow-listed IPs
    or VCNs, for the whole instance or its runtime or design time), since details without one (`{}`) admit
    every source as surely as none. CIS accepts "corporate IP addresses or VCNs": an allow-listed VCN's own IP
    list (`allowlistedIpCidrs`) ranges over that VCN's addresses, so 0.0.0.0/0 there is the whole VCN, not the
    internet."""
    details = res.get("networkEndpointDetails")
    if is_unknown(details):
        return
    lists = [res.get(f"networkEndpointDetails.{scope}{name}") for scope in INTEGRATION_SCOPES
             for name in ("allowlistedHttpIps", "allowlistedHttpVcns")]
    no_control = ("no networkEndpointDetails" if details is None
                  else None if any(items(v) or is_unknown(v) for v in lists)  # an unknown list may hold entries
                  else "networkEndpointDetails with no allow list (allowlistedHttpIps or allowlistedHttpVcns)")
    ips = [res.get(f"networkEndpointDetails.{scope}allowlistedHttpIps") for scope in INTEGRATION_SCOPES]
    yield from _service_open(no_control, ips, "the allow list (networkEndpointDetails)")


@rule("SK-NET-013", "Analytics Cloud is not open to the internet", severity="high", level="mandatory",
      area="network", types=(ANALYTICS_INSTANCE,), cis="2.7",
      remediation="Give the analytics instance a PRIVATE network endpoint, or a PUBLIC one with `whitelisted_vcns` "
                  "or `whitelisted_ips` that do not include 0.0.0.0/0.")
def analytics_restricted(res: Res, ctx) -> Iterator[str]:
    """CIS OCI 2.7: a public endpoint needs an allow list ("corporate IP addresses or VCNs": whitelisted IPs
    without 0.0.0.0/0, or whitelisted VCNs, whose own IP lists range over the VCN); a private endpoint
    (in a VCN) is restricted. No endpoint details means OCI's default, a public endpoint with no allow list."""
    details = res.get("networkEndpointDetails")
    kind = res.get("networkEndpointDetails.networkEndpointType", "PUBLIC")
    ips = res.get("networkEndpointDetails.whitelistedIps")
    vcns = res.get("networkEndpointDetails.whitelistedVcns")
    if any(is_unknown(v) for v in (details, kind, ips, vcns)) or str(kind).upper() != "PUBLIC":
        return
    yield from _service_open(None if items(ips) or items(vcns) else "a public endpoint with no whitelistedIps or "
                             "whitelistedVcns", ips, "the public endpoint's allow list (whitelistedIps)")


@rule("SK-NET-014", "Autonomous Database is not open to the internet", severity="high", level="mandatory",
      area="network", types=(AUTONOMOUS_DATABASE,), cis="2.8",
      remediation="Give the database a private endpoint (`subnet_id`, with `nsg_ids`) or an access control list "
                  "(`whitelisted_ips`) without 0.0.0.0/0.")
def autonomous_database_restricted(res: Res, ctx) -> Iterator[str]:
    """CIS OCI 2.8 covers Autonomous Database Serverless; a database on dedicated infrastructure (`isDedicated`, or
    in an Autonomous Container Database) lives in its Exadata's VCN."""
    dedicated, container = res.get("isDedicated"), res.get("autonomousContainerDatabaseId")
    subnet, ips = res.get("subnetId"), res.get("whitelistedIps")
    if any(is_unknown(v) for v in (dedicated, container, subnet, ips)) or dedicated is True or container:
        return
    yield from _service_open(None if subnet or items(ips) else "no private endpoint (subnetId) and no access control "
                             "list (whitelistedIps)", ips, "the access control list (whitelistedIps)")


@rule("SK-NET-015", "Bastions admit only named operator ranges", severity="high", level="mandatory",
      area="network", types=(BASTION,), anchor=("/security", "bastion", "clientCidrs"),
      params={"widestClientPrefix": {"type": "integer", "minimum": 8, "maximum": 32}},
      remediation="Set the bastion's client allow list to the ranges operators connect from (sitekit: "
                  "`sitekit:operatorCidrs`), each no wider than a /16; never 0.0.0.0/0 or the organisation's "
                  "whole address space.")
def bastion_clients_named(res: Res, ctx) -> Iterator[str]:
    widest = ctx.param("widestClientPrefix") or 16
    for cidr in items(res.get("clientCidrBlockAllowLists")):
        if not isinstance(cidr, str) or is_unknown(cidr):
            continue
        try:
            net = ip_network(cidr.strip(), strict=False)
        except ValueError:
            continue
        if net.prefixlen == 0:
            yield f"the bastion admits {cidr}: anyone on the internet"
        elif net.version == 4 and net.prefixlen < widest:
            yield (f"the bastion admits {cidr} ({net.num_addresses:,} addresses), wider than a /{widest}: name the "
                   "operators' ranges instead")
