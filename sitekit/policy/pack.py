"""The rules as CrossGuard policies: one `ResourceValidationPolicy` or `StackValidationPolicy` per rule,
wrapping the same function, for `pulumi preview --policy-pack policies` and for `sitekit policy` alike.

Site context under the real engine: the Pulumi CLI runs the pack with the stack's name (`PULUMI_STACK`) and
configuration (`PULUMI_CONFIG`) in its environment, so the pack reads the stack's `sitekit:` keys (the same
keys, `stackconfig.KEYS`, the program reads) and loads the site from the project's `stacks/` (the folder
above `policies/`, or `SITEKIT_ROOT`). That gives the jurisdiction's parameters and levels, the network roles and the
site's waivers. `--policy-pack-config` still wins: its `enforcementLevel` per policy, and its properties over
the rule parameters (each policy's `config_schema` lists them). Without a loadable site, rules that need one
are reported not applicable, and SK-GOV-007 reports why.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Callable, Mapping

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import _DictProxy, _is_unknown, _ListProxy

from sitekit.errors import SpecError
from sitekit.policy.context import PolicyContext, ShapeInfo, WaiverInfo, context_from_site
from sitekit.policy.model import RULES, UNKNOWN, NotApplicable, Res, Rule, Stack
from sitekit.policy.settings import UNWAIVABLE, settings_problems
from sitekit.spec.catalog import load_catalog
from sitekit.spec.loader import load_site
from sitekit.spec.stackconfig import KEYS, NAMESPACE, from_engine, integer_from_config
from sitekit.spec.stackfiles import SECRET

PACK_NAME = "sitekit"
PACK_DESCRIPTION = "sitekit: OCI AI-region rules (CIS OCI, residency, power, GPU fabric) with jurisdiction levels."
CIS = ("CIS Oracle Cloud Infrastructure Foundations Benchmark", "2.0.0")

ContextProvider = Callable[[], PolicyContext]
OnWaived = Callable[[Rule, "Res | None", str, WaiverInfo], None]


def plain(value: Any) -> Any:
    """Engine props (proxies raising on unknowns) -> plain dicts and lists, unknowns as `UNKNOWN`."""
    if isinstance(value, _DictProxy):
        value = value["__target"]
    elif isinstance(value, _ListProxy):
        value = value["__target"]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if _is_unknown(value):
        return UNKNOWN
    return value


def resource_of(r: Any, convert: Callable[[Any], Any] = plain) -> Res:
    """A CrossGuard `PolicyResource` (stack validation) as a rule's `Res`."""
    opts = getattr(r, "opts", None)
    return Res(type=r.resource_type, name=r.name, urn=r.urn, props=convert(r.props),
               protect=bool(getattr(opts, "protect", False)),
               parent=r.parent.urn if getattr(r, "parent", None) is not None else None,
               provider=convert(r.provider.props) if getattr(r, "provider", None) is not None else None,
               dependencies=tuple(d.urn for d in (r.dependencies or [])))


def _report(rule_: Rule, ctx: PolicyContext, report_violation: ReportViolation, on_waived: OnWaived | None):
    def report(res: Res | None, message: str) -> None:
        waiver = None if rule_.id in UNWAIVABLE else ctx.waiver_for(rule_.id, res.name if res else None)
        if waiver is not None:
            if on_waived is not None:
                on_waived(rule_, res, message, waiver)
            return
        report_violation(f"[{rule_.id}] {message}", res.urn if res else None)
    return report


