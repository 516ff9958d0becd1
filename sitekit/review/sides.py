"""Snapshots of sites on one side of a review, each planned only by that side's code, in parallel, cached.

A side whose sitekit is, file for file, the one running here (`runs_here`) is planned here, by this same code, in
workers forked after the imports and the sites' loading (`sitekit.run.batch.in_workers`), both sides sharing them;
a base site whose plan the plan cache holds is judged from it. Any other side's sites are planned by
`sitekit/run/snapshot.py` in fresh interpreters started with `python -S`: the path is the tree first, then the
installed libraries' folders, and no `.pth` file is read, so the editable install of the working tree cannot lend
the base a module it lacks. Its sites are split over `jobs` worker processes.

Snapshots are cached (`sitekit.run.cache`) under the content hash of everything they depend on. Their policy
verdict also depends on the date (waivers expire): both sides are judged on the review's date, and a cached
snapshot is used only on the days its verdict holds (`holds_on`), else planned again and said.
"""

from __future__ import annotations

import datetime
import gc
import json
import os
import site as site_module
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from sitekit.errors import SitekitError, SpecError
from sitekit.run import snapshot as snapshot_module
from sitekit.run.batch import in_workers, plan_from_dict, plan_to_dict, warm_up
from sitekit.run.cache import Cache, SideKeys, say, tree_digest
from sitekit.spec.loader import load_site

_BOOT = ("import runpy, sys; tree, driver = sys.argv[1], sys.argv[2]; "
         "sys.path[:0] = [tree]; sys.path.extend({libs!r}); del sys.argv[1:3]; "
         "runpy.run_path(driver, run_name='__main__')")


def _libraries() -> list[str]:
    """The installed libraries' folders, without the tree of any editable install."""
    return [p for p in site_module.getsitepackages() if Path(p).is_dir()]



def holds_on(snapshot: dict[str, Any], day: datetime.date) -> bool:
    """Whether a snapshot's policy verdict holds on `day`: judged on or before it, and no waiver it counted on
    expired since (`holdsUntil`, see `sitekit.run.snapshot`)."""
    judged, until = snapshot.get("judgedOn"), snapshot.get("holdsUntil")
    return isinstance(judged, str) and judged <= day.isoformat() and (until is None or day.isoformat() <= until)


