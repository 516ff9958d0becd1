"""Guardrails the cloud enforces, planned from a validated spec (issue 21, part 1): what OCI itself refuses to a
person with console access, not only what a preview reports. Pure: plain strings from the spec and the catalog,
declared by region/guardrails.py and judged by the pack (SK-GRD-001..003).

- Compartment quotas (OCI quota policy language, one statement per family, each with its basis): the GPU
  shapes the site does not run zeroed, the service families a standard AI region does not use zeroed, and
  every core family zeroed in regions outside the jurisdiction's residency.
- IAM: every statement granting the site's operators group is confined to the allowed regions with a
  `request.region` condition every request must meet (in an `all {...}`, never an `any {...}`).
- A Security Zone per site on the compartment that holds data (storage), with a recipe per jurisdiction: the
  Oracle-managed policies named in ZONE_POLICIES.

Facts to confirm (marked so in the README): the per-shape GPU quota names (OCI "Compute Quotas", family
compute-core), the family names, region conditions with `all {...}` in a quota statement, and the Security Zone
policy names (Oracle-managed, found by name with `cloudguard.get_security_policies`).
"""

from __future__ import annotations

import re

from sitekit.facts.guardrails import GPU_QUOTAS, ZONE_POLICIES

__all__ = ["GPU_QUOTAS", "ZONE_POLICIES", "allowed_regions", "confine", "grants_group", "quota_statements"]

UNUSED_FAMILIES: dict[str, str] = {
    "database": "a standard AI region declares no database (CIS OCI 2.8 services stay out of the site)",
    "analytics": "a standard AI region declares no Analytics Cloud (CIS OCI 2.7)",
    "integration": "a standard AI region declares no Oracle Integration (CIS OCI 2.6)",
}
"""Quota families of services a standard AI region never declares -> the basis for zeroing them."""

REGIONAL_FAMILIES = ("compute-core", "compute-memory", "block-storage", "filesystem", "vcn")
"""The families zeroed outside the allowed regions: what holds or moves a site's data."""

ZONE_COMPARTMENT = "storage"
"""The compartment that holds the site's data (buckets, file systems): the one the zone covers."""


def allowed_regions(spec) -> list[str]:
    """The regions a site's resources may be in: its own and its jurisdiction's residency regions."""
    return list(dict.fromkeys([spec.site.region, *spec.jurisdiction.residency.regions]))


def region_condition(regions: list[str], operator: str = "=") -> str:
    """`request.region = 'a'` for one region; `any {request.region = 'a', ...}` for several ('=': the request is
    in one of them); with '!=', `all {request.region != 'a', ...}` (the request is in none of them)."""
    clauses = [f"request.region {operator} '{r}'" for r in regions]
    if len(clauses) == 1:
        return clauses[0]
    return ("any {" if operator == "=" else "all {") + ", ".join(clauses) + "}"


def quota_statements(spec, catalog, compartment: str) -> list[tuple[str, str]]:
    """(statement, basis) of the site's quota policy on its compartment (by name, as quota statements name
    compartments), one statement per family."""
    j = spec.jurisdiction
    used = {p.shape for p in spec.compute.pools}
    where = f"in compartment {compartment}"
    found: list[tuple[str, str]] = []
    for shape in sorted(catalog.shapes):
        if shape in used or shape not in GPU_QUOTAS:
            continue
        why = (f"{shape} is not approved by {j.code} (shapes.approved: {j.shapes.basis})"
               if shape not in j.shapes.approved else f"{shape} is approved but no pool of the site runs it")
        found.append((f"zero compute-core quota {GPU_QUOTAS[shape]} {where}", why))
    for family, why in UNUSED_FAMILIES.items():
        found.append((f"zero {family} quotas {where}", why))
    regions = allowed_regions(spec)
    for family in REGIONAL_FAMILIES:
        found.append((f"zero {family} quotas {where} where {region_condition(regions, '!=')}",
                      f"residency: {j.residency.basis}"))
    return found


_WHERE = re.compile(r"\s+where\s+", re.IGNORECASE)


def confine(statement: str, regions: list[str]) -> str:
    """An IAM statement confined to `regions`: its condition and the region condition must both hold."""
    region = region_condition(regions)
    parts = _WHERE.split(statement, maxsplit=1)
    if len(parts) == 1:
        return f"{statement} where {region}"
    head, condition = parts
    condition = condition.strip()
    inner = re.fullmatch(r"(?i)all\s*\{(.*)\}", condition, re.DOTALL)
    body = inner.group(1).strip() if inner else condition
    return f"{head} where all {{{body}, {region}}}"


def grants_group(template: str) -> bool:
    """Whether a statement template grants the site's operators group (`Allow group {group} ...`)."""
    return bool(re.match(r"(?i)\s*allow\s+group\s+\{group\}\s", template))
