"""Fleet report at scale: `sitekit fleet --html` for N sites stamped by `sitekit new-site` in a scratch copy
(bench/scale_bench.py's `scratch_fleet`), with a few commits of history, cold and warm; results written to a
file the README quotes.

    python bench/fleet_bench.py [--sites 50] [--commits 5] [--out bench/results/fleet.md]

Each command runs as a user runs it, in its own process, with the default jobs (the core count):
- `policy --all` cold, for reference: the same planning and checking of every site, nothing else;
- `fleet --html` cold: an empty plan cache (every site planned and checked, history loaded from git);
- `fleet --html --force` warm: nothing changed since (plans and history from the cache; policy evaluated again,
  as it always is: waivers expire with the date);
- `fleet --html --force` after one site changed (one site planned again, one new history point);
- `fleet --format json` warm, and `fleet --capacity` (no planning).
Aim: the report for 50 sites in under 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale_bench import SITEKIT, run, scratch_fleet  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def shrink_first_pool(stack: Path, by: int) -> None:
    stack.write_text(re.sub(r"nodes: (\d+)", lambda m: f"nodes: {int(m.group(1)) - by}", stack.read_text(), count=1))


def commit(project: Path, message: str) -> None:
    for args in (["add", "-A"], ["-c", "user.email=b@example.com", "-c", "user.name=b", "commit", "-qm", message]):
        subprocess.run(["git", "-C", str(project), *args], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--commits", type=int, default=5, help="commits of history (each changes one site)")
    parser.add_argument("--out", default=str(ROOT / "bench/results/fleet.md"))
    opts = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    rows: list[tuple[str, float, float, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="sitekit-fleet-bench-") as tmp:
        (Path(tmp) / "fleet").mkdir()
        start = time.perf_counter()
        project = scratch_fleet(Path(tmp) / "fleet", opts.sites)
        for i in range(1, opts.commits):  # history: each commit shrinks one site's first pool
            shrink_first_pool(project / f"stacks/Pulumi.s{i:02d}-{_code(project, i)}.yaml", 8)
            commit(project, f"shrink site {i}")
        print(f"  stamped {opts.sites} sites, {opts.commits} commits in {time.perf_counter() - start:.0f} s", flush=True)
        cache = Path(tmp) / "cache"
        env = dict(os.environ, SITEKIT_CACHE_DIR=str(cache), NO_COLOR="1")
        report = Path(tmp) / "report"

        def measure(label: str, *args: str) -> str:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall, peak, out = run([SITEKIT, *args, "--no-progress"], project, env)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            size = (report / "index.html").stat().st_size // 1024 if (report / "index.html").exists() else 0
            note = (f"{size} KB report; " if "--html" in args else "") + f"load {os.getloadavg()[0]:.1f}"
            rows.append((label, wall, cpu, peak, note))
            print(f"  {label:56} {wall:6.1f} s  {cpu:6.1f} CPU s  {peak:6.0f} MB  {note}", flush=True)
            return out

        history = ("--history", str(opts.commits))
        measure("policy --all, cold (the same planning, for reference)", "policy", "--all", "--no-cache")
        shutil.rmtree(cache, ignore_errors=True)
        measure("fleet --html, cold (empty cache)", "fleet", "--html", str(report), *history)
        measure("fleet --html, warm (nothing changed)", "fleet", "--html", str(report), "--force", *history)
        shrink_first_pool(project / "stacks/Pulumi.s00-us.yaml", 8)
        commit(project, "shrink site 0")
        measure("fleet --html, warm, one site changed", "fleet", "--html", str(report), "--force", *history)
        measure("fleet --format json, warm", "fleet", "--format", "json")
        measure("fleet --capacity (no planning)", "fleet", "--capacity")
    out = Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"# sitekit fleet at scale ({time.strftime('%Y-%m-%d')}, {cores} cores, `python bench/fleet_bench.py`)",
             "", f"{opts.sites} sites stamped by `sitekit new-site` (jurisdictions and regions in turn), "
                 f"{opts.commits} commits of history. Wall seconds, CPU seconds of the whole process tree (user + "
                 "system: what the run costs whatever else the machine does) and MB (peak RSS of the tree); default "
                 "jobs = the core count. Aim: under 30 s for 50 sites on 2 cores.", "",
             "| command | wall s | CPU s | MB | |", "|---|---:|---:|---:|---|"]
    lines += [f"| {label} | {wall:.1f} | {cpu:.1f} | {peak:.0f} | {note} |" for label, wall, cpu, peak, note in rows]
    lines += ["", "load: the machine's 1-minute load average after the command (other engineers' work included)."]
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


def _code(project: Path, i: int) -> str:
    return next(project.glob(f"stacks/Pulumi.s{i:02d}-*.yaml")).name.split("-")[1].split(".")[0]


if __name__ == "__main__":
    main()
