"""Whether a site costs more for coming later: `policy --all --jobs 1` in this process over a project's sites,
each site's time (between consecutive completions) averaged over groups of ten.

    python bench/per_site.py [PROJECT]      # a project with many sites, e.g. one stamped by scale_bench.py

The first site is left out: it pays the imports.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sitekit.run import batch
from sitekit.spec.layout import list_sites


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    sites = list_sites(root)
    done: list[float] = []
    batch.run_sites(root, sites, "policy", jobs=1, use_cache=False, on_done=lambda s: done.append(time.perf_counter()))
    each = [b - a for a, b in zip(done, done[1:])]
    for lo in range(0, len(each), 10):
        group = each[lo:lo + 10]
        print(f"sites {lo + 2:3}-{lo + 1 + len(group):3}: {sum(group) / len(group) * 1000:6.0f} ms a site")


if __name__ == "__main__":
    main()
