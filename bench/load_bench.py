"""Time to load every shipped site 20 times in one process, and how many YAML documents that parses.

    python bench/load_bench.py [--rounds 20] [--repeat 3]

`load_site` for each site in stacks/, `--rounds` times, repeated `--repeat` times; the best and the median
are printed. Parses are counted at libyaml's and PyYAML's composers and at sitekit's own reader, whichever
the checkout uses, so an older checkout can be measured too: `PYTHONPATH=/path/to/checkout python
bench/load_bench.py` (the report names the sitekit it imported).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import yaml
import yaml.composer

import sitekit
from sitekit.spec import sources
from sitekit.spec.layout import list_sites
from sitekit.spec.loader import load_site

PARSES = [0]


def _counting(owner: object, name: str) -> None:
    real = getattr(owner, name)

    def counted(*args, **kwargs):
        PARSES[0] += 1
        return real(*args, **kwargs)

    setattr(owner, name, counted)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = Path(sitekit.__file__).resolve().parent.parent
    _counting(yaml.composer.Composer, "compose_document")  # PyYAML's pure-Python composer
    if hasattr(sources, "_parse"):
        _counting(sources, "_parse")  # sitekit's libyaml event reader
    sites = list_sites(root)
    runs = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        for _ in range(args.rounds):
            for site in sites:
                load_site(root, site)
        runs.append(time.perf_counter() - started)
    loads = args.rounds * args.repeat * len(sites)
    print(f"sitekit from {root}: {len(sites)} sites x {args.rounds} rounds: best {min(runs):.3f} s, median "
          f"{statistics.median(runs):.3f} s ({min(runs) / (args.rounds * len(sites)) * 1000:.1f} ms a load); "
          f"{PARSES[0]} YAML parses in {loads} loads")


if __name__ == "__main__":
    main()
