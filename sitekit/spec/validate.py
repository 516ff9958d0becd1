"""Cross-field rules of a site spec: references by name, address plan, residency, shapes, power.

Each check appends `Problem`s; `check_site` returns them all so they are reported together.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Network
from typing import TYPE_CHECKING, Any

from sitekit.errors import Problem, SpecError, clip, nearest
from sitekit.naming import CHILD_COMPARTMENTS, Kind, dns_label, logical, rule_key
from sitekit.planners import PlanningError, carve, fabric_blocks, overlaps, power
from sitekit.spec.halls import hall_problems
from sitekit.spec.layout import BASELINE
from sitekit.spec.ledger import check_pools, load_ledger, pool_demands
from sitekit.spec.racks import load_racks
from sitekit.spec.sources import PathKey, dotted

if TYPE_CHECKING:
    from sitekit.spec.loaded import LoadedSite


class _Checker:
    def __init__(self, site: "LoadedSite"):
        self.site = site
        self.spec = site.spec
        self.problems: list[Problem] = []

    def add(self, path: PathKey, message: str) -> None:

        origin = self.site.origin(path)
        self.problems.append(Problem(origin.file if origin else BASELINE, origin.line if origin else 1,
                                     dotted(path), message))

    def ref(self, path: PathKey, value: str, allowed: list[str], what: str) -> bool:
        if value not in allowed:
            self.add(path, f"unknown {what} '{clip(value)}'; {nearest(value, allowed)}")
            return False
        return True


def check_site(site: "LoadedSite") -> list[Problem]:
    c = _Checker(site)
    _regions(c)
    _keys(c)
    _networks(c)
    _address_plan(c)
    _references(c)
    _pools(c)
    _block_names(c)
    _former_names(c)
    _nsg_placement(c)
    _iam(c)
    _power(c)
    _halls(c)
    _capacity(c)
    _names(c)
    _peering(c)
    return c.problems


BASIS = 400
"""How much of a rule's basis (law and article) a message quotes: the shipped ones are under 300 characters."""


FABRIC_ROLES = ("gpu", "rdma")


def _peering(c: _Checker) -> None:
    """The networks routed to peers exist; a GPU or RDMA network is routed only where `peering.fabric` says
    so on purpose; each peer rule names an NSG and a peered network."""
    peering = c.spec.peering
    networks = {n.name: n for n in c.spec.network.networks}
    for i, name in enumerate(peering.networks):
        p = ("peering", "networks", i)
        if not c.ref(p, name, list(networks), "network"):
            continue
        if networks[name].role in FABRIC_ROLES and name not in peering.fabric:
            c.add(p, f"network '{name}' is the site's {networks[name].role} network: peers never reach it unless "
                     "peering.fabric names it too, on purpose")
    for i, name in enumerate(peering.fabric):
        if name not in peering.networks:
            c.add(("peering", "fabric", i), f"'{name}' is not in peering.networks; fabric only confirms a routed "
                                            "network")
    nsgs = [n.name for n in c.spec.network.nsgs]
    for i, rule in enumerate(peering.rules):
        p = ("peering", "rules", i)
        c.ref(p + ("nsg",), rule.nsg, nsgs, "NSG")
        c.ref(p + ("network",), rule.network, list(peering.networks), "peered network")


def _names(c: _Checker) -> None:
    """Logical names and DNS labels built from two data keys must not collide (network 'a-b' subnet 'c' and
    network 'a' subnet 'b-c' are both '<site>-subnet-a-b-c'); OCI wants DNS labels unique in their VCN."""
    site = c.spec.site.name
    seen: dict[str, PathKey] = {}

    def claim(name: str, path: PathKey) -> None:
        if name in seen and seen[name] != path:
            c.add(path, f"makes the resource name '{name}', as {dotted(seen[name])} does; rename one of them")
        seen.setdefault(name, path)

    vcn_labels: dict[str, str] = {}
    for net in c.spec.network.networks:
        p = ("network", "networks", net.name)
        label = dns_label(net.name)
        if label in vcn_labels and vcn_labels[label] != net.name:
            c.add(p, f"has the DNS label '{label}', as network '{vcn_labels[label]}' does; rename one of them")
        vcn_labels.setdefault(label, net.name)
        sub_labels: dict[str, str] = {}
        for sub in net.subnets:
            sp = p + ("subnets", sub.name)
            claim(logical(site, Kind.SUBNET, net.name, sub.name), sp)
            label = dns_label(sub.name)
            if label in sub_labels and sub_labels[label] != sub.name:
                c.add(sp, f"has the DNS label '{label}', as subnet '{sub_labels[label]}' of network '{net.name}' "
                          "does; rename one of them")
            sub_labels.setdefault(label, sub.name)
    for nsg in c.spec.network.nsgs:
        p = ("network", "nsgs", nsg.name)
        claim(logical(site, Kind.NSG, nsg.name), p)
        for i, rule in enumerate(nsg.rules):
            claim(logical(site, Kind.NSG, nsg.name, rule_key(rule.direction, rule.protocol, rule.ports, rule.peer)),
                  p + ("rules", i))


