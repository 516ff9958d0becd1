"""The rollout planner: the sites of a change in waves. Plain data in, waves out; no git, no files, no Pulumi.

Rules, in order:
- every site waits for the sites it depends on (`after`: the accepting ends of the peerings it requests), in an
  earlier wave; a cycle is refused, naming it;
- the canary wave comes first: the canary sites (one named site, or one per jurisdiction), preceded only by what
  they themselves depend on (a canary that requests a peering waits for its accepting end: a wave "before the
  canary" says so);
- then the rest, in dependency order: each site in the first wave after everything it waits for;
- each wave runs at most `max_parallel` sites at once (recorded on the wave; the runner and the workflow use it);
- waves start `bake` apart; a site whose jurisdiction is frozen when its wave would start makes the wave wait
  for the end of the freeze (`on_freeze="wait"`) or refuses the plan (`"refuse"`), naming the reason.

Every placed site carries why it is in the rollout (`cause`) and why it is in its wave (`reason`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

from sitekit.errors import SitekitError

PER_JURISDICTION = "per-jurisdiction"
"""`canary` value: one canary per jurisdiction (its site with the fewest prerequisites, then the first by name)."""


class RolloutRefused(SitekitError):
    """The rollout is refused as asked (a cycle, a freeze, a base that is not the tip, pending operations): exit 2,
    one line per reason."""

    exit_code = 2

    def __init__(self, lines: list[str]):
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))


@dataclass(frozen=True)
class Node:
    """A site of the rollout: its jurisdiction, the sites it must follow, and why it is in the rollout."""

    name: str
    jurisdiction: str
    after: frozenset[str] = frozenset()  # sites that deploy before it (the accepting ends of its peerings)
    cause: str = ""


@dataclass(frozen=True)
class Window:
    """A freeze: `start` to `end`, both days included (UTC)."""

    start: date
    end: date
    reason: str

    def covers(self, when: datetime) -> bool:
        return self.start <= when.astimezone(timezone.utc).date() <= self.end

    @property
    def over(self) -> datetime:
        """The first moment after the freeze."""
        return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=timezone.utc)


@dataclass(frozen=True)
class Settings:
    canary: str | None = None  # a site name, PER_JURISDICTION, or None (no canary wave)
    max_parallel: int = 4
    bake: timedelta = timedelta(0)
    on_freeze: Literal["refuse", "wait"] = "refuse"
    freezes: dict[str, tuple[Window, ...]] = field(default_factory=dict)  # jurisdiction -> windows
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


@dataclass(frozen=True)
class Placed:
    site: str
    jurisdiction: str
    reason: str  # why it is in this wave
    cause: str  # why it is in the rollout

    def to_dict(self) -> dict:
        return {"site": self.site, "jurisdiction": self.jurisdiction, "reason": self.reason, "cause": self.cause}


@dataclass(frozen=True)
class Wave:
    index: int  # 1-based
    kind: Literal["before-canary", "canary", "rest"]
    sites: tuple[Placed, ...]
    max_parallel: int
    not_before: datetime  # the earliest start: the previous wave's plus the bake time, after any freeze
    waits: tuple[str, ...] = ()  # the freezes it waits for

    @property
    def names(self) -> list[str]:
        return [p.site for p in self.sites]

    def to_dict(self) -> dict:
        return {"wave": self.index, "kind": self.kind, "maxParallel": self.max_parallel,
                "notBefore": self.not_before.isoformat(), "waits": list(self.waits),
                "sites": [p.to_dict() for p in self.sites]}


def find_cycle(after: dict[str, frozenset[str]]) -> list[str] | None:
    """A cycle in the `after` relation (a site, what it waits for, ..., the site again), or None."""
    state: dict[str, int] = {}  # 1 on the path, 2 done
    for start in sorted(after):
        if state.get(start):
            continue
        stack = [(start, iter(sorted(after.get(start, ()))))]
        path = [start]
        state[start] = 1
        while stack:
            node, deps = stack[-1]
            nxt = next(deps, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(sorted(after.get(nxt, ())))))
    return None


def _ancestors(after: dict[str, frozenset[str]], sites: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = [d for s in sites for d in after[s]]
    while todo:
        s = todo.pop()
        if s not in seen:
            seen.add(s)
            todo += after[s]
    return seen


def _levels(group: set[str], after: dict[str, frozenset[str]]) -> list[list[str]]:
    """`group` in dependency levels; what a site waits for outside the group is placed already."""
    level: dict[str, int] = {}

    def depth(s: str) -> int:
        if s not in level:
            level[s] = 1 + max((depth(d) for d in after[s] if d in group), default=-1)
        return level[s]

    for s in sorted(group):
        depth(s)
    out: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for s in sorted(group):
        out[level[s]].append(s)
    return out


def choose_canaries(nodes: dict[str, Node], canary: str | None, after: dict[str, frozenset[str]]) -> dict[str, str]:
    """{canary site: why} for the setting: one named site (when it is in the rollout), or one per jurisdiction."""
    if canary is None:
        return {}
    if canary != PER_JURISDICTION:
        return {canary: f"the canary (--canary {canary})"} if canary in nodes else {}
    out = {}
    for j in sorted({n.jurisdiction for n in nodes.values()}):
        members = [s for s in nodes if nodes[s].jurisdiction == j]
        pick = min(members, key=lambda s: (len(_ancestors(after, {s})), s))
        out[pick] = f"the canary of jurisdiction {j} (of its {len(members)} site(s) here, the one with the fewest " \
                    "prerequisites, then the first by name)"
    return out


def _names(sites) -> str:
    return ", ".join(sorted(sites))


def _reason(site: str, kind: str, canaries: dict[str, str], first: set[str], after: dict[str, frozenset[str]],
            before: dict[str, set[str]], wave_of: dict[str, int]) -> str:
    parts = []
    if site in canaries:
        parts.append(canaries[site])
    elif kind == "before-canary":
        waiting = sorted(s for s in before[site] if s in first)
        parts.append("deployed before the canary: it accepts the peering that "
                     + ", ".join(f"{s} (wave {wave_of[s]})" for s in waiting)
                     + " requests, and an accepting end deploys before its requesting end")
    elif canaries:
        parts.append("after the canary")
    deps = sorted(after[site])
    if deps:
        parts.append("requests the peering of " + ", ".join(f"{d} (wave {wave_of[d]})" for d in deps)
                     + ": after the accepting end")
    elif kind == "rest":
        parts.append("no peering to wait for")
    return "; ".join(parts)


def plan_waves(nodes: dict[str, Node], settings: Settings = Settings()) -> list[Wave]:
    """The waves of a rollout of `nodes` (see the module's rules). Raises RolloutRefused on a cycle or a freeze
    the settings refuse."""
    after = {s: frozenset(d for d in n.after if d in nodes and d != s) for s, n in nodes.items()}
    cycle = find_cycle(after)
    if cycle:
        raise RolloutRefused([f"rollout: the sites wait for each other in a cycle: {' -> '.join(cycle)} (each waits "
                              "for the next; an accepting end deploys before its requesting end): break the cycle"])
    canaries = choose_canaries(nodes, settings.canary, after)
    first = set(canaries) | _ancestors(after, set(canaries))
    groups = [(lv, "canary" if set(lv) & set(canaries) else "before-canary") for lv in _levels(first, after)]
    groups += [(lv, "rest") for lv in _levels(set(nodes) - first, after)]
    before = {s: {t for t in nodes if s in after[t]} for s in nodes}
    wave_of = {s: i for i, (lv, _) in enumerate(groups, start=1) for s in lv}
    waves: list[Wave] = []
    refused: list[str] = []
    start = settings.now
    for i, (level, kind) in enumerate(groups, start=1):
        if waves:
            start = waves[-1].not_before + settings.bake
        start, waits, frozen = _after_freezes(level, nodes, settings, start)
        refused += frozen
        placed = tuple(Placed(s, nodes[s].jurisdiction, _reason(s, kind, canaries, first, after, before, wave_of),
                              nodes[s].cause) for s in level)
        waves.append(Wave(i, kind, placed, max(1, min(settings.max_parallel, len(level))), start, waits))
    if refused:
        raise RolloutRefused(refused + ["rollout: refused during a freeze (--on-freeze wait plans the waves after it)"])
    return waves


def _after_freezes(level: list[str], nodes: dict[str, Node], settings: Settings,
                   start: datetime) -> tuple[datetime, tuple[str, ...], list[str]]:
    """When the wave may start given the freezes, the freezes it waits for, and the refusals."""
    waits: list[str] = []
    refused: list[str] = []
    moved = True
    while moved:
        moved = False
        for s in level:
            for w in settings.freezes.get(nodes[s].jurisdiction, ()):
                if not w.covers(start):
                    continue
                what = (f"{s} (jurisdiction {nodes[s].jurisdiction}) is frozen from {w.start} to {w.end}: "
                        f"{w.reason}")
                if settings.on_freeze == "refuse":
                    refused.append(f"rollout: {what}")
                    continue
                waits.append(what)
                start, moved = w.over, True
        if refused:
            break
    return start, tuple(dict.fromkeys(waits)), refused


def frozen_now(sites: list[Node], freezes: dict[str, tuple[Window, ...]], now: datetime) -> list[tuple[str, Window]]:
    """(site, window) for every site frozen at `now` (the runner checks again when a wave starts)."""
    return [(n.name, w) for n in sites for w in freezes.get(n.jurisdiction, ()) if w.covers(now)]
