"""The fleet's drift column: the drift JSON `sitekit drift --format json --output FILE` wrote (schemaVersion 1),
read back as one `DriftCell` per site. Read as data: the fleet does not run the engine, it shows the last run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitekit.errors import Problem, SpecError

CLASSES = ("security", "capacity", "cosmetic", "gone", "other")
"""The drift JSON's classes, in its order (sitekit/drift/model.py writes them)."""


@dataclass(frozen=True)
class DriftCell:
    site: str
    run: str
    checked: str
    status: str
    """clean, drift or error."""
    counts: dict[str, int]
    pending: int = 0
    error: str | None = None
    differences: list[dict] = field(default_factory=list)

    def text(self) -> str:
        if self.status == "error":
            return "error"
        parts = [f"{n} {k}" for k, n in self.counts.items() if n] + ([f"{self.pending} pending"] if self.pending else [])
        return ", ".join(parts) or "no drift"

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "checked": self.checked, "status": self.status, "counts": self.counts,
                "pending": self.pending, "error": self.error, "differences": self.differences}


def read_drift(path: Path) -> dict[str, DriftCell]:
    """{site: DriftCell} of a drift JSON; a SpecError naming the file when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("kind") != "sitekit-drift" or data.get("schemaVersion") != 1:
            raise ValueError("not a drift report of schemaVersion 1 (write one with `sitekit drift --format json`)")
        return {s["site"]: DriftCell(s["site"], data["run"], s["checked"], s["status"],
                                     {k: int(s["counts"].get(k, 0)) for k in CLASSES}, len(s.get("pending") or []),
                                     s.get("error"), list(s.get("differences") or []))
                for s in data["sites"]}
    except OSError as exc:
        raise SpecError([Problem(str(path), None, "", f"cannot read the drift report: {exc.strerror or exc}")]) from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SpecError([Problem(str(path), None, "", f"not a sitekit drift report: {exc}")]) from None