def _nsg_placement(c: _Checker) -> None:
    """An NSG must live in the VCN of the VNICs that use it, and rules in one NSG must be distinct."""
    spec = c.spec
    nsg_network = {n.name: n.network for n in spec.network.nsgs}
    uses = [(("compute", "gpuNsg"), spec.compute.gpu_nsg, spec.compute.gpu_network),
            (("compute", "oke", "apiNsg"), spec.compute.oke.api_nsg, spec.compute.oke.network),
            (("compute", "oke", "workerNsg"), spec.compute.oke.worker_nsg, spec.compute.oke.worker_network)]
    uses += [(("storage", "fileSystems", fs.name, "nsg"), fs.nsg, fs.network) for fs in spec.storage.file_systems]
    for path, nsg, network in uses:
        if nsg in nsg_network and nsg_network[nsg] != network:
            c.add(path, f"NSG '{nsg}' is in network '{nsg_network[nsg]}' but is used for VNICs in '{network}'")
    for nsg in spec.network.nsgs:
        seen: dict[str, int] = {}
        for i, rule in enumerate(nsg.rules):
            key = rule_key(rule.direction, rule.protocol, rule.ports, rule.peer)
            if key in seen:
                c.add(("network", "nsgs", nsg.name, "rules", i), f"duplicates rule {seen[key]} ({key})")
            seen.setdefault(key, i)


def _iam(c: _Checker) -> None:
    known = ("site",) + CHILD_COMPARTMENTS
    iam = c.spec.iam
    for i, statement in enumerate(iam.statements):
        for name in re.findall(r"\{compartment:([a-z-]+)\}", statement):
            if name not in known:
                c.add(("iam", "statements", i), f"unknown compartment '{clip(name)}'; {nearest(name, known)}")
        # `{word}` is a placeholder; a brace block with spaces is an OCI condition (`where ALL {a = 'b', ...}`)
        for token in re.findall(r"\{([^}\s]*)\}", statement):
            if not token.startswith("compartment:") and token not in ("group", "dynamic-group", "region", "cluster"):
                c.add(("iam", "statements", i), f"unknown placeholder '{{{clip(token)}}}'; allowed: {{compartment:<name>}}, "
                                                 "{group}, {dynamic-group}, {region}, {cluster}")
    if len(iam.statements) > iam.statement_budget:
        c.add(("iam", "statements"), f"{len(iam.statements)} statements exceed the budget of {iam.statement_budget}")


def _regions(c: _Checker) -> None:
    s, j, regions = c.spec.site, c.spec.jurisdiction, c.site.catalog.regions
    for i, region in enumerate(j.residency.regions):
        c.ref(("jurisdiction", "residency", "regions", i), region, list(regions), "OCI public region")
    if s.region_kind == "public":
        c.ref(("site", "region"), s.region, list(regions), "OCI public region")
    elif s.region in regions:
        r = regions[s.region]
        c.add(("site", "regionKind"), f"'{s.region}' is an OCI public region ({r.name}, {r.country}); "
                                      "regionKind: dedicated is for the identifier Oracle assigns a Dedicated Region")
        return
    c.ref(("site", "homeRegion"), s.home_region, list(regions), "OCI public region")
    resident = s.region in j.residency.regions or (s.region_kind == "dedicated" and j.residency.dedicated_in_country)
    if s.region_kind == "dedicated" and not j.residency.dedicated_in_country and s.region not in j.residency.regions:
        resident = False
    if resident or s.region in c.site.crossing:
        return  # resident, or in a jurisdiction the cross-border list opens to the site's data class (one meaning)
    accepted = j.residency.transfer_mechanisms
    allowed = ", ".join([*j.residency.regions, *c.site.crossing]) or "none"
    dedicated = " or an in-country Dedicated Region" if j.residency.dedicated_in_country else ""
    if s.transfer is None:
        how = f"declare site.transfer with one of: {', '.join(accepted)}" if accepted else \
            "this jurisdiction accepts no transfer mechanism"
        opened = (f" and those its cross-border list opens to data classified '{clip(j.tags.data_classification)}'"
                  if j.residency.cross_border else "")
        c.add(("site", "region"), f"region '{s.region}' is outside {j.name}'s residency regions{opened} ({allowed}"
                                  f"{dedicated}); {how} [{clip(j.residency.basis, BASIS)}]")
    elif s.transfer.mechanism not in accepted:
        c.add(("site", "transfer", "mechanism"),
              f"transfer mechanism '{s.transfer.mechanism}' is not accepted by {j.name}; "
              f"{nearest(s.transfer.mechanism, accepted) if accepted else 'it accepts none'}")


