"""The fleet report's layout, without a browser: label widths and shortening, rows of legend entries, series styles
no two alike, and every SVG of the report (the shipped fleet, a hub with nineteen peers, twenty history series)
with each label's box, estimated from the font's advance widths, inside its drawing and clear of every other
label. The same properties measured in chromium: tests/engine/test_fleet_report.py."""

from __future__ import annotations

import datetime
import re
from html import unescape
from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sitekit import ROOT
from sitekit.fleet import layout, svg
from sitekit.fleet.collect import collect
from sitekit.fleet.history import Commit, History, Point
from sitekit.fleet.html import NETWORK_ROLE_COLOURS, SERIES_PER_CHART, SITES_PER_MATRIX, render
from sitekit.fleet.network import Peering, SubnetBox, Topology, VcnBox, topology
from sitekit.policy import RULES
from sitekit.spec.catalog import load_capacity

TEXT = re.compile(r"<text ([^>]*)>([^<]*)")
SVG = re.compile(r'<svg [^>]*aria-label="([^"]*)"[^>]*viewBox="0 0 (\d+) (\d+)"[^>]*>(.*?)</svg>', re.S)


def label_boxes(drawing: str) -> list[tuple[str, layout.Box]]:
    """Each label of an SVG with the box the browser gives it (rotated labels left out)."""
    out = []
    for attrs, text in TEXT.findall(drawing):
        a = dict(re.findall(r'([\w-]+)="([^"]*)"', attrs))
        if "transform" in a or not text.strip():
            continue
        text = unescape(text)
        out.append((text, layout.label_box(float(a["x"]), float(a["y"]), text, a.get("text-anchor", "start"),
                                           float(a.get("font-size", 12)), a.get("font-weight") == "bold")))
    return out


def layout_problems(page: str) -> list[str]:
    """Labels reaching outside their SVG, or overlapping another label (by more than 1 px each way, as in the
    browser test)."""
    problems = []
    drawings = SVG.findall(page)
    assert drawings
    for label, width, height, body in drawings:
        boxes = label_boxes(body)
        for text, b in boxes:
            if not layout.Box(b.x + 1, b.y + 1, b.w - 2, b.h - 2).inside(float(width), float(height)):
                problems.append(f"{label}: {text!r} {b} outside 0 0 {width} {height}")
        for (t1, b1), (t2, b2) in combinations(boxes, 2):
            if layout.Box(b1.x + 0.5, b1.y + 0.5, b1.w - 1, b1.h - 1).overlaps(
                    layout.Box(b2.x + 0.5, b2.y + 0.5, b2.w - 1, b2.h - 1)):
                problems.append(f"{label}: {t1!r} overlaps {t2!r}")
    return problems


def test_the_estimate_finds_labels_overlapping_and_cut():
    """The check above on the report's old peering labels: 150 px apart, longer than that, past the edge."""
    old = ('<svg aria-label="network of us-ashburn" viewBox="0 0 964 269">'
           '<text x="616.0" y="34.0" text-anchor="start">RPC sitekit-us-ashburn-rpc-ar-patagonia -&gt; </text>'
           '<text x="766.0" y="34.0" text-anchor="start">RPC sitekit-us-ashburn-rpc-br-saopaulo -&gt; </text></svg>')
    cut, overlap = layout_problems(old)
    assert cut.startswith("network of us-ashburn: 'RPC sitekit-us-ashburn-rpc-br-saopaulo -> ' Box(x=766.0, ")
    assert cut.endswith(") outside 0 0 964 269")
    assert overlap == ("network of us-ashburn: 'RPC sitekit-us-ashburn-rpc-ar-patagonia -> ' overlaps "
                       "'RPC sitekit-us-ashburn-rpc-br-saopaulo -> '")


# ------------------------------------------------------------------------------------------------ widths
def test_widths_are_the_fonts_advances():
    assert layout.text_width("0792816") == pytest.approx(7 * 636 * 12 / 1000)  # chromium draws it 54 px wide
    assert layout.text_width("DRG", bold=True) > layout.text_width("DRG")
    assert layout.text_width("✓") == 12  # outside the table: a whole em


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=80),
       st.floats(min_value=12, max_value=600))
def test_fit_shortens_to_the_width_and_keeps_the_start(text, width):
    shown = layout.fit(text, width)
    assert layout.text_width(shown) <= width
    if layout.text_width(text) <= width:
        assert shown == text
    else:
        assert shown.endswith(layout.ELLIPSIS) and text.startswith(shown[:-1].rstrip())


@given(st.lists(st.floats(min_value=1, max_value=400), max_size=40), st.floats(min_value=50, max_value=900))
def test_flow_sets_items_in_rows_without_overlap_inside_the_width(widths, width):
    spots = layout.flow(widths, width, 18)
    boxes = [layout.Box(x, y, w, 18) for (x, y), w in zip(spots, widths)]
    assert not any(a.overlaps(b) for a, b in combinations(boxes, 2))
    for box in boxes:
        assert box.x + box.w <= width or box.x == 0  # only an item wider than the row sticks out, alone


