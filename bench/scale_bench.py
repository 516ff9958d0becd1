"""Fleet scale: N stamped sites (`sitekit new-site` in a scratch copy) through `plan --all`, `policy --all` and
`review`, cold and warm, next to a floor, as ratios; results written to a file the README quotes.

    python bench/scale_bench.py [--sizes 1,10,50] [--out bench/results/scale.md] [--engine-site]

For each N, in a scratch copy whose only sites are N stamped ones (jurisdictions and regions in turn), each
command runs as a user runs it, in its own process, with a fresh plan cache:
- `policy --all --jobs 1` cold, next to the floor: one process that registers the same typed pulumi_oci
  resources with the same inputs (the plans' own registrations replayed through the pulumi_oci classes, under
  the same mocks), and nothing else: no spec, no components, no rules; it settles the collector as sitekit does
  (imported objects frozen after the imports and after the first site, when pulumi_oci's lazy modules are in);
  the two run in turn `--repeat` times (default 3) and the ratio is the median of the pairs' ratios, so a noisy
  spell on a shared machine weighs on both sides;
- `policy --all` and `plan --all` with the default jobs (the core count), cold; both again warm (nothing changed);
- `review --mode offline` of a change every site inherits (a baseline edit), cold and warm, and of a change to one
  site, warm;
- with --engine-site, `review --mode engine` of that one-site change (per site: a base `pulumi up` and a head
  `pulumi preview` through the stand-in provider).
Peak memory is the largest sum of the RSS of the command's process tree, sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITEKIT = str(Path(sys.executable).parent / "sitekit")
PLACES = [("us", "us-ashburn-1"), ("br", "sa-saopaulo-1"), ("de", "eu-frankfurt-1"), ("ae", "me-dubai-1"),
          ("us", "us-phoenix-1"), ("br", "sa-vinhedo-1"), ("de", "eu-stockholm-1"), ("ae", "me-abudhabi-1"),
          ("us", "us-chicago-1"), ("us", "us-sanjose-1")]


# ------------------------------------------------------------------------------------------------ measuring
def _tree_rss_kb(pid: int) -> int:
    """RSS of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            with open(f"/proc/{p}/status") as fh:
                total += next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
        except (OSError, StopIteration, ValueError):
            pass
    return total


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak tree RSS MB, stdout) of a command; exits on failure."""
    peak = [0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
    return wall, peak[0] / 1024, out


# ------------------------------------------------------------------------------------------------ scratch
def scratch_fleet(folder: Path, n: int) -> Path:
    """A project copy whose sites are N stamped by new-site, committed to git (for review)."""
    for name in ("Pulumi.yaml", "__main__.py", "pyproject.toml"):
        shutil.copy(ROOT / name, folder / name)
    for sub in ("stacks", "templates", "schema", "policies", "sitekit"):
        shutil.copytree(ROOT / sub, folder / sub, ignore=shutil.ignore_patterns("__pycache__"))
    for stack in (folder / "stacks").glob("Pulumi.*.yaml"):
        stack.unlink()
    for i in range(n):
        code, region = PLACES[i % len(PLACES)]
        # Germany's profile sets EnEfG § 11 limits by commissioning day (issue 22): its sites state one, at PUE 1.2
        energy = ["--pue", "1.2", "--commissioned", "2027-01-01", "--energy-reuse", "0.2"] if code == "de" else \
            ["--pue", "1.25"]
        subprocess.run([SITEKIT, "new-site", f"s{i:02d}-{code}", "-j", code, "-r", region, "--power-mw", "20",
                        *energy], cwd=folder, check=True, capture_output=True)
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "user.email=b@example.com", "-c", "user.name=b", "commit", "-qm", "fleet"]):
        subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)
    return folder


# ------------------------------------------------------------------------------------------------ floor
def floor_child(plans_file: str) -> None:
    """Register the plans' resources through the pulumi_oci classes with the same inputs, under the same mocks."""
    import gc
    import importlib

    import pulumi
    from pulumi.runtime import settings as pulumi_settings

    from sitekit.engine.schema import args_class, schema_of
    from sitekit.run.offline import RecordingMonitor, SiteMocks

    plans = json.loads(Path(plans_file).read_text())
    gc.freeze()
    start = time.perf_counter()
    total = 0
    for plan in plans:
        monitor = RecordingMonitor(SiteMocks("us-ashburn-1"), stack=plan["site"])
        pulumi_settings.ROOT.set(None)
        pulumi.runtime.set_mocks(monitor.mocks, project="sitekit", stack=plan["site"], preview=False, monitor=monitor)

        @pulumi.runtime.test
        def replay(plan=plan):
            made: dict[str, pulumi.Resource] = {}
            for r in plan["resources"]:
                parent = made.get(r["parent"])
                provider = made.get((r["provider"] or "").rsplit("::", 1)[0])
                opts = pulumi.ResourceOptions(parent=parent, provider=provider, protect=r["protect"] or None)
                if not r["custom"]:
                    made[r["urn"]] = pulumi.ComponentResource(r["type"], r["name"], None, opts)
                    continue
                cls_args = args_class(r["type"])
                schema = schema_of(r["type"])
                kwargs = {schema.fields[k].py_name: v for k, v in r["inputs"].items()
                          if v != "[secret]" and k in schema.fields}
                module = importlib.import_module(cls_args.__module__.rsplit(".", 1)[0]) \
                    if r["type"] != "pulumi:providers:oci" else importlib.import_module("pulumi_oci")
                cls = getattr(module, cls_args.__name__[:-4])
                made[r["urn"]] = cls(r["name"], opts=opts, **kwargs)

        replay()
        total += len(monitor.registered)
        if plan is plans[0]:  # the lazily loaded pulumi_oci modules are in: never garbage
            gc.collect()
            gc.freeze()
    sys.stdout.write(json.dumps({"registered": total, "seconds": time.perf_counter() - start}))


