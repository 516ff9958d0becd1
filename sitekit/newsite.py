"""Stamping a new site: command-line answers -> a rendered, validated stack file (spec -> text).

`stamp(root, request)` checks the request against the jurisdiction and the catalog, allocates the address
plan and sizes the pools, collecting every problem into one `SpecError`; `render(root, stamp)` renders
templates/stack.yaml.j2; `write_site(root, request, force)` writes the file atomically and validates it
through the same loader as every stack. The arithmetic lives in planners.py (`allocate`, `carve`,
`fit_nodes`, `power`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .atomic import write_atomic
from .bootstrap import environment
from .catalog import Catalog, load_catalog
from .errors import Problem, SpecError, nearest
from .loader import BASELINE, JURISDICTIONS, LoadedSite, list_jurisdictions, list_sites, load_profile, load_site
from .loader import declared_plans, origin_in, read_stack_values, section_problems, stack_file
from .merge import Layer, merge_layers
from .planners import PlanningError, allocate, carve, fit_nodes, power
from .schema import STACK_SCHEMA, modeline
from .sources import load_yaml, parse_yaml
from .spec import Compute, Jurisdiction, NetworkSpec, Organisation

CMD = "sitekit new-site"
TEMPLATE = "stack.yaml.j2"
SITE_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
MAX_NAME = 24
"""Site names: lower-case words joined by single hyphens, at most 24 characters (they prefix display names,
tag namespaces and DNS labels)."""
OCID = re.compile(r"^ocid1\.[a-z0-9]+\.[a-z0-9-]*\.[a-z0-9-]*\.[A-Za-z0-9._-]+$")

PLACEHOLDER_OCIDS = {
    "tenancyId": "ocid1.tenancy.oc1..placeholder-replace-with-your-tenancy-ocid",
    "parentCompartmentId": "ocid1.compartment.oc1..placeholder-replace-with-the-parent-compartment-ocid",
    "gpu": "ocid1.image.oc1..placeholder-replace-with-a-gpu-image-ocid",
    "oke": "ocid1.image.oc1..placeholder-replace-with-an-oke-node-image-ocid",
}
PLACEHOLDER_OPERATOR_CIDR = "192.0.2.0/24"
"""Until a site names its operators' ranges: RFC 5737's TEST-NET-1, a documentation block no client connects
from, so the bastion admits nobody rather than everybody."""
WIDEST_OPERATOR_PREFIX = 16
"""An operator range is no wider than a /16 (policy rule SK-NET-015's default)."""
AUTOSCALED_WEIGHT, FIXED_WEIGHT = 1, 9
"""Default split of the envelope among pools without an explicit share: each autoscaled (serving) pool
weighs 1, each fixed pool 9 (the baseline's train + serve get 90% and 10%)."""
AUTOSCALE_MIN_FRACTION = 8
"""An autoscaled pool starts at (and never shrinks below) 1/8 of its maximum, as the shipped sites do."""
NETWORK_HEADROOM_BITS = 1
"""Each network gets twice the space its subnets need (one prefix bit), and at least a /24."""
SMALLEST_NETWORK = 24
LARGEST_NETWORK = 16
"""An OCI VCN CIDR block is at most a /16 (and a subnet at most its VCN's block)."""
OCI_RESERVED_ADDRESSES = 3
"""OCI keeps the first two and the last address of every subnet."""


@dataclass(frozen=True)
class PoolRequest:
    """One item of --pools: NAME[=SHAPE][:PERCENT]."""

    name: str
    shape: str | None = None
    share: float | None = None


def parse_pools(text: str | None) -> tuple[list[PoolRequest], list[Problem]]:
    if not text:
        return [], []
    out, problems = [], []
    for item in (i.strip() for i in text.split(",")):
        m = re.fullmatch(r"([a-z][a-z0-9-]{0,30})(?:=([A-Za-z0-9.\-]+))?(?::([0-9]+(?:\.[0-9]+)?))?", item)
        if not m:
            problems.append(Problem(CMD, None, "--pools", f"'{item}' is not NAME[=SHAPE][:PERCENT] "
                                                          "(e.g. train=BM.GPU.H200.8:85,serve:15)"))
            continue
        share = float(m.group(3)) if m.group(3) else None
        if share is not None and not 0 < share <= 100:
            problems.append(Problem(CMD, None, "--pools", f"share of '{m.group(1)}' must be in (0, 100]"))
        if any(p.name == m.group(1) for p in out):
            problems.append(Problem(CMD, None, "--pools", f"pool '{m.group(1)}' is given twice"))
        out.append(PoolRequest(m.group(1), m.group(2), share))
    return out, problems


@dataclass(frozen=True)
class Request:
    """What `sitekit new-site` was asked for (the command-line answers)."""

    name: str
    jurisdiction: str
    region: str
    region_kind: str = "public"
    home_region: str | None = None
    power_mw: float = 20.0
    pue: float = 1.2
    pools: tuple[PoolRequest, ...] = ()
    transfer_mechanism: str | None = None
    transfer_reference: str | None = None
    tenancy_id: str | None = None
    parent_compartment_id: str | None = None
    gpu_image_id: str | None = None
    oke_image_id: str | None = None
    availability_domain: int = 1
    operator_cidrs: tuple[str, ...] = ()


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


@dataclass
class Stamp:
    """A checked request with its allocated address plan and sized pools: everything the template needs."""

    request: Request
    jurisdiction: Jurisdiction
    home_region: str
    org_space: list[IPv4Network]
    supernet: IPv4Network
    networks: dict[str, IPv4Network]
    pools: list[SizedPool]
    placeholders: list[str] = field(default_factory=list)
    subnets: dict[str, dict[str, int]] = field(default_factory=dict)
    """Subnets grown past the baseline's prefix to hold the pools' nodes: {network: {subnet: prefix}}."""


def _problem(key: str, message: str) -> Problem:
    return Problem(CMD, None, key, message)


def pending_bases(j: Jurisdiction) -> list[str]:
    """Dotted keys of the profile's rules whose basis is still a TODO (a skeleton not yet reviewed)."""
    found: list[str] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            if "TODO" in str(node.get("basis", "")):
                found.append(".".join(path))
            for k, v in node.items():
                walk(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + (str(i),))

    walk(j.model_dump(by_alias=True), ("jurisdiction",))
    return found


FIX_FIRST = "fix it before stamping another site"


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


def _own_supernet(root: Path, site: str) -> IPv4Network | None:
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
            problems.append(_problem(key, f"no shape approved in {j.name} suits placement '{placement}' "
                                          f"(approved: {', '.join(j.shapes.approved)})"))
            continue
        if shape not in catalog.shapes:
            problems.append(_problem(key, f"unknown GPU shape '{shape}'; {nearest(shape, catalog.shapes)}"))
            continue
        if shape not in j.shapes.approved:
            problems.append(_problem(key, f"shape '{shape}' is not approved in {j.name} (approved: "
                                          f"{', '.join(j.shapes.approved)}) [{j.shapes.basis}]"))
            continue
        if placement == "oke" and catalog.shapes[shape].grouping != "cluster-network":
            problems.append(_problem(key, f"{shape} needs a GPU memory cluster; pool '{req.name}' is an OKE pool"))
            continue
        pools.append(SizedPool(req.name, base.get("role", "mixed"), placement, shape, 0,
                               {} if base.get("autoscale") else None, req.share or 0.0, bool(base.get("new"))))
    explicit = sum(p.share for p in pools)
    if explicit > 100:
        problems.append(_problem("--pools", f"shares add up to {explicit:g}% (at most 100%)"))
    rest = [p for p in pools if not p.share]
    weights = {p.name: AUTOSCALED_WEIGHT if p.autoscale is not None else FIXED_WEIGHT for p in rest}
    for p in rest:
        p.share = round(max(0.0, 100 - explicit) * weights[p.name] / sum(weights.values()), 4)
    for p in pools:
        shape = catalog.shapes[p.shape]
        nodes = fit_nodes(envelope_mw * p.share / 100, pue, shape.node_kw)
        if shape.max_nodes_per_fabric and p.placement == "bare-metal" and nodes > shape.max_nodes_per_fabric:
            p.note = (f"capped at {shape.max_nodes_per_fabric} hosts (one GPU memory fabric); "
                      f"add pools for more")
            nodes = shape.max_nodes_per_fabric
        if nodes < 1:
            problems.append(_problem(f"pool {p.name}", f"its share ({p.share:g}% of {envelope_mw:g} MW at PUE "
                                                       f"{pue:g}) is too small for one {p.shape} node "
                                                       f"({shape.node_kw:g} kW)"))
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


def stamp(root: Path, req: Request, *, replacing: bool = False) -> Stamp:
    """Check a request and plan the site; raise SpecError listing every problem."""
    problems: list[Problem] = []
    if not SITE_NAME.fullmatch(req.name) or len(req.name) > MAX_NAME:
        problems.append(_problem("NAME", f"invalid site name '{req.name}': lower-case letters and digits in words "
                                         f"joined by single hyphens, starting with a letter, at most {MAX_NAME} "
                                         "characters (e.g. de-frankfurt)"))
    known = list_jurisdictions(root)
    if req.jurisdiction not in known:
        problems.append(_problem("--jurisdiction", f"unknown jurisdiction '{req.jurisdiction}'; "
                                                   f"{nearest(req.jurisdiction, known)} (or create it: "
                                                   f"sitekit new-jurisdiction {req.jurisdiction})"))
        raise SpecError(problems)
    catalog = load_catalog(root)
    layer, j = load_profile(root, req.jurisdiction)
    public = list(catalog.regions)
    if req.region_kind == "public" and req.region not in catalog.regions:
        problems.append(_problem("--region", f"unknown OCI public region '{req.region}'; {nearest(req.region, public)}"
                                             " (for a Dedicated Region add --region-kind dedicated)"))
    elif req.region_kind == "dedicated" and not re.fullmatch(r"^[a-z]{2,4}(-[a-z0-9]+)+-[0-9]+$", req.region):
        problems.append(_problem("--region", f"'{req.region}' is not a region identifier (e.g. ar-dedicated-1)"))
    resident = req.region in j.residency.regions or (req.region_kind == "dedicated" and j.residency.dedicated_in_country)
    accepted = j.residency.transfer_mechanisms
    if not resident and req.transfer_mechanism is None:
        allowed = ", ".join(j.residency.regions) or "none"
        dedicated = " or an in-country Dedicated Region" if j.residency.dedicated_in_country else ""
        how = (f"give --transfer-mechanism (one of: {', '.join(accepted)}) and --transfer-reference"
               if accepted else "this jurisdiction accepts no transfer mechanism")
        problems.append(_problem("--region", f"region '{req.region}' is not allowed in {j.name} (residency regions: "
                                             f"{allowed}{dedicated}); {how} [{j.residency.basis}]"))
    elif not resident:
        if req.transfer_mechanism not in accepted:
            problems.append(_problem("--transfer-mechanism", f"'{req.transfer_mechanism}' is not accepted by {j.name}; "
                                     + (nearest(req.transfer_mechanism, accepted) if accepted else "it accepts none")
                                     + f" [{j.residency.basis}]"))
        if not req.transfer_reference:
            problems.append(_problem("--transfer-reference", "a transfer needs a reference to the signed instrument "
                                                             "(contract id, register entry)"))
    elif req.transfer_mechanism is not None:
        problems.append(_problem("--transfer-mechanism", f"region '{req.region}' is resident in {j.name}; no transfer "
                                                         "mechanism is needed (leave it out)"))
    home = req.home_region or (req.region if req.region_kind == "public" else None)
    if home is None:
        problems.append(_problem("--home-region", "a Dedicated Region site needs --home-region (the tenancy's home "
                                                  "region, a public region)"))
    elif home not in catalog.regions:
        problems.append(_problem("--home-region", f"unknown OCI public region '{home}'; {nearest(home, public)}"))
    if not 0 < req.power_mw <= 5000:
        problems.append(_problem("--power-mw", f"must be in (0, 5000] MW (got {req.power_mw:g})"))
    if not 1.0 <= req.pue <= 3.0:
        problems.append(_problem("--pue", f"must be in [1.0, 3.0] (got {req.pue:g})"))
    if not 1 <= req.availability_domain <= 3:
        problems.append(_problem("--availability-domain", "must be 1, 2 or 3"))
    placeholders = []
    for opt, value, key in (("--tenancy-id", req.tenancy_id, "tenancyId"),
                            ("--parent-compartment-id", req.parent_compartment_id, "parentCompartmentId"),
                            ("--gpu-image-id", req.gpu_image_id, "images"), ("--oke-image-id", req.oke_image_id, "images")):
        if value is None:
            if key not in placeholders:
                placeholders.append(key)
        elif not OCID.fullmatch(value):
            problems.append(_problem(opt, f"'{value}' is not an OCID (ocid1.<type>.<realm>.<region>.<id>)"))
    if not req.operator_cidrs:
        placeholders.append("operatorCidrs")
    for cidr in req.operator_cidrs:
        try:
            net = IPv4Network(cidr)
        except ValueError as exc:
            problems.append(_problem("--operator-cidr", f"'{cidr}' is not an IPv4 range in CIDR notation ({exc})"))
            continue
        if net.prefixlen < WIDEST_OPERATOR_PREFIX:
            problems.append(_problem("--operator-cidr", f"'{cidr}' is wider than a /{WIDEST_OPERATOR_PREFIX}: name the "
                                                        "ranges operators connect from, not a whole network"))

    baseline = Layer(BASELINE, *load_yaml(root / BASELINE, BASELINE))
    merged, prov, merge_problems = merge_layers([baseline, layer])
    # the parts stamping reads, validated first: a broken baseline is named at its line, not met as a crash
    bad = merge_problems + section_problems(merged, lambda path: origin_in(prov, path),
                                            {"organisation": Organisation, "network": NetworkSpec, "compute": Compute})
    if bad:
        raise SpecError(bad)
    org_space = [IPv4Network(s) for s in merged["organisation"]["addressSpace"]]
    pools, pool_problems = size_pools(merged["compute"].get("pools") or [], list(req.pools), j, catalog,
                                      req.power_mw, req.pue)
    problems += pool_problems
    if not pool_problems:
        while not summary(pools, catalog, req.pue, req.power_mw).fits:  # rounding at an exact fit: give back a node
            biggest = max(pools, key=lambda p: p.peak)
            if biggest.autoscale:
                biggest.autoscale["max"] -= 1
            else:
                biggest.nodes -= 1
    grown = grown_subnets(merged["network"]["networks"], subnet_demand(merged["compute"], pools))
    supernet, networks = IPv4Network("0.0.0.0/32"), {}
    try:
        used = existing_ranges(root, exclude=req.name if replacing else None)
        keep = _own_supernet(root, req.name) if replacing else None
        supernet, networks = address_plan(org_space, with_subnets(merged["network"]["networks"], grown),
                                          list(used.values()), keep)
    except PlanningError as exc:
        problems.append(_problem("sitekit:addressPlan", str(exc)))
    if problems:
        raise SpecError(problems)
    return Stamp(req, j, home or "", org_space, supernet, networks, pools, placeholders, grown)


def _number(x: float) -> str:
    return f"{x:g}"


def render(root: Path, s: Stamp) -> str:
    """The stack file's text (deterministic: the same stamp always renders the same bytes)."""
    r = s.request
    catalog = load_catalog(root)
    region = catalog.regions.get(r.region)
    label = f"{r.region} ({region.name})" if region else f"{r.region} (Dedicated Region)"
    pools = []
    for p in s.pools:
        shape = catalog.shapes[p.shape]
        it_mw = p.peak * shape.node_kw / 1000
        comment = (f"{p.share:g}% of the envelope: {p.peak} x {p.shape} = {p.peak * shape.gpus} GPUs, "
                   f"{it_mw:.2f} MW IT, {it_mw * r.pue:.2f} MW facility" + (" at autoscale max" if p.autoscale else "")
                   + (f"; {p.note}" if p.note else ""))
        pools.append({"name": p.name, "role": p.role, "placement": p.placement, "shape": p.shape, "nodes": p.nodes,
                      "autoscale": p.autoscale, "new": p.new, "comment": comment})
    transfer = ({"mechanism": r.transfer_mechanism, "reference": r.transfer_reference}
                if r.transfer_mechanism else None)
    context = {
        "modeline": modeline(STACK_SCHEMA, "stacks"), "name": r.name, "jurisdiction": s.jurisdiction,
        "region": r.region, "region_kind": r.region_kind, "region_label": label, "home_region": s.home_region,
        "tenancy_id": r.tenancy_id or PLACEHOLDER_OCIDS["tenancyId"],
        "parent_compartment_id": r.parent_compartment_id or PLACEHOLDER_OCIDS["parentCompartmentId"],
        "gpu_image": r.gpu_image_id or PLACEHOLDER_OCIDS["gpu"], "oke_image": r.oke_image_id or PLACEHOLDER_OCIDS["oke"],
        "availability_domain": r.availability_domain, "org_space": ", ".join(map(str, s.org_space)),
        "supernet": s.supernet, "networks": list(s.networks.items()), "power_mw": _number(r.power_mw),
        "pue": _number(r.pue), "transfer": transfer, "pools": pools, "placeholders": s.placeholders,
        "operator_cidrs": list(r.operator_cidrs) or [PLACEHOLDER_OPERATOR_CIDR],
        "subnets": [(net, sorted(subs.items())) for net, subs in sorted(s.subnets.items())],
    }
    return environment(root / "templates").get_template(TEMPLATE).render(context)


def _values(text: str, file: str) -> dict[str, Any]:
    data, _ = parse_yaml(text, file)
    return {k.partition(":")[2]: v for k, v in data["config"].items() if k.startswith("sitekit:")}


def write_site(root: Path, req: Request, *, force: bool = False) -> tuple[Path, Stamp, LoadedSite]:
    """Render, check, write atomically (never over an existing file without `force`), re-load from disk."""
    root = root.resolve()
    file = stack_file(req.name)
    path = root / file
    if path.exists() and not force:
        raise SpecError([Problem(file, None, "", "the stack file exists; pass --force to overwrite it "
                                                 "(it keeps its address block while that still fits)")])
    s = stamp(root, req, replacing=force)
    text = render(root, s)
    load_site(root, req.name, values=_values(text, file))  # the rendered values pass the loader before any write
    previous = path.read_text(encoding="utf-8") if path.exists() else None
    try:
        write_atomic(path, text, overwrite=force)
    except FileExistsError:
        raise SpecError([Problem(file, None, "", "the stack file appeared while writing; pass --force to overwrite it")]) from None
    try:
        loaded = load_site(root, req.name)
    except SpecError:
        if previous is None:
            path.unlink()
        else:
            write_atomic(path, previous)
        raise
    return path, s, loaded


# --------------------------------------------------------------------------------------------- jurisdictions
JURISDICTION_TEMPLATE = "jurisdiction.yaml.j2"
JURISDICTION_CODE = re.compile(r"^[a-z]{2}(-[a-z0-9]+)?$")
"""An ISO 3166-1 alpha-2 code, optionally with a suffix for a sub-regime (e.g. ae-difc)."""


def write_jurisdiction(root: Path, code: str, name: str | None, regions: list[str], *,
                       force: bool = False) -> Path:
    """Render a profile skeleton to stacks/jurisdictions/<code>.yaml (never over a file without `force`)."""
    from .schema import JURISDICTION_SCHEMA

    root = root.resolve()
    cmd = "sitekit new-jurisdiction"
    file = f"{JURISDICTIONS}/{code}.yaml"
    problems = []
    if not JURISDICTION_CODE.fullmatch(code):
        problems.append(Problem(cmd, None, "CODE", f"invalid code '{code}': an ISO 3166-1 alpha-2 code in lower case, "
                                                   "optionally with a suffix (e.g. de, ae-difc)"))
    if (root / file).exists() and not force:
        problems.append(Problem(file, None, "", "the profile exists; pass --force to overwrite it"))
    catalog = load_catalog(root)
    for region in regions:
        if region not in catalog.regions:
            problems.append(Problem(cmd, None, "--regions", f"unknown OCI public region '{region}'; "
                                                            f"{nearest(region, catalog.regions)}"))
    if problems:
        raise SpecError(problems)
    baseline, marks = load_yaml(root / BASELINE, BASELINE)
    bad = section_problems(baseline, Layer(BASELINE, baseline, marks).origin, {"compute": Compute})
    if bad:
        raise SpecError(bad)
    shapes = sorted({p["shape"] for p in baseline["compute"].get("pools") or []} & set(catalog.shapes))
    text = environment(root / "templates").get_template(JURISDICTION_TEMPLATE).render(
        modeline=modeline(JURISDICTION_SCHEMA, JURISDICTIONS), code=code, name=name or code.upper(),
        regions=regions, applicable_law=code.upper(), shapes=shapes)
    data, _ = parse_yaml(text, file)
    try:
        Jurisdiction.model_validate(data["jurisdiction"])
    except ValidationError as exc:  # the template and the model disagree: a bug, reported as bad input
        raise SpecError([Problem(f"templates/{JURISDICTION_TEMPLATE}", None, ".".join(map(str, e["loc"])), e["msg"])
                         for e in exc.errors()]) from None
    try:
        write_atomic(root / file, text, overwrite=force)
    except FileExistsError:
        raise SpecError([Problem(file, None, "", "the profile appeared while writing; pass --force")]) from None
    return root / file
