"""Stamping a new site: command-line answers -> a rendered, validated stack file (spec -> text).

`stamp(root, request)` checks the request against the jurisdiction and the catalog, allocates the address
plan and sizes the pools, collecting every problem into one `SpecError`; `render(root, stamp)` renders
templates/stack.yaml.j2; `write_site(root, request, force)` writes the file atomically and validates it
through the same loader as every stack. The arithmetic lives in planners.py (`allocate`, `carve`,
`fit_nodes`, `power`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from sitekit.atomic import write_atomic
from sitekit.errors import Problem, SpecError, clip, nearest
from sitekit.planners import PlanningError
from sitekit.region.bootstrap import environment
from sitekit.spec.catalog import Catalog, load_catalog
from sitekit.spec.layout import BASELINE, list_jurisdictions, stack_file
from sitekit.spec.loaded import LoadedSite, origin_in
from sitekit.spec.loader import crossing_regions, load_profile, load_site
from sitekit.spec.merge import Layer, merge_layers
from sitekit.spec.models import CLOUD_GUARD_KEYS, Compute, Jurisdiction, NetworkSpec, Organisation
from sitekit.spec.problems import section_problems, why_not_network
from sitekit.spec.schema import STACK_SCHEMA, modeline
from sitekit.spec.sources import load_project_yaml, parse_yaml
from sitekit.stamp.addresses import (
    address_plan,
    existing_ranges,
    grown_subnets,
    own_supernet,
    subnet_demand,
    with_subnets,
)
from sitekit.stamp.pools import SizedPool, size_pools, summary
from sitekit.stamp.request import (
    MAX_NAME,
    OCID,
    PLACEHOLDER_OCIDS,
    PLACEHOLDER_OPERATOR_CIDR,
    SITE_NAME,
    WIDEST_OPERATOR_PREFIX,
    Request,
    problem,
)

TEMPLATE = "stack.yaml.j2"




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


def answer_problems(req: Request) -> tuple[list[Problem], list[str]]:
    """The answers on their own, before any file is read or written: the site name (it names a file), the numbers
    (finite and in range: NaN, infinity and powers past float range are refused here, not met as a crash while
    sizing), OCIDs and operator ranges. Every problem, and the keys left as placeholders."""
    problems: list[Problem] = []
    if not SITE_NAME.fullmatch(req.name) or len(req.name) > MAX_NAME:
        problems.append(problem("NAME", f"invalid site name '{clip(req.name)}': lower-case letters and digits in words "
                                         f"joined by single hyphens, starting with a letter, at most {MAX_NAME} "
                                         "characters (e.g. de-frankfurt)"))
    if not (math.isfinite(req.power_mw) and 0 < req.power_mw <= 5000):
        problems.append(problem("--power-mw", f"must be a number in (0, 5000] MW (got {_number(req.power_mw)})"))
    if not (math.isfinite(req.pue) and 1.0 <= req.pue <= 3.0):
        problems.append(problem("--pue", f"must be a number in [1.0, 3.0] (got {_number(req.pue)})"))
    if not 1 <= req.availability_domain <= 3:
        problems.append(problem("--availability-domain", f"must be 1, 2 or 3 (got {clip(str(req.availability_domain))})"))
    placeholders = []
    for opt, value, key in (("--tenancy-id", req.tenancy_id, "tenancyId"),
                            ("--parent-compartment-id", req.parent_compartment_id, "parentCompartmentId"),
                            ("--gpu-image-id", req.gpu_image_id, "images"), ("--oke-image-id", req.oke_image_id, "images")):
        if value is None:
            if key not in placeholders:
                placeholders.append(key)
        elif not OCID.fullmatch(value):
            problems.append(problem(opt, f"'{clip(value)}' is not an OCID (ocid1.<type>.<realm>.<region>.<id>)"))
    if not req.operator_cidrs:
        placeholders.append("operatorCidrs")
    placeholders.append("overrides")  # security.cloudGuard: the tenancy's Cloud Guard recipes (no option sets them)
    for cidr in req.operator_cidrs:
        try:
            net = IPv4Network(cidr)
        except ValueError:
            problems.append(problem("--operator-cidr", f"'{clip(cidr)}' is not an IPv4 range in CIDR notation"
                                                        f"{why_not_network(cidr)}"))
            continue
        if net.prefixlen < WIDEST_OPERATOR_PREFIX:
            problems.append(problem("--operator-cidr", f"'{clip(cidr)}' is wider than a /{WIDEST_OPERATOR_PREFIX}: name the "
                                                        "ranges operators connect from, not a whole network"))
    return problems, placeholders


@dataclass(frozen=True)
class Checked:
    """A request whose every answer checked out: the profile it names, the catalog, the home region."""

    request: Request
    layer: Layer
    jurisdiction: Jurisdiction
    catalog: Catalog
    home_region: str
    placeholders: list[str]


def check(root: Path, req: Request) -> Checked:
    """Every answer checked, on its own and against the jurisdiction and the catalog, before any work: a
    SpecError listing every problem. Only names the project lists are used to find a file."""
    problems, placeholders = answer_problems(req)
    known = list_jurisdictions(root)
    if req.jurisdiction not in known:
        problems.append(problem("--jurisdiction", f"unknown jurisdiction '{clip(req.jurisdiction)}'; "
                                                   f"{nearest(req.jurisdiction, known)} (or create it: "
                                                   f"sitekit new-jurisdiction {clip(req.jurisdiction)})"))
        raise SpecError(problems)
    catalog = load_catalog(root)
    layer, j = load_profile(root, req.jurisdiction)
    public = list(catalog.regions)
    if req.region_kind == "public" and req.region not in catalog.regions:
        problems.append(problem("--region", f"unknown OCI public region '{clip(req.region)}'; {nearest(req.region, public)}"
                                             " (for a Dedicated Region add --region-kind dedicated)"))
    elif req.region_kind == "dedicated" and not re.fullmatch(r"^[a-z]{2,4}(-[a-z0-9]+)+-[0-9]+$", req.region):
        problems.append(problem("--region", f"'{clip(req.region)}' is not a region identifier (e.g. ar-dedicated-1)"))
    crossing = crossing_regions(root, j)  # the loader's meaning: regions the cross-border list opens
    resident = req.region in j.residency.regions or (req.region_kind == "dedicated" and j.residency.dedicated_in_country) \
        or req.region in crossing
    accepted = j.residency.transfer_mechanisms
    if not resident and req.transfer_mechanism is None:
        allowed = ", ".join([*j.residency.regions, *crossing]) or "none"
        dedicated = " or an in-country Dedicated Region" if j.residency.dedicated_in_country else ""
        how = (f"give --transfer-mechanism (one of: {', '.join(accepted)}) and --transfer-reference"
               if accepted else "this jurisdiction accepts no transfer mechanism")
        problems.append(problem("--region", f"region '{clip(req.region)}' is not allowed in {j.name} (residency regions and "
                                             f"those its cross-border list opens: {allowed}{dedicated}); {how} [{clip(j.residency.basis, 400)}]"))
    elif not resident:
        if req.transfer_mechanism not in accepted:
            problems.append(problem("--transfer-mechanism", f"'{clip(req.transfer_mechanism)}' is not accepted by {j.name}; "
                                     + (nearest(req.transfer_mechanism, accepted) if accepted else "it accepts none")
                                     + f" [{clip(j.residency.basis, 400)}]"))
        if not req.transfer_reference:
            problems.append(problem("--transfer-reference", "a transfer needs a reference to the signed instrument "
                                                             "(contract id, register entry)"))
    elif req.transfer_mechanism is not None:
        where = f"in {crossing[req.region]}, where {j.name}'s cross-border list lets its data go" \
            if req.region in crossing else f"resident in {j.name}"
        problems.append(problem("--transfer-mechanism", f"region '{clip(req.region)}' is {where}; no transfer "
                                                         "mechanism is needed (leave it out)"))
    home = req.home_region or (req.region if req.region_kind == "public" else None)
    if home is None:
        problems.append(problem("--home-region", "a Dedicated Region site needs --home-region (the tenancy's home "
                                                  "region, a public region)"))
    elif home not in catalog.regions:
        problems.append(problem("--home-region", f"unknown OCI public region '{clip(home)}'; {nearest(home, public)}"))
    if problems:
        raise SpecError(problems)
    return Checked(req, layer, j, catalog, home or "", placeholders)


def stamp(root: Path, req: Request, *, replacing: bool = False, checked: Checked | None = None) -> Stamp:
    """Check a request (unless `checked` already holds it) and plan the site; raise SpecError listing every
    problem."""
    checked = checked or check(root, req)
    layer, j, catalog, placeholders = checked.layer, checked.jurisdiction, checked.catalog, checked.placeholders
    problems: list[Problem] = []
    baseline = Layer(BASELINE, *load_project_yaml(root, BASELINE))
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
        keep = own_supernet(root, req.name) if replacing else None
        supernet, networks = address_plan(org_space, with_subnets(merged["network"]["networks"], grown),
                                          list(used.values()), keep)
    except PlanningError as exc:
        problems.append(problem("sitekit:addressPlan", str(exc)))
    if problems:
        raise SpecError(problems)
    return Stamp(req, j, checked.home_region, org_space, supernet, networks, pools, placeholders, grown)


def _number(x: float) -> str:
    return f"{x:g}" if math.isfinite(x) or math.isnan(x) else f"{x:g} (past the range of a number)"


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
        "cloud_guard": {k: PLACEHOLDER_OCIDS[k] for k in CLOUD_GUARD_KEYS},
    }
    return environment(root / "templates").get_template(TEMPLATE).render(context)


def _values(text: str, file: str) -> dict[str, Any]:
    data, _ = parse_yaml(text, file)
    return {k.partition(":")[2]: v for k, v in data["config"].items() if k.startswith("sitekit:")}


def write_site(root: Path, req: Request, *, force: bool = False) -> tuple[Path, Stamp, LoadedSite]:
    """Render, check, write atomically (never over an existing file without `force`), re-load from disk."""
    root = root.resolve()
    checked = check(root, req)  # every answer first: the name is checked before it names a file
    file = stack_file(req.name)
    path = root / file
    if path.exists() and not force:
        raise SpecError([Problem(file, None, "", "the stack file exists; pass --force to overwrite it "
                                                 "(it keeps its address block while that still fits)")])
    s = stamp(root, req, replacing=force, checked=checked)
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
