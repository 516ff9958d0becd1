"""The `sitekit` command line: plan, sites, explain, and its exit codes (0 ok, 2 bad input, 1 anything else).

Commands run in-process (typer's CliRunner); `plan` reuses the session's plans instead of planning again.
One test runs the installed console script, to see a real process exit with 2 and no traceback.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sitekit import ROOT
from sitekit.cli.main import app
from sitekit.errors import SitekitError
from sitekit.spec.validate import site_power

runner = CliRunner()


@pytest.fixture
def cached_plans(shipped_plans, monkeypatch, tmp_path):
    """Make `sitekit plan` serve the session's plans (an empty plan cache); record what it was asked for."""
    calls = []

    def plan_site(root, stack, site=None):
        calls.append((Path(root), stack))
        return shipped_plans[stack]

    monkeypatch.setattr("sitekit.run.offline.plan_site", plan_site)
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(ROOT)
    return calls


def run(*args: str):
    return runner.invoke(app, list(args))


# ----------------------------------------------------------------------------------------------- plan
def test_plan_table(cached_plans, shipped_plans):
    result = run("plan", "us-ashburn")
    assert result.exit_code == 0, result.stderr
    assert cached_plans == [(ROOT, "us-ashburn")]
    plan = shipped_plans["us-ashburn"]
    out = result.stdout
    assert f"sitekit plan: us-ashburn ({len(plan.resources)} resources)" in out
    for name in ("us-ashburn-vault", "us-ashburn-cluster-network-train", "us-ashburn-gpu-memory-cluster-frontier",
                 "us-ashburn-subnet-gpu-nodes", "us-ashburn-node-pool-serve"):
        assert name in out
    assert re.search(r"oci:Kms/vault:Vault\s.*us-ashburn-vault\s.*vaultType=VIRTUAL_PRIVATE\s.*yes", out)
    for type_, count in plan.counts().items():
        assert re.search(re.escape(type_) + r"\s*│\s*" + str(count) + r"\s*│", out), type_
    o = plan.outputs
    assert f"GPUs: {o['gpus']} (training 144, inference 4096, mixed 16384)" in out
    assert f"Power: IT {o['itMw']} MW, facility {o['facilityMw']} MW, envelope {o['envelopeMw']} MW" in out


