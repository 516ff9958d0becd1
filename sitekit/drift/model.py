"""Drift, the model (issue 19): what a refresh preview said of one site, as differences between the stack's state
and what the cloud reports, each classified by `sitekit/oci/types.py` (`drift_class`) and given what to do.

Plain data over the JSON of `pulumi refresh --preview-only --json` and of `pulumi stack export`: no Pulumi here.
The drift JSON (`to_json`) is the document `sitekit fleet --drift FILE` reads back (`schemaVersion` 1).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from sitekit.oci.types import DRIFT_CLASSES, drift_class

SCHEMA_VERSION = 1
CLASSES = ("security", "capacity", "cosmetic", "gone", "other")
"""Every class of difference, most urgent first: the table's classes and `gone` (deleted outside Pulumi)."""
assert set(CLASSES) == set(DRIFT_CLASSES) | {"gone"}
FAIL_ON = {"any": frozenset(CLASSES), "security": frozenset({"security"}), "capacity": frozenset({"capacity"})}
"""`--fail-on`: which classes make the exit code 1 (pending operations count under `any`)."""

SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET = "[secret]"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Difference:
    """One property (or a whole resource) where the cloud no longer holds what the state says."""

    klass: str
    urn: str
    type: str
    name: str
    property: str | None
    """Dotted path (`instancePools[0].size`, `definedTags["ns.key"]`); None for the whole resource."""
    state: Any
    cloud: Any
    managed: bool
    """sitekit sets the property (it is among the resource's inputs): a re-apply puts the state's value back."""
    action: str


@dataclass
class SiteDrift:
    """One site's refresh: its differences, the state's pending operations, or why it could not be read."""

    site: str
    checked: str
    differences: list[Difference] = field(default_factory=list)
    pending: list[dict] = field(default_factory=list)
    """{urn, type, operation} of each operation the state records as started and never finished."""
    resources: int = 0
    error: str | None = None
    seconds: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        return {k: sum(1 for d in self.differences if d.klass == k) for k in CLASSES}

    @property
    def status(self) -> str:
        if self.error:
            return "error"
        return "drift" if self.differences or self.pending else "clean"

    def fails(self, fail_on: str) -> bool:
        classes = FAIL_ON[fail_on]
        return any(d.klass in classes for d in self.differences) or (fail_on == "any" and bool(self.pending))


@dataclass
class DriftReport:
    run: str
    sites: list[SiteDrift]
    fail_on: str = "any"

    @property
    def counts(self) -> dict[str, int]:
        return {k: sum(s.counts[k] for s in self.sites) for k in CLASSES}


def action(klass: str, managed: bool, site: str) -> str:
    """What to do about a difference: re-apply the spec, or accept the cloud's value into it."""
    apply = f"re-apply: `sitekit rollout` (or `pulumi up --refresh -s {site}`)"
    if klass == "gone":
        return f"re-create it: {apply}; or remove it from the spec (stacks/Pulumi.{site}.yaml) if it should go"
    if not managed:
        return ("sitekit does not set this property, so a re-apply leaves it: accept it, or declare it in the "
                f"spec (stacks/Pulumi.{site}.yaml)")
    first = "revert it now" if klass == "security" else "revert it"
    return f"{first}: {apply}; or accept it: set the cloud's value in the spec (stacks/Pulumi.{site}.yaml)"


# ------------------------------------------------------------------------------------------- from the engine
def _shown(value: Any) -> Any:
    """A value as the report may show it: secrets stay hidden."""
    if isinstance(value, dict):
        if SECRET_SIG in value or value.get("secret") is True and "value" in value:
            return SECRET
        return {k: _shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _key(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENT.match(str(key)):
        return f"{path}.{key}" if path else str(key)
    return f"{path}[{key!r}]".replace("'", '"')


def leaf_changes(old: Any, new: Any, path: str = "", klass: str = "") -> list[tuple[str, str, Any, Any]]:
    """(display path, class path, old, new) of each leaf that differs: mappings key by key, lists of one length
    item by item, anything else as a whole. The class path joins names with dots and skips list indexes."""
    old, new = _shown(old), _shown(new)
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        return [c for k in sorted(set(old) | set(new))
                for c in leaf_changes(old.get(k), new.get(k), _key(path, k), f"{klass}.{k}" if klass else str(k))]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [c for i, (o, n) in enumerate(zip(old, new)) for c in leaf_changes(o, n, _key(path, i), klass)]
    return [(path, klass, old, new)]


def _type(urn: str) -> str:
    return urn.split("::")[2].rsplit("$", 1)[-1]


def differences(site: str, steps: list[dict]) -> list[Difference]:
    """The differences a refresh preview's steps show: an `update` property by property, a `delete` as gone."""
    out: list[Difference] = []
    for step in steps:
        op, urn = step.get("op"), step.get("urn", "")
        type_ = _type(urn)
        if type_.startswith("pulumi:") or op in ("same", "refresh", "read") and not step.get("detailedDiff"):
            continue
        name = urn.rsplit("::", 1)[-1]
        old = step.get("oldState") or {}
        if op in ("delete", "discard") or (op == "refresh" and not step.get("newState")):
            out.append(Difference("gone", urn, type_, name, None, "exists", "gone", True, action("gone", True, site)))
            continue
        new = step.get("newState") or {}
        inputs = old.get("inputs") or {}
        for display, klass_path, o, n in leaf_changes(old.get("outputs") or {}, new.get("outputs") or {}):
            top = klass_path.split(".")[0]
            managed = top in inputs
            klass = drift_class(type_, klass_path)
            out.append(Difference(klass, urn, type_, name, display, o, n, managed, action(klass, managed, site)))
    return sorted(out, key=lambda d: (CLASSES.index(d.klass), d.name, d.property or ""))


def pending_operations(export: dict) -> list[dict]:
    """{urn, type, operation} of each pending operation in a `pulumi stack export`."""
    ops = (export.get("deployment") or {}).get("pending_operations") or []
    return [{"urn": (p.get("resource") or {}).get("urn", ""), "type": (p.get("resource") or {}).get("type", ""),
             "operation": p.get("type", "")} for p in ops]


# ------------------------------------------------------------------------------------------- the drift JSON
def to_json(report: DriftReport) -> dict:
    return {
        "schemaVersion": SCHEMA_VERSION, "kind": "sitekit-drift", "run": report.run, "failOn": report.fail_on,
        "counts": report.counts,
        "sites": [{"site": s.site, "checked": s.checked, "status": s.status, "counts": s.counts,
                   "resources": s.resources, "seconds": round(s.seconds, 2), "error": s.error,
                   "pending": s.pending,
                   "differences": [{("class" if k == "klass" else k): v for k, v in asdict(d).items()}
                                   for d in s.differences]}
                  for s in report.sites],
    }
