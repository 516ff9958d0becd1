"""Guardrail rules (issue 21): the site's own stack declares what OCI itself enforces, no weaker than its profile
asks. A compartment quota that zeroes the GPU shapes the jurisdiction does not approve and every core family
outside its residency regions; the site policy's grants to groups confined to those regions by a `request.region`
condition every request must meet; a Security Zone with the jurisdiction's recipe on the compartment that holds
data. Judged on the site's own resources (its compartments and policy, by their logical names), so a stack that
is not a sitekit site is never asked for them."""

from __future__ import annotations

import re
from typing import Iterator

from sitekit.facts.guardrails import GPU_QUOTAS, ZONE_POLICIES
from sitekit.naming import Kind, logical
from sitekit.oci.types import COMPARTMENT, POLICY, QUOTA, SECURITY_RECIPE, SECURITY_ZONE
from sitekit.policy.model import IAM_STATEMENT, Res, Stack, is_unknown, items, rule
from sitekit.policy.rules.identity import _administrators, _clauses, _enforced, _flat, _statements
from sitekit.spec.guardrails import REGIONAL_FAMILIES, ZONE_COMPARTMENT, statement_keys, zeroed

REGION = re.compile(r"request\.region(!=|=)([\w-]+)")


def _own(stack: Stack, ctx, *keys: str) -> Res | None:
    """The site's own compartment (or its child `keys`), by logical name: the stack is the site's program."""
    name = logical(ctx.site, Kind.COMPARTMENT, *keys) if ctx.site else None
    return next((c for c in stack.of_type(COMPARTMENT) if c.name == name), None)


def _regions(clause: str, operator: str) -> set[str]:
    return {m.group(2) for m in REGION.finditer(clause) if m.group(1) == operator}


def _allowed(ctx) -> set[str]:
    """Where the site's data may be: the one meaning SK-STK-001, peering and the capacity view read."""
    return set(ctx.allowed_regions) or {ctx.region, *ctx.residency_regions} - {None}


@rule("SK-GRD-001", "A compartment quota zeroes unapproved GPU shapes and every region outside residency, each "
      "statement with its basis",
      severity="high", level="mandatory", area="guardrails", stack=True, needs_site=True,
      anchor=("/jurisdiction", "residency"),
      remediation="Declare the site's quota (sitekit plans it: region/guardrails.py) with `zero compute-core quota "
                  "<gpu quota>` for every GPU shape the jurisdiction does not approve, and `zero <family> quotas ... "
                  "where all {request.region != '<allowed>', ...}` for compute-core, compute-memory, block-storage, "
                  "filesystem and vcn, naming only the regions the site's data may be in; each zeroing statement's "
                  "basis in a freeform tag `basis-<quota name or family>[-regions]` (sitekit writes them).")
