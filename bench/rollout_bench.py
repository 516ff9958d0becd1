"""Rollout against plain updates, both in one run: five sites (tests/fleet5.py: the three shipped, us-phoenix
peered with the hub, de-frankfurt), each side in its own throwaway workspace (home, stand-in provider, file
backend), the same machine, one after the other.

    python bench/rollout_bench.py [--jobs 2] [--out bench/results/rollout.md]

- plain: `pulumi up --yes --policy-pack policies -s SITE` for each site one by one, accepting ends first (what
  a careful operator runs by hand: a preview, then the update, both with the pack);
- rollout: `sitekit rollout run --all --canary us-ashburn --jobs N` (per site a preview with the pack saving the
  plan, then `pulumi up --plan` of it, with the pack), waves as planned.
Wall and CPU seconds (this process's children) of each, and the load average. Aim: the rollout at most 1.3x the
sum of the plain updates' times, and under that sum with jobs.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

from fleet5 import WAVES, stamp_fleet  # noqa: E402

from sitekit import ROOT  # noqa: E402
from sitekit.engine.workspace import PACKAGE_ROOT, Workspace  # noqa: E402

ORDER = [s for wave in WAVES for s in wave]


def workspace(folder: Path) -> Workspace:
    ws = Workspace(ROOT, folder)
    ws.copy_project()
    stamp_fleet(ws.project)
    for site in ORDER:
        ws.init_stack(site)
    return ws


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.monotonic(), children_cpu()
    fn()
    return time.monotonic() - wall, children_cpu() - cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=HERE / "results/rollout.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sitekit-rollout-bench-") as tmp:
        plain_ws, rollout_ws = workspace(Path(tmp) / "plain"), workspace(Path(tmp) / "rollout")
        load = [os.getloadavg()[0]]
        per_site = {}

        def plain():
            for site in ORDER:
                def one(site=site):
                    ws_up = plain_ws.run(["up", "-s", site, "--yes", "--policy-pack", "policies", "--non-interactive"])
                    assert ws_up.returncode == 0, ws_up.output[-3000:]
                per_site[site] = timed(one)

        plain_wall, plain_cpu = timed(plain)
        load.append(os.getloadavg()[0])
        env = dict(rollout_ws.env(), PYTHONPATH=str(PACKAGE_ROOT))
        cmd = [sys.executable, "-c", "from sitekit.cli.main import app; app()", "rollout", "run", "--all",
               "--canary", "us-ashburn", "--jobs", str(args.jobs), "--max-parallel", str(args.jobs), "--no-progress"]

        def rollout():
            done = subprocess.run(cmd, cwd=rollout_ws.project, env=env, capture_output=True, text=True)
            assert done.returncode == 0, done.stdout + done.stderr

        roll_wall, roll_cpu = timed(rollout)
        load.append(os.getloadavg()[0])
    lines = [
        "# Rollout against plain updates (bench/rollout_bench.py)", "",
        f"Five sites, {os.cpu_count()} cores; load average (1 min) at start, between, end: "
        + ", ".join(f"{x:.1f}" for x in load) + ".", "",
        "| | wall s | CPU s |", "|---|---:|---:|",
        *[f"| plain `pulumi up --policy-pack` {s} | {w:.1f} | {c:.1f} |" for s, (w, c) in per_site.items()],
        f"| **plain, sum of the five** | {plain_wall:.1f} | {plain_cpu:.1f} |",
        f"| **`sitekit rollout run --jobs {args.jobs}`** (preview + saved plan + `up --plan`, 3 waves) "
        f"| {roll_wall:.1f} | {roll_cpu:.1f} |", "",
        f"Rollout / plain sum: wall {roll_wall / plain_wall:.2f}x, CPU {roll_cpu / plain_cpu:.2f}x "
        "(aim: at most 1.3x, and under the sum with jobs).", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
