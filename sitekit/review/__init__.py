"""`sitekit review`: what a change does to every affected site, for pull-request review.

Flow: git (merge base, base tree, changed files, affected sites) -> each side's snapshots, planned by that
side's own code, in parallel, cached (`sides`) -> the changes, from the engine (`engine`: base deployed, head
previewed, through the stand-in provider), from `pulumi preview --json` files (`preview`), or, with no CLI,
from the provider's facts (`offline`, an approximation) -> overlays (GPUs, MW, cost, policy) -> a report
(`render`). Invalid head specs are bad input (exit 2), listed as sitekit prints them. The review fails closed:
whatever of the head side could not be judged (a site not planned, a policy not evaluated) is listed first in the
report and makes the exit non-zero (`Review.exit_code`).

`review()` runs named stages over plain data: `choose_mode`, `select_sites` (a `Scope`), `read_previews`
(preview-json mode only: every document checked before any planning), `plan_sides`, `engine_reviews` (engine
mode only), `site_review` per site, `not_evaluated`.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from sitekit.engine.workspace import EngineError, _version_of, find_pulumi
from sitekit.errors import Problem, SpecError, nearest
from sitekit.git import (
    PINNED,
    affected_sites,
    changed_files,
    export_tree,
    head_commit,
    is_dirty,
    merge_base,
    pinned_versions,
    resolve,
)
from sitekit.progress import progress
from sitekit.review.engine import DeployedCache, review_site
from sitekit.review.model import Change, NotEvaluated, Review, Side, SiteReview, change_order, site_dict, site_from_dict
from sitekit.review.offline import diff_snapshots, engine_urns
from sitekit.review.preview import changes_from_preview, load_preview
from sitekit.review.render import COMMENT_LIMIT, dumps, render_markdown, site_json
from sitekit.review.sides import snapshot_sides
from sitekit.run.cache import Cache, SideKeys, cache_dir, stack_facts, tree_digest
from sitekit.run.cost import Prices, load_prices, monthly_cost

__all__ = ["review", "render_markdown", "dumps", "affected_sites", "diff_snapshots", "engine_urns", "Change",
           "Review", "SiteReview", "COMMENT_LIMIT"]

_LINE = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+): (?P<key>[^:]+): (?P<msg>.*)$")


def _problems(text: str) -> list[Problem]:
    out = []
    for line in text.splitlines():
        m = _LINE.match(line)
        out.append(Problem(m["file"], int(m["line"]), m["key"], m["msg"]) if m else Problem(line, None, "", ""))
    return out


def _side(snapshot: dict[str, Any] | None, prices: Prices) -> Side:
    if snapshot is None:
        return Side()
    if snapshot.get("error"):
        return Side(error=snapshot["error"])
    cost = monthly_cost(snapshot["resources"], prices).to_dict()
    return Side(outputs=snapshot["outputs"], policy=snapshot.get("policy"), cost=cost)


def _offline(site: str, base: dict | None, head: dict | None) -> list[Change]:
    empty = {"site": site, "resources": []}
    if head and head.get("error"):
        return []  # a head that could not be planned deletes nothing: its changes are not known
    return diff_snapshots(base if base and not base.get("error") else empty, head or empty)


@dataclass
class Scope:
    """What a review covers: the sites it plans, and which of them each side has."""

    sites: list[str]
    base_sites: list[str]
    head_sites: list[str]

    def status(self, site: str) -> str:
        return "added" if site not in self.base_sites else "removed" if site not in self.head_sites else "changed"

    @property
    def on_base(self) -> list[str]:
        return [s for s in self.sites if s in self.base_sites]

    @property
    def on_head(self) -> list[str]:
        return [s for s in self.sites if s in self.head_sites]


def choose_mode(root: Path, mode: str, preview_json: Path | None) -> tuple[str, Path | None, str | None]:
    """Stage 1: how changes are found (engine, offline, preview-json), the pulumi CLI and its version."""
    pulumi = None
    if preview_json is not None:
        mode = "preview-json"
    elif mode in ("auto", "engine"):
        pulumi = find_pulumi(root)
        if pulumi is None and mode == "engine":
            raise EngineError("engine mode needs a pulumi CLI: run `make pulumi`, or use --mode offline")
        mode = "engine" if pulumi is not None else "offline"
    return mode, pulumi, ".".join(map(str, _version_of(pulumi) or ())) if pulumi else None


def select_sites(root: Path, base_commit: str, base_tree: Path, only: list[str] | None,
                 keys: tuple[SideKeys, SideKeys] | None = None) -> Scope:
    """Stage 2: the sites asked for (each must exist on a side), else those the change affects; the sides' stack
    facts from their `keys` when given."""
    base_facts, head_facts = (keys[0].facts, keys[1].facts) if keys else (stack_facts(base_tree), stack_facts(root))
    base_sites, head_sites = sorted(base_facts), sorted(head_facts)
    if only:
        known = sorted(set(base_sites) | set(head_sites))
        unknown = [s for s in only if s not in known]
        if unknown:
            raise SpecError([Problem(f"stacks/Pulumi.{s}.yaml", None, "", f"no such site; {nearest(s, known)}")
                             for s in unknown])
        sites = sorted(set(only))
    else:
        sites = affected_sites(changed_files(root, base_commit), base_facts, head_facts)
    return Scope(sites, base_sites, head_sites)


def plan_sides(root: Path, base_tree: Path, scope: Scope, jobs: int, cache_root: Path | None,
               show_progress: bool, day: datetime.date,
               keys: tuple[SideKeys, SideKeys] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Stage 3: each side's snapshots, planned by that side's own code, policy judged on `day`; an invalid head
    spec is bad input. `keys`: the base's and the head's `SideKeys`, when the caller has them."""
    with progress("planning", len(scope.on_base) + len(scope.on_head), show_progress) as bar:
        base_snap, head_snap = snapshot_sides([(base_tree, scope.on_base), (root, scope.on_head)], jobs,
                                              Cache(cache_root, "snapshots"), bar.advance, day,
                                              plans=Cache(cache_root, "plans"), keys=list(keys) if keys else None)
    invalid = [head_snap[s]["error"] for s in scope.on_head if head_snap[s].get("errorKind") == "spec"]
    if invalid:
        raise SpecError([p for text in invalid for p in _problems(text)])
    return base_snap, head_snap


