"""The registries of output formats (sitekit/cli/formats.py): every registered renderer exists with the shape
its registry line says, each command's `--format` offers exactly its report's formats with the same default,
and the CLI builds those options without importing a renderer. What each format shows is tested with its
report (tests/test_policy_runner.py, test_review.py, test_fleet.py, test_cli.py)."""

from __future__ import annotations

import inspect
import io
import json
import re
import subprocess
import sys

import pytest
from rich.console import Console
from typer.testing import CliRunner

from sitekit import ROOT
from sitekit.cli.formats import CAPACITY, DRIFT, EXPLAIN, FLEET, PLAN, POLICY, REGISTRIES, REVIEW, SITES
from sitekit.cli.main import app
from sitekit.formats import Format, Formats

EVERY = [(key, fmt) for key, formats in REGISTRIES.items() for fmt in formats.values()]

# command -> (its registry, the names and default it offered before the registries)
COMMANDS = {
    "policy": (POLICY, ["table", "json", "sarif", "markdown"], "table"),
    "review": (REVIEW, ["markdown", "json"], "markdown"),
    "fleet": (FLEET, ["table", "json"], "table"),
    "plan": (PLAN, ["table", "json"], "table"),
    "sites": (SITES, ["table", "json"], "table"),
    "explain": (EXPLAIN, ["table", "json"], "table"),
    "drift": (DRIFT, ["table", "json", "markdown"], "table"),
}


@pytest.mark.parametrize("key,fmt", EVERY, ids=[f"{k}/{f.name}" for k, f in EVERY])
def test_every_registered_renderer_exists_with_its_shape(key, fmt):
    """`module:function` resolves; a console format takes (data, console), a text format (data) and returns text."""
    function = fmt.load()
    params = [p for p in inspect.signature(function).parameters.values() if p.default is inspect.Parameter.empty]
    assert len(params) == (2 if fmt.console else 1), (key, fmt.name, fmt.renderer)
    assert fmt.help and not fmt.help.endswith("."), (key, fmt.name)


def test_every_report_is_registered_once():
    assert list(REGISTRIES.values()) == [POLICY, REVIEW, FLEET, CAPACITY, PLAN, SITES, EXPLAIN, DRIFT]
    renderers = [fmt.renderer for _, fmt in EVERY]
    assert len(renderers) == len(set(renderers)), "a renderer is registered twice"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_format_option_is_the_registry(command):
    """The choices are the registry's names, in its order, the default unchanged, the help the registry's lines."""
    formats, names, default = COMMANDS[command]
    assert list(formats) == names and formats.default == default
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "400"})
    [line] = [line for line in result.output.splitlines() if "--format" in line]
    assert re.search(r"--format\s+-f\s+<" + re.escape("|".join(names)) + ">", line), line
    assert f"{formats.help()} [default: {default}]" in line


def test_capacity_shares_the_fleet_option():
    """`sitekit fleet --capacity` takes the fleet's --format: every name it offers has a capacity renderer."""
    assert list(CAPACITY) == list(FLEET) and CAPACITY.default == FLEET.default


def test_an_unknown_format_is_refused_with_the_choices():
    result = CliRunner().invoke(app, ["sites", "--format", "xml"], env={"COLUMNS": "400"})
    assert result.exit_code == 2
    assert "'xml' is not one of 'table', 'json'" in result.output


def test_the_cli_imports_nothing_heavy_to_build_its_options():
    """Building every command (as `sitekit --help` does) loads no Pulumi package and no renderer that needs one
    (the registries name renderers; a format's module is imported when that format is used)."""
    code = ("import sys; from typer.main import get_command; from sitekit.cli.main import app; get_command(app); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_oci', 'pulumi_policy') "
            "or m.startswith(('sitekit.policy.render', 'sitekit.review.render', 'sitekit.policy.runner'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_text_and_console_formats_go_where_they_are_sent(tmp_path):
    """`emit`: a text format's text as it is, a console format printed, to stdout or into a file."""
    from sitekit.cli import app as cli_app

    rows = [{"site": "x", "jurisdiction": "us", "region": "us-ashburn-1", "regionKind": "public", "gpus": 8,
             "itMw": 0.1, "facilityMw": 0.12, "envelopeMw": 1}]
    target = tmp_path / "sites.json"
    cli_app.emit(SITES["json"], rows, target)
    assert json.loads(target.read_text()) == rows
    target = tmp_path / "sites.txt"
    cli_app.emit(SITES["table"], rows, target)
    assert "sitekit sites" in target.read_text() and "us-ashburn-1" in target.read_text()
    console = Console(file=io.StringIO(), width=200, soft_wrap=True)
    SITES["table"].show(rows, console)
    assert console.file.getvalue() == target.read_text()


def test_a_registry_refuses_a_name_twice_and_an_unknown_default():
    one = Format("a", "x", "json:dumps")
    with pytest.raises(ValueError, match="twice"):
        Formats("r", one, one)
    with pytest.raises(ValueError, match="default"):
        Formats("r", one, default="b")
    with pytest.raises(TypeError):
        Formats("r", Format("t", "x", "m:f", console=True))["t"].render({})


@pytest.mark.parametrize("command", ["policy", "review", "fleet"])
def test_the_docs_list_each_format(command):
    """The README's command table (and docs/policies.md for policy) names a command's formats as its registry
    does: a new format is added to the docs with its registry line."""
    formats, _, _ = COMMANDS[command]
    written = "--format " + "\\|".join(formats)  # as the Markdown table escapes `|`
    row = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith(f"| `sitekit {command} "))
    assert written in row, row
    if command == "policy":
        assert f"--format {'|'.join(formats)}" in (ROOT / "docs/policies.md").read_text()
