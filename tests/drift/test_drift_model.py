"""Drift, offline: the classification of a refresh preview's steps (read from the table of OCI types), the values
shown (secrets hidden), exit decisions, and the stand-in's record of what the cloud holds (`engine/cloud.py`)."""

from __future__ import annotations

import json

import pytest

from sitekit.drift.model import CLASSES, DriftReport, SiteDrift, differences, leaf_changes, to_json
from sitekit.drift.render import render_json, render_markdown
from sitekit.engine import cloud
from sitekit.oci.types import BUCKET, DRIFT_CLASSES, NODE_POOL, NSG_RULE, TYPES, VCN, drift_class

STACK = "urn:pulumi:s::sitekit::sitekit:index:AiRegion$"


def step(op, type_, name, old=None, new=None, inputs=None):
    urn = f"{STACK}{type_}::{name}"
    old_state = {"urn": urn, "inputs": inputs if inputs is not None else dict(old or {}), "outputs": old or {}}
    new_state = None if new is None else {"urn": urn, "inputs": dict(new), "outputs": new}
    return {"op": op, "urn": urn, "oldState": old_state, "newState": new_state,
            "detailedDiff": {"x": {}} if op == "update" else None}


def test_every_row_has_a_drift_class_and_tags_are_cosmetic_everywhere():
    assert all(t.drift in DRIFT_CLASSES for t in TYPES.values())
    assert all(k in DRIFT_CLASSES for t in TYPES.values() for _, k in t.drift_properties)
    for token in TYPES:
        assert drift_class(token, "definedTags.ns.key") == "cosmetic"
        assert drift_class(token, "freeformTags") == "cosmetic"
    assert drift_class(NSG_RULE, "source") == "security"
    assert drift_class(NODE_POOL, "nodeConfigDetails.size") == "capacity"
    assert drift_class(NODE_POOL, "nodeConfigDetails.nsgIds") == "security"  # the longest prefix wins
    assert drift_class(BUCKET, "accessType") == "security" and drift_class(BUCKET, "storageTier") == "other"
    assert drift_class("oci:Unknown/x:X", "anything") == "other"


def test_steps_become_classified_differences():
    steps = [
        step("update", NSG_RULE, "rule", {"source": "10.0.0.0/16", "direction": "INGRESS"},
             {"source": "0.0.0.0/0", "direction": "INGRESS"}),
        step("update", NODE_POOL, "pool", {"nodeConfigDetails": {"size": 4, "nsgIds": ["a"]}},
             {"nodeConfigDetails": {"size": 8, "nsgIds": ["a"]}}),
        step("update", VCN, "vcn", {"definedTags": {"ns.cost": "a"}, "state": "AVAILABLE"},
             {"definedTags": {"ns.cost": "b"}, "state": "UPDATING"}, inputs={"definedTags": {"ns.cost": "a"}}),
        step("delete", BUCKET, "bucket", {"name": "b"}),
        step("refresh", VCN, "same", {"a": 1}, {"a": 1}),
        step("update", "pulumi:providers:oci", "provider", {"region": "a"}, {"region": "b"}),
    ]
    found = [(d.klass, d.name, d.property, d.state, d.cloud, d.managed) for d in differences("s", steps)]
    assert found == [
        ("security", "rule", "source", "10.0.0.0/16", "0.0.0.0/0", True),
        ("capacity", "pool", "nodeConfigDetails.size", 4, 8, True),
        ("cosmetic", "vcn", 'definedTags["ns.cost"]', "a", "b", True),
        ("gone", "bucket", None, "exists", "gone", True),
        ("other", "vcn", "state", "AVAILABLE", "UPDATING", False),  # not an input: a re-apply leaves it
    ]
    unmanaged = differences("s", steps)[-1]
    assert "does not set" in unmanaged.action


