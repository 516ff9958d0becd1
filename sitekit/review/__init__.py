"""`sitekit review`: what a change does to every affected site, for pull-request review.

Flow: git (merge base, base tree, changed files, affected sites) -> each side's snapshots, planned by that
side's own code, in parallel, cached (`sides`) -> the changes, from the engine (`engine`: base deployed, head
previewed, through the stand-in provider), from `pulumi preview --json` files (`preview`), or, with no CLI,
from the provider's facts (`offline`, an approximation) -> overlays (GPUs, MW, cost, policy) -> a report
(`render`). Invalid head specs are bad input (exit 2), listed as sitekit prints them.
"""

from __future__ import annotations

import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sitekit.engine.workspace import EngineError, _version_of, find_pulumi
from sitekit.errors import Problem, SpecError, nearest
from sitekit.git import (
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
from sitekit.review.model import Change, Review, Side, SiteReview
from sitekit.review.offline import diff_snapshots, engine_urns
from sitekit.review.preview import changes_from_preview, load_preview
from sitekit.review.render import COMMENT_LIMIT, dumps, render_markdown
from sitekit.review.sides import snapshot_sides
from sitekit.run.cache import Cache, SideKeys, cache_dir, sites_in
from sitekit.run.cost import load_prices, monthly_cost

__all__ = ["review", "render_markdown", "dumps", "affected_sites", "diff_snapshots", "engine_urns", "Change",
           "Review", "SiteReview", "COMMENT_LIMIT"]

_LINE = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+): (?P<key>[^:]+): (?P<msg>.*)$")


def _problems(text: str) -> list[Problem]:
    out = []
    for line in text.splitlines():
        m = _LINE.match(line)
        out.append(Problem(m["file"], int(m["line"]), m["key"], m["msg"]) if m else Problem(line, None, "", ""))
    return out


def _side(snapshot: dict[str, Any] | None, root: Path) -> Side:
    if snapshot is None:
        return Side()
    if snapshot.get("error"):
        return Side(error=snapshot["error"])
    cost = monthly_cost(snapshot["resources"], load_prices(root)).to_dict()
    return Side(outputs=snapshot["outputs"], policy=snapshot.get("policy"), cost=cost)


def _offline(site: str, base: dict | None, head: dict | None) -> list[Change]:
    empty = {"site": site, "resources": []}
    return diff_snapshots(base if base and not base.get("error") else empty, head or empty)


def review(root: Path, base_rev: str = "HEAD", only: list[str] | None = None, *, mode: str = "auto",
           jobs: int | None = None, preview_json: Path | None = None, base_tip: bool = False,
           use_cache: bool = True, show_progress: bool = True) -> Review:
    """Compare the working tree of the project at `root` with the merge base of `base_rev` and HEAD (or with
    `base_rev` itself, `base_tip`), site by site. `mode`: auto (engine when a pulumi CLI is found), engine,
    offline; `preview_json` reads `<site>.json` preview files instead of running the engine."""
    root = root.resolve()
    jobs = jobs or os.cpu_count() or 1
    base_commit = resolve(root, base_rev) if base_tip else merge_base(root, base_rev)
    pulumi = None
    if preview_json is not None:
        mode = "preview-json"
    elif mode in ("auto", "engine"):
        pulumi = find_pulumi(root)
        if pulumi is None and mode == "engine":
            raise EngineError("engine mode needs a pulumi CLI: run `make pulumi`, or use --mode offline")
        mode = "engine" if pulumi is not None else "offline"
    cli_version = ".".join(map(str, _version_of(pulumi) or ())) if pulumi else None
    cache_root = cache_dir() if use_cache else None

    with tempfile.TemporaryDirectory(prefix="sitekit-review-") as tmp:
        base_tree = export_tree(root, base_commit, Path(tmp))
        base_sites, head_sites = sites_in(base_tree), sites_in(root)
        if only:
            known = sorted(set(base_sites) | set(head_sites))
            unknown = [s for s in only if s not in known]
            if unknown:
                raise SpecError([Problem(f"stacks/Pulumi.{s}.yaml", None, "", f"no such site; {nearest(s, known)}")
                                 for s in unknown])
            sites = sorted(set(only))
        else:
            sites = affected_sites(changed_files(root, base_commit), base_sites, head_sites)
        on_base = [s for s in sites if s in base_sites]
        on_head = [s for s in sites if s in head_sites]
        with progress("planning", len(on_base) + len(on_head), show_progress) as bar:
            base_snap, head_snap = snapshot_sides([(base_tree, on_base), (root, on_head)], jobs,
                                                  Cache(cache_root, "snapshots"), bar.advance)
        invalid = [head_snap[s]["error"] for s in on_head if head_snap[s].get("errorKind") == "spec"]
        if invalid:
            raise SpecError([p for text in invalid for p in _problems(text)])

        engine_results: dict[str, Any] = {}
        if mode == "engine":
            keys = SideKeys(base_tree)
            deployed = DeployedCache(cache_root)
            todo = [s for s in on_head if not (head_snap[s].get("error"))]

            def one(site: str):
                base_ok = site in base_snap and not base_snap[site].get("error")
                try:
                    return site, review_site(root, base_tree if base_ok else None, site, Path(tmp) / f"engine-{site}",
                                             pulumi, deployed, keys.key(site) if base_ok else None, cli_version)
                except EngineError as exc:
                    return site, exc
                finally:
                    bar.advance(site)

            with progress("engine", len(todo), show_progress) as bar:
                with ThreadPoolExecutor(max(1, min(jobs, len(todo) or 1))) as pool:
                    engine_results = dict(pool.map(one, todo))

        reviews = []
        for site in sites:
            base, head = base_snap.get(site), head_snap.get(site)
            status = "added" if site not in base_sites else "removed" if site not in head_sites else "changed"
            s = SiteReview(site, status, base=_side(base, root), head=_side(head, root))
            result = engine_results.get(site)
            if mode == "preview-json":
                path = preview_json / f"{site}.json"
                if path.exists():
                    s.changes, s.refusals = changes_from_preview(load_preview(path))
                else:
                    s.changes = _offline(site, base, head)
                    s.notes.append(f"no {path.name} in {preview_json}: offline approximation shown")
            elif isinstance(result, EngineError):
                s.changes = _offline(site, base, head)
                s.notes.append(f"the engine could not review this site ({result}); offline approximation shown")
            elif result is not None:
                s.changes, s.refusals = result.changes, result.errors
                s.notes += result.notes
            else:
                s.changes = _offline(site, base, head)
                if mode == "engine" and status == "removed":
                    s.notes.append("the stack file is removed: every resource would be destroyed (`pulumi destroy`)")
            if status == "changed" and not s.changes and not s.refusals and s.base.outputs == s.head.outputs \
                    and s.base.policy == s.head.policy:
                s.status = "unchanged"
            reviews.append(s)
        versions = {"base": pinned_versions(base_tree), "head": pinned_versions(root)}
    unaffected = sorted((set(base_sites) | set(head_sites)) - set(sites))
    return Review(base_rev, base_commit, not base_tip, head_commit(root), is_dirty(root), mode, cli_version,
                  reviews, unaffected, versions)
