"""`sitekit fleet`: rows asserted against the shipped sites' plans (planned once per run and shared), waivers
due, peerings, network topologies from plans, the static HTML (self-contained, every rule linked to its anchor),
refusing to overwrite a report, the CLI's table and JSON. The browser test is tests/engine/test_fleet_report.py.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import re
from html.parser import HTMLParser
from ipaddress import ip_network
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import SHIPPED
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sitekit import ROOT
from sitekit.cli.main import app
from sitekit.fleet.collect import collect
from sitekit.fleet.history import History
from sitekit.fleet.html import render
from sitekit.fleet.model import (
    SiteRow,
    by_country,
    edges,
    peerings,
    plan_resources,
    totals,
)
from sitekit.fleet.network import topology
from sitekit.policy import RULES
from sitekit.policy.docs import DOC
from sitekit.run.cost import load_prices, monthly_cost
from sitekit.spec.catalog import load_capacity, load_catalog

TODAY = datetime.date(2027, 1, 1)


@pytest.fixture(scope="module")
def fleet(shipped_plans):
    return collect(ROOT, plans=shipped_plans, today=TODAY)


@pytest.fixture
def served(monkeypatch, shipped_plans):
    """The CLI in this project with each shipped site's plan served from the shared plans (never planned again)."""
    asked: list[str] = []

    def plan_site(root, name, site=None):
        asked.append(name)
        return shipped_plans[name]

    monkeypatch.setattr("sitekit.run.offline.plan_site", plan_site)
    monkeypatch.chdir(ROOT)
    return asked


# ------------------------------------------------------------------------------------------------ rows
def test_rows_agree_with_the_shipped_plans(fleet, shipped_plans, shipped_sites):
    assert [r.site for r in fleet.rows] == SHIPPED and not fleet.problems
    catalog, prices = load_catalog(ROOT), load_prices(ROOT)
    recorded = next(line for line in (ROOT / "stacks/catalog/prices.yaml").read_text().splitlines()
                    if line.startswith("recorded: "))
    assert fleet.prices_recorded == prices.recorded == recorded.removeprefix("recorded: ")
    for row in fleet.rows:
        plan, out = shipped_plans[row.site], shipped_plans[row.site].outputs
        assert (row.jurisdiction, row.region) == (out["jurisdiction"], out["region"])
        assert row.gpus == out["gpus"] == sum(row.gpus_by_shape.values())
        assert row.gpus_by_role == {k: v for k, v in out["gpusByRole"].items() if v}
        assert (row.it_mw, row.facility_mw, row.envelope_mw) == (out["itMw"], out["facilityMw"], out["envelopeMw"])
        assert {s: n * catalog.shapes[s].gpus for s, n in row.nodes_by_shape.items()} == row.gpus_by_shape
        cost = monthly_cost(plan_resources(plan), prices)
        assert row.monthly_usd == round(cost.monthly, 2) > 0 and row.unpriced == cost.unpriced
        spec = shipped_sites[row.site].spec
        assert row.jurisdiction_name == spec.jurisdiction.name and row.region_kind == spec.site.region_kind
        assert set(row.rule_status) == set(RULES)
        assert row.passed and not row.mandatory_failures
        assert list(row.peerings) == sorted(p.site for p in spec.site.peers)  # the shipped hub-and-spoke
    by = {r.site: r for r in fleet.rows}
    assert by["us-ashburn"].gpus_by_shape == {"BM.GPU.GB200.4": 144, "BM.GPU.H100.8": 16384, "BM.GPU.H200.8": 4096}
    assert by["us-ashburn"].unpriced == {"BM.GPU.GB200.4": 36}  # no list price: counted, not priced
    gmc = shipped_plans["us-ashburn"].of_type("oci:Core/computeGpuMemoryCluster:ComputeGpuMemoryCluster")
    assert sum(int(r.inputs["size"]) for r in gmc) == 36 and len(gmc) == 2  # two NVL72 blocks
    assert (by["ar-patagonia"].country, by["ar-patagonia"].region_kind) == ("AR", "dedicated")
    # the capacity catalog knows no region's shapes yet: every site has the advisory SK-CMP-007, nothing blocks
    assert all(r.rule_status["SK-CMP-007"] == "advisory" for r in fleet.rows)


