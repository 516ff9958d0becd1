"""`sitekit fleet --html` rendered by a real browser (Debian's chromium, headless, driven over the DevTools pipe
by tests/engine/chromium.py): the page's text and structure, a screenshot's size, no console error, and no
request leaving the file. Runs under `make engine-test`, which installs chromium when it is missing; there a
missing browser fails the test instead of skipping it.
"""

from __future__ import annotations

import json
import os

import pytest
from chromium import CHROMIUM, Browser, CdpError, png_size
from conftest import SHIPPED, sitekit

from sitekit.drift.model import CLASSES, DriftReport, SiteDrift, differences
from sitekit.drift.render import render_json
from sitekit.policy import RULES

VIEWPORT = (1280, 900)


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
