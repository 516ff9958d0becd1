"""The offline runner: evaluate the CrossGuard policies against a site's offline plan, with no engine.

Each policy is called the way the CLI's analyzer calls it, through `policy.validate` with
`ResourceValidationArgs` per resource and `StackValidationArgs` for the stack, so the pack and `sitekit
policy` run the same code. Findings carry the spec location (file and line) that produced the offending value.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.policy import _NotApplicableError

from sitekit.errors import Problem, SpecError, clip, nearest
from sitekit.naming import SpecPath, spec_path
from sitekit.policy import RULES
from sitekit.policy.context import PolicyContext, WaiverInfo, context_from_site
from sitekit.policy.model import Item, Res, Rule
from sitekit.policy.pack import build_policies
from sitekit.policy.settings import settings_problems
from sitekit.spec.layout import stack_file
from sitekit.spec.merge import Origin

if TYPE_CHECKING:
    from sitekit.plan import Plan, PlannedResource
    from sitekit.spec.loaded import LoadedSite


@dataclass(frozen=True)
class Finding:
    rule: str
    level: str
    severity: str
    message: str
    urn: str | None
    resource: str | None
    type: str | None
    file: str
    line: int | None
    waiver: WaiverInfo | None = None

    @property
    def blocking(self) -> bool:
        return self.level == "mandatory" and self.waiver is None


@dataclass
class SiteResult:
    site: str
    jurisdiction: str
    stack_file: str
    findings: list[Finding] = field(default_factory=list)
    waivers: list[WaiverInfo] = field(default_factory=list)
    levels: dict[str, str] = field(default_factory=dict)
    today: datetime.date = field(default_factory=datetime.date.today)

    @property
    def passed(self) -> bool:
        return not any(f.blocking for f in self.findings)

    def active(self) -> list[Finding]:
        return [f for f in self.findings if f.waiver is None]

    def waived(self) -> list[Finding]:
        return [f for f in self.findings if f.waiver is not None]


def result_to_dict(result: SiteResult) -> dict[str, Any]:
    """A site's result as JSON-ready data (dates as ISO text), for the result cache."""
    return asdict(result) | {"today": result.today.isoformat(),
                             "waivers": [_waiver_dict(w) for w in result.waivers],
                             "findings": [asdict(f) | {"waiver": _waiver_dict(f.waiver) if f.waiver else None}
                                          for f in result.findings]}


def result_from_dict(data: dict[str, Any]) -> SiteResult:
    """The inverse of `result_to_dict`; raises KeyError, TypeError or ValueError on anything else."""
    def waiver(w: dict[str, Any]) -> WaiverInfo:
        return WaiverInfo(**(w | {"expires": datetime.date.fromisoformat(w["expires"])}))

    return SiteResult(site=data["site"], jurisdiction=data["jurisdiction"], stack_file=data["stack_file"],
                      findings=[Finding(**(f | {"waiver": waiver(f["waiver"]) if f["waiver"] else None}))
                                for f in data["findings"]],
                      waivers=[waiver(w) for w in data["waivers"]], levels=dict(data["levels"]),
                      today=datetime.date.fromisoformat(data["today"]))


def _waiver_dict(waiver: WaiverInfo) -> dict[str, Any]:
    return asdict(waiver) | {"expires": waiver.expires.isoformat()}


# ------------------------------------------------------------------------------------------ plan -> CrossGuard
def _options(r: "PlannedResource") -> PolicyResourceOptions:
    return PolicyResourceOptions(r.protect, list(r.ignore_changes), None, list(r.aliases),
                                 PolicyCustomTimeouts(0, 0, 0), [], r.parent)


def policy_resources(plan: "Plan") -> tuple[list[PolicyResource], dict[str, PolicyProviderResource]]:
    """The plan as the CLI would hand it to a stack policy (parents and dependencies linked)."""
    providers = {r.urn: PolicyProviderResource(r.type, r.inputs, r.urn, r.name)
                 for r in plan.resources if r.type.startswith("pulumi:providers:")}
    out: dict[str, PolicyResource] = {}
    for r in plan.resources:
        out[r.urn] = PolicyResource(r.type, r.inputs, r.urn, r.name, _options(r),
                                    providers.get(r.provider_urn), None, [], {})
    for r in plan.resources:
        res = out[r.urn]
        res.parent = out.get(r.parent) if r.parent else None
        res.dependencies = [out[d] for d in r.dependencies if d in out]
    return list(out.values()), providers


CONFIG_LEVELS = ("advisory", "disabled", "mandatory", "remediate")


def _param_problem(value: Any, schema: dict[str, Any]) -> str | None:
    """What is wrong with a parameter value for its JSON schema (the subset the rules use), or None."""
    kind = schema.get("type")
    if kind == "integer" and (isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value)):
        return f"must be an integer, not {json.dumps(value)}"
    if kind == "array" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return f"must be an array of strings, not {json.dumps(value)}"
    if "minimum" in schema and value < schema["minimum"]:
        return f"must be at least {schema['minimum']}, not {value}"
    if "maximum" in schema and value > schema["maximum"]:
        return f"must be at most {schema['maximum']}, not {value}"
    return None


