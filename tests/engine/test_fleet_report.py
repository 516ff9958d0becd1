"""`sitekit fleet --html` rendered by a real browser (Debian's chromium, headless, driven over the DevTools pipe
by tests/engine/chromium.py): the page's text and structure, a screenshot's size, no console error, no
request leaving the file, and, for the shipped three sites and a fleet of twenty (tests/fleet20.py), the layout
checks of tests/engine/layout_checks.py at 1400 px: no labels overlapping, nothing cut, no two series drawn
alike, nothing out of view; each check is shown failing on a small page with the defect it is for. Runs under `make engine-test`, which installs chromium when it is missing; there a
missing browser fails the test instead of skipping it.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from chromium import CHROMIUM, Browser, CdpError, png_size
from conftest import SHIPPED, sitekit
from fleet20 import HUB_PEERS, STAMPED, stamp_fleet20
from layout_checks import layout_problems

from sitekit.drift.model import CLASSES, DriftReport, SiteDrift, differences
from sitekit.drift.render import render_json
from sitekit.policy import RULES

VIEWPORT = (1280, 900)
WIDE = (1400, 900)
"""The viewport of the layout checks: a laptop's browser window."""
NO_PROBLEM = {"overlap": [], "clipping": [], "series": [], "outOfView": []}


@pytest.fixture(scope="module")
def chromium_binary():
    if not CHROMIUM.exists():
        message = f"no {CHROMIUM}: `apt-get install -y chromium` (Debian's package; make engine-test installs it)"
        if os.environ.get("SITEKIT_ENGINE_TESTS") == "required":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_binary, tmp_path_factory):
    with Browser(tmp_path_factory.mktemp("chromium-profile"), chromium_binary) as b:
        yield b


NSG_RULE = "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule"