def _keys(c: _Checker) -> None:
    vault = c.spec.jurisdiction.vault.type
    for key in c.spec.security.keys:
        if key.rotation_days is not None and vault != "VIRTUAL_PRIVATE":
            c.add(("security", "keys", key.name, "rotationDays"),
                  f"OCI auto-rotation needs a VIRTUAL_PRIVATE vault (jurisdiction.vault.type is {vault}); "
                  "set rotationDays: null to rotate by hand")


def _networks(c: _Checker) -> None:
    for net in c.spec.network.networks:
        if net.internet and net.role != "frontend":
            c.add(("network", "networks", net.name, "internet"),
                  f"only the frontend role may have an internet gateway (network '{net.name}' has role '{net.role}')")
        for sub in net.subnets:
            if sub.public and net.role != "frontend":
                c.add(("network", "networks", net.name, "subnets", sub.name, "public"),
                      f"public IPs are only allowed in the frontend role (network '{net.name}' has role '{net.role}')")


VCN_PREFIX_MIN, VCN_PREFIX_MAX = 16, 30
"""An OCI VCN CIDR block is a /16 at the largest and a /30 at the smallest."""


def _address_plan(c: _Checker) -> None:
    plan = c.spec.site.address_plan
    org = c.spec.organisation.address_space
    base = ("site", "addressPlan")
    if not any(plan.supernet.subnet_of(space) for space in org if space.version == plan.supernet.version):
        c.add(base + ("supernet",), f"{plan.supernet} is outside the organisation's address space "
                                    f"({', '.join(map(str, org))})")
    names = [n.name for n in c.spec.network.networks]
    for name in names:
        if name not in plan.networks:
            c.add(base + ("networks",), f"no CIDR for network '{name}' (networks: {', '.join(names)})")
    for name, cidr in plan.networks.items():
        if not c.ref(base + ("networks", name), name, names, "network"):
            continue
        if not cidr.subnet_of(plan.supernet):
            c.add(base + ("networks", name), f"{cidr} is outside the supernet {plan.supernet}")
        if not VCN_PREFIX_MIN <= cidr.prefixlen <= VCN_PREFIX_MAX:
            c.add(base + ("networks", name), f"{cidr} is a /{cidr.prefixlen}; an OCI VCN CIDR is /{VCN_PREFIX_MIN} "
                                             f"to /{VCN_PREFIX_MAX} (split the network or shrink its subnets)")
    for a, b in overlaps(plan.networks):
        c.add(base + ("networks", b), f"{plan.networks[b]} ('{b}') overlaps {plan.networks[a]} ('{a}')")
    for net in c.spec.network.networks:
        cidr = plan.networks.get(net.name)
        if cidr is None:
            continue
        try:
            carve(cidr, [(s.name, s.prefix) for s in net.subnets])
        except PlanningError as exc:
            c.add(base + ("networks", net.name), f"subnets of '{net.name}' do not fit in {cidr}: {exc}")


def subnet_names(spec: Any) -> dict[str, list[str]]:
    return {n.name: [s.name for s in n.subnets] for n in spec.network.networks}



