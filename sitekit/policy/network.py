"""Network rules: internet ingress, public IPs, routes out of the GPU fabric, flow logs, default security
lists and where load balancers may live."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any, Iterator

from .model import Res, Stack, get, is_unknown, items, rule
from .types import (DEFAULT_SECURITY_LIST, INSTANCE, INSTANCE_CONFIGURATION, INTERNET_GATEWAY, LOAD_BALANCER, LOG,
                    NETWORK_LOAD_BALANCER, NSG_RULE, PUBLIC_IP, ROUTE_TABLE, SECURITY_LIST, SUBNET, VCN,
                    VNIC_ATTACHMENT)

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
      area="network", types=(SECURITY_LIST, DEFAULT_SECURITY_LIST), cis="2.1", ckv="CKV_OCI_19",
      remediation="Reach hosts through the OCI Bastion service; restrict the rule's source to an internal CIDR.")
def no_internet_ssh_in_security_lists(res: Res, ctx) -> Iterator[str]:
    yield from _security_list_opens(res, SSH)


@rule("SK-NET-002", "No security-list ingress from the internet to RDP (3389)", severity="high", level="mandatory",
      area="network", types=(SECURITY_LIST, DEFAULT_SECURITY_LIST), cis="2.2", ckv="CKV_OCI_20",
      remediation="Reach hosts through the OCI Bastion service; restrict the rule's source to an internal CIDR.")
def no_internet_rdp_in_security_lists(res: Res, ctx) -> Iterator[str]:
    yield from _security_list_opens(res, RDP)


@rule("SK-NET-003", "No NSG ingress from the internet to SSH (22)", severity="high", level="mandatory",
      area="network", types=(NSG_RULE,), cis="2.3", ckv="CKV_OCI_22", anchor=("peer",),
      remediation="Set the NSG rule's peer to a network of the site (e.g. 'services') instead of 0.0.0.0/0.")
def no_internet_ssh_in_nsgs(res: Res, ctx) -> Iterator[str]:
    yield from _nsg_rule_opens(res, SSH)


@rule("SK-NET-004", "No NSG ingress from the internet to RDP (3389)", severity="high", level="mandatory",
      area="network", types=(NSG_RULE,), cis="2.4", ckv="CKV2_OCI_2", anchor=("peer",),
      remediation="Set the NSG rule's peer to a network of the site instead of 0.0.0.0/0.")
def no_internet_rdp_in_nsgs(res: Res, ctx) -> Iterator[str]:
    yield from _nsg_rule_opens(res, RDP)


@rule("SK-NET-005", "No public IP on any VNIC outside the frontend role", severity="high", level="mandatory",
      area="network", types=(SUBNET, INSTANCE, INSTANCE_CONFIGURATION, VNIC_ATTACHMENT, PUBLIC_IP),
      anchor=("public",),
      remediation="Keep `public: false` on subnets outside the frontend network and `assignPublicIp: false` on "
                  "instances and their secondary VNICs, and assign no public IP to a private IP; publish services "
                  "through a load balancer in the frontend.")
def no_public_ip_outside_frontend(res: Res, ctx) -> Iterator[str]:
    if res.type == PUBLIC_IP:  # a load balancer takes its reserved IP itself; a private IP is an instance's VNIC
        if res.get("privateIpId") not in (None, ""):
            yield ("a public IP is assigned to a private IP of an instance VNIC; instances are never in the "
                   "frontend role")
        return
    if res.type == SUBNET:
        prohibit = res.get("prohibitPublicIpOnVnic", False)  # OCI's default is to allow public IPs
        if prohibit is False:
            role = ctx.role_of_subnet(res.props)
            if role != "frontend" and (role is not None or ctx.known):  # no site: no roles to judge by
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
    for log in stack.of_type(LOG):
        if log.get("configuration.source.service") != "flowlogs" or log.get("isEnabled") is False:
            continue
        covered.update(d.urn for d in stack.deps(log, SUBNET))
    for subnet in stack.of_type(SUBNET):
        if subnet.urn not in covered:
            yield subnet, f"subnet {subnet.get('displayName', subnet.name)} has no enabled flow log"


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