def drift_file(folder) -> str:
    """A drift JSON as `sitekit drift --format json` writes it: the first site has an NSG rule opened to the world
    and a bucket gone, the others are clean (tests/engine/test_drift.py produces the same through the engine)."""
    urn = f"urn:pulumi:s::sitekit::{NSG_RULE}::rule-22"
    steps = [{"op": "update", "urn": urn, "detailedDiff": {"source": {}},
              "oldState": {"inputs": {"source": "10.64.128.0/20"}, "outputs": {"source": "10.64.128.0/20"}},
              "newState": {"inputs": {"source": "0.0.0.0/0"}, "outputs": {"source": "0.0.0.0/0"}}},
             {"op": "delete", "urn": "urn:pulumi:s::sitekit::oci:ObjectStorage/bucket:Bucket::bucket-checkpoints",
              "oldState": {"inputs": {}, "outputs": {}}, "newState": None}]
    first, *rest = SHIPPED
    sites = [SiteDrift(first, "2026-01-02T03:04:05Z", differences(first, steps), resources=150)]
    sites += [SiteDrift(s, "2026-01-02T03:04:05Z", resources=140) for s in rest]
    path = folder / "drift.json"
    path.write_text(render_json(DriftReport("2026-01-02T03:04:05Z", sites)))
    return str(path)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The report of the shipped sites as a user writes it, and the JSON of the same fleet to check it against."""
    folder = tmp_path_factory.mktemp("fleet-report")
    drift = drift_file(folder)
    done = sitekit("fleet", "--html", str(folder), "--history", "10", "--no-progress", "--drift", drift)
    assert done.returncode == 0, done.stderr
    fleet = json.loads(sitekit("fleet", "--format", "json", "--no-progress", "--drift", drift).stdout)
    return folder / "index.html", fleet


@pytest.fixture(scope="module")
def tab(browser, report):
    return browser.open(report[0].as_uri(), *VIEWPORT)


def test_the_page_shows_the_fleet(tab, report):
    _, fleet = report
    text = tab.evaluate("document.body.innerText")
    assert tab.evaluate("document.title") == "sitekit fleet report"
    total = fleet["total"]
    assert f"{len(SHIPPED)} sites in {len(fleet['countries'])} countries: {total['gpus']:,} GPUs" in text
    assert f"facility load {total['facilityMw']:,.2f} MW" in text
    headings = tab.evaluate("Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
    assert headings == ["Fleet map", "Sites", "GPUs", "Power", "Compliance", "Site networks", "Drift", "Capacity history",
                        "Capacity catalog"]
    rows = tab.evaluate("Array.from(document.querySelectorAll('#sites tbody tr')).map(r => "
                        "Array.from(r.cells).map(c => c.innerText))")
    assert [r[0] for r in rows] == SHIPPED
    for row, site in zip(rows, fleet["sites"]):
        assert row[5] == f"{site['itMw']:,.2f}" and row[6] == f"{site['facilityMw']:,.2f} / {site['envelopeMw']:,.6g}"
        for shape, gpus in site["gpusByShape"].items():
            assert f"{shape} {gpus:,}" in row[3]
        assert row[8].startswith("passed")
        assert row[10] == (", ".join(site["peerings"]) or "-")  # the shipped hub-and-spoke
        # the jurisdiction column names the jurisdiction's code; the region's country sits with the region
        # the cost at the size the plan declares and at peak (the size the GPU and MW columns show), each named
        if site["monthlyCostPeakUsd"] != site["monthlyCostUsd"]:
            assert " planned, " in row[7] and " at peak" in row[7], row[7]
        assert row[1].endswith(f"({site['jurisdiction']})")
        assert row[2].startswith(f"{site['region']} ({site['country']}")
        counts = site["drift"]["counts"]
        expected = ", ".join(f"{counts[k]} {k}" for k in CLASSES if counts[k]) or "no drift"
        assert row[11] == f"{expected} (2026-01-02T03:04:05Z)"
    assert rows[0][11].startswith("1 security, 1 gone")


def test_the_drift_column_links_to_each_drifted_sites_differences(tab):
    first = SHIPPED[0]
    link = tab.evaluate("document.querySelector('#sites tbody tr a.bad').getAttribute('href')")
    assert link == f"#drift-{first}"
    detail = tab.evaluate(f"document.querySelector('#drift-{first}').innerText")
    assert "rule-22" in detail and "0.0.0.0/0" in detail and "10.64.128.0/20" in detail
    assert "bucket-checkpoints" in detail and "sitekit rollout" in detail
    assert tab.evaluate("document.querySelectorAll('#drift div[id^=drift-]').length") == 1  # clean sites: no detail


def test_charts_map_and_networks_are_drawn(tab, report):
    _, fleet = report
    labels = tab.evaluate("Array.from(document.querySelectorAll('svg')).map(s => s.getAttribute('aria-label'))")
    assert labels[:1] == ["fleet map: sites by country and their peerings"]
    for label in ("GPUs per site by shape", "GPUs per country by shape", "power per site", "power per country",
                  "GPUs per site over commits", "facility MW per site over commits"):
        assert label in labels
    assert [l for l in labels if l.startswith("network of ")] == [f"network of {s}" for s in SHIPPED]
    # every drawn chart has a size: nothing collapsed to nothing
    sizes = tab.evaluate("Array.from(document.querySelectorAll('svg')).map(s => "
                         "[s.getBoundingClientRect().width, s.getBoundingClientRect().height])")
    assert all(w > 300 and h > 60 for w, h in sizes), sizes
    circles = tab.evaluate("Array.from(document.querySelectorAll('#map circle title')).map(t => t.textContent)")
    assert sorted(c.split(" ")[0] for c in circles) == SHIPPED
    ashburn = tab.evaluate("document.querySelector('#net-us-ashburn').innerText + "
                           "Array.from(document.querySelectorAll('#net-us-ashburn text')).map(t => t.textContent).join(' ')")
    for cidr in ("10.64.0.0/18", "10.64.64.0/19", "10.64.145.0/26", "10.64.132.64/28"):
        assert cidr in ashburn
    assert "DRG sitekit-us-ashburn-drg" in ashburn and "[internet gateway]" in ashburn


def test_compliance_matrix_links_every_rule(tab):
    links = tab.evaluate("Array.from(document.querySelectorAll('#compliance th.rule a')).map(a => "
                         "[a.textContent, a.getAttribute('href')])")
    assert [text for text, _ in links] == sorted(RULES)
    assert all(href.endswith(f"docs/policies.md#{text.lower()}") for text, href in links)
    cells = tab.evaluate("Array.from(document.querySelectorAll('#compliance tbody td')).map(td => td.className)")
    assert len(cells) == len(SHIPPED) * len(RULES) and "st-fail" not in cells
    # advisories on every site: SK-CMP-006 (GPU shapes' Secure Boot unknown), SK-CMP-007 (no region's shapes known
    # yet), SK-MON-003 (no shipped stack file sets the secret alert endpoint)
    assert cells.count("st-advisory") == 3 * len(SHIPPED)


def test_screenshots_have_the_page_size(tab):
    shot = tab.screenshot()
    assert png_size(shot) == VIEWPORT and len(shot) > 20_000  # a blank viewport is a few KB
    height = tab.evaluate("document.documentElement.scrollHeight")
    full = tab.screenshot(full_page=True)
    assert png_size(full) == (VIEWPORT[0], height) and height > 3 * VIEWPORT[1]
    assert len(full) > 3 * len(shot) // 2


def test_no_console_error_and_nothing_loaded_from_elsewhere(tab, report):
    page = tab.collect()
    assert page.errors == [] and page.exceptions == []
    assert page.requests[0] == report[0].as_uri()
    assert all(url == report[0].as_uri() or url.startswith("data:") for url in page.requests), page.requests


def test_the_checks_can_fail(browser, tmp_path):
    """The same checks on a page that logs an error, throws, and loads an image from the network."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><title>bad</title></head><body><p>x</p>'
                   '<img src="http://assets.example.invalid/logo.png">'
                   '<script>console.error("broken chart"); null.boom;</script></body></html>')
    page = browser.open(bad.as_uri(), 400, 300).collect()
    assert "console.error: broken chart" in page.errors
    assert any("TypeError" in e for e in page.exceptions)
    assert "http://assets.example.invalid/logo.png" in page.requests
    with pytest.raises(CdpError, match="ERR_FILE_NOT_FOUND"):
        browser.open((tmp_path / "missing.html").as_uri())


