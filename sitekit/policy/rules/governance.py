"""Governance and stack-wide rules: defined tags, protected state, retention, the root compartment, current
waivers, residency, the power envelope and non-overlapping address ranges."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Iterator

from sitekit.facts.events import CIS_EVENTS, EXTRA, IDENTITY_PREFIX, RENAMED
from sitekit.facts.retention import (
    DEFAULT_MIN_AUDIT_DAYS,
    DEFAULT_MIN_LOG_DAYS,
    LOG_DEFAULT_DAYS,
)
from sitekit.oci.types import (
    AUDIT_CONFIGURATION,
    CLOUD_GUARD_TARGET,
    CLUSTER_NETWORK,
    EVENT_RULE,
    GPU_MEMORY_CLUSTER,
    HOME_CONTROL_PLANE,
    IAM_TYPES,
    INSTANCE_CONFIGURATION,
    LOG,
    NODE_POOL,
    STATEFUL,
    SUBNET,
    TAG,
    TAG_NAMESPACE,
    TAGGABLE,
    TENANCY_SETTINGS,
    VCN,
)
from sitekit.policy.model import WAIVER, Res, Stack, get, is_unknown, items, rule
from sitekit.policy.rules.monitoring import UnknownValue, event_types_of

CIS_ROOT_EVENTS = frozenset(e for _, types in CIS_EVENTS.values() for e in types) | frozenset(
    e for types in EXTRA.values() for e in types) | frozenset(RENAMED)
"""The event types of CIS OCI 4.3-4.12 and 4.15, whose remediation creates the notifying rule in the root
compartment (a rule sees only its compartment's subtree: at the root, the whole tenancy)."""


def _cis_event_rule(res: Res) -> bool:
    """Whether a resource is an event rule that watches only what CIS's remediation has it watch from the root
    compartment: identity events (IAM resources live only there) and the CIS 4.3-4.12, 4.15 event types
    (network changes and Cloud Guard problems, tenancy-wide). A rule whose event types are unknown during a
    preview is not judged."""
    if res.type != EVENT_RULE:
        return False
    try:
        types = event_types_of(res)
    except UnknownValue:
        return True
    return bool(types) and all(t.lower().startswith(IDENTITY_PREFIX) or t.lower() in CIS_ROOT_EVENTS for t in types)


def _root_cloud_guard_target(res: Res, ctx) -> bool:
    """CIS 4.14's remediation: Cloud Guard enabled on the root compartment, its target the root itself."""
    return res.type == CLOUD_GUARD_TARGET and ctx.is_root_compartment(res.get("targetResourceId"))


@rule("SK-GOV-001", "Required defined tags on every taggable resource", severity="medium", level="mandatory",
      area="governance", cis="4.1",
      anchor=("/jurisdiction", "tags"), params={"requiredTags": {"type": "array", "items": {"type": "string"}}},
      remediation="Give every taggable resource the site's defined tags (namespace '<tags.namespace>-<site>': "
                  "site, jurisdiction, data-classification with the jurisdiction's values).")
def required_defined_tags(res: Res, ctx) -> Iterator[str]:
    """Every type of TAGGABLE, and any other OCI type once it carries defined tags (so it takes them). Without
    a site the required keys and values are unknown, but a taggable resource with no defined tags at all is
    judged: it carries none of them."""
    if res.type in (TAG_NAMESPACE, TAG) or (res.type not in TAGGABLE and "definedTags" not in res.props):
        return
    tags = res.get("definedTags", {})
    if is_unknown(tags) or not hasattr(tags, "get"):
        return
    if not ctx.known:
        if not tags:
            yield "the resource carries no defined tags"
        return
    for key in ctx.param("requiredTags") or ():
        full = f"{ctx.tag_namespace}.{key}"
        value = tags.get(full)
        want = ctx.tag_values.get(key)
        if value is None:
            yield f"defined tag {full} is missing"
        elif not is_unknown(value) and want is not None and value != want:
            yield f"defined tag {full} is '{value}', expected '{want}'"


@rule("SK-GOV-002", "Stateful resources are protected", severity="high", level="mandatory", area="governance",
      types=tuple(sorted(STATEFUL)),
      remediation="Declare buckets, file systems, volumes, vaults, keys and compartments with `protect=True`.")
def stateful_resources_protected(res: Res, ctx) -> Iterator[str]:
    if not res.protect:
        yield f"{res.type.rsplit(':', 1)[-1]} is not protected from deletion"


@rule("SK-GOV-003", "Service logs are kept at least the jurisdiction's minimum", severity="medium",
      level="mandatory", area="governance", types=(LOG,), anchor=("/jurisdiction", "retention", "logDays"),
      params={"minLogDays": {"type": "integer", "minimum": 30, "maximum": 180}},
      remediation="Set the log's `retention_duration` to at least the jurisdiction's retention.logDays (without "
                  "a jurisdiction, 180 days: the CIS 365-day minimum capped at the longest OCI Logging keeps).")
def log_retention(res: Res, ctx) -> Iterator[str]:
    minimum = ctx.param("minLogDays") or DEFAULT_MIN_LOG_DAYS
    days = res.get("retentionDuration", LOG_DEFAULT_DAYS)
    if isinstance(days, (int, float)) and not isinstance(days, bool) and days < minimum:
        yield f"log kept {days:g} days, less than {minimum:g}"


@rule("SK-GOV-004", "Audit retention is at least the jurisdiction's minimum", severity="medium", level="mandatory",
      area="governance", types=(AUDIT_CONFIGURATION,), anchor=("/jurisdiction", "retention", "auditDays"),
      params={"minAuditDays": {"type": "integer", "minimum": 90, "maximum": 365}},
      remediation="Set the audit configuration's `retention_period_days` to at least retention.auditDays "
                  "(without a jurisdiction, CIS's 365 days).")
def audit_retention(res: Res, ctx) -> Iterator[str]:
    minimum = ctx.param("minAuditDays") or DEFAULT_MIN_AUDIT_DAYS
    days = res.get("retentionPeriodDays")
    if isinstance(days, (int, float)) and not isinstance(days, bool) and days < minimum:
        yield f"audit events kept {days:g} days, less than {minimum:g}"


@rule("SK-GOV-005", "Nothing in the root compartment but IAM, tenancy settings and what CIS puts there",
      severity="medium", level="mandatory", area="governance", cis="6.2", anchor=("/site", "tenancyId"),
      remediation="Create the resource in one of the site's compartments; the root compartment holds IAM objects "
                  "(tag defaults of CIS 4.1 included), tenancy settings, Cloud Guard's target on the root (CIS "
                  "4.14) and event rules of CIS 4.3-4.12 and 4.15's event types.")
def nothing_in_root_compartment(res: Res, ctx) -> Iterator[str]:
    """The root compartment's OCID is the tenancy's (`ocid1.tenancy...`): decisive with or without a site.
    Besides IAM objects and tenancy settings, exactly what CIS's own remediation creates there may live there:
    the tag default of 4.1 (an IAM object), Cloud Guard's target of the root compartment (4.14) and the
    tenancy-wide event rules of 4.3-4.12 and 4.15; a rule watching anything else, or a target of another
    compartment, belongs in a site compartment."""
    if res.type in IAM_TYPES or res.type in TENANCY_SETTINGS or _cis_event_rule(res) \
            or _root_cloud_guard_target(res, ctx) or not res.type.startswith("oci:"):
        return
    if ctx.is_root_compartment(res.get("compartmentId")):
        yield ("event rule in the tenancy's root compartment watches events CIS does not put there"
               if res.type == EVENT_RULE else "resource is created in the tenancy's root compartment")


@rule("SK-GOV-006", "Waivers are current", severity="high", level="mandatory", area="governance", stack=True,
      points_at=WAIVER,
      remediation="Renew the waiver with a new expiry and reason, or fix the resource and remove the waiver.")
def waivers_current(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    for w in ctx.waivers:
        if w.expired(ctx.today):
            target = f" for {w.resource}" if w.resource else ""
            yield None, f"{WAIVER(w.index)} of {w.rule}{target} expired on {w.expires.isoformat()}"


@rule("SK-GOV-007", "The site's policy context loads", severity="high", level="mandatory", area="governance",
      stack=True, anchor=("/policy",),
      remediation="Run the pack from the sitekit project (policies/ beside stacks/) on a stack whose sitekit: "
                  "config validates (`sitekit explain <site>` shows the problems).")
def site_context_loads(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    for problem in ctx.problems:
        yield None, problem


@rule("SK-STK-001", "Every resource in a region the jurisdiction allows", severity="critical", level="mandatory",
      area="stack", needs_site=True, anchor=("/site", "region"),
      remediation="Use the site's region, a region in jurisdiction.residency.regions, or one of a jurisdiction whose "
                  "border residency.crossBorder lets the site's data class cross; a site placed elsewhere declares "
                  "site.transfer, which covers its own region.")
def resources_in_allowed_regions(res: Res, ctx) -> Iterator[str]:
    if res.type in IAM_TYPES or not res.type.startswith("oci:"):
        return  # IAM objects are tenancy metadata written in the home region
    region = get(res.provider or {}, "region")
    if not isinstance(region, str) or is_unknown(region):
        return
    if region in ctx.allowed_regions:
        return  # the site's own region (the loader admitted it), residency, or a border its data class may cross
    if res.type in HOME_CONTROL_PLANE and region == ctx.home_region:
        return  # IAM events and Cloud Guard are served in the home region only
    yield (f"region {region} is not one where the site's data may be: its region, "
           f"{ctx.jurisdiction_name or ctx.jurisdiction}'s residency regions and those its cross-border list opens "
           f"({', '.join(ctx.allowed_regions) or 'none'})")


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


def planned_it_kw(stack: Stack, ctx) -> float:
    """IT load (kW) of the GPU capacity the resources declare, at their declared sizes."""
    def kw(config: Res | None, shape_path: str) -> float:
        shape = config.get(shape_path) if config is not None else None
        info = ctx.shapes.get(shape) if isinstance(shape, str) else None
        return info.node_kw if info else 0.0

    total = 0.0
    for group in stack.of_type(CLUSTER_NETWORK):
        configs = stack.deps(group, INSTANCE_CONFIGURATION)
        node_kw = kw(configs[0], "instanceDetails.launchDetails.shape") if configs else 0.0
        total += sum(_int(get(p, "size")) for p in items(group.get("instancePools"))) * node_kw
    for group in stack.of_type(GPU_MEMORY_CLUSTER):
        configs = stack.deps(group, INSTANCE_CONFIGURATION)
        node_kw = kw(configs[0], "instanceDetails.launchDetails.shape") if configs else 0.0
        total += _int(group.get("size")) * node_kw
    for pool in stack.of_type(NODE_POOL):
        total += _int(pool.get("nodeConfigDetails.size")) * kw(pool, "nodeShape")
    return total


@rule("SK-STK-002", "Facility power within the site's envelope", severity="critical", level="mandatory",
      area="stack", stack=True, needs_site=True, anchor=("/site", "power", "envelopeMw"),
      remediation="Shrink GPU pools (or their autoscale maximum) or raise the envelope (site.power.envelopeMw).")
def power_within_envelope(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    if ctx.envelope_mw is None or ctx.pue is None:
        return
    planned = round(planned_it_kw(stack, ctx) / 1000 * ctx.pue, 4)
    if planned > ctx.envelope_mw:
        yield None, (f"declared GPU capacity draws {planned:.2f} MW at the facility (PUE {ctx.pue}), over the "
                     f"envelope of {ctx.envelope_mw:g} MW")
    elif ctx.spec_facility_mw is not None and ctx.spec_facility_mw > ctx.envelope_mw:
        yield None, (f"pools at their autoscale maximum draw {ctx.spec_facility_mw:.2f} MW at the facility, over "
                     f"the envelope of {ctx.envelope_mw:g} MW")


def _networks(res: Res, *paths: str):
    for path in paths:
        value = res.get(path)
        for cidr in (items(value) if isinstance(value, (list, tuple)) else [value]):
            if isinstance(cidr, str) and not is_unknown(cidr):
                try:
                    yield ip_network(cidr, strict=False)
                except ValueError:
                    continue


@rule("SK-STK-003", "No overlapping address ranges inside a site", severity="high", level="mandatory",
      area="stack", stack=True, anchor=("/site", "addressPlan", "networks"),
      remediation="Give every network its own range in site.addressPlan.networks (and subnets within it).")
def no_overlapping_ranges(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    for kind, paths in ((VCN, ("cidrBlocks", "cidrBlock")), (SUBNET, ("cidrBlock",))):
        seen: list[tuple[Res, object]] = []
        for res in stack.of_type(kind):
            for net in _networks(res, *paths):
                for other, other_net in seen:
                    if other is not res and net.version == other_net.version and net.overlaps(other_net):
                        yield res, (f"{res.get('displayName', res.name)} ({net}) overlaps "
                                    f"{other.get('displayName', other.name)} ({other_net})")
                seen.append((res, net))
