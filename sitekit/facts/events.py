"""The OCI event types the CIS OCI Foundations Benchmark v2.0.0 asks a tenancy to be notified of, per
recommendation (4.3-4.12: identity and network changes; 4.15: Cloud Guard problems).

Source: the CIS check list of Oracle's own compliance script, oci-landing-zones/oci-cis-landingzone-quickstart,
scripts/cis_reports.py (`cis_monitoring_checks`, commit 450275c257138c96794c5fa7b6c16cb47568c4fa). OCI renamed
the IdP group mapping events: `createidpgroupmapping`/`deleteidpgroupmapping` are now `addidpgroupmapping`/
`removeidpgroupmapping` (oci-landing-zones terraform-oci-modules-observability release notes 0.2.4,
2025-10-10); either name satisfies 4.4, and sitekit emits the current ones. The Landing Zone's own rules
(config/mon_notifications.tf of the same repository) also watch `updatenetworksecuritygroupsecurityrules`,
`deleteservicegateway.begin` and `deletelocalpeeringgateway`; sitekit emits those too.
"""

from __future__ import annotations

_IAM = "com.oraclecloud.identitycontrolplane."
_VNET = "com.oraclecloud.virtualnetwork."
_NAT = "com.oraclecloud.natgateway."
_SGW = "com.oraclecloud.servicegateway."
_CG = "com.oraclecloud.cloudguard."

IDENTITY_PREFIX = _IAM
"""What every identity control plane event type starts with: the events of users, groups, policies and identity
providers, which live in the root compartment alone."""

CIS_EVENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "4.3": ("identity provider changes", tuple(_IAM + e for e in (
        "createidentityprovider", "deleteidentityprovider", "updateidentityprovider"))),
    "4.4": ("IdP group mapping changes", tuple(_IAM + e for e in (
        "addidpgroupmapping", "removeidpgroupmapping", "updateidpgroupmapping"))),
    "4.5": ("IAM group changes", tuple(_IAM + e for e in ("creategroup", "deletegroup", "updategroup"))),
    "4.6": ("IAM policy changes", tuple(_IAM + e for e in ("createpolicy", "deletepolicy", "updatepolicy"))),
    "4.7": ("user changes", tuple(_IAM + e for e in (
        "createuser", "deleteuser", "updateuser", "updateusercapabilities", "updateuserstate"))),
    "4.8": ("VCN changes", tuple(_VNET + e for e in ("createvcn", "deletevcn", "updatevcn"))),
    "4.9": ("route table changes", tuple(_VNET + e for e in (
        "changeroutetablecompartment", "createroutetable", "deleteroutetable", "updateroutetable"))),
    "4.10": ("security list changes", tuple(_VNET + e for e in (
        "changesecuritylistcompartment", "createsecuritylist", "deletesecuritylist", "updatesecuritylist"))),
    "4.11": ("network security group changes", tuple(_VNET + e for e in (
        "changenetworksecuritygroupcompartment", "createnetworksecuritygroup", "deletenetworksecuritygroup",
        "updatenetworksecuritygroup"))),
    "4.12": ("network gateway changes", tuple(_VNET + e for e in (
        "createdrg", "deletedrg", "updatedrg", "createdrgattachment", "deletedrgattachment", "updatedrgattachment",
        "changeinternetgatewaycompartment", "createinternetgateway", "deleteinternetgateway",
        "updateinternetgateway", "changelocalpeeringgatewaycompartment", "createlocalpeeringgateway",
        "deletelocalpeeringgateway.end", "updatelocalpeeringgateway")) + tuple(_NAT + e for e in (
        "changenatgatewaycompartment", "createnatgateway", "deletenatgateway", "updatenatgateway")) + tuple(
        _SGW + e for e in ("attachserviceid", "changeservicegatewaycompartment", "createservicegateway",
                           "deleteservicegateway.end", "detachserviceid", "updateservicegateway"))),
    "4.15": ("Cloud Guard problems", tuple(_CG + e for e in (
        "problemdetected", "problemdismissed", "problemremediated"))),
}
"""CIS recommendation -> (what it watches, the event types a notifying rule must match)."""

RENAMED: dict[str, str] = {_IAM + "createidpgroupmapping": _IAM + "addidpgroupmapping",
                           _IAM + "deleteidpgroupmapping": _IAM + "removeidpgroupmapping"}
"""An earlier name of an event type -> its current name (either satisfies the recommendation)."""

EXTRA: dict[str, tuple[str, ...]] = {
    "4.11": (_VNET + "updatenetworksecuritygroupsecurityrules",),
    "4.12": (_VNET + "deletelocalpeeringgateway", _SGW + "deleteservicegateway.begin"),
}
"""Event types the Landing Zone's rules watch beyond the CIS check list (sitekit emits them too)."""

CATEGORIES: dict[str, tuple[str, ...]] = {
    "iam": ("4.3", "4.4", "4.5", "4.6", "4.7"),
    "network": ("4.8", "4.9", "4.10", "4.11", "4.12"),
    "cloud-guard": ("4.15",),
}
"""sitekit's event rule categories (spec `security.events`) -> the CIS recommendations each one serves."""


def event_types(category: str) -> list[str]:
    """Every event type a sitekit event rule of `category` matches, in CIS order."""
    return [e for rec in CATEGORIES[category] for e in CIS_EVENTS[rec][1] + EXTRA.get(rec, ())]
