"""`sitekit drift` of N deployed sites with the default jobs, against the same refreshes run one by one, in one run.

    python bench/drift_bench.py [--sites 10] [--repeat 1]

One site (us-ashburn) is deployed with `pulumi up` into a throwaway file backend through the stand-in OCI
provider; its state is then copied under N stack names (URNs rewritten, each with a copy of its stack file), so
the refreshes read N full sites without N deployments. Both sides run the command a user runs (`sitekit drift
--all -f json`, in the scratch project, with the workspace's environment): once with `--jobs` left to its
default, once with `--jobs 1`. Reported: wall seconds, CPU seconds of the children (user + system), the load
average before each side, and the ratio. The stand-in answers from the local machine; against OCI a refresh
waits on the API, which favours parallel runs more than here.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sitekit.engine.workspace import Workspace  # noqa: E402
from sitekit.run.batch import default_jobs  # noqa: E402

SEED = "us-ashburn"
SITEKIT = str(Path(sys.executable).parent / "sitekit")


def clone(ws: Workspace, n: int) -> list[str]:
    """N stacks holding the seed's state under their own names, each with a stack file."""
    state = ws.run(["stack", "export", "-s", SEED], check=True).stdout
    names = []
    for i in range(1, n + 1):
        name = f"bench-{i:02d}"
        shutil.copy(ws.project / f"stacks/Pulumi.{SEED}.yaml", ws.project / f"stacks/Pulumi.{name}.yaml")
        ws.run(["stack", "init", name, "--non-interactive"], check=True)
        ws.run(["stack", "import", "-s", name, "--force"], check=True,
               input=state.replace(f"urn:pulumi:{SEED}::", f"urn:pulumi:{name}::"))
        names.append(name)
    return names


def measure(ws: Workspace, names: list[str], jobs: int | None) -> dict:
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    args = [SITEKIT, "drift", *names, "-f", "json", "--no-progress"] + (["--jobs", str(jobs)] if jobs else [])
    done = subprocess.run(args, cwd=ws.project, env=dict(ws.env(), PYTHONPATH=str(ROOT)), capture_output=True,
                          text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and all(s["status"] == "clean" for s in report["sites"]), done.stderr[-2000:]
    return {"wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "load": load, "sites": len(report["sites"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sitekit-drift-bench-") as tmp:
        ws = Workspace(ROOT, Path(tmp))
        ws.copy_project()
        ws.init_stack(SEED)
        up = ws.up(SEED)
        assert up.returncode == 0, up.output[-2000:]
        names = clone(ws, args.sites)
        print(f"{len(names)} deployed sites (clones of {SEED}), {default_jobs()} cores; default jobs = "
              f"{default_jobs()}")
        print("| run | jobs | wall s | CPU s | load before |")
        print("|---|---:|---:|---:|---:|")
        for r in range(args.repeat):
            parallel = measure(ws, names, None)
            serial = measure(ws, names, 1)
            for label, m, jobs in (("default jobs", parallel, default_jobs()), ("one by one", serial, 1)):
                print(f"| {r + 1} {label} | {jobs} | {m['wall']:.1f} | {m['cpu']:.1f} | {m['load']:.2f} |")
            print(f"ratio (one by one / default jobs), wall: {serial['wall'] / parallel['wall']:.2f}; "
                  f"per site at default jobs: {parallel['wall'] / len(names):.2f} s")


if __name__ == "__main__":
    main()