class Converted:
    """Engine props converted to plain data once per resource, not once per rule: every policy gets the same
    props object for a resource and the same list for the stack, so memos keyed by that object's identity (and
    holding it, so the identity stays its own) are enough. The analyzer runs the policies resource by resource;
    `sitekit policy` runs them rule by rule over a plan, so resources are remembered for the pack's life (one
    stack's worth: a pack serves one preview)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._props: dict[int, tuple[Any, Any]] = {}
        self._stack: tuple[Any, Any] = (None, None)

    def props(self, props: Any) -> Any:
        with self._lock:
            return self._plain(props)

    def _plain(self, props: Any) -> Any:
        hit = self._props.get(id(props))
        if hit is None or hit[0] is not props:
            hit = self._props[id(props)] = (props, plain(props))
        return hit[1]

    def stack(self, resources: list) -> "Stack":
        with self._lock:
            if self._stack[0] is not resources:
                self._stack = (resources, Stack([resource_of(r, self._plain) for r in resources]))
            return self._stack[1]


def _resource_validate(rule_: Rule, provider: ContextProvider, on_waived: OnWaived | None, converted: Converted):
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if rule_.types and args.resource_type not in rule_.types:
            return
        ctx = provider()
        if rule_.needs_site and not ctx.known:
            args.not_applicable("no sitekit site context for this stack (see SK-GOV-007)")
        ctx = ctx.configured(args.get_config())
        opts = args.opts
        res = Res(type=args.resource_type, name=args.name, urn=args.urn, props=converted.props(args.props),
                  protect=bool(getattr(opts, "protect", False)), parent=getattr(opts, "parent", None),
                  provider=converted.props(args.provider.props) if args.provider is not None else None)
        report = _report(rule_, ctx, report_violation, on_waived)
        try:
            for message in rule_.check(res, ctx):
                report(res, message)
        except NotApplicable as exc:
            args.not_applicable(str(exc))

    validate.__name__ = validate.__qualname__ = rule_.function
    return validate


def _stack_validate(rule_: Rule, provider: ContextProvider, on_waived: OnWaived | None, converted: Converted):
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        ctx = provider()
        if rule_.needs_site and not ctx.known:
            args.not_applicable("no sitekit site context for this stack (see SK-GOV-007)")
        ctx = ctx.configured(args.get_config())
        stack = converted.stack(args.resources)
        report = _report(rule_, ctx, report_violation, on_waived)
        for res, message in rule_.check(stack, ctx):
            report(res, message)

    validate.__name__ = validate.__qualname__ = rule_.function
    return validate


def build_policies(provider: ContextProvider, levels: PolicyContext | None = None,
                   on_waived: OnWaived | None = None) -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """One CrossGuard policy per rule, in id order. `levels` (a context) sets each policy's enforcement
    level from the jurisdiction and site overrides; `on_waived` hears of each waived violation."""
    policies: list[ResourceValidationPolicy | StackValidationPolicy] = []
    converted = Converted()  # shared by every policy of this pack
    for rule_ in sorted(RULES.values(), key=lambda r: r.id):
        level = levels.level(rule_.id, rule_.level) if levels is not None else rule_.level
        common: dict[str, Any] = dict(
            enforcement_level=EnforcementLevel(level),
            config_schema=PolicyConfigSchema(properties=dict(rule_.params)) if rule_.params else None,
            display_name=f"{rule_.id}: {rule_.title}",
            severity=Severity(rule_.severity),
            framework=PolicyComplianceFramework(name=CIS[0], version=CIS[1], reference=rule_.cis)
            if rule_.cis else None,
            tags=[rule_.area] + ([c.strip() for c in rule_.ckv.split(",")] if rule_.ckv else []),
            remediation_steps=f"{rule_.remediation} (docs/policies.md#{rule_.id.lower()})")
        if rule_.kind == "resource":
            policies.append(ResourceValidationPolicy(
                rule_.id, rule_.title, validate=_resource_validate(rule_, provider, on_waived, converted), **common))
        else:
            policies.append(StackValidationPolicy(
                rule_.id, rule_.title, validate=_stack_validate(rule_, provider, on_waived, converted), **common))
    return policies


# ------------------------------------------------------------------------------------------ under the engine
_ENGINE: dict[str, PolicyContext] = {}


def stack_values() -> dict[str, Any]:
    """The stack's `sitekit:` config values as the CLI hands them to a policy pack (`PULUMI_CONFIG`).

    Read as plain values, never as Outputs: validations run on the analyzer's worker threads, with no event
    loop. A secret key is only flagged as set, as the program flags it."""
    from pulumi.runtime.config import get_config  # heavy: deferred


    values: dict[str, Any] = {}
    for key in KEYS:
        raw = get_config(f"{NAMESPACE}:{key.name}")
        if raw is None:
            continue
        if key.kind == "secret":
            values[key.name] = SECRET
        elif key.kind in ("object", "array"):
            try:
                values[key.name] = from_engine(json.loads(raw) if isinstance(raw, str) else raw)
            except (ValueError, RecursionError):  # text where an object is meant: the spec refuses it by name
                values[key.name] = raw
        elif key.kind == "integer":
            values[key.name] = integer_from_config(raw)  # as the program and the offline loader read it
        else:
            values[key.name] = raw
    return values


def engine_context(root: Path) -> PolicyContext:
    """The site context of the stack the Pulumi CLI runs the pack for (cached per stack); when the site
    cannot be loaded, a context that carries why (SK-GOV-007 reports it)."""
    stack = os.environ.get("PULUMI_STACK")
    if not stack:
        return project_context(root, ("PULUMI_STACK is not set: the pack runs outside `pulumi preview`",))
    if stack not in _ENGINE:

        try:
            site = load_site(root, stack, values=stack_values())
            problems = settings_problems(site)
            if problems:
                raise SpecError(problems)
            _ENGINE[stack] = context_from_site(site)
        except SpecError as exc:
            _ENGINE[stack] = project_context(root, tuple(str(p) for p in exc.problems))
        except Exception as exc:  # noqa: BLE001 - any failure is reported as a violation, never a crash
            _ENGINE[stack] = project_context(root, (f"cannot load site '{stack}' from {root}: {exc!r}",))
    return _ENGINE[stack]


def project_context(root: Path, problems: tuple[str, ...]) -> PolicyContext:
    """The context of a stack with no loadable site: no site, but the project's own facts from the catalog
    (which shapes support Secure Boot, how each GPU shape is grouped), so rules that need only those still
    judge; `problems` say why."""

    try:
        catalog = load_catalog(root)
    except Exception:  # noqa: BLE001 - a missing or broken catalog leaves the rules without facts, silent
        return PolicyContext(problems=problems)
    return PolicyContext(problems=problems, secure_boot=catalog.secure_boot(),
                         shapes={n: ShapeInfo(s.gpus, s.node_kw, s.grouping) for n, s in catalog.shapes.items()})


def pack_args(root: Path) -> dict[str, Any]:
    """The arguments of the `PolicyPack` that policies/__main__.py assembles."""
    root = Path(os.environ.get("SITEKIT_ROOT") or root)
    start = engine_context(root) if os.environ.get("PULUMI_STACK") else None
    provider = lambda: engine_context(root)  # noqa: E731
    return dict(name=PACK_NAME, description=PACK_DESCRIPTION, display_name="sitekit OCI AI-region policies",
                provider="oci", tags=["oci", "cis", "ai"],
                policies=build_policies(provider, levels=start if start is not None and start.known else None),
                enforcement_level=EnforcementLevel.ADVISORY)