def test_fleet_and_country_totals(fleet, shipped_plans):
    total = fleet.total
    assert total.gpus == sum(p.outputs["gpus"] for p in shipped_plans.values())
    assert total.facility_mw == pytest.approx(sum(p.outputs["facilityMw"] for p in shipped_plans.values()))
    assert [c.name for c in fleet.countries] == ["AR", "BR", "US"]
    data = fleet.to_dict()
    assert data["total"]["gpus"] == total.gpus
    assert sorted(map(tuple, data["peerings"])) == [("ar-patagonia", "us-ashburn"), ("br-saopaulo", "us-ashburn")]
    assert json.loads(json.dumps(data)) == data  # plain JSON


ROWS = st.builds(lambda i, country, gpus, mw: SiteRow(
    f"s{i}", "xx", "X", country, "r-x-1", "public", gpus, {"BM.GPU.H100.8": gpus}, {}, {"mixed": gpus}, mw, mw * 1.2,
    100.0, gpus * 10.0, gpus * 12.0, {}, True, {}, (), (), 0, (), (), ()),
    st.integers(0, 999), st.sampled_from(["AR", "BR", "US", "DE"]), st.integers(0, 10**6), st.floats(0, 500))


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(ROWS, max_size=8))
def test_countries_add_up_to_the_fleet(rows):
    whole = totals("fleet", rows)
    parts = by_country(rows)
    assert sum(c.sites for c in parts) == whole.sites == len(rows)
    assert sum(c.gpus for c in parts) == whole.gpus
    assert sum(c.facility_mw for c in parts) == pytest.approx(whole.facility_mw, abs=1e-3)


def test_waivers_due_within_30_days_and_expired(make_project, tmp_path, shipped_plans):
    project = make_project(tmp_path)
    stack = project / "stacks/Pulumi.us-ashburn.yaml"
    stack.write_text(stack.read_text() + "  sitekit:policy:\n    waivers:\n" + "".join(
        f"      - rule: {rule}\n        reason: \"accepted by the security team (ticket SEC-{i})\"\n"
        f"        expires: {day}\n"
        for i, (rule, day) in enumerate([("SK-DATA-005", "2027-04-01"), ("SK-NET-007", "2027-01-11"),
                                         ("SK-DATA-004", "2026-12-15"), ("SK-CMP-007", "2027-01-31")])))
    fleet = collect(project, plans=shipped_plans, today=TODAY)
    row = {r.site: r for r in fleet.rows}["us-ashburn"]
    assert [(w.rule, w.days_left) for w in row.waivers_due] == [("SK-NET-007", 10), ("SK-CMP-007", 30)]
    assert [(w.rule, w.expires.isoformat()) for w in row.waivers_expired] == [("SK-DATA-004", "2026-12-15")]
    assert not row.passed and row.mandatory_failures == ("SK-GOV-006",)  # an expired waiver is a violation
    assert row.rule_status["SK-CMP-007"] == "waived" and row.rule_status["SK-GOV-006"] == "fail"
    assert row.to_dict()["waiversExpiringSoon"][0] == {"rule": "SK-NET-007", "resource": None,
                                                       "expires": "2027-01-11", "daysLeft": 10,
                                                       "reason": "accepted by the security team (ticket SEC-1)"}


# ------------------------------------------------------------------------------------------------ peerings
def test_peerings_are_read_from_site_peers(shipped_sites, fleet):
    assert {name: peerings(s.spec) for name, s in shipped_sites.items()} == {
        "us-ashburn": ["ar-patagonia", "br-saopaulo"], "ar-patagonia": ["us-ashburn"], "br-saopaulo": ["us-ashburn"]}
    # `sitekit:peers` is the spec's site.peers: [{site, transfer}]; a site named twice is listed once
    spec = SimpleNamespace(site=SimpleNamespace(peers=[SimpleNamespace(site="us-ashburn", transfer=None),
                                                       SimpleNamespace(site="ar-patagonia", transfer="x"),
                                                       SimpleNamespace(site="us-ashburn", transfer=None)]))
    assert peerings(spec) == ["ar-patagonia", "us-ashburn"]
    rows = [dataclasses.replace(r, peerings=p) for r, p in zip(fleet.rows, [("br-saopaulo", "nowhere"),
                                                                            ("ar-patagonia", "us-ashburn"), ()])]
    assert edges(rows) == [("ar-patagonia", "br-saopaulo"), ("br-saopaulo", "us-ashburn")]


