"""The engine next to the offline plan: `pulumi preview` of each shipped site (the real CLI, the stand-in OCI
provider, a local file backend) against `sitekit plan` of the same site, as a ratio, and the CLI build time.

    python bench/engine_bench.py [--site us-ashburn ...] [--repeat 3]

Both are whole commands as a user runs them, each in its own process, timed on the wall clock; the median of
`--repeat` runs is reported. The aim: an engine preview of one site within 3x `sitekit plan`. The build time is
the one `make pulumi` recorded (.pulumi/bin/.build-seconds) for the last compile of the CLI, and the time of a
`make pulumi` with nothing to do, measured here.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sitekit.engine.workspace import Workspace  # noqa: E402
from sitekit.spec.layout import list_sites  # noqa: E402


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", action="append", help="site(s) to measure (default: every shipped site)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sites = args.site or list_sites(ROOT)
    sitekit = str(Path(sys.executable).parent / "sitekit")

    build = ROOT / ".pulumi/bin/.build-seconds"
    noop = timed(lambda: subprocess.run([str(ROOT / "tools/pulumi/build.sh")], capture_output=True, check=True))
    print(f"CLI build (last compile, recorded by make pulumi): "
          f"{build.read_text().strip() + ' s' if build.exists() else 'not recorded'}; nothing to do: {noop:.1f} s")

    with tempfile.TemporaryDirectory(prefix="sitekit-engine-bench-") as tmp:
        ws = Workspace(ROOT, Path(tmp))
        ws.copy_project()
        print(f"{'site':14} {'sitekit plan':>13} {'pulumi preview':>15} {'ratio':>6}")
        ratios = []
        for site in sites:
            ws.init_stack(site)

            def plan(site=site):
                subprocess.run([sitekit, "plan", site, "--format", "json"], cwd=ROOT, capture_output=True, check=True)

            def preview(site=site):
                result = ws.run(["preview", "-s", site, "--json", "--non-interactive"])
                if result.returncode != 0:
                    raise SystemExit(f"pulumi preview -s {site} failed:\n{result.output[-2000:]}")

            offline = statistics.median(timed(plan) for _ in range(args.repeat))
            engine = statistics.median(timed(preview) for _ in range(args.repeat))
            ratios.append(engine / offline)
            print(f"{site:14} {offline:12.1f}s {engine:14.1f}s {engine / offline:5.2f}x")
        print(f"worst ratio {max(ratios):.2f}x (aim: at most 3x)")


if __name__ == "__main__":
    main()
