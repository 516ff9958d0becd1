"""Count what sitekit does with generated bad input: the families of tests/fuzzing.py, without stopping at a failure.

    python bench/fuzz_report.py [--examples 10000] [--show 3]

Runs `--examples` seeded Hypothesis examples across every family (as tests/test_fuzz.py does), then every rule
case, hostile document and filesystem case on every file kind, in-process through `load_site` in a scratch copy of
the project, and prints the outcomes per family: ok, refused (every line `file:line: ...`), bad-lines, crash (a
traceback at the command line), hang (past SITEKIT_FUZZ_HANG_SECONDS, default 5 s), accepted-invalid (a rule
case loaded, or was refused without naming its file and key), with a few examples of each failure.

It only needs `sitekit.spec.loader.load_site` and `sitekit.errors.SpecError`, so it can judge an older checkout too:
`PYTHONPATH=/path/to/old/checkout python bench/fuzz_report.py` (the report names the sitekit it imported).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE / "tests"))

from fuzzing import (  # noqa: E402
    FILES,
    FS_OPS,
    PROFILES,
    RULES,
    SITES,
    STACKS,
    Case,
    Pristine,
    all_cases,
    hostile_documents,
    rule_case,
    run_case,
)
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
    parser.add_argument("--show", type=int, default=3, help="examples shown per failing outcome")
    args = parser.parse_args()
    root = Path(sitekit.__file__).resolve().parent.parent
    pristine = Pristine(root)
    counts: dict[str, Counter] = defaultdict(Counter)
    failures: dict[str, list[str]] = defaultdict(list)
    started = time.perf_counter()
    slowest = [0.0, ""]

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp)
        for name in ("Pulumi.yaml", "__main__.py"):
            shutil.copy(root / name, project / name)
        for folder in ("stacks", "templates", "schema"):
            shutil.copytree(root / folder, project / folder)

        def judge(case: Case) -> None:
            outcome = run_case(project, pristine, case, load)
            counts[case.family][outcome.kind] += 1
            if outcome.seconds > slowest[0]:
                slowest[:] = [outcome.seconds, repr(case)]
            if outcome.kind not in ("ok", "refused"):
                failures[f"{case.family}:{outcome.kind}"].append(f"{case!r}: {outcome.detail}")

        @settings(max_examples=args.examples, derandomize=True, database=None, deadline=None, print_blob=False,
                  suppress_health_check=list(HealthCheck))
        @given(case=all_cases(pristine))
        def generated(case: Case) -> None:
            judge(case)

        generated()
        for name, _, values in RULES:
            for i in range(len(values)):
                for site in sorted(SITES):
                    judge(rule_case(pristine, site, name, i))
        for file in FILES:
            site = STACKS.get(file) or PROFILES.get(file) or "us-ashburn"
            for name, content in sorted(hostile_documents(file, pristine.raw[file]).items()):
                judge(Case("hostile", file, site, content, note=name))
            for op in FS_OPS:
                judge(Case("fs", file, site, fs=op, note=op))

    total = Counter()
    print(f"sitekit from {root}; {time.perf_counter() - started:.0f} s")
    for family in sorted(counts):
        total.update(counts[family])
        print(f"  {family:8} " + ", ".join(f"{k}={v}" for k, v in sorted(counts[family].items())))
    print(f"  {'all':8} " + ", ".join(f"{k}={v}" for k, v in sorted(total.items())) + f"; inputs={sum(total.values())}")
    print(f"  slowest: {slowest[0]:.2f} s ({slowest[1]})")
    for kind, examples in sorted(failures.items()):
        print(f"{kind}: {len(examples)}")
        for line in examples[: args.show]:
            print(f"    {line[:400]}")


if __name__ == "__main__":
    main()
