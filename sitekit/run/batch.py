"""Many sites at once: `sitekit plan --all`, `sitekit policy --all`, in one process or in `jobs` workers, with a
plan cache.

One process imports what planning needs (pulumi_oci's service modules included), loads and validates every site and
freezes the collector; then it plans site after site, or, with `jobs` > 1, forks at most that many workers (never
more than the cores or the batches) that share all it loaded and take contiguous batches of sites (`in_workers`);
results come back in the order the sites were asked for. A plan is cached under the content hash of everything it depends
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
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

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


_TASKS: list[Callable[[int], Any]] = []  # the run's work, set in the parent before its workers fork
_SETTLED = [False]  # whether this process has done a task (and frozen what the first left for good)


def _forked() -> None:
    """A forked worker's start: an event loop of its own. The parent's loop, if it ran Pulumi programs before (a
    long-lived process, the tests), keeps a default executor whose threads did not survive the fork: a program
    run on it would wait for them forever. The collector's flag is this process's own too."""
    asyncio.set_event_loop(asyncio.new_event_loop())
    _SETTLED[0] = False


def _batch(indices: range) -> list[tuple[int, Any]]:
    """The run's task for each index, in this process."""
    do = _TASKS[-1]
    out = []
    for i in indices:
        out.append((i, do(i)))
        gc.collect()  # what the task left behind, before the next
        if not _SETTLED[0]:
            _SETTLED[0] = True
            gc.freeze()  # what the first task made for good (caches, compiled templates): not walked again
    return out


def batches(count: int, workers: int) -> list[range]:
    """`count` tasks cut into contiguous batches, `BATCHES_PER_WORKER` per worker (so a slow batch does not hold
    the others up), as even as can be, none empty."""
    n = max(1, min(count, workers * BATCHES_PER_WORKER))
    size, extra = divmod(count, n)
    out, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        out.append(range(start, end))
        start = end
    return [b for b in out if b]


def in_workers(count: int, do: Callable[[int], Any], jobs: int) -> Iterator[tuple[int, Any]]:
    """(i, do(i)) for i in range(count), as they finish: in this process, or, with `jobs` > 1 and at least
    `MIN_PARALLEL` tasks, in at most `jobs` worker processes (never more than the cores or the batches) forked
    from this one, each taking whole batches of contiguous tasks. The caller prepares first (`warm_up`, the sites
    loaded and validated, the collector frozen): the workers share all of that with it, page for page, and only
    the index ranges go to them; `do`'s results come back pickled."""
    workers = min(jobs, default_jobs(), count)
    _TASKS.append(do)
    try:
        if count < MIN_PARALLEL or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
            for i in range(count):
                yield from _batch(range(i, i + 1))
            return
        parts = batches(count, workers)
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(min(workers, len(parts)), mp_context=context, initializer=_forked) as pool:
            for future in as_completed([pool.submit(_batch, part) for part in parts]):
                yield from future.result()
    finally:
        _TASKS.pop()


def load_all(root: Path, sites: list[str], bad: Callable[[str, SpecError], None]) -> dict[str, Any]:
    """{site: loaded site} for the sites that load and validate, in this process, before any worker starts (bad
    input goes to `bad`), then the collector frozen over them: workers forked after this share them."""
    out = {}
    for site in sites:
        try:
            out[site] = load_site(root, site)
        except SpecError as exc:
            bad(site, exc)
    gc.collect()
    gc.freeze()
    return out


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
        warm_up()
        loaded = load_all(root, work, lambda site, exc: keep(site, ("spec", list(exc.problems))))
        ready = list(loaded)
        for i, outcome in in_workers(len(ready), lambda i: _one(root, ready[i], loaded[ready[i]], task, config,
                                                                 today), jobs):
            record(ready[i], outcome)
    return {site: out[site] for site in sites}


def rendered_plans(root: Path, sites: list[str], render: Callable[[Plan], str], version: str, jobs: int = 1,
                   use_cache: bool = True, on_done: Callable[[str], None] = lambda s: None) -> dict[str, Outcome]:
    """{site: ("text", render(plan))} in the order given (or the site's "spec"/"error" outcome): each site's
    rendering kept in the cache under its plan's key and `version` (the renderer's), so a site that did not change
    is neither planned, nor read back as a plan, nor rendered again; the others are planned (`run_sites`, which
    caches their plans) and rendered, and their renderings kept."""
    root = root.resolve()
    texts = Cache(cache_dir() if use_cache else None, "rendered")
    keys = SideKeys(root) if use_cache else None

    def key(site: str) -> str:
        return hashlib.sha256(f"{keys.key(site)};{version}".encode()).hexdigest()

    out: dict[str, Outcome] = {}
    if keys is not None:
        for site in sites:
            hit = texts.get(key(site), site, {"renderer": version})
            if hit is not None and isinstance(hit.get("text"), str):
                out[site] = ("text", hit["text"])
                on_done(site)
    missing = [s for s in sites if s not in out]
    if missing:
        for site, (kind, value) in run_sites(root, missing, "plan", jobs, use_cache, on_done=on_done).items():
            if kind != "plan":
                out[site] = (kind, value)
                continue
            text = render(value)
            if keys is not None:
                texts.put(key(site), {"site": site, "text": text}, {"renderer": version})
            out[site] = ("text", text)
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