# ------------------------------------------------------------------------------------------------ networks
def test_network_topology_from_each_plan(shipped_plans, shipped_sites):
    for site, plan in shipped_plans.items():
        spec = shipped_sites[site].spec
        topo = topology(plan, {n.name: n.role for n in spec.network.networks})
        assert topo.drg == f"{spec.organisation.name}-{site}-drg"
        assert sorted(p.name for p in topo.peerings) == sorted(
            f"{spec.organisation.name}-{site}-rpc-{p.site}" for p in spec.site.peers)
        assert {v.name for v in topo.vcns} == {n.name for n in spec.network.networks}
        for vcn in topo.vcns:
            assert vcn.cidrs == (str(spec.site.address_plan.networks[vcn.name]),) and vcn.attached
            net = next(n for n in spec.network.networks if n.name == vcn.name)
            assert sorted(s.name for s in vcn.subnets) == sorted(s.name for s in net.subnets)
            assert all(ip_network(s.cidr).subnet_of(ip_network(vcn.cidrs[0])) for s in vcn.subnets)
            assert ("internet gateway" in vcn.gateways) == (vcn.role == "frontend") == any(s.public for s in vcn.subnets)
        assert next(v for v in topo.vcns if v.role == "rdma").gateways == ()


# ------------------------------------------------------------------------------------------------ html
class Page(HTMLParser):
    """Every tag with its attributes, the text, and whether non-void tags close in order."""

    VOID = {"meta", "link", "br", "img", "input", "hr", "rect", "line", "circle", "polyline", "path"}

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def page(fleet):
    history = History(note="no history in this test")
    return render(fleet, history, load_capacity(ROOT), "../docs/policies.md")


def test_html_is_self_contained_and_well_formed(page):
    parsed = Page(page)
    assert not parsed.errors and parsed.stack == []
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    for tag, attrs in parsed.tags:
        for attr in ("src", "href", "xlink:href"):
            value = attrs.get(attr)
            if value is not None:  # no asset or link leaves the file, except the rule docs of the project
                assert value.startswith(("#", "data:", "../docs/policies.md#")), (tag, attr, value)
        assert tag not in ("img", "iframe", "object", "embed")


def test_html_shows_every_site_rule_network_and_section(page, fleet, shipped_plans):
    parsed = Page(page)
    text = " ".join(parsed.text)
    for section in ("Fleet map", "Sites", "GPUs per site, by shape", "GPUs per country, by shape", "Power per site",
                    "Power per country", "Compliance", "Site networks", "Capacity history", "Capacity catalog"):
        assert section in text, section
    for row in fleet.rows:
        assert f"{row.gpus:,} GPUs" in text and row.site in text
    for plan in shipped_plans.values():
        for r in plan.of_type("oci:Core/subnet:Subnet") + plan.of_type("oci:Core/vcn:Vcn"):
            cidr = r.inputs.get("cidrBlock") or r.inputs["cidrBlocks"][0]
            assert cidr in text, cidr
    links = {attrs["href"] for tag, attrs in parsed.tags if tag == "a" and "docs/policies.md#" in attrs.get("href", "")}
    assert links == {f"../docs/policies.md#{rule.lower()}" for rule in RULES}
    anchors = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', (ROOT / DOC).read_text()))
    assert {link.split("#")[1] for link in links} <= anchors  # every link lands on a rule's row
    cells = [attrs for tag, attrs in parsed.tags if tag == "td" and attrs.get("class", "").startswith("st-")]
    assert len(cells) == len(fleet.rows) * len(RULES)
    assert "no history in this test" in text


