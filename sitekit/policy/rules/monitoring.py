"""Monitoring rules: event rules that notify a topic of identity, network and Cloud Guard changes (CIS OCI
4.3-4.12, 4.15), a subscriber on every alert topic (4.2), Cloud Guard watching the stack's compartments, enabled,
with active targets (4.14).

A site is asked to watch what it builds: the identity events once it declares IAM objects, the network events
once it declares a VCN, Cloud Guard problems once it declares a Cloud Guard target. A stack that is not a
sitekit site may rely on tenancy-wide event rules and Cloud Guard targets another stack owns (a landing zone),
which a per-stack rule cannot see: without a site, a group of recommendations (identity, network, Cloud Guard) is
judged only once the stack takes it on, by declaring an event rule for some of its event types (or a Cloud Guard
target), and then it must be whole.
An event rule whose condition or action is unknown during a preview cannot be judged, so the rule stays silent.

Identity events count only from a rule in the root compartment (and the home region): users, groups and identity
providers live in the root compartment alone, and a rule matches events of its own compartment's subtree (OCI
Events docs; Oracle's CIS compliance script also reads only rules in the root compartment).
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any, Iterator

from sitekit.facts.events import CATEGORIES, CIS_EVENTS, RENAMED
from sitekit.oci.types import (
    CLOUD_GUARD_CONFIGURATION,
    CLOUD_GUARD_TARGET,
    COMPARTMENT,
    EVENT_RULE,
    IAM_TYPES,
    SUBSCRIPTION,
    TOPIC,
    VCN,
)
from sitekit.policy.model import Res, Stack, get, is_unknown, items, rule

IAM_RECS = CATEGORIES["iam"]
NETWORK_RECS = CATEGORIES["network"]
CLOUD_GUARD_RECS = CATEGORIES["cloud-guard"]


class UnknownValue(Exception):
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
        raise UnknownValue
    return items(actions)


def event_types_of(rule_: Res) -> list[str]:
    """The event types a rule's condition matches (patterns may hold '*')."""
    found: list[str] = []
    details = rule_.get("conditionDetails.eventTypes")
    condition = rule_.get("condition")
    if is_unknown(details) or is_unknown(condition):
        raise UnknownValue
    found += [t for t in items(details) if isinstance(t, str)]
    if isinstance(condition, str) and condition.strip():
        try:
            parsed = json.loads(condition)
        except ValueError:
            parsed = {}
        value = parsed.get("eventType") if isinstance(parsed, dict) else None
        found += [value] if isinstance(value, str) else [t for t in items(value) if isinstance(t, str)]
    if any(is_unknown(t) for t in found):
        raise UnknownValue
    return found


def _notifying_rules(stack: Stack, ctx, identity: bool) -> list[Res]:
    """Enabled event rules with an enabled notification (ONS) action; for `identity` events, only those in the
    root compartment and, when both regions are known, in the home region (OCI emits identity events there)."""
    found = []
    for r in stack.of_type(EVENT_RULE):
        enabled = r.get("isEnabled")
        if is_unknown(enabled):
            raise UnknownValue
        if enabled is False:
            continue
        ons = [a for a in _actions(r) if str(get(a, "actionType", "")).upper() == "ONS"
               and get(a, "isEnabled") is not False]
        if not ons:
            continue
        region = get(r.provider or {}, "region")
        if identity and (not ctx.is_root_compartment(r.get("compartmentId"))
                         or ctx.home_region and isinstance(region, str) and not is_unknown(region)
                         and region != ctx.home_region):
            continue
        found.append(r)
    return found


def _matches(patterns: list[str], event_type: str) -> bool:
    return any(fnmatch.fnmatchcase(_base(event_type), p) for p in patterns)


def _missing(stack: Stack, ctx, recs: tuple[str, ...], identity: bool = False) -> Iterator[tuple[str, list[str]]]:
    """(recommendation, event types no notifying rule matches) for each of `recs` (one group: identity, network
    or Cloud Guard) not fully covered. Without a site, only a group the stack takes on: some event rule of it
    (enabled or not) names an event type of the group."""
    try:
        patterns = [_base(t) for r in _notifying_rules(stack, ctx, identity) for t in event_types_of(r)]
        declared = [_base(t) for r in stack.of_type(EVENT_RULE) for t in event_types_of(r)]
    except UnknownValue:
        return
    if not ctx.known and not any(_matches(declared, e) for rec in recs for e in CIS_EVENTS[rec][1]):
        return
    for rec in recs:
        missing = [e for e in CIS_EVENTS[rec][1] if not _matches(patterns, e)]
        if missing:
            yield rec, missing


def _report(rec: str, missing: list[str]) -> str:
    what, _ = CIS_EVENTS[rec]
    shown = ", ".join(m.rsplit(".", 1)[-1] if not m.endswith((".begin", ".end")) else m.rsplit(".", 2)[-2]
                      for m in missing[:4])
    more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
    return f"CIS {rec} ({what}): no enabled event rule notifies a topic of {shown}{more}"


@rule("SK-MON-001", "Identity and network changes notify a topic", severity="medium", level="mandatory",
      area="monitoring", stack=True, cis="4.3-4.12", anchor=("/security", "events"),
      remediation="Declare enabled event rules with an ONS action for the CIS event types (sitekit's "
                  "`security.events: [iam, network]`); identity rules belong in the root compartment of the home "
                  "region, where OCI emits identity events.")
