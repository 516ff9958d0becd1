"""What a policy rule is and what it sees: plain resource data, the site context, and the rule registry.

A rule is one small named function over plain data. A resource rule receives one `Res` (type, engine-form
props, options) and the `PolicyContext`; it yields one message per violation. A stack rule receives a
`Stack` (every resource, linked by dependency URNs) and the context; it yields `(resource or None, message)`.
Neither knows whether it runs inside `pulumi preview --policy-pack` or in `sitekit policy`: `pack.py` wraps
the same functions into CrossGuard policies for both.

Rules must tolerate missing and extra keys and unknown values: `get()` walks engine-form props and returns
`UNKNOWN` for a value the engine (or the offline plan) cannot know yet; a rule treats an unknown value as
"cannot decide" and reports nothing for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Mapping

from sitekit.facts.checkov import same_as

UNKNOWN = "[unknown]"
"""How an unknown value looks in plain props (the offline plan's marker; engine sentinels are mapped to it)."""

Severity = Literal["low", "medium", "high", "critical"]
Level = Literal["mandatory", "advisory", "disabled"]


class NotApplicable(Exception):
    """Raised by a rule that cannot judge this resource here (it needs the site context, say): the pack reports
    the policy not applicable to it, with the exception's text as the reason."""


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value == UNKNOWN


def get(props: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted path (`a.b.0.c`) of engine-form props; `default` when any step is missing,
    `UNKNOWN` when a step is unknown."""
    node = props
    for part in path.split("."):
        if is_unknown(node):
            return UNKNOWN
        if isinstance(node, Mapping):
            if part not in node:
                return default
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit():
            index = int(part)
            if index >= len(node):
                return default
            node = node[index]
        else:
            return default
    return default if node is None else node


def items(value: Any) -> list[Any]:
    """A list value as a list (missing, unknown or scalar values give an empty list)."""
    return list(value) if isinstance(value, (list, tuple)) else []


@dataclass(frozen=True)
class Res:
    """One resource as a rule sees it: the same data under the engine and offline."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    protect: bool = False
    parent: str | None = None
    provider: Mapping[str, Any] | None = None
    """Props of the resource's provider (e.g. its `region`), when known."""
    dependencies: tuple[str, ...] = ()
    """URNs of the resources this one depends on (its input references among them)."""

    def get(self, path: str, default: Any = None) -> Any:
        return get(self.props, path, default)


@dataclass
class Stack:
    """Every resource of a stack, with lookups by URN, type and dependency."""

    resources: list[Res]
    by_urn: dict[str, Res] = field(init=False)

    def __post_init__(self) -> None:
        self.by_urn = {r.urn: r for r in self.resources}

    def of_type(self, *types: str) -> list[Res]:
        return [r for r in self.resources if r.type in types]

    def deps(self, res: Res, *types: str) -> list[Res]:
        """The resources `res` depends on, of the given types."""
        found = [self.by_urn[u] for u in res.dependencies if u in self.by_urn]
        return [r for r in found if not types or r.type in types]

    def dependents(self, res: Res, *types: str) -> list[Res]:
        """The resources that depend on `res`, of the given types."""
        return [r for r in self.of_type(*types) if res.urn in r.dependencies]


@dataclass(frozen=True)
class Item:
    """A list of the site's spec whose items a rule's findings point at, each message naming its item first:
    build the name with `IAM_STATEMENT(i)` ('statement 3'), begin the message with it, and declare
    `points_at=IAM_STATEMENT`; the finding points at that item's line, else (no name first) at the list's."""

    path: tuple[str, ...]
    noun: str

    def __call__(self, index: int) -> str:
        """How a message names the item at `index`."""
        return f"{self.noun} {index}"

    def index_in(self, message: str) -> int | None:
        """The index of the item a message names first, or None."""
        match = re.match(rf"{re.escape(self.noun)} (\d+)\b", message)
        return int(match.group(1)) if match else None


IAM_STATEMENT = Item(("iam", "statements"), "statement")
"""An IAM statement, by its position in `iam.statements` (the site policy renders them in that order)."""
WAIVER = Item(("policy", "waivers"), "waiver")
"""A waiver of the site's `policy` settings, by its position in `policy.waivers`."""


@dataclass(frozen=True)
class Rule:
    """A rule's metadata and its function.

    Where a finding points (file and line) is declared, never read from the rule's messages by anyone else:
    `points_at` is "resource" (the default: the resource's spec item, read from its logical name through
    `naming.Kind`) or an `Item` of a spec list its messages name. `anchor` says which spec key produced an
    offending value: a path below the resource's spec item (`("shape",)`), used when the item sets it, or an
    absolute path when it starts with '/' (a site key, whatever the resource)."""

    id: str
    title: str
    severity: Severity
    level: Level
    remediation: str
    kind: Literal["resource", "stack"]
    check: Callable[..., Iterable[Any]]
    area: str
    types: tuple[str, ...] = ()
    cis: str | None = None
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Config parameters (JSON schema per name) the rule reads through `ctx.param(name)`."""
    needs_site: bool = False
    """The rule can only decide with a site context (roles, jurisdiction); without one it is not applicable."""
    anchor: tuple[str, ...] = ()
    points_at: Literal["resource"] | Item = "resource"

    @property
    def function(self) -> str:
        return self.check.__name__

    @property
    def ckv(self) -> str | None:
        """The Checkov ids whose check this rule matches, from the facts (sitekit/facts/checkov.py)."""
        return ", ".join(same_as(self.id)) or None


RULES: dict[str, Rule] = {}


def rule(id: str, title: str, *, severity: Severity, level: Level, remediation: str, area: str,
         types: Iterable[str] = (), cis: str | None = None,
         params: Mapping[str, Mapping[str, Any]] | None = None, needs_site: bool = False,
         anchor: tuple[str, ...] = (), points_at: Literal["resource"] | Item = "resource", stack: bool = False):
    """Register the decorated function as rule `id` (a resource rule, or a stack rule with `stack=True`)."""

    def register(fn: Callable[..., Iterable[Any]]) -> Callable[..., Iterable[Any]]:
        if id in RULES:
            raise ValueError(f"rule id {id} registered twice")
        RULES[id] = Rule(id, title, severity, level, remediation, "stack" if stack else "resource", fn, area,
                         tuple(types), cis, dict(params or {}), needs_site, anchor, points_at)
        return fn

    return register
