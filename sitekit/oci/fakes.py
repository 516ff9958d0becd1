"""What OCI would answer, faked deterministically: for the offline plan's mocks and the engine's stand-in
provider alike, so both runs see the same ids, computed outputs and data-source answers.

Nothing here is real OCI data: ids are derived from names or URNs, and the answers cover only what the
program reads back (a VCN's default security list, a vault's endpoints, a mount target's export set, the
region's services, its availability domains, the Object Storage namespace). The computed outputs are each
type's `fake_outputs` in the table of OCI types (sitekit/oci/types.py); the data sources are answered here.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sitekit.facts.guardrails import ZONE_POLICIES
from sitekit.oci.types import TYPES


def computed_outputs(type_: str, key: str) -> dict[str, Any]:
    """The computed outputs of a resource of `type_` whose stable name is `key`: its row's `fake_outputs` in
    sitekit/oci/types.py (none for most types)."""
    row = TYPES.get(type_)
    return {output: value.format(key=key) for output, value in row.fake_outputs} if row else {}


def fake_id(type_: str, urn: str) -> str:
    """A deterministic OCID-shaped id for a resource, from its type and URN (the same URN, the same id)."""
    kind = re.sub(r"[^a-z0-9]", "", type_.rsplit(":", 1)[-1].lower()) or "resource"
    digest = hashlib.sha256(urn.encode()).hexdigest()[:24]
    return f"ocid1.{kind}.oc1..sitekitfake{digest}"


def invoke(token: str, args: dict[str, Any], region: str) -> dict[str, Any] | None:
    """The canned answer of a data source the program calls; None for a data source not faked here."""
    if token == "oci:Core/getServices:getServices":
        key = region.split("-")[1][:3] if "-" in region else region[:3]
        return {"services": [{"id": f"ocid1.service.oc1..all-{key.lower()}-services",
                              "name": f"All {key.upper()} Services In Oracle Services Network",
                              "cidrBlock": f"all-{key.lower()}-services-in-oracle-services-network",
                              "description": ""}],
                "id": "services"}
    if token == "oci:Identity/getAvailabilityDomains:getAvailabilityDomains":
        compartment = args.get("compartmentId")
        return {"availabilityDomains": [{"name": f"Uocm:{region.upper()}-AD-{i}", "id": f"ad-{i}",
                                         "compartmentId": compartment} for i in (1, 2, 3)],
                "compartmentId": compartment, "id": "ads"}
    if token == "oci:CloudGuard/getSecurityPolicies:getSecurityPolicies":
        items = [{"id": f"ocid1.securityzonessecuritypolicy.oc1..sitekitfake{i}", "displayName": name,
                  "friendlyName": name, "compartmentId": args.get("compartmentId"), "category": "restrict",
                  "owner": "ORACLE", "services": [], "state": "ACTIVE", "description": "", "definedTags": {},
                  "freeformTags": {}, "lifecycleDetails": "", "timeCreated": "", "timeUpdated": ""}
                 for i, name in enumerate(ZONE_POLICIES)]
        return {"securityPolicyCollections": [{"items": items}], "compartmentId": args.get("compartmentId"),
                "id": "security-policies"}
    if token == "oci:ObjectStorage/getNamespace:getNamespace":
        return {"namespace": "sitekitmockns", "id": "namespace"}
    return None


def peer_outputs(peer: str, site: str) -> dict[str, Any]:
    """The stack outputs a peer site's stack has for `site` once deployed: its remote peering connection's id,
    the id the peer's own plan gives it (`<peer>-rpc-<site>`), so both sites' plans name the same object."""
    return {"peering": {"rpcs": {site: f"{peer}-rpc-{site}-id"}}}
