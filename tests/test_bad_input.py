"""Bad input on the surfaces added since the first hardening (issue 17): each refusal is a clear line naming the
file (or the argument), the dotted key and what is wrong, exit 2, no traceback; nothing a user wrote is turned
into console markup or emoji. The generated-input counterparts are in test_fuzz.py (tests/fuzzing.py)."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from sitekit.cli.main import app
from sitekit.fleet.capacity import ShapeView, Use
from sitekit.plan import Plan, PlannedResource
from sitekit.run.report import print_plan

MARKUP = "[bold]x[/bold] [/red] :smile: :100:"
"""User text that a console with markup and emoji on would style, convert or refuse (an unopened [/red])."""


def run(project: Path, monkeypatch, *args: str):
    monkeypatch.chdir(project)
    return CliRunner().invoke(app, list(args))


def exits_2(result) -> list[str]:
    """The refusal's lines: exit 2 on purpose, no traceback, nothing on stdout."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    return result.stderr.splitlines()


# ------------------------------------------------------------------------------------------------ consoles
def _console() -> tuple[Console, io.StringIO]:
    from sitekit.cli.app import out

    buffer = io.StringIO()
    return Console(file=buffer, width=400, emoji=out._emoji, markup=out._markup), buffer


def test_explain_prints_a_value_as_written(project, monkeypatch):
    stack = project / "stacks/Pulumi.us-ashburn.yaml"
    stack.write_text(stack.read_text() + f"  sitekit:overrides:\n    tags: {{costCentre: '{MARKUP}'}}\n")
    result = run(project, monkeypatch, "explain", "us-ashburn", "tags.costCentre")
    assert result.exit_code == 0, result.output
    assert MARKUP in result.stdout


def test_a_plan_table_prints_names_and_inputs_as_written():
    console, buffer = _console()
    res = PlannedResource(urn="urn:a", type="oci:Core/vcn:Vcn", name=MARKUP, custom=True, parent=None, provider=None,
                          inputs={"cidrBlocks": [MARKUP], "dnsLabel": MARKUP})
    print_plan(Plan(site="s", resources=[res], outputs={"gpusByRole": {MARKUP: 1}}), console)
    text = buffer.getvalue()
    assert text.count("[bold]x[/bold]") >= 3 and ":smile: :100:" in text and "😄" not in text


def test_a_capacity_note_prints_as_written(monkeypatch):
    from sitekit.fleet.text import print_capacity

    console, buffer = _console()
    use = Use(site="s", jurisdiction="us", region="r", status="unknown", nodes=1, gpus=8, approved=False, options=())
    print_capacity([ShapeView(MARKUP, MARKUP, (MARKUP,), (), (), 0, (), (use,))], console, detail=True)
    text = buffer.getvalue()
    assert text.count(MARKUP) >= 3, text
