"""Changes as the engine reports them: a `pulumi preview --json [--diff]` document -> `Change`s.

Used by engine mode (the head previewed against the deployed base) and by `--preview-json DIR` (files a team's CI
produced against real state with real credentials). The engine's own verdicts are kept: the op (a replacement's
three steps fold into one `replace`), the replace reasons, the detailed diff, protect from the old state; errors
the engine reported (a protected resource it refuses to delete) become refusals.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sitekit.errors import Problem, SpecError
from sitekit.review.model import Change, PropertyDiff

STACK_TYPE = "pulumi:pulumi:Stack"
_KIND = {"add": ("add", False), "add-replace": ("add", True), "delete": ("delete", False),
         "delete-replace": ("delete", True), "update": ("update", False), "update-replace": ("update", True)}


def load_preview(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem(str(path), None, "", f"cannot read: {exc}")]) from None
    except ValueError as exc:
        raise SpecError([Problem(str(path), exc.lineno, "", f"not a `pulumi preview --json` document: {exc.msg}")]) \
            from None
    if not isinstance(data, dict) or not isinstance(data.get("steps", []), list):
        raise SpecError([Problem(str(path), None, "steps", "not a `pulumi preview --json` document")])
    return data


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
    errors = [d.get("message", "").strip() for d in doc.get("diagnostics") or []
              if d.get("severity") == "error" and d.get("message", "").strip()]
    return sorted(out.values(), key=lambda c: (c.urn, c.kind)), errors
