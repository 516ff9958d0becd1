"""`sitekit rollout plan` on a five-site fleet (tests/fleet5.py): the waves and their reasons, the scope of a
change by review's rule, freezes from the profiles, and the refusals (a base that is not the tip), exit 2."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fleet5 import SITES, WAVES, stamp_fleet
from typer.testing import CliRunner

from sitekit.cli.main import app


def git(project: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(project), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def fleet(make_project, tmp_path_factory) -> Path:
    project = stamp_fleet(make_project(tmp_path_factory.mktemp("fleet5")))
    git(project, "init", "-q", "-b", "main")
    git(project, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "add", "-A")
    git(project, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "fleet")
    return project


def rollout(project: Path, monkeypatch, *args: str):
    monkeypatch.chdir(project)
    monkeypatch.delenv("SITEKIT_CANARY", raising=False)
    return CliRunner().invoke(app, ["rollout", "plan", *args])


def waves(result) -> list[list[str]]:
    assert result.exit_code == 0, result.output
    return [[p["site"] for p in w["sites"]] for w in json.loads(result.stdout)["waves"]]


def test_every_site_in_waves_accepting_ends_first(fleet, monkeypatch):
    result = rollout(fleet, monkeypatch, "--all", "--canary", "us-ashburn", "--format", "json")
    assert waves(result) == WAVES
    doc = json.loads(result.stdout)
    assert [w["kind"] for w in doc["waves"]] == ["before-canary", "canary", "rest"]
    reasons = {p["site"]: p["reason"] for w in doc["waves"] for p in w["sites"]}
    assert reasons["us-phoenix"].startswith("deployed before the canary: it accepts the peering that us-ashburn")
    assert reasons["de-frankfurt"] == "after the canary; no peering to wait for"
    table = rollout(fleet, monkeypatch, "--all", "--canary", "us-ashburn").stdout
    assert "wave 2 (canary, 1 site(s), 1 at once)" in table and "us-ashburn" in table


def test_one_canary_per_jurisdiction(fleet, monkeypatch):
    got = waves(rollout(fleet, monkeypatch, "--all", "--format", "json"))
    assert sorted(s for w in got for s in w) == SITES
    # us: us-phoenix (no prerequisite) is the canary; us-ashburn waits for it; ar and br wait for us-ashburn
    assert got == [["de-frankfurt", "us-phoenix"], ["us-ashburn"], ["ar-patagonia", "br-saopaulo"]]


def test_the_scope_is_what_the_change_affects(fleet, monkeypatch):
    path = fleet / "stacks/Pulumi.br-saopaulo.yaml"
    original = path.read_text()
    path.write_text(original.replace("nodes: 1024", "nodes: 1000", 1))
    try:
        result = rollout(fleet, monkeypatch, "--format", "json")
        # the hub reads its peers' stack files (review's rule): it is in the rollout too, as the accepting end first
        assert waves(result) == [["us-ashburn"], ["br-saopaulo"]]
        causes = {s["site"]: s["cause"] for w in json.loads(result.stdout)["waves"] for s in w["sites"]}
        assert causes == {"br-saopaulo": "its stack file changed (stacks/Pulumi.br-saopaulo.yaml)",
                          "us-ashburn": "the stack file of its peer br-saopaulo changed"}
        assert json.loads(result.stdout)["base"] == git(fleet, "rev-parse", "HEAD").strip()
    finally:
        path.write_text(original)
    assert waves(rollout(fleet, monkeypatch, "--format", "json")) == []


def test_a_base_that_is_not_the_tip_is_refused_unless_told(fleet, monkeypatch):
    git(fleet, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "--allow-empty", "-m", "x")
    try:
        result = rollout(fleet, monkeypatch, "--base", "HEAD~1")
        assert result.exit_code == 2
        assert "rollout: --base HEAD~1 is " in result.stderr and "not the tip of the default branch main" in result.stderr
        assert rollout(fleet, monkeypatch, "--base", "HEAD~1", "--any-base").exit_code == 0
    finally:
        git(fleet, "reset", "-q", "--hard", "HEAD~1")


FREEZE = """  freezes:
    - start: 2025-12-20
      end: 2026-01-04
      reason: "Year-end change freeze (CAB decision CHG-2025-117)"
"""


def test_a_freeze_in_the_profile_refuses_or_waits(fleet, monkeypatch):
    path = fleet / "stacks/jurisdictions/de.yaml"
    original = path.read_text()
    path.write_text(original.replace("jurisdiction:\n", "jurisdiction:\n" + FREEZE, 1))
    try:
        result = rollout(fleet, monkeypatch, "--all", "--canary", "us-ashburn", "--now", "2025-12-24T10:00:00")
        assert result.exit_code == 2
        assert result.stderr.splitlines()[0] == ("rollout: de-frankfurt (jurisdiction de) is frozen from 2025-12-20 "
                                                 "to 2026-01-04: Year-end change freeze (CAB decision CHG-2025-117)")
        waited = rollout(fleet, monkeypatch, "--all", "--canary", "us-ashburn", "--now", "2025-12-24T10:00:00",
                         "--on-freeze", "wait", "--bake", "30", "--format", "json")
        doc = json.loads(waited.stdout)
        assert [w["notBefore"] for w in doc["waves"]] == ["2025-12-24T10:00:00+00:00", "2025-12-24T10:30:00+00:00",
                                                          "2026-01-05T00:00:00+00:00"]
        assert "Year-end change freeze" in doc["waves"][2]["waits"][0]
        assert rollout(fleet, monkeypatch, "--all", "--now", "2026-01-05T00:00:00").exit_code == 0
    finally:
        path.write_text(original)


def test_a_bad_freeze_is_bad_input_at_its_line(fleet, monkeypatch):
    path = fleet / "stacks/jurisdictions/de.yaml"
    original = path.read_text()
    path.write_text(original.replace("jurisdiction:\n", "jurisdiction:\n" + FREEZE.replace("2026-01-04", "2025-12-01"), 1))
    try:
        result = rollout(fleet, monkeypatch, "--all")
        assert result.exit_code == 2
        assert "stacks/jurisdictions/de.yaml:" in result.stderr and "is before start" in result.stderr
    finally:
        path.write_text(original)