def _run_chunk(tree: Path, sites: list[str], on_done: Callable[[str], None],
               day: datetime.date) -> dict[str, dict[str, Any]]:
    boot = _BOOT.format(libs=_libraries())
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", str(tree)),
           "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "SITEKIT_TODAY": day.isoformat()}
    proc = subprocess.Popen([sys.executable, "-S", "-c", boot, str(tree), snapshot_module.__file__, str(tree), *sites],
                            cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    errors: list[str] = []

    def read_stderr():
        for line in proc.stderr:
            if line.startswith("done "):
                on_done(line[5:].strip())
            else:
                errors.append(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    out = {}
    for line in proc.stdout:
        if line.strip():
            snap = json.loads(line)
            out[snap["site"]] = snap
    proc.wait()
    reader.join()
    if proc.returncode != 0 or set(out) != set(sites):
        last = "".join(errors).strip().splitlines()[-1:] or ["no output"]
        for s in sites:
            out.setdefault(s, {"site": s, "resources": [], "outputs": {}, "policy": None,
                               "error": f"could not be planned by this tree's code: {last[0]}", "errorKind": "other"})
    return out


SITES_PER_WORKER = 2  # below this, another interpreter's imports cost more than the planning it takes over


def runs_here(tree: Path) -> bool:
    """Whether a tree's sitekit is, file for file, the sitekit running in this process: then this process's code
    is that tree's own, and its sites can be planned here, in workers forked from this process."""
    here = Path(snapshot_module.__file__).resolve().parents[1]
    if not (tree / "sitekit").is_dir():
        return False
    if (tree / "sitekit").resolve() == here:
        return True
    return tree_digest(tree, "sitekit") == tree_digest(here.parent, "sitekit")


def snapshot_sides(requests: list[tuple[Path, list[str]]], jobs: int, cache: Cache,
                   on_done: Callable[[str], None] = lambda s: None,
                   day: datetime.date | None = None, plans: Cache | None = None,
                   keys: list[SideKeys] | None = None) -> list[dict[str, dict[str, Any]]]:
    """For each (tree, sites): {site: snapshot} with policy judged on `day` (default today), from the cache where
    it holds them for that day, else planned. The sites of trees whose code is the code running here (`runs_here`:
    a change to stack files, profiles or the baseline, on both sides) are planned in this process's workers, the
    imports and every site's loading done once, before they fork (`batch.in_workers`); a site whose plan `plans` (the
    plan cache) holds under the same key, as `plan --all` or `policy --all` left it, is not planned again, only
    judged. The sites of other trees are planned by that tree's own code in fresh interpreters, sharing `jobs` of
    them, each a chunk of one tree's sites. `keys`: each tree's `SideKeys`, when the caller has them."""
    day = day or datetime.date.today()
    outs: list[dict[str, dict[str, Any]]] = []
    chunks: list[tuple[int, Path, list[str]]] = []
    here: list[tuple[int, Path, str]] = []
    given, keys = keys, []
    for i, (tree, sites) in enumerate(requests):
        k = (given[i] if given else SideKeys(tree)) if sites else None
        keys.append(k)
        out: dict[str, dict[str, Any]] = {}
        todo = []
        for site in sites:
            hit = cache.get(k.key(site), site)
            if hit is not None and not holds_on(hit, day):
                say(f"snapshot of {site} judged on {hit.get('judgedOn')}, holding until "
                    f"{hit.get('holdsUntil') or 'any later day'}, does not hold on {day.isoformat()}: judged again")
                hit = None
            if hit is not None:
                out[site] = hit
                on_done(site)
            else:
                todo.append(site)
        outs.append(out)
        if todo and runs_here(tree):
            here += [(i, tree, site) for site in todo]
        elif todo:
            n = max(1, min(jobs, len(todo) // SITES_PER_WORKER))
            chunks += [(i, tree, todo[j::n]) for j in range(n)]

    def keep(i: int, site: str, snap: dict[str, Any]) -> None:
        outs[i][site] = snap
        if not snap.get("error"):
            cache.put(keys[i].key(site), snap)

    if here:
        _snapshot_here(here, keys, jobs, day, plans, keep, on_done)
    if chunks:
        with ThreadPoolExecutor(max(1, min(jobs, len(chunks)))) as pool:
            results = pool.map(lambda c: (c[0], _run_chunk(c[1], c[2], on_done, day)), chunks)
            for i, result in results:
                for site, snap in result.items():
                    keep(i, site, snap)
    return outs


def _snapshot_here(todo: list[tuple[int, Path, str]], keys: list[SideKeys | None], jobs: int, day: datetime.date,
                   plans: Cache | None, keep: Callable[[int, str, dict[str, Any]], None],
                   on_done: Callable[[str], None]) -> None:
    """Snapshots of (side, tree, site) planned by the code running here: imports, then every site loaded and
    validated (and its cached plan read) in this process, then the planning in workers forked from it; each plan
    made is kept in the plan cache (`plans`), where `plan --all` and `policy --all` find it."""
    warm_up()
    items = []
    for i, tree, site in todo:
        try:
            loaded = load_site(tree, site)
        except SitekitError as exc:
            keep(i, site, snapshot_module.failed(site, exc, isinstance(exc, SpecError)))
            on_done(site)
            continue
        hit = plans.get(keys[i].key(site), site) if plans is not None else None
        items.append((i, tree, site, loaded, plan_from_dict(hit) if hit is not None else None))
    gc.collect()
    gc.freeze()

    def one(n: int) -> dict[str, Any]:
        i, tree, site, loaded, plan = items[n]
        if plan is None:  # planned here, and kept in the plan cache under the key `plan --all` reads
            from sitekit.run.offline import plan_site  # heavy: deferred

            try:
                plan = plan_site(tree, site, site=loaded)
            except SitekitError:
                pass  # the snapshot says why, planning again
            else:
                if plans is not None:
                    plans.put(keys[i].key(site), plan_to_dict(plan))
        return snapshot_module.snapshot_site(tree, site, loaded, day, plan)

    for n, snap in in_workers(len(items), one, jobs):
        keep(items[n][0], items[n][2], snap)
        on_done(items[n][2])


def snapshot_side(tree: Path, sites: list[str], jobs: int, cache: Cache,
                  on_done: Callable[[str], None] = lambda s: None,
                  day: datetime.date | None = None, plans: Cache | None = None) -> dict[str, dict[str, Any]]:
    """{site: snapshot} for `sites` of one tree (see `snapshot_sides`)."""
    return snapshot_sides([(tree, sites)], jobs, cache, on_done, day, plans)[0]
