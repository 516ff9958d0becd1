"""Many sites at once: `sitekit plan --all`, `sitekit policy --all`, in one process or in `jobs` workers, with a
plan cache.

One process plans site after site, paying the imports once; `jobs` > 1 starts that many worker processes
(fresh interpreters) and hands each a site at a time, so a slow site does not hold up the rest; results come
back in the order the sites were asked for. A plan is cached under the content hash of everything it depends
on (`cache.SideKeys`: the site's stack file and profile, its peers' stack files, every site's supernet, baseline, catalog, templates, policy pack,
sitekit's own sources, the installed pulumi / pulumi_oci versions), outside the work tree, in a private folder; an entry
that does not match what it was computed from, or its digest, is planned again and said, never trusted. A site's
policy result is cached under its plan's key, the day's date (waivers expire with the date) and the pack
configuration, which its entry records and which are checked on read, so a warm `policy --all` only reads files.
"""

from __future__ import annotations

import asyncio
import datetime
import gc
import hashlib
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from sitekit.errors import SitekitError, SpecError
from sitekit.plan import Plan, PlannedResource
from sitekit.run.cache import Cache, SideKeys, cache_dir
from sitekit.spec.loader import load_site

MIN_PARALLEL = 4  # fewer sites than this plan faster in this process than in workers
BATCHES_PER_WORKER = 3
Outcome = tuple[str, Any]
"""("plan", Plan) | ("result", SiteResult) | ("both", (Plan, SiteResult, SiteSpec)) | ("spec", [Problem]) |
("error", str)"""


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def plan_from_dict(data: dict[str, Any]) -> Plan:
    fields = set(PlannedResource.__dataclass_fields__)
    return Plan(site=data["site"], resources=[PlannedResource(**{k: v for k, v in r.items() if k in fields})
                                              for r in data["resources"]],
                outputs=data["outputs"], invokes=[tuple(i) for i in data.get("invokes") or []])


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return plan.to_dict() | {"invokes": [list(i) for i in plan.invokes]}


def warm_up() -> None:
    """Import what planning needs, load the pulumi_oci service modules the components use (pulumi_oci loads them
    lazily, during the first site otherwise: most of its ~300k objects), then freeze the collector: imported
    objects are never garbage, so full collections need not walk them again for every site, and a worker forked
    after this shares their pages instead of copying them (a collection writes to the objects it walks)."""
    from sitekit.policy import runner  # noqa: F401  heavy: deferred (pulumi_policy)
    from sitekit.region import (
        ai_region,  # noqa: F401  heavy: deferred (pulumi_oci, the components)
        services,  # heavy: deferred (pulumi_oci)
    )
    from sitekit.run import offline  # noqa: F401  heavy: deferred (pulumi)

    services.load()
    gc.collect()
    gc.freeze()


def _one(root: Path, site: str, loaded: Any, task: str, config: dict | None, today: datetime.date) -> Outcome:
    """Plan a site already loaded (and validated) from `root`, and evaluate its policy unless only its plan is
    asked for."""
    from sitekit.run.offline import plan_site  # heavy: deferred

    try:
        plan = plan_site(root, site, site=loaded)  # the program and the rules get the loaded site
        if task == "plan":
            return "plan", plan
        from sitekit.policy.runner import evaluate  # heavy: deferred

        return "result", (plan, evaluate(loaded, plan, today=today, config=config), loaded.spec)
    except SpecError as exc:
        return "spec", list(exc.problems)
    except SitekitError as exc:
        return "error", str(exc)


@dataclass
class _Prepared:
    """What the parent did before its workers start: every site to plan loaded and validated. Forked workers
    read it from the memory they share with the parent, so nothing of it is sent, loaded or validated again."""

    root: Path
    sites: list[str]
    loaded: list[Any]
    task: str
    config: dict | None
    today: datetime.date
    settled: bool = False  # whether this process has planned a site (and frozen what it left)


_PREPARED: list[_Prepared] = []  # the run's, set in the parent before its workers fork


def _forked() -> None:
    """A forked worker's start: an event loop of its own. The parent's loop, if it ran Pulumi programs before (a
    long-lived process, the tests), keeps a default executor whose threads did not survive the fork: a program
    run on it would wait for them forever. The collector's flag is this process's too."""
    asyncio.set_event_loop(asyncio.new_event_loop())
    if _PREPARED:
        _PREPARED[-1].settled = False


def _batch(indices: range) -> list[tuple[str, Outcome]]:
    """Plan (and evaluate) the prepared sites at `indices`, in this process."""
    p = _PREPARED[-1]
    out = []
    for i in indices:
        site = p.sites[i]
        out.append((site, _one(p.root, site, p.loaded[i], p.task, p.config, p.today)))
        gc.collect()  # what the site left behind, before the next site
        if not p.settled:
            p.settled = True
            gc.freeze()  # what the first site made for good (caches, compiled templates): not walked again
    return out


def batches(count: int, workers: int) -> list[range]:
    """`count` sites cut into contiguous batches, `BATCHES_PER_WORKER` per worker (so a slow batch does not hold
    the others up), as even as can be, none empty."""
    n = max(1, min(count, workers * BATCHES_PER_WORKER))
    size, extra = divmod(count, n)
    out, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        out.append(range(start, end))
        start = end
    return [b for b in out if b]