# ------------------------------------------------------------------------------------------------ series
def _lab(colour: str) -> tuple[float, float, float]:
    """sRGB hex to CIELAB (D65)."""
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(int(colour[i:i + 2], 16) / 255) for i in (1, 3, 5))
    xyz = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, 0.2126 * r + 0.7152 * g + 0.0722 * b, \
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def test_the_palettes_colours_are_far_apart():
    """Every two colours at least 25 CIELAB units apart (about 2 is the least difference seen side by side; thin
    lines apart in a chart need far more)."""
    labs = [_lab(c) for c in layout.COLOURS]
    nearest = min(sum((p - q) ** 2 for p, q in zip(a, b)) ** 0.5 for a, b in combinations(labs, 2))
    assert nearest >= 25, nearest


@pytest.mark.parametrize("n", [1, 3, 10, 11, 20, SERIES_PER_CHART, layout.MAX_SERIES])
def test_no_two_series_share_colour_and_dash(n):
    keys = [f"site-{i:02d}" for i in range(n)]
    styles = layout.series_styles(reversed(keys))
    assert list(styles) == keys  # by name, whatever the order given
    assert len({(s.colour, s.dash) for s in styles.values()}) == n
    assert len({(s.marker, s.dash) for s in styles.values()}) == len({s.dash for s in styles.values()})
    if n <= len(layout.COLOURS):
        assert all(s.dash == "" for s in styles.values())  # up to ten: solid lines of ten colours


def test_more_series_than_styles_are_refused():
    with pytest.raises(ValueError, match="41 series in one chart; at most 40"):
        layout.series_styles(str(i) for i in range(41))