def test_plan_json(cached_plans, shipped_plans):
    result = run("plan", "ar-patagonia", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    plan = shipped_plans["ar-patagonia"]
    assert data["site"] == "ar-patagonia"
    assert data["counts"] == plan.counts()
    assert len(data["resources"]) == len(plan.resources)
    assert data["outputs"]["gpus"] == plan.outputs["gpus"] == 34816
    vault = next(r for r in data["resources"] if r["type"] == "oci:Kms/vault:Vault")
    assert vault["protect"] is True and vault["inputs"]["vaultType"] == "VIRTUAL_PRIVATE"
    assert vault["parent"].endswith("::ar-patagonia-security")


def test_plan_unknown_site_exits_2_with_nearest(cached_plans):
    result = run("plan", "us-ashburm")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["stacks/Pulumi.us-ashburm.yaml: no such site; did you mean 'us-ashburn'?"]
    assert cached_plans == []


def test_other_errors_exit_1(monkeypatch, tmp_path):
    def boom(root, stack, site=None):
        raise SitekitError("the mock engine fell over")

    monkeypatch.setattr("sitekit.run.offline.plan_site", boom)
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.chdir(ROOT)
    result = run("plan", "us-ashburn")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: the mock engine fell over"


# ----------------------------------------------------------------------------------------------- sites
def test_sites_table_and_json(shipped_sites, monkeypatch):
    monkeypatch.chdir(ROOT)
    table = run("sites")
    assert table.exit_code == 0, table.stderr
    rows = json.loads(run("sites", "--format", "json").stdout)
    assert [r["site"] for r in rows] == sorted(shipped_sites)
    for row in rows:
        loaded = shipped_sites[row["site"]]
        p = site_power(loaded.spec, loaded.catalog)
        assert (row["jurisdiction"], row["region"], row["gpus"], row["itMw"], row["facilityMw"], row["envelopeMw"]) == (
            loaded.spec.jurisdiction.code, loaded.spec.site.region, p.gpus, p.it_mw, p.facility_mw, p.envelope_mw)
        line = next(line for line in table.stdout.splitlines() if f" {row['site']} " in line)
        for text in (row["jurisdiction"], row["region"], f"{row['gpus']:,}", f"{row['itMw']:.2f}",
                     f"{row['facilityMw']:.2f}", f"{row['envelopeMw']:g}"):
            assert text in line, (text, line)
    assert "(dedicated)" in next(line for line in table.stdout.splitlines() if "ar-patagonia" in line)


def test_sites_reports_a_broken_site_and_exits_2(project, monkeypatch):
    stack = project / "stacks" / "Pulumi.br-saopaulo.yaml"
    stack.write_text(stack.read_text().replace("envelopeMw: 40", "envelopeMw: 4"))
    monkeypatch.chdir(project)
    result = run("sites")
    assert result.exit_code == 2
    assert "us-ashburn" in result.stdout and "br-saopaulo" not in result.stdout
    (line,) = result.stderr.splitlines()
    assert line.startswith("stacks/Pulumi.br-saopaulo.yaml:") and "exceeds the power envelope of 4 MW" in line


# ----------------------------------------------------------------------------------------------- explain
DEFAULT = "(default)"


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_explain_key_shows_values_with_their_origin(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = run("explain", "us-ashburn", "site.power")
    assert result.exit_code == 0, result.stderr
    stack = ROOT / "stacks" / "Pulumi.us-ashburn.yaml"
    hall_b = f"stacks/Pulumi.us-ashburn.yaml:{line_of(stack, 'name: hall-b')}"
    assert [line.split() for line in result.stdout.splitlines()] == [
        ["site.power.envelopeMw", "60", "#", f"stacks/Pulumi.us-ashburn.yaml:{line_of(stack, 'envelopeMw: 60')}"],
        ["site.power.pue", "1.2", "#", f"stacks/Pulumi.us-ashburn.yaml:{line_of(stack, 'pue: 1.2')}"],
        ["site.power.commissioned", "null", "#", DEFAULT],  # the model's defaults, said as such
        ["site.power.energyReuse", "null", "#", DEFAULT],
    ] + [[f"site.power.halls.hall-{h}.{k}", v, "#", f"stacks/Pulumi.us-ashburn.yaml:{line_of(stack, f'name: hall-{h}')}"]
         for h, k, v in (("a", "name", '"hall-a"'), ("a", "itMw", "40"), ("a", "cooling.0", '"air"'),
                         ("a", "maxRackKw", "60"))] + [
        ["site.power.halls.hall-b.name", '"hall-b"', "#", hall_b], ["site.power.halls.hall-b.itMw", "8", "#", hall_b],
        ["site.power.halls.hall-b.cooling.0", '"liquid"', "#", hall_b],
        ["site.power.halls.hall-b.cooling.1", '"air"', "#", hall_b],
        ["site.power.halls.hall-b.maxRackKw", "140", "#", hall_b]]
    derived = run("explain", "br-saopaulo", "site.power.halls")  # no halls declared: the one default hall
    assert [line.split() for line in derived.stdout.splitlines()] == [
        ["site.power.halls.main.name", '"main"', "#", DEFAULT], ["site.power.halls.main.itMw", "30.769", "#", DEFAULT],
        ["site.power.halls.main.cooling.0", '"air"', "#", DEFAULT],
        ["site.power.halls.main.cooling.1", '"liquid"', "#", DEFAULT],
        ["site.power.halls.main.maxRackKw", "null", "#", DEFAULT]]


def test_explain_whole_site_cites_every_layer(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = run("explain", "ar-patagonia", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = {r["key"]: r for r in json.loads(result.stdout)}
    jur = ROOT / "stacks" / "jurisdictions" / "ar.yaml"
    assert rows["jurisdiction.vault.type"] == {
        "key": "jurisdiction.vault.type", "value": "VIRTUAL_PRIVATE",
        "origin": f"stacks/jurisdictions/ar.yaml:{line_of(jur, 'type: VIRTUAL_PRIVATE')}"}
    assert rows["site.region"]["origin"].startswith("stacks/Pulumi.ar-patagonia.yaml:")
    assert rows["compute.pools.train.role"]["origin"].startswith("stacks/baseline.yaml:")
    assert all(re.fullmatch(r"stacks/[\w./-]+\.yaml:\d+", r["origin"]) for k, r in rows.items()
               if k != "site.name" and r["origin"] != DEFAULT), [
        r for r in rows.values() if not re.search(r":\d+$", r["origin"]) and r["origin"] != DEFAULT]
    # the effective spec includes what the models default: labelled, never attributed to a file
    assert rows["compute.pools.train.placement"] == {
        "key": "compute.pools.train.placement", "value": "bare-metal", "origin": DEFAULT}
    assert rows["site.alertEndpoint"] == {"key": "site.alertEndpoint", "value": False, "origin": DEFAULT}
    assert rows["security.keys.storage.length"]["origin"] == DEFAULT


def test_explain_lists_each_item_of_a_plain_list_with_its_line(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = run("explain", "us-ashburn", "iam.statements", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    baseline = ROOT / "stacks" / "baseline.yaml"
    assert [r["key"] for r in rows] == [f"iam.statements.{i}" for i in range(len(rows))] and len(rows) >= 10
    assert rows[3]["origin"] == f"stacks/baseline.yaml:{line_of(baseline, rows[3]['value'])}"
    result = run("explain", "us-ashburn", "site.regionKind")
    assert result.stdout.split() == ["site.regionKind", '"public"', "#", DEFAULT]


def test_explain_json_carries_a_waiver_date_as_text(project, monkeypatch):
    stack = project / "stacks" / "Pulumi.us-ashburn.yaml"
    stack.write_text(stack.read_text() + "  sitekit:policy:\n    waivers:\n      - rule: SK-NET-001\n"
                     "        reason: accepted for the pilot by the CISO\n        expires: 2027-01-31\n")
    monkeypatch.chdir(project)
    result = run("explain", "us-ashburn", "policy.waivers", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {r["key"]: r for r in json.loads(result.stdout)}
    assert rows["policy.waivers.0.expires"]["value"] == "2027-01-31"
    assert rows["policy.waivers.0.expires"]["origin"] == f"stacks/Pulumi.us-ashburn.yaml:{line_of(stack, 'expires:')}"


def test_explain_bad_key_exits_2_with_nearest(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = run("explain", "us-ashburn", "jurisdiction.vault.tpye")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "stacks/Pulumi.us-ashburn.yaml: jurisdiction.vault.tpye: no such key; did you mean 'jurisdiction.vault.type'?"]


def test_explain_unknown_site_exits_2(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = run("explain", "xx-nowhere")
    assert result.exit_code == 2 and "no such site" in result.stderr


# ----------------------------------------------------------------------------------------------- a real process
def test_console_script_exits_2_without_traceback():
    script = Path(sys.executable).parent / "sitekit"
    done = subprocess.run([str(script), "plan", "nowhere"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("stacks/Pulumi.nowhere.yaml: no such site; allowed: ar-patagonia, br-saopaulo, ")
