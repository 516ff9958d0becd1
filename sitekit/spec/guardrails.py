"""Guardrails the cloud enforces, planned from a validated spec (issue 21, part 1): what OCI itself refuses to a
person with console access, not only what a preview reports. Pure: plain strings from the spec and the catalog,
declared by region/guardrails.py and judged by the pack (SK-GRD-001..003).

- Compartment quotas (OCI quota policy language, one statement per family, each with its basis): the GPU
  shapes the site does not run zeroed, the service families a standard AI region does not use zeroed, and
  every core family zeroed in regions where the site's data may not be. Each statement's basis travels with the
  deployed quota as a freeform tag keyed by what the statement zeroes (`basis_key`), so a reviewer of the quota
  in the console, the plan and the pack (SK-GRD-001) all read it.
- IAM: every statement granting the site's operators group is confined to the allowed regions with a
  `request.region` condition every request must meet (in an `all {...}`, never an `any {...}`).
- A Security Zone per site on the compartment that holds data (storage), with a recipe per jurisdiction: the
  Oracle-managed policies named in ZONE_POLICIES.

Facts and their sources are listed in the README ("Guardrails the cloud enforces"): the quota grammar is OCI's
"Quota Policy Syntax"; the per-shape GPU quota names, the families other than compute-core and `!=` conditions
in a quota statement are still to confirm in a tenancy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from sitekit.errors import clip
from sitekit.facts.guardrails import GPU_QUOTAS, TAG_VALUE_MAX, ZONE_POLICIES

__all__ = ["GPU_QUOTAS", "ZONE_POLICIES", "QuotaStatement", "allowed_regions", "basis_key", "basis_tags", "confine",
           "grants_group", "quota_statements", "statement_keys", "zeroed"]

BASIS_TAG = "basis-"
"""Prefix of the freeform tag that carries a quota statement's basis: `basis-<what it zeroes>`."""


class QuotaStatement(NamedTuple):
    """One statement of the site's quota: what it zeroes (`key`, the tag its basis is under), the statement, its
    basis."""

    key: str
    statement: str
    basis: str


def basis_key(family: str, name: str | None, conditional: bool) -> str:
    """The key of a zeroing statement's basis: the quota name it zeroes (or its family, for all of the family's
    quotas), `-regions` when a region condition confines it. Read by the planner and SK-GRD-001 alike."""
    return f"{BASIS_TAG}{(name or family).lower()}{'-regions' if conditional else ''}"


ZERO = re.compile(r"^\s*zero\s+(?P<family>[\w-]+)\s+(?:quotas|quota\s+(?P<names>[\w\s,-]+?))\s+in\s+"
                  r"(?P<where>tenancy|compartment\s+\S+)(?:\s+where\s+(?P<cond>.+?))?\s*$", re.IGNORECASE | re.DOTALL)
"""A quota statement that zeroes a family's quotas (all, or the named ones), optionally under a condition."""


def zeroed(statement: object) -> tuple[str, list[str], str | None] | None:
    """(family, quota names or ['*'], condition) of a zeroing quota statement; None for any other statement."""
    match = ZERO.match(statement) if isinstance(statement, str) else None
    if not match:
        return None
    names = [n.strip().lower() for n in (match.group("names") or "*").split(",") if n.strip()]
    return match.group("family").lower(), names, match.group("cond")


def statement_keys(statement: object) -> list[str]:
    """The keys of the bases a zeroing statement needs (one per quota name it zeroes); [] for any other."""
    found = zeroed(statement)
    if found is None:
        return []
    family, names, cond = found
    return [basis_key(family, None if n == "*" else n, bool(cond)) for n in names]


def basis_tags(statements: Iterable[QuotaStatement]) -> dict[str, str]:
    """The quota's freeform tags: each statement's basis under its key, clipped to what an OCI tag value holds."""
    return {s.key: clip(s.basis, TAG_VALUE_MAX) for s in statements}

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


def allowed_regions(spec, crossing: Iterable[str] = ()) -> list[str]:
    """The regions a site's resources may be in, the one meaning of "where may this site's data be": its own region
    (the loader admitted it), its jurisdiction's residency regions, and `crossing`, the regions of the
    jurisdictions its profile's cross-border list opens to its data class (`LoadedSite.crossing`)."""
    return list(dict.fromkeys([spec.site.region, *spec.jurisdiction.residency.regions, *crossing]))


def region_condition(regions: list[str], operator: str = "=") -> str:
    """`request.region = 'a'` for one region; `any {request.region = 'a', ...}` for several ('=': the request is
    in one of them); with '!=', `all {request.region != 'a', ...}` (the request is in none of them)."""
    clauses = [f"request.region {operator} '{r}'" for r in regions]
    if len(clauses) == 1:
        return clauses[0]
    return ("any {" if operator == "=" else "all {") + ", ".join(clauses) + "}"


def quota_statements(spec, catalog, compartment: str, crossing: Iterable[str] = ()) -> list[QuotaStatement]:
    """The site's quota policy on its compartment (by name, as quota statements name compartments), one
    statement per family, each with its basis; `crossing` as for `allowed_regions`."""
    j = spec.jurisdiction
    used = {p.shape for p in spec.compute.pools}
    where = f"in compartment {compartment}"
    found: list[QuotaStatement] = []
    for shape in sorted(catalog.shapes):
        if shape in used or shape not in GPU_QUOTAS:
            continue
        why = (f"{shape} is not approved by {j.code} (shapes.approved: {j.shapes.basis})"
               if shape not in j.shapes.approved else f"{shape} is approved by {j.code} but no pool of the site runs it")
        found.append(QuotaStatement(basis_key("compute-core", GPU_QUOTAS[shape], False),
                                    f"zero compute-core quota {GPU_QUOTAS[shape]} {where}", why))
    for family, why in UNUSED_FAMILIES.items():
        found.append(QuotaStatement(basis_key(family, None, False), f"zero {family} quotas {where}", why))
    crossing = list(crossing)
    regions = allowed_regions(spec, crossing)
    cross = j.residency.cross_border
    opened = (f" (crossBorder: {j.tags.data_classification} to {', '.join(sorted(set(cross.to)))})"
              if crossing and cross else "")
    for family in REGIONAL_FAMILIES:
        found.append(QuotaStatement(basis_key(family, None, True),
                                    f"zero {family} quotas {where} where {region_condition(regions, '!=')}",
                                    f"{j.code} residency{opened}: {j.residency.basis}"))
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
