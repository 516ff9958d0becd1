"""Changes as the engine reports them: a `pulumi preview --json [--diff]` document -> `Change`s.

Used by engine mode (the head previewed against the deployed base) and by `--preview-json DIR` (files a team's CI
produced against real state with real credentials). The engine's own verdicts are kept: the op (a replacement's
three steps fold into one `replace`), the replace reasons, the detailed diff, protect from the old state; errors
the engine reported (a protected resource it refuses to delete) become refusals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sitekit.errors import Problem, SpecError
from sitekit.review.model import Change, PropertyDiff
from sitekit.spec.problems import described, shown
from sitekit.spec.sources import load_json

STACK_TYPE = "pulumi:pulumi:Stack"
_KIND = {"add": ("add", False), "add-replace": ("add", True), "delete": ("delete", False),
         "delete-replace": ("delete", True), "update": ("update", False), "update-replace": ("update", True)}
DOCUMENT = "a `pulumi preview --json` document"


def load_preview(path: Path) -> dict[str, Any]:
    """A preview document, read within sitekit's bounds (`sources.load_json`) and checked as a whole: a SpecError
    naming the file and each step (or part) that is not as the engine writes it."""
    data = load_json(path, str(path), what=DOCUMENT)
    problems = [Problem(str(path), None, key, message) for key, message in document_problems(data)]
    if problems:
        raise SpecError(problems)
    return data


def document_problems(doc: Any) -> list[tuple[str, str]]:
    """(dotted key, what is wrong) for each part of a preview document `changes_from_preview` could not read."""
    if not isinstance(doc, dict):
        return [("", f"{DOCUMENT} is a mapping, not {described(doc)}")]
    check = _Check()
    if check.kind("steps", doc.get("steps"), list, "a list"):
        for i, step in enumerate(doc.get("steps") or []):
            check.step(f"steps.{i}", step)
    if check.kind("diagnostics", doc.get("diagnostics"), list, "a list"):
        for i, diagnostic in enumerate(doc.get("diagnostics") or []):
            check.fields(f"diagnostics.{i}", diagnostic, {"severity": (str, "text"), "message": (str, "text")},
                         required=True)
    return check.problems


class _Check:
    """The problems of one document, each (dotted key, what is wrong); a value left out (None) is never one."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def kind(self, key: str, value: Any, kind: type, what: str, required: bool = False) -> bool:
        """Whether `value` is of `kind` (true/false is no number, nor text), or absent unless `required` (an item
        of a list); a problem if not."""
        if (value is None and not required) or (isinstance(value, kind) and (kind is bool or not isinstance(value, bool))):
            return True
        self.problems.append((key, f"expected {what}, got {described(value)}"))
        return False

    def fields(self, key: str, value: Any, fields: dict[str, tuple[type, str]], required: bool = False) -> None:
        """A mapping (absent too, unless `required`: an item of a list) whose `fields` are each absent or of their
        kind."""
        if self.kind(key, value, dict, "a mapping", required) and value is not None:
            for name, (kind, what) in fields.items():
                self.kind(f"{key}.{name}", value.get(name), kind, what)

    def step(self, key: str, step: Any) -> None:
        if not isinstance(step, dict):
            self.problems.append((key, f"expected a step (a mapping), got {described(step)}"))
            return
        urn = step.get("urn")
        if urn is None:
            self.problems.append((f"{key}.urn", "required key is missing: every step names its resource's URN"))
        elif self.kind(f"{key}.urn", urn, str, "text") and not (urn.startswith("urn:pulumi:") and urn.count("::") >= 3):
            self.problems.append((f"{key}.urn", f"{shown(urn)} is not a Pulumi URN "
                                                "(urn:pulumi:<stack>::<project>::<type>::<name>)"))
        self.kind(f"{key}.op", step.get("op"), str, "text")
        for side in ("oldState", "newState"):
            self.fields(f"{key}.{side}", step.get(side), {"type": (str, "text"), "inputs": (dict, "a mapping"),
                                                          "protect": (bool, "true or false")})
        for reasons in ("diffReasons", "replaceReasons"):
            if self.kind(f"{key}.{reasons}", step.get(reasons), list, "a list of text"):
                for j, reason in enumerate(step.get(reasons) or []):
                    self.kind(f"{key}.{reasons}.{j}", reason, str, "text", required=True)
        if self.kind(f"{key}.detailedDiff", step.get("detailedDiff"), dict, "a mapping"):
            for prop, entry in (step.get("detailedDiff") or {}).items():
                self.fields(f"{key}.detailedDiff.{prop}", entry, {"kind": (str, "text"), "diffKind": (str, "text")},
                            required=True)


def _type(step: dict[str, Any]) -> str:
    state = step.get("newState") or step.get("oldState") or {}
    return state.get("type") or step["urn"].split("::")[2].rsplit("$", 1)[-1]


def changes_from_preview(doc: dict[str, Any]) -> tuple[list[Change], list[str]]:
    """The changes a preview document lists, and the errors the engine reported (refusals among them)."""
    out: dict[str, Change] = {}
    for step in doc.get("steps") or []:
        op, urn = step.get("op"), step.get("urn", "")
        type_ = _type(step)
        if type_ == STACK_TYPE or op in (None, "same", "read", "refresh", "discard", "delete-replaced",
                                         "create-replacement", "remove-pending-replace"):
            continue
        kind = {"create": "create", "update": "update", "replace": "replace", "delete": "delete",
                "import": "create", "import-replacement": "replace"}.get(op)
        if kind is None:
            continue
        old, new = step.get("oldState") or {}, step.get("newState") or {}
        fields = sorted(step.get("diffReasons") or [])
        detail = []
        for path, d in sorted((step.get("detailedDiff") or {}).items()):
            k, replace = _KIND.get(d.get("kind") or d.get("diffKind") or "update", ("update", False))
            detail.append(PropertyDiff(path, k, replace))
        if not fields and detail:
            fields = sorted({p.path.split(".", 1)[0].split("[", 1)[0] for p in detail})
        before, after = old.get("inputs") or {}, new.get("inputs") or {}
        if kind == "create":
            before_d, after_d = {}, dict(after)
        elif kind == "delete":
            before_d, after_d = dict(before), {}
        else:
            before_d, after_d = {f: before.get(f) for f in fields}, {f: after.get(f) for f in fields}
        out[urn] = Change(kind, urn, type_, urn.rsplit("::", 1)[-1], bool(old.get("protect") or new.get("protect")),
                          fields, sorted(step.get("replaceReasons") or []), detail, before_d, after_d)
    errors = [(d.get("message") or "").strip() for d in doc.get("diagnostics") or []
              if d.get("severity") == "error" and (d.get("message") or "").strip()]
    return sorted(out.values(), key=lambda c: (c.urn, c.kind)), errors
