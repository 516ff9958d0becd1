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

import datetime
import gc
import hashlib
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable

from sitekit.errors import SitekitError, SpecError
from sitekit.plan import Plan, PlannedResource
from sitekit.run.cache import Cache, SideKeys, cache_dir
from sitekit.spec.loader import load_site

MIN_PARALLEL = 4  # fewer sites than this plan faster in this process than in fresh workers
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
    """Import what planning needs, then freeze the collector: imported objects are never garbage, so full
    collections need not walk them again for every site. pulumi_oci loads its service modules lazily (most of
    its ~300k objects), so `_worker` freezes once more after the process's first planned site."""
    from sitekit.policy import runner  # noqa: F401  heavy: deferred (pulumi_policy)
    from sitekit.region import ai_region  # noqa: F401  heavy: deferred (pulumi_oci, the components)
    from sitekit.run import offline  # noqa: F401  heavy: deferred (pulumi)

    gc.collect()
    gc.freeze()


def _one(root: str, site: str, task: str, config: dict | None, today: datetime.date) -> Outcome:
    from sitekit.run.offline import plan_site  # heavy: deferred

    try:
        loaded = load_site(Path(root), site)  # once: the program and the rules get this one
        plan = plan_site(Path(root), site, site=loaded)
        if task == "plan":
            return "plan", plan
        from sitekit.policy.runner import evaluate  # heavy: deferred

        return "result", (plan, evaluate(loaded, plan, today=today, config=config), loaded.spec)
    except SpecError as exc:
        return "spec", list(exc.problems)
    except SitekitError as exc:
        return "error", str(exc)


_SETTLED: list[str] = []  # the first site this process planned, once it has


def _worker(args: tuple[str, str, str, dict | None, datetime.date]) -> tuple[str, Outcome]:
    root, site, task, config, today = args
    outcome = _one(root, site, task, config, today)
    gc.collect()  # what the site left behind, before the next site
    if not _SETTLED and outcome[0] != "spec":  # pulumi_oci loads its modules lazily: a planned site imported them
        _SETTLED.append(site)
        gc.freeze()  # ~250k objects that are never garbage: full collections need not walk them for every site
    return site, outcome


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
    work = [(str(root), site, task, config, today) for site, _ in todo]
    if cached_plans and task != "plan":
        # plans from the cache: only the evaluation is left, which is quick in this process
        from sitekit.policy.runner import evaluate  # heavy: deferred

        for site, plan in cached_plans.items():
            try:
                loaded = load_site(root, site)
                keep(site, ("result", (plan, evaluate(loaded, plan, today=today, config=config), loaded.spec)))
            except SpecError as exc:
                keep(site, ("spec", list(exc.problems)))
        work = [w for w in work if w[1] not in cached_plans]
    if len(work) >= MIN_PARALLEL and jobs > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(jobs, len(work)), mp_context=context, initializer=warm_up) as pool:
            for site, outcome in pool.map(_worker, work):
                record(site, outcome)
    elif work:
        warm_up()
        for args in work:
            record(*_worker(args))
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
