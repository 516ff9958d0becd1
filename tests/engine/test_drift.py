"""`sitekit drift` under the real Pulumi CLI (issue 19): three sites deployed with `pulumi up` into a file backend,
values changed behind Pulumi's back through the stand-in provider (`sitekit.engine.cloud`: what the cloud now
holds, in the throwaway PULUMI_HOME), then the command, as a user runs it, classifies each difference, exits as
documented, and reports nothing once `pulumi up --refresh` has re-applied the spec."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import SHIPPED, SITEKIT, new_workspace, sitekit

from sitekit import ROOT
from sitekit.engine import cloud

DEPLOY_ORDER = ["us-ashburn", "br-saopaulo", "ar-patagonia"]  # the peering hub first (README, "Deploying")
NSG_RULE = "us-ashburn-nsg-gpu-nodes-ingress-tcp-22-services"
BUCKET = "us-ashburn-bucket-checkpoints"
CLUSTER_NETWORK = "br-saopaulo-cluster-network-train"
VCN = "ar-patagonia-vcn-gpu"


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, pulumi_cli):
    assert sorted(DEPLOY_ORDER) == sorted(SHIPPED)
    ws = new_workspace(tmp_path_factory, pulumi_cli, "engine-drift")
    for site in DEPLOY_ORDER:
        up = ws.up(site)
        assert up.returncode == 0, up.output[-3000:]
    return ws


def drift(ws, *args: str):
    """`sitekit drift` in the workspace's project, with its backend and home: the command a team runs."""
    env = dict(ws.env(), PYTHONPATH=str(ROOT))
    return subprocess.run([SITEKIT, "drift", *args], cwd=ws.project, env=env, capture_output=True, text=True,
                          timeout=900)


def drift_json(ws, *args: str) -> tuple[int, dict]:
    done = drift(ws, "--all", "--format", "json", "--no-progress", *args)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_a_fresh_deployment_has_no_drift(deployed):
    code, report = drift_json(deployed)
    assert code == 0, report
    assert [s["site"] for s in report["sites"]] == SHIPPED
    assert all(s["status"] == "clean" and s["resources"] > 100 for s in report["sites"])
    assert report["counts"] == dict.fromkeys(["security", "capacity", "cosmetic", "gone", "other"], 0)


def test_changes_behind_pulumis_back_are_classified_and_undone_by_up(deployed):
    ws = deployed
    cloud.change(ws.home, NSG_RULE, {"source": "0.0.0.0/0"})
    cloud.change(ws.home, CLUSTER_NETWORK, {"instancePools.0.size": 512})
    cloud.change(ws.home, VCN, {"definedTags": {"sitekit-ar-patagonia.cost-centre": "marketing"}})
    cloud.remove(ws.home, BUCKET)

    code, report = drift_json(ws)
    assert code == 1
    found = {(s["site"], d["class"], d["name"], d["property"], json.dumps(d["state"]), json.dumps(d["cloud"]))
             for s in report["sites"] for d in s["differences"]}
    assert found == {
        ("us-ashburn", "security", NSG_RULE, "source", '"10.64.128.0/20"', '"0.0.0.0/0"'),
        ("us-ashburn", "gone", BUCKET, None, '"exists"', '"gone"'),
        ("br-saopaulo", "capacity", CLUSTER_NETWORK, "instancePools[0].size", "1024", "512"),
        ("ar-patagonia", "cosmetic", VCN, 'definedTags["sitekit-ar-patagonia.cost-centre"]', '"ai-infrastructure"',
         '"marketing"'),
    }
    by_site = {s["site"]: s for s in report["sites"]}
    assert by_site["us-ashburn"]["counts"] == {"security": 1, "capacity": 0, "cosmetic": 0, "gone": 1, "other": 0}
    for site in report["sites"]:
        for d in site["differences"]:
            assert "sitekit rollout" in d["action"] and f"stacks/Pulumi.{site['site']}.yaml" in d["action"]
            assert d["managed"] is True
    assert drift(ws, "--all", "--fail-on", "security", "--no-progress").returncode == 1
    assert drift(ws, "--all", "--fail-on", "capacity", "--no-progress").returncode == 1

    # the drift JSON the command writes is what the fleet reads: `sitekit fleet --format json` carries it
    saved = ws.folder / "drift.json"
    assert drift(ws, "--all", "--format", "json", "--output", str(saved), "--no-progress").returncode == 1
    fleet = json.loads(sitekit("fleet", "--format", "json", "--no-progress", "--drift", str(saved)).stdout)
    assert {s["site"]: s["drift"]["counts"] for s in fleet["sites"]} == {s["site"]: s["counts"]
                                                                        for s in report["sites"]}
    assert all(s["drift"]["run"] == json.loads(saved.read_text())["run"] for s in fleet["sites"])

    # the capacity re-applied: --fail-on capacity passes, security still fails; the table names the rest
    up = ws.up("br-saopaulo", "--refresh")
    assert up.returncode == 0, up.output[-3000:]
    assert drift(ws, "br-saopaulo", "--no-progress").returncode == 0
    assert drift(ws, "--all", "--fail-on", "capacity", "--no-progress").returncode == 0
    table = drift(ws, "--all", "--fail-on", "security", "--no-progress")
    assert table.returncode == 1
    assert NSG_RULE in table.stdout and "0.0.0.0/0" in table.stdout and BUCKET in table.stdout
    markdown = drift(ws, "us-ashburn", "--format", "markdown", "--no-progress").stdout
    assert f"| security | `{NSG_RULE}` | `source` | `10.64.128.0/20` | `0.0.0.0/0` |" in markdown

    for site in ("us-ashburn", "ar-patagonia"):
        up = ws.up(site, "--refresh")
        assert up.returncode == 0, up.output[-3000:]
    code, report = drift_json(ws)
    assert code == 0 and report["counts"] == dict.fromkeys(report["counts"], 0), report


def test_pending_operations_are_reported(deployed):
    """An operation the state records as started and never finished (a run killed mid-update): written into the
    file backend's checkpoint, as `pulumi stack import` would drop it."""
    ws = deployed
    path = ws.state / ".pulumi/stacks/sitekit/br-saopaulo.json"
    original = path.read_bytes()
    state = json.loads(original)
    resource = next(r for r in state["checkpoint"]["latest"]["resources"] if r["type"].startswith("oci:"))
    state["checkpoint"]["latest"]["pending_operations"] = [{"resource": resource, "type": "updating"}]
    path.write_text(json.dumps(state))
    try:
        done = drift(ws, "br-saopaulo", "--format", "json")
        assert done.returncode == 1, done.stderr
        (site,) = json.loads(done.stdout)["sites"]
        assert site["pending"] == [{"urn": resource["urn"], "type": resource["type"], "operation": "updating"}]
        assert site["status"] == "drift"
        assert drift(ws, "br-saopaulo", "--fail-on", "security").returncode == 0
    finally:
        path.write_bytes(original)


def test_bad_input_exits_2(deployed, tmp_path):
    assert drift(deployed, "nowhere").returncode == 2
    assert drift(deployed).returncode == 2  # no site named
    ws = deployed
    existing = tmp_path / "drift.json"
    existing.write_text("{}")
    done = drift(ws, "us-ashburn", "--format", "json", "--output", str(existing))
    assert done.returncode == 2 and "file exists" in done.stderr