def engine_reviews(root: Path, base_tree: Path, scope: Scope, base_snap: dict[str, Any], head_snap: dict[str, Any],
                   pulumi: Path, cli_version: str | None, work: Path, jobs: int, cache_root: Path | None,
                   show_progress: bool) -> dict[str, Any]:
    """Stage 4 (engine mode): per site, the base deployed and the head previewed; an EngineError per site that
    could not be reviewed so."""
    keys = SideKeys(base_tree)
    deployed = DeployedCache(cache_root)
    todo = [s for s in scope.on_head if not head_snap[s].get("error")]

    def one(site: str):
        base_ok = site in base_snap and not base_snap[site].get("error")
        try:
            return site, review_site(root, base_tree if base_ok else None, site, work / f"engine-{site}", pulumi,
                                     deployed, keys.key(site) if base_ok else None, cli_version)
        except EngineError as exc:
            return site, exc
        finally:
            bar.advance(site)

    with progress("engine", len(todo), show_progress) as bar:
        with ThreadPoolExecutor(max(1, min(jobs, len(todo) or 1))) as pool:
            return dict(pool.map(one, todo))


def read_previews(preview_json: Path, sites: list[str]) -> dict[str, dict[str, Any]]:
    """Stage 2b (preview-json mode): each site's `<site>.json` in the folder, read and checked before any
    planning; every problem of every file in one SpecError. A site without a file is reviewed offline."""
    docs, problems = {}, []
    for site in sites:
        path = preview_json / f"{site}.json"
        if os.path.lexists(path):  # a dangling link is a file that cannot be read, not a file left out
            try:
                docs[site] = load_preview(path)
            except SpecError as exc:
                problems += exc.problems
    if problems:
        raise SpecError(problems)
    return docs