# ------------------------------------------------------------------------------------------------ layout
@pytest.fixture(scope="module")
def report20(tmp_path_factory, make_project):
    """The report of twenty sites (tests/fleet20.py: eight peering connections at the hub, three commits of
    history with twenty series), with the same drift file, and the JSON of the same fleet."""
    project = stamp_fleet20(make_project(tmp_path_factory.mktemp("fleet20")))
    folder = tmp_path_factory.mktemp("fleet20-report")
    drift = drift_file(folder)
    done = sitekit("fleet", "--html", str(folder), "--history", "10", "--no-progress", "--drift", drift, cwd=project)
    assert done.returncode == 0, done.stderr
    fleet = json.loads(sitekit("fleet", "--format", "json", "--no-progress", "--drift", drift, cwd=project).stdout)
    return folder / "index.html", fleet


@pytest.fixture(scope="module", params=[3, 20], ids=["3 sites", "20 sites"])
def wide(request, browser, report, report20):
    """(tab at 1400 px with every <details> open and the layout checks' findings, fleet JSON) at 3 and 20 sites."""
    path, fleet = report if request.param == 3 else report20
    assert len(fleet["sites"]) == request.param
    tab = browser.open(path.as_uri(), *WIDE)
    return tab, layout_problems(tab), fleet


def test_nothing_overlaps_is_cut_is_drawn_alike_or_is_out_of_view(wide):
    _, problems, _ = wide
    assert problems == NO_PROBLEM


def test_the_layout_checks_looked_at_the_labels_series_and_rules(wide):
    """What the checks read is on the page: every site's network diagram with its peering connections, one
    series per site in each history chart, every rule in the compliance matrix, the drift column."""
    tab, _, fleet = wide
    sites = [s["site"] for s in fleet["sites"]]
    series = tab.evaluate("Array.from(document.querySelectorAll('#history svg')).map(s => "
                          "[s.getAttribute('aria-label'), new Set(Array.from(s.querySelectorAll('g[data-series]'))"
                          ".map(g => g.getAttribute('data-series'))).size])")
    assert series == [["GPUs per site over commits", len(sites)], ["facility MW per site over commits", len(sites)]]
    rules = tab.evaluate("Array.from(document.querySelectorAll('#compliance th.rule a')).map(a => a.textContent)")
    assert rules == sorted(RULES)
    columns = tab.evaluate("Array.from(document.querySelectorAll('#compliance th.site')).map(th => th.textContent)")
    assert columns == sites
    head = tab.evaluate("Array.from(document.querySelectorAll('#sites thead th')).map(th => th.textContent)")
    assert head[-1] == "drift"
    drift = tab.evaluate("Array.from(document.querySelectorAll('#sites tbody tr')).map(r => r.cells[11].innerText)")
    assert drift[0].startswith("1 security, 1 gone") and drift.count("no drift (2026-01-02T03:04:05Z)") == 2
    assert drift.count("not checked") == len(sites) - 3  # sites the drift file does not cover


def test_both_ends_of_a_peering_name_the_peer_and_its_region(wide):
    tab, _, fleet = wide
    region = {s["site"]: s["region"] for s in fleet["sites"]}
    labels = tab.evaluate("Object.fromEntries(Array.from(document.querySelectorAll('#networks details')).map(d => "
                          "[d.id.slice(4), Array.from(d.querySelectorAll('text')).map(t => t.firstChild.data)"
                          ".filter(t => t.startsWith('RPC '))]))")
    hub = HUB_PEERS if len(fleet["sites"]) == 20 else HUB_PEERS[:2]
    assert labels["us-ashburn"] == [f"RPC to {p} ({region[p]}), accepts" for p in sorted(hub)]
    for peer in hub:
        assert labels[peer] == [f"RPC to us-ashburn ({region['us-ashburn']}), requests"]
    assert all(not v for k, v in labels.items() if k not in hub and k != "us-ashburn")
    assert len(fleet["sites"]) == 3 or set(STAMPED) <= set(labels)


# The layout checks on pages made to show each defect (modelled on the report before the fix), and on a clean one.
SVG = '<svg xmlns="http://www.w3.org/2000/svg" aria-label="{label}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" ' \
      'font-family="system-ui, sans-serif" font-size="12">{body}</svg>'
