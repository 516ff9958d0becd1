"""Inline SVG for the fleet report: horizontal bar charts, line charts, the fleet graph and a site's network
diagram. Plain data in, an SVG string out; every label is text in the document (readable, searchable, and what
the browser test reads), every mark carries a <title> for its exact value.
"""

from __future__ import annotations

import math
from html import escape
from typing import Iterable, Sequence

from sitekit.fleet.network import Topology

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac")
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def colours(keys: Iterable[str]) -> dict[str, str]:
    """A stable colour per key (sorted), cycling the palette."""
    return {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(sorted(set(keys)))}


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" {FONT}>' + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {extra}>{escape(text)}</text>'


def _legend(keys: Sequence[str], colour: dict[str, str], x: float, y: float, width: float) -> tuple[list[str], float]:
    """Legend swatches in rows across `width`; returns the marks and the height used."""
    out, cx, cy = [], x, y
    for key in keys:
        w = 24 + 7 * len(key)
        if cx + w > x + width and cx > x:
            cx, cy = x, cy + 18
        out.append(f'<rect x="{cx:.1f}" y="{cy - 10:.1f}" width="12" height="12" fill="{colour[key]}"/>')
        out.append(_text(cx + 16, cy, key))
        cx += w
    return out, (cy - y) + 18 if keys else 0


def bar_chart(label: str, rows: Sequence[tuple[str, Sequence[tuple[str, float]], float | None, str]],
              colour: dict[str, str], width: float = 920) -> str:
    """Horizontal stacked bars: rows of (label, [(series, value)], marker or None, text at the bar's end).
    A marker (e.g. a power envelope) is drawn as a vertical line across its row."""
    left, right, row_h = 170, 190, 22
    legend_keys = [k for k in colour if any(k == s for _, segs, _, _ in rows for s, v in segs if v)]
    legend, legend_h = _legend(legend_keys, colour, left, 14, width - left - 10)
    top = 10 + legend_h
    scale_max = max([sum(v for _, v in segs) for _, segs, _, _ in rows] + [m or 0 for _, _, m, _ in rows] + [1e-9])
    span = width - left - right
    body = list(legend)
    for i, (name, segs, marker, text) in enumerate(rows):
        y = top + i * row_h
        body.append(_text(left - 8, y + 15, name, "end"))
        x = left
        for series, value in segs:
            if value <= 0:
                continue
            w = span * value / scale_max
            body.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{max(w, 0.5):.1f}" height="{row_h - 6}" '
                        f'fill="{colour[series]}"><title>{escape(f"{name}: {series} {value:,.6g}")}</title></rect>')
            x += w
        if marker:
            mx = left + span * marker / scale_max
            body.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{y + 1}" y2="{y + row_h - 1}" stroke="#c00" '
                        f'stroke-width="2"><title>{escape(f"{name}: envelope {marker:,.6g}")}</title></line>')
        body.append(_text(max(x, left + span * (marker or 0) / scale_max) + 6, y + 15, text))
    return _svg(width, top + len(rows) * row_h + 6, body, label)


