"""Count what sitekit does with generated bad input: the families of tests/fuzzing.py, without stopping at a failure.

    python bench/fuzz_report.py [--examples 10000] [--newer-examples N] [--show 3]

Runs `--examples` seeded Hypothesis examples across every family (as tests/test_fuzz.py does), then every rule
case, hostile document and filesystem case on every file kind, in-process through `load_site` (the price catalog
through `load_prices`) in a scratch copy of the project; then the newer surfaces: `--newer-examples` (default a
third of `--examples`) generated peers' stack files, `new-site` command lines and preview documents, and every
case of their rules (a peer's malformed address plan, a bad `new-site` argument, a report path that cannot be
written, a malformed preview document). It prints the outcomes per family: ok, refused (every line
`file:line: ...`, at most 1,000 characters), bad-lines, crash (a traceback at the command line), hang (past
SITEKIT_FUZZ_HANG_SECONDS, default 5 s), accepted-invalid (a rule case loaded, or was refused without naming its
file and key; a price catalog that prices a plan negative or not finite), with a few examples of each failure,
and the distinct places (innermost sitekit frame) the crashes came from.

It only needs the entry points the commands use (`load_site`, `load_prices`, `load_preview`, `SideKeys`, the
`sitekit` app), so it can judge an older checkout too: `PYTHONPATH=/path/to/old/checkout python
bench/fuzz_report.py` (the report names the sitekit it imported).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "tests"))

from fuzzing import Case, Pristine, all_cases, exhaustive_cases, newer_cases, run_case, surface  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

import sitekit  # noqa: E402
from sitekit.spec.loader import load_site  # noqa: E402


def load(project: Path, site: str):
    try:  # an older sitekit cached the catalog per folder; forget it so a catalog case is seen
        from sitekit.spec.catalog import load_catalog

        getattr(load_catalog, "cache_clear", lambda: None)()
    except ImportError:
        pass
    return load_site(project, site)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--newer-examples", type=int, default=None, help="default: a third of --examples")
    parser.add_argument("--show", type=int, default=3, help="examples shown per failing outcome")
    args = parser.parse_args()
    root = Path(sitekit.__file__).resolve().parent.parent
    pristine = Pristine(root)
    counts: dict[str, Counter] = defaultdict(Counter)
    failures: dict[str, list[str]] = defaultdict(list)
    started, cpu = time.perf_counter(), time.process_time()
    slowest = [0.0, ""]
    places: Counter = Counter()
    newer = args.newer_examples if args.newer_examples is not None else args.examples // 3

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copy(root / name, project / name)
        for folder in ("stacks", "templates", "schema"):
            shutil.copytree(root / folder, project / folder)

        def judge(case: Case) -> None:
            outcome = run_case(project, pristine, case, load)
            counts[f"{surface(case)}/{case.family}"][outcome.kind] += 1
            if outcome.seconds > slowest[0]:
                slowest[:] = [outcome.seconds, repr(case)]
            if outcome.kind not in ("ok", "refused"):
                failures[f"{case.family}:{outcome.kind}"].append(f"{case!r}: {outcome.detail}")
            if outcome.where:
                places[outcome.where] += 1

        @settings(max_examples=args.examples, derandomize=True, database=None, deadline=None, print_blob=False,
                  suppress_health_check=list(HealthCheck))
        @given(case=all_cases(pristine))
        def generated(case: Case) -> None:
            judge(case)

        @settings(max_examples=newer, derandomize=True, database=None, deadline=None, print_blob=False,
                  suppress_health_check=list(HealthCheck))
        @given(case=newer_cases(pristine))
        def generated_newer(case: Case) -> None:
            judge(case)

        generated()
        generated_newer()
        for case in exhaustive_cases(pristine):
            judge(case)

    total, earlier = Counter(), Counter()
    loadavg = os.getloadavg()
    print(f"sitekit from {root}; {time.perf_counter() - started:.0f} s wall, {time.process_time() - cpu:.0f} s CPU; "
          f"load average {loadavg[0]:.2f}, {loadavg[1]:.2f}, {loadavg[2]:.2f}")
    for group in sorted(counts):
        total.update(counts[group])
        if group.startswith("earlier/"):
            earlier.update(counts[group])
        print(f"  {group:22} " + ", ".join(f"{k}={v}" for k, v in sorted(counts[group].items())))
    newer = total - earlier
    for name, tally in (("earlier surfaces", earlier), ("newer surfaces", newer), ("all", total)):
        print(f"  {name:22} " + ", ".join(f"{k}={v}" for k, v in sorted(tally.items())) + f"; inputs={sum(tally.values())}")
    print(f"  slowest: {slowest[0]:.2f} s ({slowest[1]})")
    print(f"  crashes in {len(places)} distinct places: " + ", ".join(f"{w} x{n}" for w, n in places.most_common()))
    for kind, examples in sorted(failures.items()):
        print(f"{kind}: {len(examples)}")
        for line in examples[: args.show]:
            print(f"    {line[:400]}")


if __name__ == "__main__":
    main()