def quota_guardrails(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    """Without the quota, a person with console access launches a GPU shape the jurisdiction forbids, or any
    instance in a region outside its residency, and nothing in OCI stops them (the pack judges only what a
    preview declares). A zeroing statement without its basis on the quota leaves a reviewer of the deployed quota
    unable to tell a profile's rule from an ad-hoc cap (issue 21: one statement per family, each with its basis)."""
    site = _own(stack, ctx)
    quotas = stack.of_type(QUOTA)
    if site is None and not quotas:
        return
    if not quotas:
        yield site, "the site declares no compartment quota: OCI would let anyone launch any shape in any region"
        return
    zero: set[tuple[str, str]] = set()  # (family, quota name or '*') zeroed unconditionally
    regional: dict[str, set[str]] = {}  # family -> regions left open by its region statement
    unexplained: list[tuple[Res, int, str]] = []  # (quota, statement index, basis key) without its basis
    for quota in quotas:
        statements, tags = quota.get("statements"), quota.get("freeformTags")
        if is_unknown(statements):
            return
        for i, statement in enumerate(items(statements)):
            found = zeroed(statement)
            if found is None:
                continue
            family, names, cond = found
            if not is_unknown(tags):
                bases = tags if isinstance(tags, dict) else {}
                unexplained += [(quota, i, key) for key in statement_keys(statement)
                                if not str(bases.get(key) or "").strip()]
            if not cond:
                zero.update((family, n) for n in names)
                continue
            enforced = _enforced(cond)
            mode, _ = _clauses(cond)
            left = {r for c in enforced for r in _regions(c, "!=")}
            if left and mode == "all" and "*" in names:
                regional.setdefault(family, set()).update(left)
    last = quotas[-1]
    for shape in sorted(ctx.shapes):
        name = GPU_QUOTAS.get(shape)
        if name and shape not in ctx.approved_shapes and not zero & {("compute-core", name), ("compute-core", "*")}:
            yield last, (f"the quota does not zero {name}: {shape} is not approved by {ctx.jurisdiction} "
                         "(shapes.approved)")
    allowed = _allowed(ctx)
    for family in REGIONAL_FAMILIES:
        if (family, "*") in zero:
            continue
        open_ = regional.get(family)
        if open_ is None:
            yield last, f"no statement zeroes {family} quotas outside the residency regions (request.region)"
        elif open_ - allowed:
            yield last, (f"the {family} region statement leaves {', '.join(sorted(open_ - allowed))} open, outside "
                         f"{ctx.jurisdiction_name or ctx.jurisdiction}'s residency")
    for quota, i, key in unexplained:
        yield quota, (f"statement {i + 1} of the quota says no basis: no freeform tag {key} (each statement's basis "
                      "travels with the quota)")


@rule("SK-GRD-002", "The site's groups act only in the regions its jurisdiction allows", severity="high",
      level="mandatory", area="guardrails", types=(POLICY,), needs_site=True, points_at=IAM_STATEMENT,
      anchor=("/jurisdiction", "residency"),
      remediation="End every statement of the site policy that grants a group with a `request.region` condition "
                  "naming only the site's and its residency regions, one every request must meet (sitekit adds "
                  "it: `where all {..., any {request.region = '<region>', ...}}`).")
def groups_confined_to_regions(res: Res, ctx) -> Iterator[str]:
    """The site policy (and its OKE policy), found by logical name. A region clause inside an `any {...}` of
    several clauses confines nothing."""
    if res.name not in (logical(ctx.site, Kind.POLICY), logical(ctx.site, Kind.POLICY, "oke")):
        return
    allowed = _allowed(ctx)
    for i, match in _statements(res):
        who = match.group("who").strip()
        if not who.lower().startswith("group ") or _administrators(who):
            continue
        cond = match.group("cond")
        named = [r for c in [_flat(cond), *_enforced(cond)] if c for r in [_in_regions(c)] if r is not None]
        if not named:
            yield f"{IAM_STATEMENT(i)} lets {who} act in every region (no request.region condition it must meet)"
        elif set().union(*named) - allowed:
            yield (f"{IAM_STATEMENT(i)} lets {who} act in {', '.join(sorted(set().union(*named) - allowed))}, "
                   f"outside {ctx.jurisdiction_name or ctx.jurisdiction}'s residency")


def _in_regions(clause: str) -> set[str] | None:
    """The regions a clause confines a request to: `request.region=x`, or `any {request.region=x, ...}` of
    nothing else; None when the clause is not a region confinement."""
    mode, parts = _clauses(clause) if clause.startswith(("any{", "all{")) else ("all", [clause])
    found = [_regions(p, "=") for p in parts]
    if parts and all(len(f) == 1 and p.startswith("request.region=") for p, f in zip(parts, found)):
        return set().union(*found) if mode == "any" or len(parts) == 1 else None
    return None


@rule("SK-GRD-003", "The compartment that holds data is a Security Zone with the jurisdiction's recipe",
      severity="high", level="mandatory", area="guardrails", stack=True, needs_site=True,
      anchor=("/jurisdiction",),
      remediation="Declare a Security Zone on the site's storage compartment with a recipe of the jurisdiction "
                  f"holding every policy of sitekit's recipe ({', '.join(ZONE_POLICIES)}); sitekit plans both.")
def data_compartment_zoned(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    """OCI then refuses a public bucket, or a bucket, volume or file system without a Vault key, in the
    compartment, whoever asks. A recipe whose policies are unknown in a preview (looked up by name) is judged
    once known."""
    storage = _own(stack, ctx, ZONE_COMPARTMENT)
    if storage is None:
        return
    zones = [z for z in stack.dependents(storage, SECURITY_ZONE)]
    if not zones:
        yield storage, f"the {ZONE_COMPARTMENT} compartment is in no Security Zone"
        return
    for zone in zones:
        recipes = stack.deps(zone, SECURITY_RECIPE)
        if not recipes:
            yield zone, "the Security Zone's recipe is not one the stack declares: sitekit cannot tell its policies"
            continue
        policies = recipes[0].get("securityPolicies")
        distinct = {p for p in items(policies) if isinstance(p, str) and p.strip()} if not is_unknown(policies) else None
        if distinct is not None and len(distinct) < len(ZONE_POLICIES):
            yield zone, (f"the zone's recipe holds {len(distinct)} distinct policies, fewer than the "
                         f"{len(ZONE_POLICIES)} of the jurisdiction's recipe")
