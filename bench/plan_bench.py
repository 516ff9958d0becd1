"""Plan time and peak memory of one site against a floor measured in the same run.

    python bench/plan_bench.py [--site us-ashburn] [--repeat 3] [--profile]

Each measurement runs in its own process (a fresh interpreter, as `sitekit plan` runs) and is repeated;
the median is reported. Peak memory is the child's own maximum RSS, read with os.wait4 (the per-child form
of getrusage's children maxrss, which would otherwise keep the maximum over all earlier children).

- sitekit: `plan_site(root, site)`: load and validate the spec, run the real `__main__.py` under the
  SDK's mocks with the recording monitor.
- floor: a bare program under the same mocks and monitor that imports the same pulumi_oci modules and
  registers the same number of resources with the same type tokens (plain CustomResource,
  ComponentResource and ProviderResource registrations, no inputs), i.e. what the mocks cost at all.

The aim is a ratio of at most 1.5x on wall time. `--profile` adds a cProfile of one sitekit run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------------------------- children
def child_sitekit(site: str, profile: str | None) -> dict:
    start = time.perf_counter()
    from sitekit.run.offline import plan_site

    imported = time.perf_counter()
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        plan = profiler.runcall(plan_site, ROOT, site)
        profiler.dump_stats(profile)
    else:
        plan = plan_site(ROOT, site)
    done = time.perf_counter()
    return {"imports": imported - start, "run": done - imported,
            "resources": [[r.type, r.custom] for r in plan.resources]}


def child_floor(site: str, resources_file: str) -> dict:
    start = time.perf_counter()
    import importlib

    import pulumi
    import pulumi_oci
    from pulumi.runtime import settings as pulumi_settings

    from sitekit.run.offline import RecordingMonitor, SiteMocks

    resources = json.loads(Path(resources_file).read_text())
    # Load the pulumi_oci classes of the same type tokens (their modules load lazily, on first attribute).
    source = Path(pulumi_oci.__file__).read_text()
    table = json.loads(re.search(r'resource_modules="""(.*?)"""', source, re.S).group(1))
    classes = {token: (m["fqn"], cls) for m in table for token, cls in m["classes"].items()}
    for module, cls in {classes[t] for t, _ in resources if t in classes}:
        getattr(importlib.import_module(module), cls)
    imported = time.perf_counter()

    monitor = RecordingMonitor(SiteMocks("us-ashburn-1"))
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(monitor.mocks, project="sitekit", stack=site, preview=False, monitor=monitor)

    @pulumi.runtime.test
    def run():
        for i, (type_, custom) in enumerate(resources):
            name = f"r{i}"
            if type_.startswith("pulumi:providers:"):
                pulumi.ProviderResource(type_.rsplit(":", 1)[1], name, {"region": "us-ashburn-1"})
            elif custom:
                pulumi.CustomResource(type_, name, {})
            else:
                pulumi.ComponentResource(type_, name)

    run()
    done = time.perf_counter()
    assert len(monitor.registered) == len(resources), (len(monitor.registered), len(resources))
    return {"imports": imported - start, "run": done - imported, "count": len(monitor.registered)}


# ----------------------------------------------------------------------------------------------- parent
def measure(args: list[str]) -> tuple[float, float, dict]:
    """Run this script as a child; return (wall seconds, peak RSS MB, the child's JSON report)."""
    with tempfile.TemporaryFile() as err:  # the SDK's event loop complains at exit; shown only on failure
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, stderr=err, cwd=ROOT)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"child {args} failed with {proc.returncode}:\n{err.read().decode()}")
    peak_kb = usage.ru_maxrss  # kilobytes on Linux
    return wall, peak_kb / 1024, json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", default="us-ashburn")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also cProfile one sitekit run and print the top")
    parser.add_argument("--child", choices=["sitekit", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--resources", help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    opts = parser.parse_args()

    if opts.child == "sitekit":
        sys.stdout.write(json.dumps(child_sitekit(opts.site, opts.profile_to)))
        return
    if opts.child == "floor":
        sys.stdout.write(json.dumps(child_floor(opts.site, opts.resources)))
        return

    results: dict[str, list[tuple[float, float, dict]]] = {"sitekit": [], "floor": []}
    resources_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"sitekit-bench-{os.getpid()}.json"
    try:
        for _ in range(opts.repeat):  # interleaved, so drift on the machine hits both alike
            wall, peak, report = measure(["--child", "sitekit", "--site", opts.site])
            results["sitekit"].append((wall, peak, report))
            resources_file.write_text(json.dumps(report["resources"]))
            results["floor"].append(measure(["--child", "floor", "--site", opts.site,
                                             "--resources", str(resources_file)]))
    finally:
        resources_file.unlink(missing_ok=True)

    count = len(results["sitekit"][0][2]["resources"])
    types = len({t for t, _ in results["sitekit"][0][2]["resources"]})
    med = {k: {"wall": statistics.median(r[0] for r in rs), "peak": statistics.median(r[1] for r in rs),
               "inside": statistics.median(r[2]["imports"] + r[2]["run"] for r in rs)} for k, rs in results.items()}
    print(f"site {opts.site}: {count} resources of {types} types; median of {opts.repeat} runs, each in a fresh process")
    print(f"{'':10} {'process s':>10} {'in-process s':>13} {'peak RSS MB':>12}")
    for k in ("sitekit", "floor"):
        m = med[k]
        print(f"{k:10} {m['wall']:10.2f} {m['inside']:13.2f} {m['peak']:12.1f}")
    s, f = med["sitekit"], med["floor"]
    ratio = s["wall"] / f["wall"]
    print(f"{'ratio':10} {ratio:9.2f}x {s['inside'] / f['inside']:12.2f}x {s['peak'] / f['peak']:11.2f}x")
    print(f"process-time ratio {ratio:.2f}x: {'within' if ratio <= 1.5 else 'ABOVE'} the 1.5x aim "
          "(in-process excludes interpreter start-up and exit)")

    if opts.profile:
        import pstats

        stats_file = resources_file.with_suffix(".prof")
        measure(["--child", "sitekit", "--site", opts.site, "--profile-to", str(stats_file)])
        print("\nprofile of one sitekit plan (cumulative, top 25):")
        pstats.Stats(str(stats_file)).sort_stats("cumulative").print_stats(25)
        stats_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
