"""`sitekit rollout plan`: the scope (inputs) through the planner (waves) into one record, as JSON or a table."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sitekit.rollout import inputs
from sitekit.rollout.waves import Placed, RolloutRefused, Settings, Wave, plan_waves

SCHEMA_VERSION = 1


@dataclass
class RolloutPlan:
    waves: list[Wave]
    base: str | None
    settings: Settings
    removed: list[str] = field(default_factory=list)

    @property
    def sites(self) -> list[str]:
        return [s for w in self.waves for s in w.names]

    def wave_of(self, site: str) -> int:
        return next(w.index for w in self.waves if site in w.names)

    def to_dict(self) -> dict:
        s = self.settings
        return {"schemaVersion": SCHEMA_VERSION, "base": self.base,
                "settings": {"canary": s.canary, "maxParallel": s.max_parallel, "bakeSeconds": s.bake.total_seconds(),
                             "onFreeze": s.on_freeze, "plannedAt": s.now.isoformat()},
                "waves": [w.to_dict() for w in self.waves], "removed": self.removed}


def plan_rollout(root: Path, *, base: str | None = None, every: bool = False, branch: str | None = None,
                 any_base: bool = False, settings: Settings = Settings(),
                 only: list[str] | None = None) -> RolloutPlan:
    """The waves of the change from `base` (or of every site), with the freezes of the sites' profiles. `only`
    narrows the scope to the sites named (each must be in it)."""
    scope = inputs.scope(root, base, every, branch=branch, any_base=any_base)
    causes = scope.causes if not only else {s: c for s, c in scope.causes.items() if s in only}
    nodes = inputs.nodes(root, causes)
    settings = replace(settings, freezes={**inputs.freezes(root, {n.jurisdiction for n in nodes.values()}),
                                          **settings.freezes})
    return RolloutPlan(plan_waves(nodes, settings), scope.base, settings, scope.removed)


def from_dict(doc: dict) -> RolloutPlan:
    """A plan as `to_dict` wrote it (a journal's), for --resume."""
    s = doc["settings"]
    settings = Settings(canary=s["canary"], max_parallel=s["maxParallel"], bake=timedelta(seconds=s["bakeSeconds"]),
                        on_freeze=s["onFreeze"], now=datetime.fromisoformat(s["plannedAt"]))
    waves = [Wave(w["wave"], w["kind"], tuple(Placed(p["site"], p["jurisdiction"], p["reason"], p["cause"])
                                              for p in w["sites"]),
                  w["maxParallel"], datetime.fromisoformat(w["notBefore"]), tuple(w["waits"])) for w in doc["waves"]]
    return RolloutPlan(waves, doc["base"], settings, doc.get("removed", []))


def narrowed(plan: RolloutPlan, sites: list[str]) -> RolloutPlan:
    """The plan with only `sites` (each must be in it); waves keep their numbers, empty ones are left out."""
    unknown = sorted(set(sites) - set(plan.sites))
    if unknown:
        raise RolloutRefused([f"rollout: {s} is not in the rollout plan (its sites: {', '.join(plan.sites)})"
                              for s in unknown])
    waves = [replace(w, sites=tuple(p for p in w.sites if p.site in sites)) for w in plan.waves]
    return replace(plan, waves=[w for w in waves if w.sites])


def render_table(plan: RolloutPlan) -> str:
    lines = []
    s = plan.settings
    lines.append(f"rollout of {len(plan.sites)} site(s) in {len(plan.waves)} wave(s); base "
                 f"{plan.base[:12] if plan.base else '(every site)'}; canary {s.canary or 'none'}; at most "
                 f"{s.max_parallel} site(s) at once per wave; bake {s.bake}; freezes: {s.on_freeze}")
    if not plan.waves:
        lines.append("nothing to roll out: the change affects no site")
    for w in plan.waves:
        when = "" if w.not_before <= s.now else f", not before {w.not_before.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"
        lines.append(f"wave {w.index} ({w.kind}, {len(w.sites)} site(s), {w.max_parallel} at once{when})")
        for wait in w.waits:
            lines.append(f"  waits: {wait}")
        for p in w.sites:
            lines.append(f"  {p.site:<20} {p.jurisdiction:<4} {p.reason}")
            lines.append(f"  {'':<20} {'':<4} in the rollout: {p.cause}")
    for site in plan.removed:
        lines.append(f"removed: {site} (its stack file is gone; a rollout never destroys: `pulumi destroy -s {site}` "
                     "by hand, after review)")
    return "\n".join(lines) + "\n"


def render_json(plan: RolloutPlan) -> str:
    return json.dumps(plan.to_dict(), indent=2, sort_keys=True) + "\n"