DEFECTS = {
    "overlap": (  # two peering connections' labels set 150 px apart, each longer than that; a cell's text into the next
        SVG.format(label="network of hub", w=620, h=60, body='<text x="300" y="30">RPC sitekit-hub-rpc-ar-patagonia -&gt;'
                   '</text><text x="450" y="30">RPC sitekit-hub-rpc-br-saopaulo -&gt;</text>')
        + '<table style="table-layout:fixed;width:240px"><tr><td style="width:60px;white-space:nowrap">'
          'ar-patagonia-north</td><td>passes</td></tr></table>',
        [r'^svg "network of hub": "RPC sitekit-hub-rpc-ar-patagonia ->" overlaps "RPC sitekit-hub-rpc-br-saopaulo ->"$',
         r'^table in #page: "ar-patagonia-north" overlaps "passes"$']),
    "clipping": (  # a chart's last x label centred on its right edge; a box that hides what does not fit
        SVG.format(label="history", w=300, h=60, body='<text x="290" y="40" text-anchor="middle">0792816</text>')
        + '<div style="width:120px;overflow:hidden;white-space:nowrap">a label longer than its box</div>',
        [r'^svg "history": "0792816" at \[.*\] reaches outside the drawing \[.*\]$',
         r'^div in #page: content \d+ px wide in a box of 120 px \(overflow-x: hidden\): "a label longer than its box"$']),
    "series": (  # twenty sites on a ten-colour palette: the 1st and 11th alike, ungrouped or grouped; bars alike
        SVG.format(label="old chart", w=300, h=100, body='<polyline points="0,10 300,10" fill="none" stroke="#4e79a7"/>'
                   '<polyline points="0,50 300,50" fill="none" stroke="#4e79a7"/>')
        + SVG.format(label="grouped", w=300, h=100, body=''.join(
            f'<g data-series="{name}"><polyline points="0,{y} 300,{y}" fill="none" stroke="#f28e2b"{dash}/></g>'
            for name, y, dash in (("s00", 10, ""), ("s10", 40, ""), ("s20", 70, ' stroke-dasharray="9 4"'))))
        + SVG.format(label="bars", w=300, h=100, body='<rect data-series="H100" x="0" y="0" width="50" height="10" '
                     'fill="#59a14f"/><rect data-series="B200" x="50" y="0" width="50" height="10" fill="#59a14f"/>'),
        [r'^svg "old chart": unnamed line 1 and unnamed line 2 are both drawn with stroke rgb\(78, 121, 167\), dash none$',
         r'^svg "grouped": series s00 and series s10 are both drawn with stroke rgb\(242, 142, 43\), dash none$',
         r'^svg "bars": series H100 and series B200 are both drawn with fill rgb\(89, 161, 79\)$']),
    "outOfView": (  # the compliance matrix of 68 rule columns in a box that scrolls sideways
        '<div style="overflow-x:auto;width:1200px"><table><tr>'
        + "".join(f'<th style="min-width:20px">SK-{i:03d}</th>' for i in range(68)) + "</tr></table></div>",
        [r"^div in #page must be scrolled sideways to show its \d+ px in 1200 px$",
         r"^table in #page spans \d+ to \d+ px, past the viewport \(0 to 1400\): .*"]),
}
CLEAN = (SVG.format(label="fine", w=400, h=100, body='<text x="10" y="20">a label</text><text x="10" y="40">another'
                    '</text><g data-series="a"><polyline points="0,60 400,60" fill="none" stroke="#4e79a7"/></g>'
                    '<g data-series="b"><polyline points="0,80 400,80" fill="none" stroke="#4e79a7" '
                    'stroke-dasharray="9 4"/></g>')
         + '<div style="overflow-x:auto;width:1200px"><table><tr><th>rule</th><td>passes</td></tr></table></div>')


def page(tmp_path, name: str, body: str) -> str:
    path = tmp_path / f"{name}.html"
    path.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{name}</title></head><body>'
                    f'<div id="page">{body}</div></body></html>')
    return path.as_uri()


@pytest.mark.parametrize("check", DEFECTS)
def test_each_layout_check_finds_the_defect_it_is_for(browser, tmp_path, check):
    body, expected = DEFECTS[check]
    found = layout_problems(browser.open(page(tmp_path, check, body), *WIDE))[check]
    for pattern in expected:
        assert any(re.match(pattern, f) for f in found), (pattern, found)
    if check == "series":  # the third grouped series differs in its dash pattern only: told apart
        assert not any("s20" in f for f in found), found


def test_the_layout_checks_pass_a_clean_page(browser, tmp_path):
    assert layout_problems(browser.open(page(tmp_path, "clean", CLEAN), *WIDE)) == NO_PROBLEM
