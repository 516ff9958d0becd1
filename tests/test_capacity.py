"""The capacity catalog (stacks/catalog/capacity.yaml): every region covered, every fact with a known source
and a date, bad entries reported as `file:line: key: problem`; SK-CMP-007 on a site whose region gains a fact;
`sitekit fleet --capacity [SHAPE]`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from sitekit import ROOT
from sitekit.cli.main import app
from sitekit.errors import SpecError
from sitekit.policy.runner import evaluate
from sitekit.spec.catalog import CAPACITY, load_capacity, load_catalog
from sitekit.spec.loader import load_site


def test_the_shipped_catalog_covers_every_region_with_sourced_facts():
    capacity, catalog = load_capacity(ROOT), load_catalog(ROOT)
    assert set(capacity.regions) == set(catalog.regions)
    entries = list(capacity.regions.values()) + [capacity.dedicated]
    assert all(e.source in capacity.sources and e.date == capacity.recorded for e in entries)
    # the shared references name no region's GPU shapes: nothing is known to be offered anywhere yet
    assert all(e.offers == "unknown" for e in entries)
    status = capacity.status("us-ashburn-1", "BM.GPU.H100.8")
    assert (status.status, status.why) == ("unknown", f"{CAPACITY}: us-ashburn-1 offers: unknown")
    assert capacity.status("ar-dedicated-1", "BM.GPU.B200.8", "dedicated").why.endswith("dedicated offers: unknown")
    assert capacity.status("xx-nowhere-1", "BM.GPU.B200.8").why == f"{CAPACITY} has no entry for xx-nowhere-1"
    assert "Dedicated Capacity" in capacity.shapes["BM.GPU.GB200.4"].note


US_H100 = """  us-ashburn-1:
    offers:
      BM.GPU.H100.8: {source: tenancy-shapes, date: 2026-12-01}
    notOffered:
      BM.GPU.GB200.4: {source: tenancy-shapes, date: 2026-12-01}
    source: tenancy-shapes
    date: 2026-12-01
"""
TENANCY_SOURCE = "  tenancy-shapes: oci compute shape list --region us-ashburn-1 in the example tenancy\n"


def with_facts(project, region_entry: str = US_H100, source: str = TENANCY_SOURCE):
    path = project / CAPACITY
    text = path.read_text().replace("  us-ashburn-1: {offers: unknown, source: ref-regions, date: 2026-12-02}\n",
                                    region_entry)
    path.write_text(text.replace("sources:\n", "sources:\n" + source, 1))
    return project


def test_bad_entries_are_reported_with_file_and_line(project):
    bad = US_H100.replace("BM.GPU.H100.8: {source: tenancy-shapes", "BM.GPU.H10.8: {source: tenancy-shape") \
        .replace("2026-12-01}\n    notOffered", "2026-13-01}\n    notOffered")
    with_facts(project, bad + "  us-ashburn-9: {offers: maybe, source: ref-regions, date: 2026-12-02}\n")
    path = project / CAPACITY
    lines = path.read_text().splitlines()
    line = next(i for i, t in enumerate(lines, 1) if "us-ashburn-9" in t)

    def problems() -> list[str]:
        with pytest.raises(SpecError) as exc:
            load_capacity(project)
        return [str(p) for p in exc.value.problems]

    assert problems() == [f"{CAPACITY}:{line - 5}: regions.us-ashburn-1.offers.BM.GPU.H10.8.date: '2026-13-01' "
                          "is not a valid !!timestamp: month must be in 1..12"]
    path.write_text(path.read_text().replace("2026-13-01", "2026-12-01"))
    assert problems() == [f"{CAPACITY}:{line}: regions.us-ashburn-9.offers: must be 'unknown' or a mapping of GPU "
                          "shapes to {source, date}"]
    path.write_text(path.read_text().replace("offers: maybe", "offers: unknown"))
    assert problems() == [
        f"{CAPACITY}:{line - 5}: regions.us-ashburn-1.offers.BM.GPU.H10.8: unknown GPU shape 'BM.GPU.H10.8'; "
        "did you mean 'BM.GPU.H100.8'?",
        f"{CAPACITY}:{line - 5}: regions.us-ashburn-1.offers.BM.GPU.H10.8.source: unknown source 'tenancy-shape'; "
        "did you mean 'tenancy-shapes'?",
        f"{CAPACITY}:{line}: regions.us-ashburn-9: unknown OCI region 'us-ashburn-9'; did you mean 'us-ashburn-1'?"]


def test_advisory_rule_follows_the_catalog(project, shipped_plans):
    """Recording that us-ashburn-1 offers BM.GPU.H100.8 turns SK-CMP-007 for the train pool into what the
    capacity ledger cannot say (us-ashburn-1 has no ledger); GB200.4, confirmed absent, is reported as not
    offered; the finding points at the pool's shape line."""
    before = evaluate(load_site(project, "us-ashburn"), shipped_plans["us-ashburn"])
    with_facts(project)
    after = evaluate(load_site(project, "us-ashburn"), shipped_plans["us-ashburn"])
    found = {f.resource: f for f in before.findings if f.rule == "SK-CMP-007"}
    assert set(found) == {"us-ashburn-instance-config-train", "us-ashburn-instance-config-frontier",
                          "us-ashburn-node-pool-serve"}
    stack = (project / "stacks/Pulumi.us-ashburn.yaml").read_text().splitlines()
    assert found["us-ashburn-node-pool-serve"].line == stack.index("      shape: BM.GPU.H200.8") + 1
    messages = {f.resource: f.message for f in after.findings if f.rule == "SK-CMP-007"}
    assert messages == {
        "us-ashburn-instance-config-train": "GPU shape BM.GPU.H100.8 is offered in us-ashburn-1, but the capacity "
                                            "ledger cannot say whether the site's pools fit: pool train: 2048 "
                                            "BM.GPU.H100.8 nodes at peak in AD-1: capacity unknown (no capacity ledger "
                                            "for us-ashburn-1 (stacks/catalog/ledger/us-ashburn-1.yaml; `sitekit "
                                            "capacity import`))",
        "us-ashburn-node-pool-serve": "GPU shape BM.GPU.H200.8 is not known to be offered in us-ashburn-1 "
                                      f"({CAPACITY}: us-ashburn-1 does not list it)",
        "us-ashburn-instance-config-frontier": "GPU shape BM.GPU.GB200.4 is not offered in us-ashburn-1 "
                                               "(oci compute shape list --region us-ashburn-1 in the example tenancy) "
                                               "(and 1 other resource of the shape)"}  # its second NVL72 block
    assert before.passed and after.passed and {f.level for f in after.findings} == {"advisory"}