def test_secrets_never_show_and_lists_compare_item_by_item():
    secret = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "hunter2"}
    other = dict(secret, value="hunter3")
    assert leaf_changes({"k": secret}, {"k": other}) == []  # both hidden alike: nothing shown, nothing leaked
    assert leaf_changes({"k": "plain"}, {"k": other}) == [("k", "k", "plain", "[secret]")]
    assert leaf_changes({"r": [{"p": 1}, {"p": 2}]}, {"r": [{"p": 1}, {"p": 3}]}) == [("r[1].p", "r.p", 2, 3)]
    assert leaf_changes({"r": [1]}, {"r": [1, 2]}) == [("r", "r", [1], [1, 2])]


def test_fail_on_and_the_json_document():
    site = SiteDrift("s", "2026-01-01T00:00:00Z", differences("s", [
        step("update", VCN, "vcn", {"definedTags": {"a": "1"}}, {"definedTags": {"a": "2"}})]))
    assert site.fails("any") and not site.fails("security") and not site.fails("capacity")
    pending = SiteDrift("p", "t", pending=[{"urn": "u", "type": "t", "operation": "creating"}])
    assert pending.fails("any") and not pending.fails("security") and pending.status == "drift"
    report = DriftReport("2026-01-01T00:00:00Z", [site, pending, SiteDrift("c", "t")])
    data = json.loads(render_json(report))
    assert data == to_json(report) and data["schemaVersion"] == 1
    assert [s["status"] for s in data["sites"]] == ["drift", "drift", "clean"]
    assert set(data["counts"]) == set(CLASSES) and data["counts"]["cosmetic"] == 1
    assert data["sites"][0]["differences"][0]["class"] == "cosmetic"
    text = render_markdown(report)
    assert "| s | drift | 0 | 0 | 1 | 0 | 0 | 0 |" in text and "### c" not in text


def test_the_cloud_file_changes_reads_and_forgets(tmp_path, monkeypatch):
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path))
    props = {"source": "10.0.0.0/16", "definedTags": {"ns.a": "1", "ns.b": "2"}, "list": [{"size": 1}], "out": 1}
    inputs = {k: v for k, v in props.items() if k != "out"}
    assert cloud.read("rule", props, inputs) == (props, inputs)  # no file: the state is what the cloud holds
    cloud.change(tmp_path, "rule", {"source": "0.0.0.0/0", "definedTags": {"ns.a": "x"}, "list.0.size": 9,
                                    "out": 2})
    held_props, held_inputs = cloud.read("rule", props, inputs)
    assert held_props == {"source": "0.0.0.0/0", "definedTags": {"ns.a": "x", "ns.b": "2"}, "list": [{"size": 9}],
                          "out": 2}
    assert "out" not in held_inputs and held_inputs["list"] == [{"size": 9}]
    assert props["source"] == "10.0.0.0/16"  # the state's dicts are not touched
    cloud.remove(tmp_path, "bucket")
    assert cloud.read("bucket", {}, {}) is None
    cloud.applied("rule")
    cloud.applied("bucket")
    assert cloud.read("rule", props, inputs) == (props, inputs) and cloud.read("bucket", {}, {}) == ({}, {})


@pytest.mark.parametrize("klass", ["security", "capacity"])
def test_fail_on_names_its_class(klass):
    site = SiteDrift("s", "t", differences("s", [
        step("update", NSG_RULE if klass == "security" else NODE_POOL, "r", {"source": "a"}, {"source": "b"})]))
    assert site.fails(klass) and site.fails("any")


def test_the_fleet_reads_the_drift_json_and_refuses_another_file(tmp_path):
    from sitekit.errors import SpecError
    from sitekit.fleet.drift import read_drift

    good = tmp_path / "drift.json"
    good.write_text(render_json(DriftReport("r", [SiteDrift("s", "t", differences("s", [
        step("delete", BUCKET, "b", {"name": "b"})]))])))
    cell = read_drift(good)["s"]
    assert cell.text() == "1 gone" and cell.status == "drift" and cell.differences[0]["name"] == "b"
    bad = tmp_path / "fleet.json"
    bad.write_text('{"schemaVersion": 1, "sites": []}')
    with pytest.raises(SpecError, match="fleet.json: not a sitekit drift report"):
        read_drift(bad)
    with pytest.raises(SpecError, match="cannot read the drift report"):
        read_drift(tmp_path / "missing.json")
