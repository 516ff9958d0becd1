"""Fail fixtures: each folder of tests/fixtures/fail/ is a small bad input beside its exact expected errors.

A case folder holds `Pulumi.<case>.yaml` (and optionally other files, copied under stacks/ with their
relative paths, e.g. a bad `jurisdictions/xx.yaml`) and `expected.txt`: the lines `sitekit plan <case>`
must print on stderr, `file:line: dotted.key: what is wrong`, with exit code 2 and no traceback.

A case whose input must be large (a file over the size bound) holds `repeat.txt`: a count on its first line,
then text that is appended that many times to `Pulumi.<case>.yaml` when the case is installed.

A case about a file that `sitekit plan` does not read (the price catalog, which fleet and review read) holds
`args.txt`: the command line to run instead of `plan <case>` (then `Pulumi.<case>.yaml` is optional).

A line in a shipped file the case does not own (a jurisdiction profile's lock) is written
`{{stacks/jurisdictions/ar.yaml|- key: jurisdiction.vault.type}}`: the file and the first line holding that
text, so editing the profile above it does not break the case. Everything else is literal.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sitekit.cli.main import app
from sitekit.errors import SpecError
from sitekit.spec.loader import load_site

FAIL = Path(__file__).parent / "fixtures" / "fail"
CASES = sorted(p.name for p in FAIL.iterdir() if p.is_dir())


def install(case: str, project: Path) -> list[str]:
    """Copy the case's files into the project's stacks/ folder; return its expected lines."""
    folder = FAIL / case
    for path in folder.rglob("*"):
        if path.is_file() and path.name not in ("expected.txt", "repeat.txt", "args.txt"):
            target = project / "stacks" / path.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    if (folder / "repeat.txt").is_file():
        count, _, text = (folder / "repeat.txt").read_text(encoding="utf-8").partition("\n")
        with (project / "stacks" / f"Pulumi.{case}.yaml").open("a", encoding="utf-8") as fh:
            fh.write(text * int(count))
    text = (folder / "expected.txt").read_text(encoding="utf-8")
    return REF.sub(lambda m: f"{m[1]}:{line_of(project / m[1], m[2])}", text).splitlines()


REF = re.compile(r"\{\{([^|}]+)\|([^}]+)\}\}")


def line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def args(case: str) -> list[str]:
    """The command line a case runs: `plan <case>`, or the case's args.txt."""
    given = FAIL / case / "args.txt"
    return given.read_text(encoding="utf-8").split() if given.is_file() else ["plan", case]


def test_every_case_is_complete():
    assert len(CASES) >= 12
    for case in CASES:
        assert (FAIL / case / f"Pulumi.{case}.yaml").is_file() or (FAIL / case / "args.txt").is_file(), case
        assert (FAIL / case / "expected.txt").read_text().strip(), case


@pytest.mark.parametrize("case", CASES)
def test_fail_fixture(case, project, monkeypatch):
    expected = install(case, project)
    monkeypatch.chdir(project)
    result = CliRunner().invoke(app, args(case))
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # exited on purpose, not a crash
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == expected


@pytest.mark.parametrize("case", ["several-problems", "locked-key", "bad-cidr"])
def test_load_site_raises_the_same_problems(case, project):
    """The library raises what the CLI prints: one SpecError carrying every problem."""
    expected = install(case, project)
    with pytest.raises(SpecError) as info:
        load_site(project, case)
    assert [str(p) for p in info.value.problems] == expected