def changes_notify_a_topic(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    if any(r.type in IAM_TYPES for r in stack.resources):
        for rec, missing in _missing(stack, ctx, IAM_RECS, identity=True):
            yield None, _report(rec, missing)
    if stack.of_type(VCN):
        for rec, missing in _missing(stack, ctx, NETWORK_RECS):
            yield None, _report(rec, missing)


@rule("SK-MON-002", "Cloud Guard problems notify a topic", severity="medium", level="mandatory",
      area="monitoring", stack=True, cis="4.15", anchor=("/security", "events"),
      remediation="Declare an enabled event rule with an ONS action for Cloud Guard's problemdetected, "
                  "problemdismissed and problemremediated events (sitekit: `security.events` with `cloud-guard`).")
def cloud_guard_problems_notify(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    if stack.of_type(CLOUD_GUARD_TARGET):
        for rec, missing in _missing(stack, ctx, CLOUD_GUARD_RECS):
            yield None, _report(rec, missing)


@rule("SK-MON-003", "Alert topics have a subscriber", severity="medium", level="advisory", area="monitoring",
      stack=True, cis="4.2", anchor=("/security",),
      remediation="Subscribe the security team to every topic an event rule notifies (sitekit: set the secret "
                  "`sitekit:alertEndpoint` with `pulumi config set --secret`).")
def alert_topics_subscribed(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    for topic in stack.of_type(TOPIC):
        if stack.dependents(topic, EVENT_RULE) and not stack.dependents(topic, SUBSCRIPTION):
            how = (" (set the secret endpoint: `pulumi config set --secret sitekit:alertEndpoint https://...`)"
                   if ctx.known else "")
            yield topic, f"topic {topic.get('name', topic.name)} receives alerts but has no subscription{how}"


def _top_compartments(stack: Stack) -> list[Res]:
    return [c for c in stack.of_type(COMPARTMENT) if not stack.deps(c, COMPARTMENT)]


DETECTORS = {"IAAS_CONFIGURATION_DETECTOR": "configuration", "IAAS_ACTIVITY_DETECTOR": "activity"}
"""The detectors a target needs a recipe of (OCI Cloud Guard: a target's detector recipes, one per detector)."""


def _recipe_gaps(target: Res) -> Iterator[str]:
    """What the target lacks of a configuration detector recipe, an activity detector recipe and a responder
    recipe. A recipe whose detector is not stated (an OCID alone, as a stack declares it) may be either: the
    target is given the benefit of the doubt while it attaches as many recipes as detectors are missing."""
    detectors = target.get("targetDetectorRecipes")
    if not is_unknown(detectors):
        recipes: dict[Any, str | None] = {}
        for i, entry in enumerate(items(detectors)):
            recipe = get(entry, "detectorRecipeId")
            if recipe in (None, ""):
                continue
            detector = get(entry, "detector")
            key = ("unknown", i) if is_unknown(recipe) else recipe
            recipes[key] = (DETECTORS.get(str(detector).upper()) if isinstance(detector, str)
                            and not is_unknown(detector) else None)
        stated = set(recipes.values())
        missing = [d for d in DETECTORS.values() if d not in stated]
        unstated = sum(1 for d in recipes.values() if d is None)
        if len(missing) > unstated:
            yield (f"no {' and no '.join(missing)} detector recipe" if not unstated else
                   f"{len(recipes)} detector recipe(s), not both a configuration and an activity detector recipe")
    responders = target.get("targetResponderRecipes")
    if not is_unknown(responders) and not any(get(r, "responderRecipeId") not in (None, "") for r in items(responders)):
        yield "no responder recipe"


@rule("SK-MON-004", "Cloud Guard watches the stack's compartments with its recipes", severity="medium",
      level="mandatory", area="monitoring", stack=True, cis="4.14", anchor=("/security", "cloudGuard"),
      remediation="Declare a Cloud Guard target (type COMPARTMENT) on the stack's top compartment attaching a "
                  "configuration detector recipe, an activity detector recipe and a responder recipe (sitekit: "
                  "`security.cloudGuard: {configurationDetectorRecipeId, activityDetectorRecipeId, "
                  "responderRecipeId}`); Cloud Guard itself is enabled once per tenancy.")
def cloud_guard_watches(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    """Without a site, judged once the stack declares Cloud Guard targets of its own."""
    targets = [t for t in stack.of_type(CLOUD_GUARD_TARGET)
               if str(t.get("targetResourceType", "COMPARTMENT")).upper() == "COMPARTMENT"]
    if not ctx.known and not targets:
        return
    for top in _top_compartments(stack):
        if not any(top.urn in t.dependencies for t in targets):
            yield top, f"no Cloud Guard target covers compartment {top.get('name', top.name)}"
    for target in stack.of_type(CLOUD_GUARD_TARGET):
        for gap in _recipe_gaps(target):
            yield target, f"Cloud Guard target {target.get('displayName', target.name)}: {gap}"


@rule("SK-MON-005", "Cloud Guard is enabled and its targets active", severity="medium", level="mandatory",
      area="monitoring", types=(CLOUD_GUARD_CONFIGURATION, CLOUD_GUARD_TARGET), cis="4.14",
      remediation="Declare the Cloud Guard configuration with `status='ENABLED'`, and leave a target's `state` "
                  "unset or ACTIVE.")
def cloud_guard_enabled(res: Res, ctx) -> Iterator[str]:
    if res.type == CLOUD_GUARD_CONFIGURATION:
        status = res.get("status")
        if isinstance(status, str) and not is_unknown(status) and status.upper() != "ENABLED":
            yield f"Cloud Guard status is {status}, not ENABLED"
        return
    state = res.get("state")
    if isinstance(state, str) and not is_unknown(state) and state.upper() != "ACTIVE":
        yield f"Cloud Guard target state is {state}, not ACTIVE"