def site_review(prices: Prices, site: str, status: str, base: dict | None, head: dict | None, mode: str,
                engine_result: Any, preview_json: Path | None, preview: dict[str, Any] | None = None) -> SiteReview:
    """Stage 5: one site's changes (from the engine, its preview document, or offline) and its two sides,
    priced."""
    s = SiteReview(site, status, base=_side(base, prices), head=_side(head, prices))
    if mode == "preview-json":
        path = preview_json / f"{site}.json"
        if preview is not None:
            s.changes, s.refusals = changes_from_preview(preview)
        else:
            s.changes = _offline(site, base, head)
            s.notes.append(f"no {path.name} in {preview_json}: offline approximation shown")
    elif isinstance(engine_result, EngineError):
        s.changes = _offline(site, base, head)
        s.notes.append(f"the engine could not review this site ({engine_result}); offline approximation shown")
    elif engine_result is not None:
        s.changes, s.refusals = engine_result.changes, engine_result.errors
        s.notes += engine_result.notes
    else:
        s.changes = _offline(site, base, head)
        if mode == "engine" and status == "removed":
            s.notes.append("the stack file is removed: every resource would be destroyed (`pulumi destroy`)")
    if s.head.error:
        s.notes.append("the head could not be planned: what it changes is not known (not evaluated)")
    elif status == "changed" and not s.changes and not s.refusals and s.base.outputs == s.head.outputs \
            and s.base.policy == s.head.policy and "error" not in (s.head.policy or {}):
        s.status = "unchanged"
    return s


REVIEW_CACHE_FORMAT = 1
"""Bump when what a site's review holds, or how it is written, changes other than through sitekit's sources
(which `review_keys` hashes anyway)."""


def _judged(snapshot: dict[str, Any] | None) -> bool:
    """A side that is absent, or was planned and its policy judged: nothing of it is left to evaluate again."""
    if snapshot is None:
        return True
    policy = snapshot.get("policy")
    return not snapshot.get("error") and isinstance(policy, dict) and "mandatoryFailures" in policy


class ReviewCache:
    """Offline reviews of single sites, as written (`render.site_json`), in the cache (`reviews`): filed under the
    content keys of both sides (`SideKeys`: everything each side's plan and policy depend on), the site's status,
    the mode, the day policy is judged on, the price catalog and the sources of the sitekit running (what diffs,
    prices and writes). A review whose sides could not both be planned and judged is never filed: it is computed
    again. With `folder` None nothing is read or written."""

    def __init__(self, folder: Path | None, keys: tuple[SideKeys, SideKeys], mode: str, day: datetime.date,
                 prices: Prices):
        self.cache = Cache(folder, "reviews") if folder is not None and mode == "offline" else None
        self.keys = keys
        shared = hashlib.sha256(f"format={REVIEW_CACHE_FORMAT};mode={mode};day={day.isoformat()};".encode())
        shared.update(json.dumps(dataclasses.asdict(prices), sort_keys=True, default=str).encode())
        shared.update(tree_digest(Path(__file__).resolve().parents[2], "sitekit").encode())
        self.shared = shared.hexdigest()

    def key(self, scope: Scope, site: str) -> str:
        base, head = self.keys
        parts = [self.shared, scope.status(site), base.key(site) if site in scope.base_sites else "-",
                 head.key(site) if site in scope.head_sites else "-"]
        return hashlib.sha256(";".join(parts).encode()).hexdigest()

    def get(self, scope: Scope, site: str) -> tuple[SiteReview, str] | None:
        """The site's review and its JSON, when filed."""
        hit = self.cache.get(self.key(scope, site), site) if self.cache is not None else None
        if hit is None:
            return None
        return site_from_dict(json.loads(hit["json"]), hit["order"]), hit["json"]

    def put(self, scope: Scope, s: SiteReview, base: dict | None, head: dict | None) -> str | None:
        """File a site's review whose sides were both planned and judged; its JSON, when filed."""
        if self.cache is None or not _judged(base) or not _judged(head):
            return None
        text = site_json(site_dict(s))
        self.cache.put(self.key(scope, s.site), {"site": s.site, "json": text, "order": change_order(s)})
        return text