def _prepare(root: Path, sites: list[str], task: str, config: dict | None, today: datetime.date,
             keep: Callable[[str, Outcome], None]) -> _Prepared:
    """In this process, before any worker: the imports (`warm_up`), then every site loaded and validated once (bad
    input is kept as the site's outcome here), then the collector frozen over all of it."""
    warm_up()
    ready = _Prepared(root, [], [], task, config, today)
    for site in sites:
        try:
            loaded = load_site(root, site)
        except SpecError as exc:
            keep(site, ("spec", list(exc.problems)))
            continue
        ready.sites.append(site)
        ready.loaded.append(loaded)
    gc.collect()
    gc.freeze()
    return ready


def _plan_all(ready: _Prepared, jobs: int, record: Callable[[str, Outcome], None]) -> None:
    """Plan the prepared sites: in this process, or, with `jobs` > 1 and enough sites, in at most `jobs` worker
    processes (never more than the cores or the batches) forked from this one after `_prepare`, so that they share
    its imports and loaded sites; each takes whole batches of contiguous sites."""
    count = len(ready.sites)
    workers = min(jobs, default_jobs(), count)
    _PREPARED.append(ready)
    try:
        if count < MIN_PARALLEL or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
            for site, outcome in _batch(range(count)):
                record(site, outcome)
            return
        parts = batches(count, workers)
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(min(workers, len(parts)), mp_context=context, initializer=_forked) as pool:
            for future in as_completed([pool.submit(_batch, part) for part in parts]):
                for site, outcome in future.result():
                    record(site, outcome)
    finally:
        _PREPARED.pop()


def run_sites(root: Path, sites: list[str], task: str = "plan", jobs: int = 1, use_cache: bool = True,
              config: dict | None = None, on_done: Callable[[str], None] = lambda s: None) -> dict[str, Outcome]:
    """{site: outcome} for `task` over `sites`, in the order given: "plan" (plans), "policy" (policy results)
    or "both" (plan, policy result and validated spec, for reports that need all three)."""
    from sitekit.policy.runner import result_from_dict, result_to_dict  # heavy: deferred

    root = root.resolve()
    today = datetime.date.today()  # one date for the whole run: waivers are judged against it
    cache = Cache(cache_dir() if use_cache else None, "plans")
    results = Cache(cache_dir() if use_cache and task == "policy" else None, "results")
    keys = SideKeys(root) if use_cache else None
    plan_keys = {site: keys.key(site) for site in sites} if keys else {}
    config_text = json.dumps(config, sort_keys=True, default=str)

    def result_key(site: str) -> str:
        return hashlib.sha256(f"{plan_keys[site]};{today.isoformat()};{config_text}".encode()).hexdigest()

    def result_inputs(site: str) -> dict[str, str]:
        """What a policy result is computed from, recorded in its entry and checked on read."""
        return {"plan": plan_keys[site], "date": today.isoformat(),
                "config": hashlib.sha256(config_text.encode()).hexdigest()}

    out: dict[str, Outcome] = {}
    todo = []
    for site in sites:
        if results.folder is not None:
            try:
                done = results.get(result_key(site), site, result_inputs(site))
                if done is not None:
                    out[site] = ("result", result_from_dict(done))
                    on_done(site)
                    continue
            except (KeyError, TypeError, ValueError):  # a damaged entry: evaluate again
                pass
        hit = cache.get(plan_keys[site], site) if keys else None
        if hit is not None and task == "plan":
            out[site] = ("plan", plan_from_dict(hit))
            on_done(site)
        else:
            todo.append((site, plan_from_dict(hit) if hit is not None else None))

    def keep(site: str, outcome: Outcome) -> None:
        kind, value = outcome
        if kind == "result" and results.folder is not None:
            results.put(result_key(site), result_to_dict(value[1]), result_inputs(site))
        out[site] = _keep(task, outcome)
        on_done(site)

    def record(site: str, outcome: Outcome) -> None:
        kind, value = outcome
        plan = value if kind == "plan" else value[0] if kind == "result" else None
        if plan is not None and keys is not None:
            cache.put(plan_keys[site], plan_to_dict(plan))
        keep(site, outcome)

    cached_plans = {site: plan for site, plan in todo if plan is not None}
    if cached_plans and task != "plan":
        # plans from the cache: only the evaluation is left, which is quick in this process
        from sitekit.policy.runner import evaluate  # heavy: deferred

        for site, plan in cached_plans.items():
            try:
                loaded = load_site(root, site)
                keep(site, ("result", (plan, evaluate(loaded, plan, today=today, config=config), loaded.spec)))
            except SpecError as exc:
                keep(site, ("spec", list(exc.problems)))
    work = [site for site, _ in todo if site not in cached_plans]
    if work:
        _plan_all(_prepare(root, work, task, config, today, keep), jobs, record)
    return {site: out[site] for site in sites}


def _keep(task: str, outcome: Outcome) -> Outcome:
    """What the caller asked for of a worker's outcome."""
    kind, value = outcome
    if kind != "result":
        return outcome
    return ("both", value) if task == "both" else ("result", value[1])


def raise_for(outcomes: Iterable[Outcome]) -> None:
    """Bad input of any site: every problem of every site in one SpecError (exit 2); else any other failure
    as a SitekitError (exit 1)."""
    outcomes = list(outcomes)
    problems = [p for kind, value in outcomes if kind == "spec" for p in value]
    if problems:
        raise SpecError(problems)
    errors = [value for kind, value in outcomes if kind == "error"]
    if errors:
        raise SitekitError("\n".join(errors))
