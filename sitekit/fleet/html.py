"""The fleet as one static HTML page: no server, no script, no external asset (styles and SVG inline, the
favicon a data URL), so it opens offline from a file or a CI artifact. Pure: `Fleet`, `History` and the
capacity catalog in, a string out.

Sections: summary; fleet map (sites and peerings); sites table; GPUs and power per site and per country;
compliance matrix (rules x sites, each rule linking to its row in docs/policies.md); each site's network;
capacity history from git; what the capacity catalog knows of the shapes the sites use.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from sitekit import __version__
from sitekit.fleet import svg
from sitekit.fleet.history import History
from sitekit.fleet.layout import chunks, series_styles
from sitekit.fleet.model import STATUSES, WAIVER_HORIZON_DAYS, Fleet, Totals, edges
from sitekit.fleet.text import (
    cost_text,
    gpus_text,
    money,
    policy_text,
    short_shape,
    waivers_text,
)
from sitekit.policy import RULES

if TYPE_CHECKING:
    from sitekit.spec.catalog import Capacity

ROLE_COLOURS = {"training": "#4e79a7", "inference": "#f28e2b", "mixed": "#59a14f"}
NETWORK_ROLE_COLOURS = {"frontend": "#e15759", "services": "#4e79a7", "gpu": "#59a14f", "rdma": "#b07aa1",
                        "storage": "#9c755f"}
POWER_COLOURS = {"IT load": "#4e79a7", "cooling and overhead (PUE)": "#a0cbe8"}
STATUS_MARK = {"pass": "✓", "fail": "✗", "advisory": "!", "waived": "W", "disabled": "–"}
STATUS_TEXT = {"pass": "passes", "fail": "fails (mandatory)", "advisory": "advisory finding",
               "waived": "findings waived", "disabled": "disabled"}

CSS = """
body{font-family:system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:0 24px 48px;color:#222}
h1{margin:20px 0 4px}h2{margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}
nav a{margin-right:14px}p.meta{color:#555;margin:0 0 8px}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ddd;padding:3px 6px;vertical-align:top}
th{background:#f4f4f4;text-align:left}td.num{text-align:right;white-space:nowrap}
.bad{color:#b00;font-weight:bold}.ok{color:#176b2c}
.matrix thead th{position:sticky;top:0;z-index:1;vertical-align:bottom}
.matrix th.site{padding:4px 2px;font-weight:normal}.matrix th.site a{display:inline-block;writing-mode:vertical-rl;
transform:rotate(180deg);white-space:nowrap}
.matrix th.rule{font-weight:normal;background:#fff}.matrix th.rule a{white-space:nowrap}
.matrix th.rule span{color:#555;margin-left:6px}.matrix tr.area th{background:#e9eef5;font-weight:bold}
.matrix td{text-align:center;min-width:16px;padding:2px}
.st-pass{background:#e3f4e6;color:#176b2c}.st-fail{background:#f8d7d7;color:#b00;font-weight:bold}
.st-advisory{background:#fff1c9;color:#8a5a00}.st-waived{background:#e4e8f7;color:#334}
.st-disabled{background:#eee;color:#888}
details{margin:8px 0}summary{cursor:pointer;font-weight:bold}.note{color:#555;font-size:13px}
.chart{overflow-x:auto}.chart svg{max-width:100%;height:auto}
"""


def _e(value: object) -> str:
    return escape(str(value))


def _table(head: list[str], rows: list[list[str]], num: set[int] = frozenset()) -> str:
    """A table whose cells are already HTML."""
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f'<td class="num">{c}</td>' if i in num else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _summary(fleet: Fleet) -> str:
    t = fleet.total
    commit = (f"commit {fleet.commit[:12]}" + (" with uncommitted changes" if fleet.dirty else "")) \
        if fleet.commit else "a tree outside git"
    failing = (f'<span class="bad">{t.failing} failing a mandatory rule</span>' if t.failing
               else '<span class="ok">all passing the mandatory rules</span>')
    return (f'<p class="meta">Generated {fleet.generated.isoformat()} by sitekit {__version__} from {_e(commit)}.</p>'
            f"<p><b>{t.sites} sites</b> in <b>{len(fleet.countries)} countries</b>: <b>{t.gpus:,} GPUs</b>, "
            f"IT load <b>{t.it_mw:,.2f} MW</b>, facility load <b>{t.facility_mw:,.2f} MW</b> of "
            f"<b>{t.envelope_mw:,.6g} MW</b> of envelopes, <b>{_e(money(t.monthly_usd))}</b> a month at list price; "
            f"{failing}.</p>")


def _map(fleet: Fleet) -> str:
    links = edges(fleet.rows)
    nodes = [(r.site, r.country, r.gpus, "#7bc47f" if r.passed else "#e57373")
             for r in sorted(fleet.rows, key=lambda r: (r.country, r.site))]
    note = (f"{len(links)} peerings." if links else
            "No peerings declared (a site names its peers under sitekit:peers): sites are shown unconnected.")
    return (f'<div class="chart">{svg.fleet_graph("fleet map: sites by country and their peerings", nodes, links)}</div>'
            f'<p class="note">Sites grouped by country around the ring; a circle\'s area follows its GPUs; green '
            f"passes every mandatory rule, red fails one. {_e(note)}</p>")


def _sites(fleet: Fleet) -> str:
    head = ["site", "jurisdiction", "region", "GPUs by shape", "GPUs by role", "IT MW", "facility / envelope MW",
            "cost / month (list)", "mandatory policy", f"waivers due <= {WAIVER_HORIZON_DAYS} d", "peerings", "drift"]
    rows = []
    for r in fleet.rows:
        region = f"{r.region} ({r.country}" + (", dedicated)" if r.region_kind == "dedicated" else ")")
        policy = policy_text(r)
        # the jurisdiction's own code, not the region's country (a site may sit in another country's region)
        rows.append([f'<a href="#net-{_e(r.site)}">{_e(r.site)}</a>', _e(f"{r.jurisdiction_name} ({r.jurisdiction})"),
                     _e(region), _e(gpus_text(r.gpus_by_shape)), _e(gpus_text(r.gpus_by_role)), f"{r.it_mw:,.2f}",
                     f"{r.facility_mw:,.2f} / {r.envelope_mw:,.6g}", _e(cost_text(r, r.unpriced)),
                     f'<span class="{"ok" if r.passed else "bad"}">{_e(policy)}</span>', _e(waivers_text(r)),
                     _e(", ".join(r.peerings) or "-"), _drift_cell(fleet, r.site)])
    return _table(head, rows, {5, 6})


def _drift_cell(fleet: Fleet, site: str) -> str:
    """The last drift run's counts, linking to the site's differences (or '-' when no report was given)."""
    cell = (fleet.drift or {}).get(site)
    text = _e(fleet.drift_text(site))
    if cell is None or cell.status == "clean":
        return f'<span class="ok">{text}</span>' if cell is not None else text
    return f'<a class="bad" href="#drift-{_e(site)}">{text}</a>'


def _drift(fleet: Fleet) -> str:
    """Each drifted site's differences, as the drift report gave them (`sitekit drift --format json`)."""
    if fleet.drift is None:
        return ('<p class="note">No drift report given: `sitekit drift --all --format json --output drift.json`, '
                "then `sitekit fleet --html DIR --drift drift.json`.</p>")
    run = next(iter(fleet.drift.values())).run if fleet.drift else "-"
    out = [f'<p class="note">The last drift run ({_e(run)}): each site\'s stack state against what the cloud '
           "reported, through the engine's refresh preview.</p>"]
    for site, cell in sorted(fleet.drift.items()):
        if cell.status == "clean":
            continue
        rows = [[_e(d.get("class")), f"<code>{_e(d.get('name'))}</code>",
                 f"<code>{_e(d.get('property') or '-')}</code>", f"<code>{_e(d.get('state'))}</code>", f"<code>{_e(d.get('cloud'))}</code>", _e(d.get("action"))]
                for d in cell.differences]
        error = f'<p class="bad">{_e(cell.error)}</p>' if cell.error else ""
        out.append(f'<div id="drift-{_e(site)}"><h3>{_e(site)}: {_e(cell.text())}</h3>{error}'
                   + (_table(["class", "resource", "property", "in state", "in the cloud", "what to do"], rows)
                      if rows else "") + "</div>")
    return "".join(out)


def _gpu_charts(fleet: Fleet) -> str:
    shapes = svg.colours(s for r in fleet.rows for s in r.gpus_by_shape)

    def rows(items: list, by: str) -> list:
        return [(name, list(getattr(x, by).items()), None, f"{x.gpus:,} GPUs") for name, x in items]

    sites = [(r.site, r) for r in fleet.rows]
    countries = [(c.name, c) for c in fleet.countries]
    return ("<h3>GPUs per site, by shape</h3>" + _chart(svg.bar_chart("GPUs per site by shape", rows(sites, "gpus_by_shape"), shapes))
            + "<h3>GPUs per country, by shape</h3>"
            + _chart(svg.bar_chart("GPUs per country by shape", rows(countries, "gpus_by_shape"), shapes))
            + "<h3>GPUs per site, by role</h3>"
            + _chart(svg.bar_chart("GPUs per site by role", rows(sites, "gpus_by_role"), ROLE_COLOURS)))


def _power_rows(items: list[tuple[str, object]]) -> list:
    out = []
    for name, x in items:
        it, facility, envelope = x.it_mw, x.facility_mw, x.envelope_mw
        out.append((name, [("IT load", it), ("cooling and overhead (PUE)", round(facility - it, 4))], envelope,
                    f"{facility:,.2f} of {envelope:,.6g} MW ({100 * facility / envelope if envelope else 0:.0f}%)"))
    return out


def _power_charts(fleet: Fleet) -> str:
    sites = [(r.site, r) for r in fleet.rows]
    countries: list[tuple[str, Totals]] = [(c.name, c) for c in fleet.countries]
    return ('<p class="note">Facility load = IT load x PUE, at peak (autoscaled pools at their maximum); the red '
            "line is the site's power envelope.</p>"
            + "<h3>Power per site</h3>" + _chart(svg.bar_chart("power per site", _power_rows(sites), POWER_COLOURS))
            + "<h3>Power per country</h3>"
            + _chart(svg.bar_chart("power per country", _power_rows(countries), POWER_COLOURS)))


def _chart(body: str) -> str:
    return f'<div class="chart">{body}</div>'


SITES_PER_MATRIX = 30
"""Site columns in one compliance table: with the rule column, 30 fit in the page's 1200 px; more sites make more
tables of the same rules, one under the other."""


def _compliance(fleet: Fleet, docs_url: str) -> str:
    """Rules as rows (grouped by area, each with its title, linking to its row in the policy docs), sites as
    columns (names set vertically), so every rule is in view on a page 1200 px wide at any number of rules;
    past SITES_PER_MATRIX sites, one such table per group of sites."""
    legend = " ".join(f'<span class="st-{s}">&nbsp;{STATUS_MARK[s]}&nbsp;</span> {_e(STATUS_TEXT[s])}' for s in STATUSES)
    areas: dict[str, list[str]] = {}
    for rule in fleet.rule_ids:
        areas.setdefault(RULES[rule].area, []).append(rule)
    tables = []
    for group in chunks([r.site for r in fleet.rows], SITES_PER_MATRIX):
        rows = [r for r in fleet.rows if r.site in group]
        head = '<th>rule</th>' + "".join(f'<th class="site"><a href="#net-{_e(r.site)}">{_e(r.site)}</a></th>'
                                         for r in rows)
        body = []
        for area, rules in areas.items():
            body.append(f'<tr class="area"><th colspan="{len(rows) + 1}">{_e(area)} ({len(rules)} '
                        f'{"rule" if len(rules) == 1 else "rules"})</th></tr>')
            for rule in rules:
                cells = [f'<th class="rule"><a href="{_e(docs_url)}#{rule.lower()}">{_e(rule)}</a>'
                         f"<span>{_e(RULES[rule].title)}</span></th>"]
                for r in rows:
                    status = r.rule_status.get(rule, "pass")
                    cells.append(f'<td class="st-{status}" title="{_e(f"{rule} at {r.site}: {STATUS_TEXT[status]}")}">'
                                 f"{STATUS_MARK[status]}</td>")
                body.append("<tr>" + "".join(cells) + "</tr>")
        tables.append(f'<div class="matrix"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
                      "</table></div>")
    return (f'<p class="note">{legend}. Each rule links to its row in docs/policies.md; `sitekit policy SITE` '
            f"lists the findings.</p>" + "".join(tables))


def _networks(fleet: Fleet) -> str:
    out = ['<p class="note">From each site\'s plan: the DRG, every VCN with its CIDRs, subnets and gateways, and '
           "the VCNs the DRG attaches (remote peering connections appear beside the DRG once declared).</p>"]
    open_ = " open" if len(fleet.rows) <= 6 else ""
    for r in fleet.rows:
        topo = fleet.topologies.get(r.site)
        if topo is None:
            continue
        out.append(f'<details id="net-{_e(r.site)}"{open_}><summary>{_e(r.site)} ({_e(r.region)}): '
                   f"{len(topo.vcns)} VCNs, {sum(len(v.subnets) for v in topo.vcns)} subnets</summary>"
                   f"{_chart(svg.network_diagram(topo, NETWORK_ROLE_COLOURS))}</details>")
    return "".join(out)


SERIES_PER_CHART = 20
"""Sites in one history chart: ten colours, solid then dashed (see `layout.series_styles`); more sites make more
charts, on the same scale."""


def _history(history: History) -> str:
    if not history.commits:
        return f'<p class="note">{_e(history.note or "No commits.")}</p>'
    labels = [c.short for c in history.commits]
    groups = chunks(sorted(history.points), SERIES_PER_CHART)
    first, last = history.commits[0], history.commits[-1]
    skipped = ""
    if history.skipped:
        rows = [[_e(s), _e(c), _e(why)] for s, c, why in history.skipped[:200]]
        more = f" (first 200 of {len(history.skipped)})" if len(history.skipped) > 200 else ""
        skipped = (f"<details><summary>{len(history.skipped)} site versions skipped: they do not load with today's "
                   f"loader{more}</summary>{_table(['site', 'commit', 'why'], rows)}</details>")
    charts = []
    for title, label, unit, value in (("GPUs per site", "GPUs per site", "GPUs", lambda p: p.gpus),
                                      ("Facility MW per site", "facility MW per site", "MW", lambda p: p.facility_mw)):
        series = {s: [value(p) if p else None for p in history.points[s]] for s in history.points}
        top = max([v for vals in series.values() for v in vals if v is not None] + [1e-9])
        charts.append(f"<h3>{title}</h3>")
        for group in groups:
            part = f" ({group[0]} to {group[-1]})" if len(groups) > 1 else ""
            charts.append(_chart(svg.line_chart(f"{label} over commits{part}", labels, [(s, series[s]) for s in group],
                                                series_styles(group), unit, y_max=top)))
    return (f'<p class="note">GPUs and facility MW per site at each of the last {len(history.commits)} commits '
            f"(first parents of HEAD, {_e(first.short)} {_e(first.date)} to {_e(last.short)} {_e(last.date)}), "
            "read from each commit's stack files, profiles and catalog and computed by today's loader; a gap is a "
            "commit where the site is absent or does not load. Uncommitted changes are not shown here. Each site "
            f"has its own colour and line (up to {SERIES_PER_CHART} sites a chart: ten colours, solid then dashed, "
            "circles then squares); every point names its site and value when pointed at.</p>"
            + "".join(charts) + skipped)


def _capacity(fleet: Fleet, capacity: "Capacity") -> str:
    rows = []
    for r in fleet.rows:
        for shape in r.gpus_by_shape:
            st = capacity.status(r.region, shape, r.region_kind)
            rows.append([_e(r.site), _e(r.region), _e(shape), f'<span class="{"ok" if st.status == "offered" else "bad"}">'
                         f"{_e(st.status)}</span>", _e(st.why)])
    return (f'<p class="note">What stacks/catalog/capacity.yaml (recorded {capacity.recorded.isoformat()}) knows of '
            "each shape a site asks for in its region; SK-CMP-007 (advisory) flags every shape not known to be "
            "offered. `sitekit fleet --capacity SHAPE` shows where a shape could move.</p>"
            + _table(["site", "region", "shape", "capacity", "why"], rows))


def render(fleet: Fleet, history: History, capacity: "Capacity", docs_url: str = "docs/policies.md") -> str:
    """The whole report as one HTML document."""
    sections = [("map", "Fleet map", _map(fleet)), ("sites", "Sites", _sites(fleet)),
                ("gpus", "GPUs", _gpu_charts(fleet)), ("power", "Power", _power_charts(fleet)),
                ("compliance", "Compliance", _compliance(fleet, docs_url)),
                ("networks", "Site networks", _networks(fleet)),
                ("drift", "Drift", _drift(fleet)),
                ("history", "Capacity history", _history(history)),
                ("capacity", "Capacity catalog", _capacity(fleet, capacity))]
    problems = ""
    if fleet.problems:
        items = "".join(f"<li><code>{_e(p)}</code></li>" for p in fleet.problems)
        problems = f'<section id="problems"><h2 class="bad">Sites that do not load</h2><ul>{items}</ul></section>'
    nav = "".join(f'<a href="#{key}">{_e(title)}</a>' for key, title, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{_e(title)}</h2>{html}</section>' for key, title, html in sections)
    shapes = sorted({short_shape(s) for r in fleet.rows for s in r.gpus_by_shape})
    return ("<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            '<link rel="icon" href="data:,"><title>sitekit fleet report</title>'
            f"<style>{CSS}</style></head><body>"
            f"<header><h1>sitekit fleet</h1>{_summary(fleet)}<nav>{nav}</nav></header>{problems}{body}"
            f'<footer><p class="note">Cost at list price from stacks/catalog/prices.yaml (recorded '
            f"{_e(fleet.prices_recorded)}); GPU shapes in the fleet: {_e(', '.join(shapes))}.</p></footer>"
            "</body></html>\n")