def _references(c: _Checker) -> None:
    spec = c.spec
    subnets = subnet_names(spec)
    networks = list(subnets)
    keys = [k.name for k in spec.security.keys]
    nsgs = [n.name for n in spec.network.nsgs]

    algorithms = {k.name: k.algorithm for k in spec.security.keys}

    def key(path: PathKey, name: str, algorithm: str = "AES") -> None:
        """A key reference: known, and of the algorithm its use needs (AES encrypts, RSA signs)."""
        if c.ref(path, name, keys, "key") and algorithms[name] != algorithm:
            use = "sign images" if algorithm == "RSA" else "encrypt"
            c.add(path, f"key '{name}' is {algorithms[name]}; to {use} it must be {algorithm}")

    def subnet(path: PathKey, network: str, sub: str, net_key: str, sub_key: str) -> None:
        if c.ref(path + (net_key,), network, networks, "network"):
            c.ref(path + (sub_key,), sub, subnets[network], f"subnet of network '{network}'")

    for nsg in spec.network.nsgs:
        p = ("network", "nsgs", nsg.name)
        c.ref(p + ("network",), nsg.network, networks, "network")
        for i, rule in enumerate(nsg.rules):
            rp = p + ("rules", i)
            if rule.peer not in networks and rule.peer != "oracle-services":
                try:
                    IPv4Network(rule.peer)
                except ValueError:
                    c.add(rp + ("peer",), f"peer '{clip(rule.peer)}' is neither a network nor a CIDR; "
                                          f"{nearest(rule.peer, networks + ['oracle-services'])}")
            if rule.ports and rule.protocol not in ("tcp", "udp"):
                c.add(rp + ("ports",), f"ports apply to tcp and udp only (protocol is '{rule.protocol}')")
    b = spec.security.bastion
    subnet(("security", "bastion"), b.network, b.subnet, "network", "subnet")
    comp = spec.compute
    subnet(("compute",), comp.gpu_network, comp.gpu_subnet, "gpuNetwork", "gpuSubnet")
    subnet(("compute",), comp.rdma_network, comp.rdma_subnet, "rdmaNetwork", "rdmaSubnet")
    subnet(("compute", "oke"), comp.oke.network, comp.oke.api_subnet, "network", "apiSubnet")
    subnet(("compute", "oke"), comp.oke.worker_network, comp.oke.worker_subnet, "workerNetwork", "workerSubnet")
    key(("compute", "oke", "key"), comp.oke.key)
    key(("compute", "oke", "signingKey"), comp.oke.signing_key, "RSA")
    c.ref(("compute", "gpuNsg"), comp.gpu_nsg, nsgs, "NSG")
    c.ref(("compute", "oke", "apiNsg"), comp.oke.api_nsg, nsgs, "NSG")
    c.ref(("compute", "oke", "workerNsg"), comp.oke.worker_nsg, nsgs, "NSG")
    if comp.oke.worker_network != comp.oke.network:
        c.add(("compute", "oke", "workerNetwork"), f"OKE workers must be in the cluster's network "
                                                   f"'{comp.oke.network}' (got '{comp.oke.worker_network}')")
    for fs in spec.storage.file_systems:
        p = ("storage", "fileSystems", fs.name)
        subnet(p, fs.network, fs.subnet, "network", "subnet")
        key(p + ("key",), fs.key)
        c.ref(p + ("nsg",), fs.nsg, nsgs, "NSG")
    for bucket in spec.storage.buckets:
        key(("storage", "buckets", bucket.name, "key"), bucket.key)
    for pool in comp.pools:
        key(("compute", "pools", pool.name, "key"), pool.key)


def _pools(c: _Checker) -> None:
    shapes = c.site.catalog.shapes
    approved = c.spec.jurisdiction.shapes.approved
    for pool in c.spec.compute.pools:
        p = ("compute", "pools", pool.name)
        if not c.ref(p + ("shape",), pool.shape, list(shapes), "GPU shape"):
            continue
        if pool.shape not in approved:
            c.add(p + ("shape",), f"shape '{pool.shape}' is not approved in {c.spec.jurisdiction.name} "
                                  f"(approved: {', '.join(approved)}) [{clip(c.spec.jurisdiction.shapes.basis, BASIS)}]")
        shape = shapes[pool.shape]
        if pool.autoscale is not None:
            if pool.placement != "oke":
                c.add(p + ("autoscale",), "autoscale applies to OKE pools only (placement: oke)")
            elif not pool.autoscale.min <= pool.nodes <= pool.autoscale.max:
                c.add(p + ("nodes",), f"nodes ({pool.nodes}) must lie within autoscale bounds "
                                      f"{pool.autoscale.min}..{pool.autoscale.max}")
        if pool.placement == "oke" and shape.grouping == "gpu-memory-cluster":
            c.add(p + ("placement",), f"{pool.shape} needs a GPU memory cluster; use placement: bare-metal")
        if pool.placement == "bare-metal":
            try:
                fabric_blocks(pool.nodes, shape.fabric.block, shape.fabric.whole_blocks)
            except PlanningError as exc:
                c.add(p + ("nodes",), f"{pool.shape}: {exc} (stacks/catalog/shapes.yaml: its fabric)")