@given(st.integers(min_value=0, max_value=200), st.integers(min_value=1, max_value=40))
def test_chunks_are_even_and_keep_the_order(n, most):
    keys = [str(i) for i in range(n)]
    parts = layout.chunks(keys, most)
    assert sum(parts, []) == keys and all(0 < len(p) <= most for p in parts)
    assert len(parts) == -(-n // most) and (not parts or max(map(len, parts)) - min(map(len, parts)) <= 1)


def drawn_series(chart: str) -> dict[str, set[tuple[str, str]]]:
    """{series: {(stroke, dash) of its lines}} of a line chart."""
    out: dict[str, set] = {}
    for name, body in re.findall(r'<g data-series="([^"]*)">(.*?)</g>', chart):
        for attrs in re.findall(r"<(?:polyline|line) ([^>]*)/>", body):
            a = dict(re.findall(r'([\w-]+)="([^"]*)"', attrs))
            out.setdefault(name, set()).add((a["stroke"], a.get("stroke-dasharray", "")))
    return out


def test_a_line_chart_of_twenty_sites_draws_each_apart_and_labels_inside():
    sites = [f"s{i:02d}-somewhere-long" for i in range(20)]
    labels = [f"{i:07x}" for i in range(20)]
    series = [(s, [None if (i + j) % 7 == 0 else 100.0 * i + j for j in range(20)]) for i, s in enumerate(sites)]
    chart = svg.line_chart("GPUs per site over commits", labels, series, layout.series_styles(sites), "GPUs")
    looks = drawn_series(chart)
    assert set(looks) == set(sites) and all(len(v) == 1 for v in looks.values())  # lines and legend swatch alike
    assert len({next(iter(v)) for v in looks.values()}) == 20
    assert layout_problems(chart) == []
    assert f">{labels[-1]}<" in chart  # the newest commit is labelled, inside the drawing


# ------------------------------------------------------------------------------------------------ networks
@pytest.fixture(scope="module")
def fleet(shipped_plans):
    return collect(ROOT, plans=shipped_plans, today=datetime.date(2027, 1, 1))


def test_both_ends_of_a_peering_name_the_peer_and_its_region(fleet, shipped_plans):
    regions = {r.site: r.region for r in fleet.rows}
    hub = fleet.topologies["us-ashburn"].peerings
    assert [(p.site, p.region, p.requests) for p in hub] == [
        ("ar-patagonia", regions["ar-patagonia"], False), ("br-saopaulo", regions["br-saopaulo"], False)]
    spoke = fleet.topologies["ar-patagonia"].peerings
    assert [(p.site, p.region, p.requests) for p in spoke] == [("us-ashburn", regions["us-ashburn"], True)]
    drawn = svg.network_diagram(fleet.topologies["us-ashburn"], NETWORK_ROLE_COLOURS)
    assert f">RPC to ar-patagonia ({regions['ar-patagonia']}), accepts<title>remote peering connection " \
           f"sitekit-us-ashburn-rpc-ar-patagonia: accepts the connection ar-patagonia requests from " \
           f"{regions['ar-patagonia']}</title>" in drawn
    # read without the fleet (an older plan read alone): the accepting end says it does not know the region
    alone = topology(shipped_plans["us-ashburn"])
    assert {p.region for p in alone.peerings} == {""}
    assert ">RPC to br-saopaulo (region unknown), accepts<" in svg.network_diagram(alone, NETWORK_ROLE_COLOURS)


def hub_of(peers: int, vcns: int) -> Topology:
    subnets = (SubnetBox("workers-with-a-rather-long-name", "10.64.128.0/22", False), SubnetBox("lb", "10.64.145.0/26", True))
    return Topology("us-ashburn", "sitekit-us-ashburn-drg-with-a-name-longer-than-its-box",
                    tuple(VcnBox(f"net{i}-named-at-length", "services", ("10.64.128.0/20", "10.99.0.0/16"), subnets,
                                 ("NAT gateway", "service gateway"), True) for i in range(vcns)),
                    tuple(Peering(f"sitekit-us-ashburn-rpc-peer-{i:02d}", f"peer-{i:02d}-of-the-hub-in-a-far-place",
                                  "sa-santiago-1" if i % 2 else "", bool(i % 3)) for i in range(peers)))


@pytest.mark.parametrize("peers,vcns", [(0, 1), (1, 1), (2, 5), (19, 5), (19, 1), (40, 8)])
def test_a_network_diagram_sets_every_peering_on_its_own_line_inside_the_drawing(peers, vcns):
    drawn = svg.network_diagram(hub_of(peers, vcns), NETWORK_ROLE_COLOURS)
    assert layout_problems(drawn) == []
    rpc = [t for t, _ in label_boxes(drawn) if t.startswith("RPC to ")]
    assert len(rpc) == peers
    # a label shortened to fit keeps the whole text in its tooltip
    for i in range(peers):
        assert f"remote peering connection sitekit-us-ashburn-rpc-peer-{i:02d}:" in drawn


# ------------------------------------------------------------------------------------------------ the map
@pytest.mark.parametrize("n", [1, 3, 20, 50, 120])
def test_the_fleet_map_sets_every_name_clear_of_the_others(n):
    """Up to 22 sites the names sit beside their circles; from about 50 the ring is crowded at the top and
    bottom and names go out a line or two to clear their neighbours'."""
    places = ["US", "BR", "DE", "AE", "AR"]
    nodes = sorted([(f"s{i:02d}-{places[i % 5].lower()}" + ("-longer" * (i % 3)), places[i % 5], 8 * (1 + i % 7),
                     "#7bc47f") for i in range(n)], key=lambda node: (node[1], node[0]))
    drawn = svg.fleet_graph("fleet map", nodes, [(nodes[0][0], nodes[-1][0])] if n > 1 else [])
    assert layout_problems(drawn) == []
    assert len(label_boxes(drawn)) == n + len({c for _, c, _, _ in nodes})


# ------------------------------------------------------------------------------------------------ the page
def test_every_drawing_of_the_report_keeps_its_labels_apart_and_inside(fleet):
    sites = [f"s{i:02d}-us" for i in range(25)]
    commits = [layout_commit(i) for i in range(20)]
    history = History(commits, {s: [Point(1000 * i + 8 * j, 1.0 + i, 1.2 + i, 60.0) for j in range(20)]
                                for i, s in enumerate(sites)})
    page = render(fleet, history, load_capacity(ROOT))
    assert layout_problems(page) == []
    charts = re.findall(r'<svg [^>]*aria-label="(GPUs per site over commits[^"]*)"', page)
    assert charts == ["GPUs per site over commits (s00-us to s12-us)", "GPUs per site over commits (s13-us to s24-us)"]


def layout_commit(i: int) -> Commit:
    return Commit(f"{i:040x}", f"{i:07x}", "2027-01-01", "x")


def test_the_compliance_matrix_has_a_row_per_rule_and_a_column_per_site(fleet):
    page = render(fleet, History(note="none"), load_capacity(ROOT))
    rows = re.findall(r'<th class="rule"><a href="[^"]*#([a-z0-9-]+)">([A-Z0-9-]+)</a><span>([^<]*)</span>', page)
    assert [r[1] for r in rows] == sorted(RULES) and all(r[0] == r[1].lower() for r in rows)
    assert all(unescape(title) == RULES[rule].title for _, rule, title in rows)
    areas = re.findall(r'<tr class="area"><th colspan="4">(\w+) \((\d+) rules?\)</th>', page)
    assert sum(int(n) for _, n in areas) == len(RULES) and len(areas) == len({r.area for r in RULES.values()})
    assert re.findall(r'<th class="site"><a href="#net-([^"]+)">', page) == [r.site for r in fleet.rows]
    many = type(fleet)(**{**fleet.__dict__, "rows": fleet.rows * 11})  # 33 columns: two tables
    tables = render(many, History(note="none"), load_capacity(ROOT)).count('<div class="matrix">')
    assert tables == -(-33 // SITES_PER_MATRIX) == 2
