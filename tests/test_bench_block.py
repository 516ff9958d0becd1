"""The README's fleet-scale table is the benchmark's own block (`bench/scale_bench.py --write-readme`): its format
is checked here, never its numbers (those are measured, on a shared machine, and said with their load)."""

from __future__ import annotations

import importlib.util
import sys

from sitekit import ROOT


def bench():
    spec = importlib.util.spec_from_file_location("scale_bench", ROOT / "bench/scale_bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("scale_bench", module)
    spec.loader.exec_module(module)
    return module


def rows(block: str, b) -> list[dict[str, str]]:
    lines = block.splitlines()
    assert lines[0] == b.BEGIN and lines[-1] == b.END
    assert b.HEADER in lines, "the table's header"
    start = lines.index(b.HEADER) + 2
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        m = b.ROW.match(line)
        assert m, f"a row the benchmark does not write: {line}"
        table.append(m.groupdict())
    return table


def test_the_readme_block_is_the_benchmarks_and_parses():
    b = bench()
    text = (ROOT / "README.md").read_text()
    assert text.count(b.BEGIN) == 1 and text.count(b.END) == 1
    block = b.BEGIN + text.split(b.BEGIN)[1].split(b.END)[0] + b.END
    table = rows(block, b)
    commands = {r["command"] for r in table}
    for needed in ("policy --all --jobs 1", "policy --all --jobs 2", "plan --all --format json", "floor",
                   "review --mode offline"):
        assert needed in commands, needed
    assert all(float(r["cpu"]) > 0 and float(r["wall"]) > 0 for r in table if "warm" not in r["note"])
    assert "load" in block and "cores" in block


def test_the_block_written_is_the_block_read_and_only_it_is_replaced(tmp_path):
    b = bench()
    made = {10: [b.Measure("policy --all --jobs 1 (cold)", 4.8, 4.7, 1.04, 187.4, 187.0),
                 b.Measure("floor (typed registrations under mocks, frozen)", 3.6, 3.6, 1.05, 184, 184)],
            50: [b.Measure("policy --all --jobs 1 (cold)", 16.4, 16.5, 2.11, 188, 188)]}
    block = b.readme_block(made, ["1", "2"], 2)
    table = rows(block, b)
    assert [(r["sites"], r["command"], r["note"].strip(), r["cpu"]) for r in table] == [
        ("10", "policy --all --jobs 1", "(cold)", "4.7"), ("10", "floor", "(typed registrations under mocks, frozen)",
                                                           "3.6"),
        ("50", "policy --all --jobs 1", "(cold)", "16.5")]
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{b.BEGIN}\nold\n{b.END}\nafter\n")
    b.write_readme(readme, block)
    assert readme.read_text() == f"before\n{block}\nafter\n"


def test_rows_read_back_are_the_rows_written():
    b = bench()
    made = {10: [b.Measure("policy --all --jobs 1 (cold)", 4.8, 4.7, 1.04, 187, 187),
                 b.Measure("review --mode offline (warm, a change to one site)", 3.7, 3.6, 2.36, 277, 175)]}
    back = b.read_block(b.readme_block(made, ["1"], 2))
    assert [(m.label, m.wall, m.cpu, m.load) for m in back[10]] == [(m.label, m.wall, m.cpu, m.load) for m in made[10]]