def installed_versions() -> dict[str, str]:
    """The versions of the pinned SDKs installed here: what both sides are planned with (a side's own pins are
    read, not installed: that would take a virtual environment per side, installed from its lock)."""
    out = {}
    for name in PINNED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def not_evaluated(scope: Scope, head_snap: dict[str, Any]) -> list[NotEvaluated]:
    """Stage 6: what of the head side could not be judged, each marked bad input (exit 2) or not (exit 1)."""
    out = []
    for site in scope.on_head:
        snap = head_snap[site]
        policy = snap.get("policy")
        if snap.get("error"):
            out.append(NotEvaluated(site, "plan", snap["error"], snap.get("errorKind") == "spec"))
        elif not isinstance(policy, dict) or "mandatoryFailures" not in policy:
            why = policy.get("error") if isinstance(policy, dict) else None
            out.append(NotEvaluated(site, "policy", str(why or "no policy result"),
                                    isinstance(policy, dict) and policy.get("errorKind") == "spec"))
    return out


def review(root: Path, base_rev: str = "HEAD", only: list[str] | None = None, *, mode: str = "auto",
           jobs: int | None = None, preview_json: Path | None = None, base_tip: bool = False,
           use_cache: bool = True, show_progress: bool = True, today: datetime.date | None = None) -> Review:
    """Compare the working tree of the project at `root` with the merge base of `base_rev` and HEAD (or with
    `base_rev` itself, `base_tip`), site by site. `mode`: auto (engine when a pulumi CLI is found), engine,
    offline; `preview_json` reads `<site>.json` preview files instead of running the engine; `today` is the date
    both sides' policy is judged on (waivers expire). The stages above, in order, over plain data."""
    root = root.resolve()
    jobs = jobs or os.cpu_count() or 1
    base_commit = resolve(root, base_rev) if base_tip else merge_base(root, base_rev)
    mode, pulumi, cli_version = choose_mode(root, mode, preview_json)
    prices = load_prices(root)  # before any planning: a bad price catalog is refused at once
    cache_root = cache_dir() if use_cache else None
    with tempfile.TemporaryDirectory(prefix="sitekit-review-") as tmp:
        base_tree = export_tree(root, base_commit, Path(tmp))
        keys = (SideKeys(base_tree), SideKeys(root))
        scope = select_sites(root, base_commit, base_tree, only, keys)
        previews = read_previews(preview_json, scope.sites) if mode == "preview-json" else {}
        day = today or datetime.date.today()
        filed = ReviewCache(cache_root, keys, mode, day, prices)
        cached = {site: hit for site in scope.sites if (hit := filed.get(scope, site)) is not None}
        todo = Scope([s for s in scope.sites if s not in cached], scope.base_sites, scope.head_sites)
        base_snap, head_snap = plan_sides(root, base_tree, todo, jobs, cache_root, show_progress, day, keys) \
            if todo.sites else ({}, {})
        engine_results = engine_reviews(root, base_tree, todo, base_snap, head_snap, pulumi, cli_version, Path(tmp),
                                        jobs, cache_root, show_progress) if mode == "engine" else {}
        reviews, rendered = [], {}
        for site in scope.sites:
            if site in cached:
                s, rendered[site] = cached[site]
            else:
                s = site_review(prices, site, scope.status(site), base_snap.get(site), head_snap.get(site), mode,
                                engine_results.get(site), preview_json, previews.get(site))
                text = filed.put(scope, s, base_snap.get(site), head_snap.get(site))
                if text is not None:
                    rendered[site] = text
            reviews.append(s)
        versions = {"base": pinned_versions(base_tree), "head": pinned_versions(root), "installed": installed_versions()}
    unaffected = sorted((set(scope.base_sites) | set(scope.head_sites)) - set(scope.sites))
    return Review(base_rev, base_commit, not base_tip, head_commit(root), is_dirty(root), mode, cli_version,
                  reviews, unaffected, versions, not_evaluated(todo, head_snap), rendered)