def test_cli_capacity_summary_and_one_shape(project, monkeypatch):
    with_facts(project)
    monkeypatch.chdir(project)
    runner = CliRunner()
    result = runner.invoke(app, ["fleet", "--capacity", "--format", "json"])
    assert result.exit_code == 0, result.output
    shapes = {s["shape"]: s for s in json.loads(result.stdout)["shapes"]}
    assert set(shapes) == set(load_catalog(ROOT).shapes)
    h100 = shapes["BM.GPU.H100.8"]
    assert h100["offeredIn"] == ["us-ashburn-1"] and h100["regionsUnknown"] == 17
    assert [s["site"] for s in h100["sites"]] == ["ar-patagonia", "br-saopaulo", "us-ashburn"]
    assert h100["gpusInFleet"] == 2048 + 1024 + 16384 and shapes["BM.GPU4.8"]["sites"] == []
    assert shapes["BM.GPU.GB200.4"]["notOfferedIn"] == ["us-ashburn-1"]
    br = next(s for s in h100["sites"] if s["site"] == "br-saopaulo")
    first = br["couldMoveTo"][0]  # known to offer it first; Brazil allows it with its transfer mechanism
    assert (first["region"], first["capacity"], first["residency"]) == ("us-ashburn-1", "offered", "transfer")
    assert "br-anpd-sccs" in first["how"]
    resident = [o["region"] for o in br["couldMoveTo"] if o["residency"] == "resident"]
    assert resident == ["in-country Dedicated Region", "sa-vinhedo-1"]
    us = next(s for s in h100["sites"] if s["site"] == "us-ashburn")
    assert us["capacity"] == "offered" and {o["residency"] for o in us["couldMoveTo"]} == {"resident", "cross-border"}
    # issue 21: the us profile lets confidential data cross to br (and ar, which has no public region), as its peering does
    assert sorted(o["region"] for o in us["couldMoveTo"] if o["residency"] == "cross-border") == [
        "sa-saopaulo-1", "sa-vinhedo-1"]

    result = runner.invoke(app, ["fleet", "--capacity", "BM.GPU.H100.8"])
    assert result.exit_code == 0, result.output
    assert "known to be offered in: us-ashburn-1" in result.stdout
    assert "elsewhere: not allowed (us accepts no transfer mechanism)" in result.stdout
    assert "cross-border, confidential data may go to br (Organisation policy DR-1" in result.stdout
    assert "us-ashburn (us, us-ashburn-1, capacity offered): 2,048 nodes, 16,384 GPUs" in result.stdout

    result = runner.invoke(app, ["fleet", "--capacity", "BM.GPU.H10.8"])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("stacks/catalog/shapes.yaml: shapes: unknown GPU shape 'BM.GPU.H10.8'; "
                                     "did you mean 'BM.GPU.H100.8'?")


def test_a_missing_top_level_key_is_reported_at_line_1(project):
    """As in the other catalog files and a site's: a key missing at the top is blamed on the file's line 1."""
    path = project / CAPACITY
    path.write_text("".join(line for line in path.read_text().splitlines(keepends=True)
                            if not line.startswith("recorded:")))
    with pytest.raises(SpecError) as exc:
        load_capacity(project)
    assert [str(p) for p in exc.value.problems] == [f"{CAPACITY}:1: recorded: Field required"]
