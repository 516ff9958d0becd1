"""The house's guard rails (README "The layout"): import contracts, no import circles, imports inside functions
only to defer heavy modules (and marked so), and ruff's small rule set. Each fails naming what to fix."""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import grimp
import pytest

from sitekit import ROOT

PACKAGE = ROOT / "sitekit"
BIN = Path(sys.executable).parent
HEAVY = ("pulumi", "pulumi_oci", "pulumi_policy")
"""Third-party packages worth deferring: each costs 0.5-1 s to import, and most commands never need them."""
MARK = "heavy: deferred"
TREE_UNDER_REVIEW = {"sitekit/run/snapshot.py": "the tree's own"}
"""Modules that import another tree's sitekit inside functions on purpose, and the mark they carry there."""


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        out[name] = path
    return out


def _targets(node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    return [base] + [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    return {id(m) for n in ast.walk(tree) if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)
            for m in ast.walk(n)}


@lru_cache(maxsize=1)
def _heavy_modules() -> frozenset[str]:
    """sitekit modules whose import (through top-level imports) loads a HEAVY package."""
    modules = _modules()
    top = {name: [t for n in ast.parse(p.read_text()).body if isinstance(n, (ast.Import, ast.ImportFrom))
                  for t in _targets(n, modules)] for name, p in modules.items()}
    heavy: set[str] = set()
    grew = True
    while grew:
        grew = False
        for name, targets in top.items():
            if name not in heavy and any(t.split(".")[0] in HEAVY or t in heavy for t in targets):
                heavy.add(name)
                grew = True
    return frozenset(heavy)


def _inner_imports():
    modules = _modules()
    for name, path in modules.items():
        source = path.read_text()
        tree = ast.parse(source)
        skip = _type_checking_nodes(tree)
        lines = source.splitlines()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and node.col_offset > 0 and id(node) not in skip:
                text = " ".join(lines[node.lineno - 1:node.end_lineno])
                yield path.relative_to(ROOT).as_posix(), node.lineno, text, _targets(node, modules)


def test_imports_inside_functions_only_defer_heavy_modules_and_say_so():
    heavy = _heavy_modules()
    wrong = []
    for file, line, text, targets in _inner_imports():
        if file in TREE_UNDER_REVIEW:
            if TREE_UNDER_REVIEW[file] not in text:
                wrong.append(f"{file}:{line}: an import of the tree under review must say '{TREE_UNDER_REVIEW[file]}'")
            continue
        is_heavy = any(t.split(".")[0] in HEAVY or t in heavy for t in targets)
        if not is_heavy:
            wrong.append(f"{file}:{line}: {text.strip()} is not heavy (loads none of {', '.join(HEAVY)}): "
                         "import it at the top of the module")
        elif MARK not in text:
            wrong.append(f"{file}:{line}: a deferred import of a heavy module is marked '# {MARK}'")
    assert not wrong, "\n".join(wrong)


def test_the_check_of_deferred_imports_can_fail(tmp_path, monkeypatch):
    """The rule above catches an unmarked or needless import inside a function (so it is not vacuous)."""
    bad = PACKAGE / "spec" / "_layout_probe.py"
    bad.write_text("def f():\n    from sitekit.errors import SpecError\n    return SpecError\n")
    try:
        _heavy_modules.cache_clear()
        with pytest.raises(AssertionError, match="_layout_probe.py:2: .* is not heavy"):
            test_imports_inside_functions_only_defer_heavy_modules_and_say_so()
    finally:
        bad.unlink()
        _heavy_modules.cache_clear()


def test_no_import_circles():
    """Not one cycle between modules (the layers contract forbids them between folders; this, inside one)."""
    graph = grimp.build_graph("sitekit")
    circles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported != module and graph.find_shortest_chain(imported, module):
                circles.append(f"{module} -> {imported} -> ... -> {module}")
    assert not circles, "import circles:\n" + "\n".join(circles)


def test_import_contracts_hold():
    """pyproject.toml's [tool.importlinter] contracts: folders by step of the flow, imports only downward."""
    run = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def test_ruff_finds_nothing():
    """pyproject.toml's [tool.ruff] rule set over the package, the tests, the benches and the pack."""
    run = subprocess.run([str(BIN / "ruff"), "check", "--no-cache", "sitekit", "tests", "bench", "policies",
                          "__main__.py"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def test_every_module_says_which_step_it_is():
    """Each module and package opens with a docstring saying which step it is (the first thing a newcomer reads)."""
    missing = [p.relative_to(ROOT).as_posix() for p in _modules().values()
               if ast.get_docstring(ast.parse(p.read_text())) is None]
    assert not missing, "modules without a docstring: " + ", ".join(missing)
