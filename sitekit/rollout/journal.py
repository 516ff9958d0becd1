"""The journal of a rollout: the plan, and per site its state (planned, previewed, applied, failed, refused,
skipped), the plan file, the error, each change of state with its time. A JSON file rewritten atomically after
every change (`sitekit.atomic`), under `.sitekit/rollouts/<id>.json` in the project (ignored by git) or where
--journal says; `--resume` reads it and continues without touching the sites already applied."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sitekit.atomic import write_atomic
from sitekit.errors import SitekitError

SCHEMA_VERSION = 1
FOLDER = ".sitekit/rollouts"
STATES = ("planned", "previewed", "applied", "failed", "refused", "skipped")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class JournalError(SitekitError):
    """A journal that cannot be read or does not match the rollout asked for (exit 2)."""

    exit_code = 2


@dataclass
class Journal:
    path: Path
    data: dict
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def start(cls, path: Path, rollout_id: str, plan: dict, commit: str | None, backend: str | None) -> "Journal":
        sites = {p["site"]: {"wave": w["wave"], "state": "planned", "error": None, "planFile": None,
                             "history": [{"state": "planned", "at": _now()}]}
                 for w in plan["waves"] for p in w["sites"]}
        data = {"schemaVersion": SCHEMA_VERSION, "id": rollout_id, "commit": commit, "backend": backend,
                "startedAt": _now(), "status": "running", "plan": plan, "sites": sites, "runs": []}
        journal = cls(path, data)
        journal.save()
        return journal

    @classmethod
    def load(cls, path: Path) -> "Journal":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise JournalError(f"rollout: cannot read the journal {path}: {exc}") from None
        if not isinstance(data, dict) or data.get("schemaVersion") != SCHEMA_VERSION:
            raise JournalError(f"rollout: {path} is not a sitekit rollout journal (schema version {SCHEMA_VERSION})")
        return cls(path, data)

    def save(self) -> None:
        self.data["updatedAt"] = _now()
        write_atomic(self.path, json.dumps(self.data, indent=2, sort_keys=True) + "\n")

    def state(self, site: str) -> str:
        return self.data["sites"][site]["state"]

    def mark(self, site: str, state: str, error: str | None = None, **extra) -> None:
        assert state in STATES, state
        with self._lock:
            entry = self.data["sites"][site]
            entry.update(state=state, error=error, **extra)
            entry["history"].append({"state": state, "at": _now(), **({"error": error} if error else {})})
            self.save()

    def finish(self, status: str, note: str | None = None) -> None:
        with self._lock:
            self.data["status"] = status
            if note:
                self.data["note"] = note
            self.save()

    def begin_run(self, resume: bool) -> None:
        with self._lock:
            self.data["runs"].append({"at": _now(), "resume": resume})
            self.data["status"] = "running"
            self.save()

    def sites_in(self, state: str) -> list[str]:
        return sorted(s for s, e in self.data["sites"].items() if e["state"] == state)


def latest(root: Path) -> Path | None:
    """The most recent journal under the project, if any."""
    found = sorted((root / FOLDER).glob("*.json"))
    return found[-1] if found else None