def marginal_lines(rows: list[dict]) -> list[str]:
    """What one more site costs between consecutive sizes (the imports, paid once, drop out), for `policy --all
    --jobs 1` and the floor, and how flat it stays: the largest step's cost over the smallest's."""
    if len(rows) < 2:
        return []
    lines = [""]
    for label in ("policy --all -j1 cold", "floor"):
        steps = [((a["sites"], b["sites"]), (b[label] - a[label]) / (b["sites"] - a["sites"]))
                 for a, b in zip(rows, rows[1:])]
        costs = [c for _, c in steps]
        spread = max(costs) / min(costs) if min(costs) > 0 else float("inf")
        lines.append(f"Marginal cost of one more site, `{label}`: " +
                     ", ".join(f"{a} to {b} sites {c:.2f} s" for (a, b), c in steps) +
                     f" (largest / smallest {spread:.2f})")
    return lines


# ------------------------------------------------------------------------------------------------ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,10,50")
    parser.add_argument("--out", default=str(ROOT / "bench/results/scale.md"))
    parser.add_argument("--engine-site", action="store_true", help="also time engine-mode review of one site")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of `policy --all --jobs 1` and the floor, in turn (medians; default 3)")
    parser.add_argument("--floor-child", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.floor_child:
        floor_child(opts.floor_child)
        return

    cores = len(os.sched_getaffinity(0))
    rows = []
    for n in [int(x) for x in opts.sizes.split(",")]:
        with tempfile.TemporaryDirectory(prefix=f"sitekit-scale-{n}-") as tmp:
            (Path(tmp) / "fleet").mkdir()
            project = scratch_fleet(Path(tmp) / "fleet", n)
            cache = Path(tmp) / "cache"
            env = dict(os.environ, SITEKIT_CACHE_DIR=str(cache), NO_COLOR="1")
            row: dict[str, object] = {"sites": n}

            def measure(label: str, *args: str, fresh: bool = False) -> tuple[float, float, str]:
                if fresh:
                    shutil.rmtree(cache, ignore_errors=True)
                wall, peak, out = run([SITEKIT, *args, "--no-progress"], project, env)
                row[label] = round(wall, 1)
                row[label + " MB"] = round(peak)
                print(f"  N={n:3} {label:28} {wall:7.1f} s  {peak:7.0f} MB", flush=True)
                return wall, peak, out

            _, _, plans_json = measure("plan --all cold", "plan", "--all", "--format", "json", fresh=True)
            plans_file = Path(tmp) / "plans.json"
            plans_file.write_text(json.dumps(json.loads(plans_json)["sites"]))
            pairs = []  # the ratio's two sides, in turn, so a noisy spell on a shared machine hits both
            for _ in range(opts.repeat):
                mine = run([SITEKIT, "policy", "--all", "--jobs", "1", "--no-cache", "--no-progress"], project, env)
                floor = run([sys.executable, __file__, "--floor-child", str(plans_file)], ROOT, env)
                pairs.append((mine, floor))
                print(f"  N={n:3} {'policy --all -j1 cold':28} {mine[0]:7.1f} s  {mine[1]:7.0f} MB   "
                      f"floor {floor[0]:7.1f} s  {floor[1]:7.0f} MB", flush=True)
            for label, side in (("policy --all -j1 cold", 0), ("floor", 1)):
                row[label] = round(statistics.median(p[side][0] for p in pairs), 1)
                row[label + " MB"] = round(max(p[side][1] for p in pairs))
            measure("plan --all warm", "plan", "--all")
            measure("policy --all cold", "policy", "--all", fresh=True)
            measure("policy --all warm", "policy", "--all")
            baseline = project / "stacks/baseline.yaml"
            original = baseline.read_text()
            baseline.write_text(original.replace("costCentre: ai-infrastructure", "costCentre: ai-platform"))
            measure("review every site cold", "review", "--mode", "offline", "--format", "json", fresh=True)
            measure("review every site warm", "review", "--mode", "offline", "--format", "json")
            baseline.write_text(original)
            stack = project / "stacks/Pulumi.s00-us.yaml"  # one site's first pool shrinks by 8 nodes
            stack.write_text(re.sub(r"nodes: (\d+)", lambda m: f"nodes: {int(m.group(1)) - 8}", stack.read_text(), count=1))
            measure("review one site warm", "review", "--mode", "offline", "--format", "json")
            if opts.engine_site:
                measure("review one site engine", "review", "s00-us", "--mode", "engine", "--format", "json")
            ratios = sorted(mine[0] / floor[0] for mine, floor in pairs)
            row["floor ratio (policy -j1 / floor, median of pairs)"] = round(statistics.median(ratios), 2)
            row["floor ratio range"] = f"{ratios[0]:.2f}-{ratios[-1]:.2f}"
            rows.append(row)

    out = Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    labels = [k for k in rows[0] if k != "sites"]
    lines = [f"# sitekit at fleet scale ({time.strftime('%Y-%m-%d')}, {cores} cores, `python bench/scale_bench.py`)", "",
             "Seconds (wall) and MB (peak RSS of the whole process tree); cold = empty plan cache, warm = nothing "
             "changed since the run before. Default jobs = the core count. `policy --all -j1` and the floor ran "
             f"{opts.repeat} times each, in turn: their medians, and the median and range of the pairs' ratios.", "",
             "| " + " | ".join(["sites"] + labels) + " |", "|" + "---:|" * (len(labels) + 1)]
    lines += ["| " + " | ".join(str(r.get(k, "")) for k in ["sites"] + labels) + " |" for r in rows]
    lines += marginal_lines(rows)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
