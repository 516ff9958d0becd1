"""What a review found, as plain data: per site, each resource change with its whole property diff."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from sitekit.oci.types import GPU_TYPES, STATEFUL

SCHEMA_VERSION = 3  # 3: `notEvaluated`
KINDS = ("create", "update", "replace", "delete")


@dataclass
class PropertyDiff:
    path: str
    kind: str  # add | delete | update
    replace: bool


@dataclass
class Change:
    kind: str  # create | update | replace | delete
    urn: str
    type: str
    name: str
    protect: bool
    fields: list[str] = field(default_factory=list)  # top-level inputs that changed
    replace_fields: list[str] = field(default_factory=list)  # those that force replacement
    detail: list[PropertyDiff] = field(default_factory=list)
    before: dict[str, Any] = field(default_factory=dict)  # whole values of the changed inputs
    after: dict[str, Any] = field(default_factory=dict)

    @property
    def gpu(self) -> bool:
        """Its type carries GPU capacity, or may (sitekit/oci/types.py)."""
        return self.type in GPU_TYPES

    @property
    def stateful(self) -> bool:
        """Its type holds data or keys: losing one loses what it holds (sitekit/oci/types.py)."""
        return self.type in STATEFUL

    @property
    def blocked(self) -> bool:
        """Pulumi refuses to delete (or replace) a protected resource."""
        return self.protect and self.kind in ("delete", "replace")

    @property
    def loses_state(self) -> bool:
        return self.stateful and self.kind in ("delete", "replace")


@dataclass
class Side:
    """One side of a site: its stack outputs (GPUs, MW), policy summary and monthly cost, or why it has none."""

    outputs: dict[str, Any] = field(default_factory=dict)
    policy: dict[str, Any] | None = None
    cost: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class SiteReview:
    site: str
    status: str  # added | removed | changed | unchanged
    changes: list[Change] = field(default_factory=list)
    base: Side = field(default_factory=Side)
    head: Side = field(default_factory=Side)
    refusals: list[str] = field(default_factory=list)  # what the engine refused (protected resources)
    notes: list[str] = field(default_factory=list)

    def count(self, kind: str) -> int:
        return sum(c.kind == kind for c in self.changes)

    def warnings(self) -> list[Change]:
        """Changes a reviewer must see however much is folded: protected, stateful and GPU resources."""
        return [c for c in self.changes if c.blocked or c.loses_state or c.gpu]


@dataclass
class NotEvaluated:
    """Something on the head side the review could not judge: a site that could not be planned, or whose policy
    could not be evaluated. The review fails closed on it (exit 2 when it is bad input, else 1)."""

    site: str
    what: str  # plan | policy
    why: str
    bad_input: bool  # the tree's input is wrong (an unknown rule in a waiver): exit 2

    def __str__(self) -> str:
        return f"{self.site}: {self.what} not evaluated: {self.why}"


def change_order(s: SiteReview) -> list[int]:
    """The indexes of a site's changes in the order its JSON lists them: by URN, then kind."""
    return sorted(range(len(s.changes)), key=lambda i: (s.changes[i].urn, s.changes[i].kind))


def site_dict(s: SiteReview) -> dict[str, Any]:
    """A site's review as plain data, as `--format json` writes it: changes by URN, counts and warnings added."""
    d = plain(s)
    d["changes"] = [d["changes"][i] for i in change_order(s)]
    d["counts"] = {k: s.count(k) for k in KINDS}
    d["warnings"] = sorted(c.urn for c in s.warnings())
    return d


def site_from_dict(d: dict[str, Any], order: list[int]) -> SiteReview:
    """The SiteReview `site_dict` made `d` from; `order` (its `change_order`) puts the changes back in the order
    they were found, which the comment lists them in."""
    sorted_changes = [Change(**{**c, "detail": [PropertyDiff(**p) for p in c["detail"]]}) for c in d["changes"]]
    changes: list[Change] = [None] * len(sorted_changes)  # type: ignore[list-item]
    for k, i in enumerate(order):
        changes[i] = sorted_changes[k]
    return SiteReview(d["site"], d["status"], changes, Side(**d["base"]), Side(**d["head"]), list(d["refusals"]),
                      list(d["notes"]))


def plain(value: Any) -> Any:
    """Dataclasses as dicts, at any depth, as `dataclasses.asdict` makes them but without deep-copying the plain
    data inside (a review only reads it, to write JSON; the copies were most of a warm review's rendering)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


@dataclass
class Review:
    base_rev: str
    base_commit: str
    merge_base: bool
    head_commit: str
    dirty: bool
    mode: str  # engine | offline | preview-json
    engine: str | None  # the CLI version in engine mode
    sites: list[SiteReview]
    unaffected: list[str]
    versions: dict[str, dict[str, str]] = field(default_factory=dict)  # base / head pins, installed SDKs
    not_evaluated: list[NotEvaluated] = field(default_factory=list)
    rendered: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    """{site: its `site_dict` as JSON (`render.site_json`)}, for the sites a review took from its cache: written
    as they are, not rendered again."""

    def exit_code(self) -> int:
        """Fail closed: 2 when something could not be evaluated because of bad input, 1 for anything else not
        evaluated, 0 when everything was (the `--check` verdicts come on top)."""
        if not self.not_evaluated:
            return 0
        return 2 if any(n.bad_input for n in self.not_evaluated) else 1

    def version_changes(self) -> list[tuple[str, str | None, str | None]]:
        """(package, base pin, head pin) for each pin the change moves."""
        base, head = self.versions.get("base", {}), self.versions.get("head", {})
        return [(k, base.get(k), head.get(k)) for k in sorted(set(base) | set(head)) if base.get(k) != head.get(k)]

    def to_dict(self, sites: bool = True) -> dict[str, Any]:
        """Deterministic: sites by name (`site_dict`; none with `sites=False`), keys sorted by the caller's
        dumps."""
        return {"schemaVersion": SCHEMA_VERSION, "mode": self.mode, "engine": self.engine,
                "base": {"rev": self.base_rev, "commit": self.base_commit, "mergeBase": self.merge_base},
                "head": {"commit": self.head_commit, "dirty": self.dirty},
                "versions": self.versions, "versionChanges": [list(v) for v in self.version_changes()],
                "unaffected": sorted(self.unaffected),
                "sites": [site_dict(s) for s in sorted(self.sites, key=lambda s: s.site)] if sites else [],
                "notEvaluated": [{"site": n.site, "what": n.what, "why": n.why, "badInput": n.bad_input}
                                 for n in sorted(self.not_evaluated, key=lambda n: (n.site, n.what))]}
