"""The layout in numbers (README "The layout"): files and lines per folder, import circles, imports inside
functions (outside `if TYPE_CHECKING:`; and how many are marked as deferring a heavy module), for the working tree and for a git revision.

    python bench/layout_stats.py                      # the working tree
    python bench/layout_stats.py --rev fd26efd        # and a revision beside it (e.g. the last flat layout)

A revision is exported into a temporary folder and measured in a fresh interpreter that sees only its sitekit,
so circles are counted in that revision's own import graph (grimp, as import-linter builds it).
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(tree: Path) -> dict:
    """Files and lines per folder, inner imports (all, marked), and the modules in import circles."""
    import grimp

    folders: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    inner = marked = 0
    for path in sorted((tree / "sitekit").rglob("*.py")):
        rel = path.relative_to(tree / "sitekit")
        folder = "sitekit/" + (rel.parts[0] + "/" if len(rel.parts) > 1 else "")
        text = path.read_text()
        folders[folder][0] += 1
        folders[folder][1] += len(text.splitlines())
        lines = text.splitlines()
        tree_ = ast.parse(text)
        typing_only = {id(m) for n in ast.walk(tree_) if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)
                       for m in ast.walk(n)}
        for node in ast.walk(tree_):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and node.col_offset > 0 and id(node) not in typing_only:
                inner += 1
                marked += "heavy: deferred" in " ".join(lines[node.lineno - 1:node.end_lineno])
    graph = grimp.build_graph("sitekit")
    in_circles = sorted(m for m in graph.modules
                        if any(graph.find_shortest_chain(i, m) for i in graph.find_modules_directly_imported_by(m)
                               if i != m))
    return {"folders": {k: folders[k] for k in sorted(folders)}, "inner": inner, "marked": marked,
            "inCircles": in_circles}


def measure_rev(rev: str) -> dict:
    """`measure` of a revision, in a fresh interpreter whose `sitekit` is that revision's (PYTHONPATH first)."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        out = subprocess.run([sys.executable, __file__, "--tree", tmp], check=True, capture_output=True, text=True,
                             cwd=tmp, env={"PYTHONPATH": tmp, "PATH": "/usr/bin:/bin"}).stdout
        return json.loads(out)


def table(stats: dict, title: str) -> str:
    rows = [f"| {title} | files | lines |", "|---|---:|---:|"]
    rows += [f"| `{k}` | {f} | {n:,} |" for k, (f, n) in stats["folders"].items()]
    total_f = sum(f for f, _ in stats["folders"].values())
    total_n = sum(n for _, n in stats["folders"].values())
    rows.append(f"| total | {total_f} | {total_n:,} |")
    rows.append("")
    rows.append(f"Modules in import circles: {len(stats['inCircles'])}. Imports inside functions: {stats['inner']} "
                f"({stats['marked']} marked `heavy: deferred`).")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="also measure this git revision")
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)  # measure_rev's own call: JSON of one tree
    args = parser.parse_args()
    if args.tree:
        print(json.dumps(measure(args.tree)))
        return
    print(table(measure(ROOT), "working tree"))
    if args.rev:
        print()
        print(table(measure_rev(args.rev), f"`{args.rev}`"))


if __name__ == "__main__":
    main()