def pack_config(config: dict[str, Any] | None) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    """`--policy-pack-config` as the Pulumi CLI takes it ({policy or "all": level or {enforcementLevel,
    parameters}}), as {policy: {...}}, with the problems the CLI would refuse it for (its config schemas).
    `remediate` means mandatory for policies that only validate, as under the CLI."""
    out: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem("<policy config>", None, key, message))

    for key, value in (config or {}).items():
        if key not in RULES and key != "all":
            bad(key, f"unknown policy rule; {nearest(key, RULES)}")
            continue
        value = {"enforcementLevel": value} if isinstance(value, str) else value
        if not isinstance(value, dict):
            bad(key, f"must be an enforcement level or an object, not {clip(json.dumps(value))}")
            continue
        entry = dict(value)
        level = entry.pop("enforcementLevel", None)
        if level is not None and level not in CONFIG_LEVELS:
            bad(f"{key}.enforcementLevel", f"'{clip(str(level))}' is not a level; allowed: {', '.join(CONFIG_LEVELS)}")
        schema = RULES[key].params if key in RULES else {}
        for name, param in entry.items():
            if name not in schema:
                hint = nearest(name, schema) if schema else f"{key} takes no parameters"
                bad(f"{key}.{name}", f"unknown parameter; {hint}")
            elif (message := _param_problem(param, dict(schema[name]))) is not None:
                bad(f"{key}.{name}", message)
        if level is not None:
            entry["enforcementLevel"] = "mandatory" if level == "remediate" else level
        out[key] = entry
    return out, problems


def evaluate(site: "LoadedSite", plan: "Plan", today: datetime.date | None = None,
             config: dict[str, Any] | None = None) -> SiteResult:
    """Every rule against one site's plan. Raises SpecError (bad input) for unknown rule ids in the site's
    or jurisdiction's policy settings, for waivers naming a resource the site does not declare, and for a
    `config` the CLI would refuse. `config` is what `--policy-pack-config` gives: {rule id or "all": level or
    {"enforcementLevel": ..., param: value}} (see `pack_config`)."""
    problems = settings_problems(site, [r.name for r in plan.resources])
    config, config_problems = pack_config(config)
    problems += config_problems
    if problems:
        raise SpecError(problems)
    ctx = context_from_site(site, today)
    result = SiteResult(site.name, ctx.jurisdiction or "", stack_file(site.name), waivers=list(ctx.waivers),
                        today=ctx.today)

    def level_of(policy) -> str:
        over = config.get(policy.name, {}).get("enforcementLevel") or config.get("all", {}).get("enforcementLevel")
        return over or policy.enforcement_level.value

    current: dict[str, Any] = {}

    def on_waived(rule_: Rule, res: Res | None, message: str, waiver: WaiverInfo) -> None:
        result.findings.append(_finding(site, ctx, rule_, current["level"], message, res.urn if res else None,
                                        res.name if res else None, res.type if res else None, waiver))

    policies = build_policies(lambda: ctx, levels=ctx, on_waived=on_waived)
    resources, providers = policy_resources(plan)
    by_urn = {r.urn: r for r in plan.resources}
    for policy in policies:
        level = level_of(policy)
        result.levels[policy.name] = level
        if level == EnforcementLevel.DISABLED.value:
            continue
        rule_ = RULES[policy.name]
        current["level"] = level
        policy_config = {k: v for k, v in config.get(policy.name, {}).items() if k != "enforcementLevel"} or None

        def report(message: str, urn: str | None = None, rule_=rule_, level=level) -> None:
            res = by_urn.get(urn) if urn else None
            text = message.split("] ", 1)[-1] if message.startswith(f"[{rule_.id}]") else message
            result.findings.append(_finding(site, ctx, rule_, level, text, urn, res.name if res else None,
                                            res.type if res else None, None))

        if isinstance(policy, ResourceValidationPolicy):
            for r in resources:
                if rule_.types and r.resource_type not in rule_.types:
                    continue
                args = ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts, r.provider,
                                              config=policy_config)
                try:
                    policy.validate(args, report)
                except _NotApplicableError:  # the rule cannot judge this resource, as under the engine
                    continue
        else:
            try:
                policy.validate(StackValidationArgs(resources, config=policy_config), report)
            except _NotApplicableError:
                continue
    result.findings.sort(key=lambda f: (f.waiver is not None, f.level != "mandatory", f.rule, f.resource or ""))
    return result


# ------------------------------------------------------------------------------------------ locations
def locate(site: "LoadedSite", rule_: Rule, resource: str | None, message: str) -> Origin:
    """Where the offending value came from, as the rule declares (`points_at`, `anchor`): file and line, else
    the stack file."""
    path: SpecPath | None = None
    anchor = rule_.anchor
    if isinstance(rule_.points_at, Item):
        index = rule_.points_at.index_in(message)
        path = rule_.points_at.path + ((index,) if index is not None else ())
    elif anchor and anchor[0].startswith("/"):
        path = (anchor[0][1:],) + anchor[1:]
    else:
        base = spec_path(site.name, resource, site.items)  # the resource's spec item, through naming.Kind
        if base is not None:
            path = base + anchor
            if site.origin(path) is None or path not in site.provenance:
                path = base
    origin = site.origin(path) if path else None
    if origin is None or not origin.file:
        return Origin(stack_file(site.name), None)
    return origin


def _finding(site: "LoadedSite", ctx: PolicyContext, rule_: Rule, level: str, message: str, urn: str | None,
             resource: str | None, type_: str | None, waiver: WaiverInfo | None) -> Finding:
    origin = locate(site, rule_, resource, message)
    return Finding(rule_.id, level, rule_.severity, message, urn, resource, type_, origin.file, origin.line, waiver)