def _tick(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def line_chart(label: str, x_labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]],
               colour: dict[str, str], unit: str, width: float = 920, height: float = 260) -> str:
    """One line per series over the x labels; a None value breaks the line (no data there)."""
    left, right, top, bottom = 70, 20, 14, 46
    legend, legend_h = _legend([name for name, _ in series], colour, left, height + 8, width - left - right)
    values = [v for _, vals in series for v in vals if v is not None]
    y_max = max(values + [1e-9]) * 1.1
    n = max(len(x_labels), 1)
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    body = [f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#ccc"/>']
    for k in range(5):
        v = y_max * k / 4
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#eee"/>')
        body.append(_text(left - 6, py(v) + 4, _tick(v), "end"))
    body.append(_text(14, top + plot_h / 2, unit, "middle", f'transform="rotate(-90 14 {top + plot_h / 2:.1f})"'))
    step = max(1, math.ceil(n / 12))
    for i, name in enumerate(x_labels):
        if (n - 1 - i) % step == 0:  # counted from the newest, which is always labelled
            body.append(_text(px(i), top + plot_h + 16, name, "middle"))
    for name, vals in series:
        runs: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(vals):
            if v is None:
                runs.append([])
                continue
            runs[-1].append((px(i), py(v)))
            body.append(f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="2.5" fill="{colour[name]}">'
                        f'<title>{escape(f"{name} at {x_labels[i]}: {v:,.6g} {unit}")}</title></circle>')
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                body.append(f'<polyline points="{points}" fill="none" stroke="{colour[name]}" stroke-width="2"/>')
    return _svg(width, height + legend_h + 10, body + legend, label)


def fleet_graph(label: str, nodes: Sequence[tuple[str, str, int, str]], edges: Sequence[tuple[str, str]],
                width: float = 920) -> str:
    """Sites as circles around a ring, grouped by country (label, country, GPUs, fill), names outside the ring,
    and peerings as lines across it. A circle's area follows the site's GPUs."""
    n = len(nodes)
    radius = max(110.0, min(300.0, n * 14.0))
    height = 2 * radius + 220
    cx, cy = width / 2, height / 2
    biggest = max([g for _, _, g, _ in nodes] + [1])
    largest = min(22.0, 0.45 * 2 * math.pi * radius / max(n, 1))  # neighbours never overlap
    at: dict[str, tuple[float, float, float]] = {}
    body: list[str] = []
    countries: dict[str, list[float]] = {}
    for i, (name, country, gpus, fill) in enumerate(nodes):
        angle = -math.pi / 2 + 2 * math.pi * i / max(n, 1)
        x, y = (cx, cy) if n == 1 else (cx + radius * math.cos(angle), cy + radius * math.sin(angle))
        at[name] = (x, y, angle)
        countries.setdefault(country, []).append(angle)
    for a, b in edges:
        (x1, y1, _), (x2, y2, _) = at[a], at[b]
        body.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#555" stroke-width="2">'
                    f'<title>{escape(f"{a} peers with {b}")}</title></line>')
    for name, country, gpus, fill in nodes:
        x, y, angle = at[name]
        r = max(3.0, largest * math.sqrt(gpus / biggest))
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}" stroke="#333">'
                    f'<title>{escape(f"{name} ({country}): {gpus:,} GPUs")}</title></circle>')
        if n == 1:
            body.append(_text(x, y + r + 14, name, "middle"))
            continue
        c, s_ = math.cos(angle), math.sin(angle)
        anchor = "start" if c > 0.3 else "end" if c < -0.3 else "middle"
        gap = largest + 6
        body.append(_text(x + gap * c, y + gap * s_ + 4 + (8 * s_ if anchor == "middle" else 0), name, anchor))
    for country, angles in countries.items():
        mean = math.atan2(sum(math.sin(a) for a in angles), sum(math.cos(a) for a in angles))
        if n == 1:
            lx, ly = cx, cy - 48
        else:
            lx, ly = cx + (radius + 110) * math.cos(mean), cy + (radius + 80) * math.sin(mean) + 5
        body.append(_text(lx, ly, country, "middle", 'font-weight="bold" font-size="15" fill="#666"'))
    return _svg(width, height, body, label)


def network_diagram(topo: Topology, role_colour: dict[str, str]) -> str:
    """The DRG on top, one box per VCN below (role, CIDRs, subnets with CIDRs, gateways), a line from the DRG
    to each VCN it attaches, and remote peering connections beside the DRG."""
    box_w, gap, line_h = 176, 14, 16
    n = max(len(topo.vcns), 1)
    width = max(620, n * (box_w + gap) + gap)
    rows = max([len(v.subnets) + len(v.gateways) for v in topo.vcns] + [0])
    box_h = 58 + line_h * rows
    top = 96
    body: list[str] = []
    drg_x, drg_y = width / 2, 30
    if topo.drg:
        body.append(f'<rect x="{drg_x - 110:.1f}" y="{drg_y - 18}" width="220" height="36" rx="6" fill="#fff3d6" '
                    f'stroke="#b07a00"/>')
        body.append(_text(drg_x, drg_y + 4, f"DRG {topo.drg}", "middle", 'font-weight="bold"'))
    for i, peer in enumerate(topo.peerings):
        px, py = drg_x + 130 + i * 150, drg_y
        body.append(f'<line x1="{drg_x + 110:.1f}" y1="{drg_y}" x2="{px:.1f}" y2="{py}" stroke="#b07a00" '
                    f'stroke-dasharray="4 3"/>')
        body.append(_text(px + 4, py + 4, f"RPC {peer.name} -> {peer.peer_region}"))
    for i, v in enumerate(topo.vcns):
        x = gap + i * (box_w + gap) + (width - n * (box_w + gap) - gap) / 2
        fill = role_colour.get(v.role, "#999")
        if v.attached and topo.drg:
            body.append(f'<line x1="{drg_x:.1f}" y1="{drg_y + 18}" x2="{x + box_w / 2:.1f}" y2="{top}" stroke="#b07a00">'
                        f'<title>{escape(f"DRG attachment: {v.name}")}</title></line>')
        body.append(f'<rect x="{x:.1f}" y="{top}" width="{box_w}" height="{box_h}" rx="6" fill="#fafafa" '
                    f'stroke="{fill}" stroke-width="2"/>')
        body.append(f'<rect x="{x:.1f}" y="{top}" width="{box_w}" height="22" rx="6" fill="{fill}"/>')
        body.append(_text(x + 8, top + 15, f"VCN {v.name}" + (f" ({v.role})" if v.role and v.role != v.name else ""),
                          extra='fill="#fff" font-weight="bold"'))
        body.append(_text(x + 8, top + 38, ", ".join(v.cidrs), extra='font-weight="bold"'))
        y = top + 38 + line_h
        for s in v.subnets:
            body.append(_text(x + 12, y, f"{s.name} {s.cidr}" + (" public" if s.public else "")))
            y += line_h
        for g in v.gateways:
            body.append(_text(x + 12, y, f"[{g}]", extra='fill="#555"'))
            y += line_h
    return _svg(width, top + box_h + 12, body, f"network of {topo.site}")