def test_html_history_charts(fleet):
    from sitekit.fleet.history import Commit, Point

    commits = [Commit(f"{i:040x}", f"c{i}", "2027-01-0" + str(i + 1), "x") for i in range(3)]
    history = History(commits, {"us-ashburn": [Point(8, 1.0, 1.2, 60.0), None, Point(16, 2.0, 2.4, 60.0)]},
                      [("us-ashburn", "c1", "stacks/Pulumi.us-ashburn.yaml:3: site.region: required key is missing")])
    text = " ".join(Page(render(fleet, history, load_capacity(ROOT))).text)
    assert "us-ashburn at c2: 16 GPUs" in text and "1 site versions skipped" in text
    assert "site.region: required key is missing" in text


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_table_and_json(served, fleet):
    runner = CliRunner()
    result = runner.invoke(app, ["fleet", "--format", "json", "--no-cache", "--no-progress"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert sorted(served) == SHIPPED  # each site's plan came from the shared plans
    assert [s["site"] for s in data["sites"]] == SHIPPED
    today = {r.site: r.to_dict() for r in dataclasses.replace(fleet).rows}
    for site in data["sites"]:
        expected = today[site["site"]]
        for key in ("gpus", "gpusByShape", "gpusByRole", "itMw", "facilityMw", "envelopeMw", "monthlyCostUsd",
                    "unpricedNodes", "peerings", "region", "jurisdiction"):
            assert site[key] == expected[key], key
        assert site["policy"]["passed"] is True and "SK-CMP-007" in site["policy"]["advisory"]
    result = runner.invoke(app, ["fleet", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert f"{fleet.total.gpus:,} GPUs" in result.stdout and "3 countries" in result.stdout
    assert "passed (3" in result.stdout and "advisory)" in result.stdout  # SK-CMP-006, SK-CMP-007, SK-MON-003
    assert "ar-patagonia," in result.stdout and "br-saopaulo" in result.stdout  # the hub's peerings
    for site in SHIPPED:
        assert site in result.stdout


def test_cli_html_refuses_to_overwrite_without_force(served, tmp_path):
    runner = CliRunner()
    index = tmp_path / "report" / "index.html"
    index.parent.mkdir()
    index.write_text("mine")
    result = runner.invoke(app, ["fleet", "--html", str(index.parent)])
    assert result.exit_code == 2 and result.stderr.strip() == f"{index}: --html: file exists; pass --force to overwrite it"
    assert index.read_text() == "mine" and served == []  # refused before planning anything
    result = runner.invoke(app, ["fleet", "--html", str(index.parent), "--force", "--history", "2", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert index.read_text().startswith("<!DOCTYPE html>") and f"wrote {index} (3 sites" in result.stdout
    docs = Path(os.path.relpath(ROOT / "docs/policies.md", index.parent)).as_posix()
    assert f'href="{docs}#sk-net-001"' in index.read_text()  # the project's docs, relative to the report


def test_cli_shape_needs_capacity():
    result = CliRunner().invoke(app, ["fleet", "BM.GPU.H100.8"])
    assert result.exit_code == 2 and "only taken with --capacity" in result.stderr


def test_jurisdictions_reports_every_profile_problem_at_its_line(project):
    """fleet's profiles load through loader.load_profile, as new-site's do: every problem of every profile at
    once, each at its line and key (a YAML error too), with the allowed values."""
    from sitekit.errors import SpecError
    from sitekit.fleet.collect import jurisdictions
    from sitekit.spec.layout import list_jurisdictions

    assert set(jurisdictions(project)) == set(list_jurisdictions(project)) >= {"us", "de"}
    us = project / "stacks/jurisdictions/us.yaml"
    us.write_text(us.read_text().replace("    auditDays: 365", "    auditDays: 30\n    audit: 1"))
    de = project / "stacks/jurisdictions/de.yaml"
    de.write_text(de.read_text() + "  : [\n")
    with pytest.raises(SpecError) as info:
        jurisdictions(project)
    lines = us.read_text().splitlines()
    audit = lines.index("    auditDays: 30") + 1
    found = [str(p) for p in info.value.problems]
    last = len(de.read_text().splitlines())
    assert found[0].startswith(f"stacks/jurisdictions/de.yaml:{last}: YAML syntax error: expected <block end>")
    assert found[1:] == [
        f"stacks/jurisdictions/us.yaml:{audit}: jurisdiction.retention.auditDays: Input should be greater than or "
        "equal to 90 (got 30)",
        f"stacks/jurisdictions/us.yaml:{audit + 1}: jurisdiction.retention.audit: unknown key; did you mean "
        "'auditDays'?"]
