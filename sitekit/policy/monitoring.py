"""Monitoring rules: event rules that notify a topic of identity, network and Cloud Guard changes (CIS OCI
4.3-4.12, 4.15), a subscriber on every alert topic (4.2), and Cloud Guard watching the stack's compartments
(4.14).

A site is asked to watch what it builds: the identity events once it declares IAM objects, the network events
once it declares a VCN, Cloud Guard problems once it declares a Cloud Guard target. These rules need a site: a
stack that is not a sitekit site may rely on tenancy-wide event rules and Cloud Guard targets another stack owns
(a landing zone), which a per-stack rule cannot see. An event rule whose condition or action is unknown during
a preview cannot be judged, so the rule stays silent on the stack.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any, Iterator

from ..facts.events import CIS_EVENTS, RENAMED
from .model import Res, Stack, get, is_unknown, items, rule
from .types import CLOUD_GUARD_TARGET, COMPARTMENT, EVENT_RULE, IAM_TYPES, SUBSCRIPTION, TOPIC, VCN

IAM_RECS = ("4.3", "4.4", "4.5", "4.6", "4.7")
NETWORK_RECS = ("4.8", "4.9", "4.10", "4.11", "4.12")


class _Unknown(Exception):
    """A value the rule needs is unknown: it cannot decide."""


def _base(event_type: str) -> str:
    event_type = RENAMED.get(event_type.lower(), event_type.lower())
    for suffix in (".begin", ".end"):
        if event_type.endswith(suffix):
            return event_type[: -len(suffix)]
    return event_type


def _actions(rule_: Res) -> list[Any]:
    actions = rule_.get("actions.action")
    if actions is None:
        actions = rule_.get("actions.actions")  # the deprecated name
    if is_unknown(actions):
        raise _Unknown
    return items(actions)


def _event_types(rule_: Res) -> list[str]:
    """The event types a rule's condition matches (patterns may hold '*')."""
    found: list[str] = []
    details = rule_.get("conditionDetails.eventTypes")
    condition = rule_.get("condition")
    if is_unknown(details) or is_unknown(condition):
        raise _Unknown
    found += [t for t in items(details) if isinstance(t, str)]
    if isinstance(condition, str) and condition.strip():
        try:
            parsed = json.loads(condition)
        except ValueError:
            parsed = {}
        value = parsed.get("eventType") if isinstance(parsed, dict) else None
        found += [value] if isinstance(value, str) else [t for t in items(value) if isinstance(t, str)]
    if any(is_unknown(t) for t in found):
        raise _Unknown
    return found


def _notifying_rules(stack: Stack, ctx, home_only: bool) -> list[Res]:
    """Enabled event rules with an enabled notification (ONS) action; with `home_only`, only those in the
    home region when both regions are known (OCI emits identity events in the home region only)."""
    found = []
    for r in stack.of_type(EVENT_RULE):
        enabled = r.get("isEnabled")
        if is_unknown(enabled):
            raise _Unknown
        if enabled is False:
            continue
        ons = [a for a in _actions(r) if str(get(a, "actionType", "")).upper() == "ONS"
               and get(a, "isEnabled") is not False]
        if not ons:
            continue
        region = get(r.provider or {}, "region")
        if home_only and ctx.home_region and isinstance(region, str) and not is_unknown(region) \
                and region != ctx.home_region:
            continue
        found.append(r)
    return found


def _missing(stack: Stack, ctx, recs: tuple[str, ...], home_only: bool = False) -> Iterator[tuple[str, list[str]]]:
    """(recommendation, event types no notifying rule matches) for each recommendation not fully covered."""
    try:
        patterns = [_base(t) for r in _notifying_rules(stack, ctx, home_only) for t in _event_types(r)]
    except _Unknown:
        return
    for rec in recs:
        missing = [e for e in CIS_EVENTS[rec][1]
                   if not any(fnmatch.fnmatchcase(_base(e), p) for p in patterns)]
        if missing:
            yield rec, missing


def _report(rec: str, missing: list[str]) -> str:
    what, _ = CIS_EVENTS[rec]
    shown = ", ".join(m.rsplit(".", 1)[-1] if not m.endswith((".begin", ".end")) else m.rsplit(".", 2)[-2]
                      for m in missing[:4])
    more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
    return f"CIS {rec} ({what}): no enabled event rule notifies a topic of {shown}{more}"


@rule("SK-MON-001", "Identity and network changes notify a topic", severity="medium", level="mandatory",
      area="monitoring", stack=True, cis="4.3-4.12", needs_site=True, anchor=("/security", "events"),
      remediation="Declare enabled event rules with an ONS action for the CIS event types (sitekit's "
                  "`security.events: [iam, network]`); identity events are emitted in the home region only.")
def changes_notify_a_topic(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    if any(r.type in IAM_TYPES for r in stack.resources):
        for rec, missing in _missing(stack, ctx, IAM_RECS, home_only=True):
            yield None, _report(rec, missing)
    if stack.of_type(VCN):
        for rec, missing in _missing(stack, ctx, NETWORK_RECS):
            yield None, _report(rec, missing)


@rule("SK-MON-002", "Cloud Guard problems notify a topic", severity="medium", level="mandatory",
      area="monitoring", stack=True, cis="4.15", needs_site=True, anchor=("/security", "events"),
      remediation="Declare an enabled event rule with an ONS action for Cloud Guard's problemdetected, "
                  "problemdismissed and problemremediated events (sitekit: `security.events` with `cloud-guard`).")
def cloud_guard_problems_notify(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    if stack.of_type(CLOUD_GUARD_TARGET):
        for rec, missing in _missing(stack, ctx, ("4.15",)):
            yield None, _report(rec, missing)


@rule("SK-MON-003", "Alert topics have a subscriber", severity="medium", level="advisory", area="monitoring",
      stack=True, cis="4.2", anchor=("/security",),
      remediation="Subscribe the security team to every topic an event rule notifies (sitekit: set the secret "
                  "`sitekit:alertEndpoint` with `pulumi config set --secret`).")
def alert_topics_subscribed(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    for topic in stack.of_type(TOPIC):
        if stack.dependents(topic, EVENT_RULE) and not stack.dependents(topic, SUBSCRIPTION):
            yield topic, f"topic {topic.get('name', topic.name)} receives alerts but has no subscription"


def _top_compartments(stack: Stack) -> list[Res]:
    return [c for c in stack.of_type(COMPARTMENT) if not stack.deps(c, COMPARTMENT)]


@rule("SK-MON-004", "Cloud Guard watches the stack's compartments", severity="medium", level="mandatory",
      area="monitoring", stack=True, cis="4.14", needs_site=True, anchor=("/security", "cloudGuard"),
      remediation="Declare a Cloud Guard target (type COMPARTMENT) on the stack's top compartment (sitekit: "
                  "`security.cloudGuard: true`); Cloud Guard itself is enabled once per tenancy.")
def cloud_guard_watches(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    targets = [t for t in stack.of_type(CLOUD_GUARD_TARGET)
               if str(t.get("targetResourceType", "COMPARTMENT")).upper() == "COMPARTMENT"]
    for top in _top_compartments(stack):
        if not any(top.urn in t.dependencies for t in targets):
            yield top, f"no Cloud Guard target covers compartment {top.get('name', top.name)}"