def _block_names(c: _Checker) -> None:
    """'<pool>-block-<n>' names a pool's n-th fabric block (`naming.block_key`): no pool may be called that."""
    names = {p.name for p in c.spec.compute.pools}
    for pool in c.spec.compute.pools:
        m = re.fullmatch(r"(.+)-block-[0-9]+", pool.name)
        if m and m[1] in names:
            c.add(("compute", "pools", pool.name), f"'{pool.name}' is the name of a fabric block of pool '{m[1]}' "
                                                   "(<pool>-block-<n>); rename the pool")


def _former_names(c: _Checker) -> None:
    """A pool's former names become aliases of its resources (a rename keeps them): a former name is one no live
    pool has (neither this one, nor another: the alias would point at that pool's live resources; two pools naming
    each other are a cycle), and it belongs to one pool (two pools would alias the same resources)."""
    pools = c.spec.compute.pools
    live = {p.name for p in pools}
    owner: dict[str, str] = {}
    for pool in pools:
        for j, old in enumerate(pool.former_names):
            path = ("compute", "pools", pool.name, "formerNames", j)
            if old == pool.name:
                c.add(path, f"'{old}' is this pool's own name; a former name is one the pool no longer has")
            elif old in live:
                other = next(p for p in pools if p.name == old)
                cycle = f"; '{old}' names '{pool.name}' among its former names too (a cycle)" \
                    if pool.name in other.former_names else ""
                c.add(path, f"'{old}' is the name of a live pool: an alias would point this pool at its resources"
                            f"{cycle}; list only names no pool has any more")
            elif old in owner and owner[old] != pool.name:
                c.add(path, f"'{old}' is also a former name of pool '{owner[old]}': a former name belongs to one "
                            "pool (both would alias the same resources)")
            elif old in owner:
                c.add(path, f"'{old}' is listed twice")
            owner.setdefault(old, pool.name)


def site_power(spec: Any, catalog: Any):
    """The site's power at peak (autoscaled pools at their maximum)."""
    pools = [(p.name, p.role, p.shape, p.nodes, p.autoscale.max if p.autoscale else p.nodes)
             for p in spec.compute.pools if p.shape in catalog.shapes]
    shapes = {n: (s.gpus, s.node_kw) for n, s in catalog.shapes.items()}
    return power(pools, shapes, spec.site.power.pue, spec.site.power.envelope_mw)


def _capacity(c: _Checker) -> None:
    """GPU pools that need more than the region offers in their availability domain (the capacity ledger:
    limit, quota or reservation, whichever binds) are refused at the pool; what the ledger does not know is not
    refused here (the plan and SK-CMP-007 say it)."""
    spec, shapes = c.spec, c.site.catalog.shapes
    try:
        ledger = load_ledger(c.site.root, spec.site.region, shapes)
    except SpecError as exc:
        c.problems.extend(exc.problems)
        return
    for verdict in check_pools(ledger, spec.site.region, pool_demands(spec, shapes)):
        if verdict.status == "short":
            c.add(("compute", "pools", verdict.pool, "nodes"), verdict.detail)


def _power(c: _Checker) -> None:
    summary = site_power(c.spec, c.site.catalog)
    if not summary.fits:
        c.add(("site", "power", "envelopeMw"),
              f"facility load {summary.facility_mw:.2f} MW (IT {summary.it_mw:.2f} MW x PUE {summary.pue}) "
              f"exceeds the power envelope of {summary.envelope_mw:g} MW")


def _halls(c: _Checker) -> None:
    """Each pool's racks fit its hall (power, cooling, kW per rack); `halls.py` says how."""
    try:
        racks = load_racks(c.site.root, c.site.catalog)
    except SpecError as exc:
        c.problems += exc.problems
        return
    declared = bool((c.site.data.get("site") or {}).get("power", {}).get("halls"))
    for path, message in hall_problems(c.spec, c.site.catalog, racks, declared):
        c.add(path, message)
