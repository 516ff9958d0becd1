"""Inline SVG for the fleet report: horizontal bar charts, line charts, the fleet graph and a site's network
diagram. Plain data in, an SVG string out; every label is text in the document (readable, searchable, and what
the browser test reads), every mark carries a <title> for its exact value.
"""

from __future__ import annotations

import math
from html import escape
from typing import Callable, Iterable, Sequence

from sitekit.fleet import layout
from sitekit.fleet.network import Peering, Topology

PALETTE = layout.COLOURS
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def colours(keys: Iterable[str]) -> dict[str, str]:
    """A stable colour per key (sorted), cycling the palette (bar segments: few keys, told apart by colour)."""
    return {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(sorted(set(keys)))}


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" width="{width:.0f}" '
            f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" {FONT}>' + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "", width: float | None = None,
          bold: bool = False, title: str = "") -> str:
    """A label; shortened with an ellipsis to `width` px when given, the whole text then in its tooltip."""
    shown = layout.fit(text, width, bold=bold) if width is not None else text
    tip = title or (text if shown != text else "")
    weight = ' font-weight="bold"' if bold else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{weight} {extra}>{escape(shown)}'
            + (f"<title>{escape(tip)}</title>" if tip else "") + "</text>")


def _legend(keys: Sequence[str], swatch: Callable[[str, float, float], str], swatch_w: float, x: float, y: float,
            width: float) -> tuple[list[str], float]:
    """Legend entries (a swatch, then the key) in rows across `width` from (x, y); the marks and the height used."""
    names = [layout.fit(k, width - swatch_w - 4) for k in keys]
    spots = layout.flow([swatch_w + 4 + layout.text_width(n) for n in names], width, 18)
    out = []
    for key, name, (dx, dy) in zip(keys, names, spots):
        out.append(swatch(key, x + dx, y + dy))
        out.append(_text(x + dx + swatch_w + 4, y + dy + 4, name, title=key if name != key else ""))
    return out, (spots[-1][1] + 18 if keys else 0)


def _square(colour: dict[str, str]) -> Callable[[str, float, float], str]:
    return lambda key, x, y: f'<rect x="{x:.1f}" y="{y - 6:.1f}" width="12" height="12" fill="{colour[key]}"/>'


def bar_chart(label: str, rows: Sequence[tuple[str, Sequence[tuple[str, float]], float | None, str]],
              colour: dict[str, str], width: float = 920) -> str:
    """Horizontal stacked bars: rows of (label, [(series, value)], marker or None, text at the bar's end).
    A marker (e.g. a power envelope) is drawn as a vertical line across its row."""
    left, right, row_h = 170, 190, 22
    legend_keys = [k for k in colour if any(k == s for _, segs, _, _ in rows for s, v in segs if v)]
    legend, legend_h = _legend(legend_keys, _square(colour), 12, left, 10, width - left - 10)
    top = 4 + legend_h
    scale_max = max([sum(v for _, v in segs) for _, segs, _, _ in rows] + [m or 0 for _, _, m, _ in rows] + [1e-9])
    span = width - left - right
    body = list(legend)
    for i, (name, segs, marker, text) in enumerate(rows):
        y = top + i * row_h
        body.append(_text(left - 8, y + 15, name, "end", width=left - 14))
        x = left
        for series, value in segs:
            if value <= 0:
                continue
            w = span * value / scale_max
            body.append(f'<rect data-series="{escape(series)}" x="{x:.1f}" y="{y + 3}" width="{max(w, 0.5):.1f}" '
                        f'height="{row_h - 6}" fill="{colour[series]}">'
                        f'<title>{escape(f"{name}: {series} {value:,.6g}")}</title></rect>')
            x += w
        if marker:
            mx = left + span * marker / scale_max
            body.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{y + 1}" y2="{y + row_h - 1}" stroke="#c00" '
                        f'stroke-width="2"><title>{escape(f"{name}: envelope {marker:,.6g}")}</title></line>')
        end = max(x, left + span * (marker or 0) / scale_max) + 6
        body.append(_text(end, y + 15, text, width=width - end - 4))
    return _svg(width, top + len(rows) * row_h + 6, body, label)


def _tick(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _marker(style: layout.Style, x: float, y: float, inner: str = "", r: float = 3.0) -> str:
    """A point of a series: its marker's shape, filled with its colour, holding `inner` (a tooltip)."""
    fill = f'fill="{style.colour}"'
    if style.marker == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" {fill}>{inner}</rect>'
    if style.marker in ("triangle", "diamond"):
        corners = ([(x, y - r - 1), (x + r + 0.5, y + r), (x - r - 0.5, y + r)] if style.marker == "triangle"
                   else [(x, y - r - 1), (x + r + 1, y), (x, y + r + 1), (x - r - 1, y)])
        points = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in corners)
        return f'<polygon points="{points}" {fill}>{inner}</polygon>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r - 0.5:.1f}" {fill}>{inner}</circle>'


def _stroke(style: layout.Style) -> str:
    dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
    return f'fill="none" stroke="{style.colour}" stroke-width="2"{dash}'


def _line_swatch(styles: dict[str, layout.Style]) -> Callable[[str, float, float], str]:
    def swatch(key: str, x: float, y: float) -> str:
        return (f'<g data-series="{escape(key)}"><line x1="{x:.1f}" x2="{x + 30:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                f"{_stroke(styles[key])}/>{_marker(styles[key], x + 15, y)}</g>")
    return swatch


def line_chart(label: str, x_labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]],
               styles: dict[str, layout.Style], unit: str, width: float = 920, height: float = 260,
               y_max: float | None = None) -> str:
    """One line per series over the x labels, each in its own style (colour, dash pattern, marker: see
    `layout.series_styles`) and named in the legend under the chart; a None value breaks the line (no data
    there); `y_max` (else the largest value) sets the scale, so charts split in parts share one. The x labels are thinned to what fits, counted from the newest, which is always labelled, and the
    margins leave room for the first and last of them."""
    values = [v for _, vals in series for v in vals if v is not None]
    y_max = (y_max or max(values + [1e-9])) * 1.1
    ticks = [y_max * k / 4 for k in range(5)]
    n = max(len(x_labels), 1)
    label_w = [layout.text_width(x) for x in x_labels] or [0.0]
    left = max(70.0, 30 + max(layout.text_width(_tick(v)) for v in ticks))
    right = max(20.0, label_w[-1] / 2 + 6)
    left = max(left, label_w[0] / 2 + 6)
    top, bottom = 14, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    legend, legend_h = _legend([name for name, _ in series], _line_swatch(styles), 30, left, height + 8,
                               width - left - right)

    def px(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    body = [f'<rect x="{left:.1f}" y="{top}" width="{plot_w:.1f}" height="{plot_h}" fill="none" stroke="#ccc"/>']
    for v in ticks:
        body.append(f'<line x1="{left:.1f}" x2="{left + plot_w:.1f}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#eee"/>')
        body.append(_text(left - 6, py(v) + 4, _tick(v), "end"))
    body.append(_text(14, top + plot_h / 2, unit, "middle", f'transform="rotate(-90 14 {top + plot_h / 2:.1f})"'))
    pitch = plot_w / (n - 1) if n > 1 else plot_w
    step = next(s for s in range(1, n + 1) if s * pitch >= max(label_w) + 10 or s == n)
    for i, name in enumerate(x_labels):
        if (n - 1 - i) % step == 0:  # counted from the newest, which is always labelled
            body.append(_text(px(i), top + plot_h + 20, name, "middle"))  # below the lowest tick's label
    for name, vals in series:
        style = styles[name]
        group = [f'<g data-series="{escape(name)}">']
        runs: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(vals):
            if v is None:
                runs.append([])
            else:
                runs[-1].append((px(i), py(v)))
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                group.append(f'<polyline points="{points}" {_stroke(style)}/>')
        for i, v in enumerate(vals):
            if v is not None:
                tip = f"<title>{escape(f'{name} at {x_labels[i]}: {v:,.6g} {unit}')}</title>"
                group.append(_marker(style, px(i), py(v), tip))
        body.append("".join(group) + "</g>")
    return _svg(width, height + legend_h + 10, body + legend, label)


RING_LEVELS = 4
"""How far out a site's name may be set on the fleet map, in steps of a line, to clear its neighbours' names (more
when the names are wider than that many times the room between two circles)."""


def fleet_graph(label: str, nodes: Sequence[tuple[str, str, int, str]], edges: Sequence[tuple[str, str]],
                width: float = 920) -> str:
    """Sites as circles around a ring, grouped by country (label, country, GPUs, fill), names outside the ring,
    and peerings as lines across it. A circle's area follows the site's GPUs. A name that would touch a circle or
    a name set before it goes out a line at a time (see RING_LEVELS), a country's name too, and the drawing
    grows to hold them all."""
    n = len(nodes)
    radius = max(110.0, min(300.0, n * 14.0))
    biggest = max([g for _, _, g, _ in nodes] + [1])
    largest = min(22.0, 0.45 * 2 * math.pi * radius / max(n, 1))  # neighbours never overlap
    at: dict[str, tuple[float, float, float, float]] = {}  # around (0, 0): x, y, angle, circle radius
    countries: dict[str, list[float]] = {}
    for i, (name, country, gpus, _) in enumerate(nodes):
        angle = -math.pi / 2 + 2 * math.pi * i / max(n, 1)
        x, y = (0.0, 0.0) if n == 1 else (radius * math.cos(angle), radius * math.sin(angle))
        at[name] = (x, y, angle, max(3.0, largest * math.sqrt(gpus / biggest)))
        countries.setdefault(country, []).append(angle)
    taken = [layout.Box(x - r, y - r, 2 * r, 2 * r) for x, y, _, r in at.values()]
    pitch = 2 * math.pi * radius / max(n, 1)
    levels = max(RING_LEVELS, math.ceil(max([layout.text_width(node[0]) for node in nodes] + [0]) / pitch) + 2)
    labels: list[tuple[float, float, str, str, str]] = []  # x, y, text, anchor, attributes

    leaders: list[tuple[float, float, float, float]] = []  # from a circle out to its name, when set further out

    def place(options: list[tuple[float, float]], text: str, anchor: str, extra: str = "", size: float = 12,
              bold: bool = False) -> int:
        boxes = [layout.label_box(x, y, text, anchor, size, bold) for x, y in options]
        k = layout.first_free(boxes, taken)
        taken.append(boxes[k])
        labels.append((*options[k], text, anchor, extra))
        return k

    for name, *_ in nodes:
        x, y, angle, r = at[name]
        if n == 1:
            place([(x, y + r + 14)], name, "middle")
            continue
        c, s_ = math.cos(angle), math.sin(angle)
        anchor = "start" if c > 0.3 else "end" if c < -0.3 else "middle"
        k = place([(x + gap * c, y + gap * s_ + 4 + (8 * s_ if anchor == "middle" else 0))
                   for gap in (largest + 6 + 15 * k for k in range(levels))], name, anchor)
        if k:
            reach = largest + 15 * k - (6 if anchor == "middle" else 0)
            leaders.append((x + (r + 1) * c, y + (r + 1) * s_, x + reach * c, y + reach * s_))
    country_style = 'font-weight="bold" font-size="15" fill="#666"'
    for country, angles in countries.items():
        mean = math.atan2(sum(math.sin(a) for a in angles), sum(math.cos(a) for a in angles))
        options = ([(0.0, -48.0)] if n == 1 else
                   [((radius + 110 + 18 * k) * math.cos(mean), (radius + 80 + 18 * k) * math.sin(mean) + 5)
                    for k in range(2 * levels)])
        place(options, country, "middle", country_style, 15, True)
    margin = 12
    left, right = min(b.x for b in taken), max(b.x + b.w for b in taken)
    top, bottom = min(b.y for b in taken), max(b.y + b.h for b in taken)
    width = max(width, right - left + 2 * margin)
    cx, cy = width / 2 - (left + right) / 2, margin - top
    body = [f'<line x1="{cx + x1:.1f}" y1="{cy + y1:.1f}" x2="{cx + x2:.1f}" y2="{cy + y2:.1f}" stroke="#bbb"/>'
            for x1, y1, x2, y2 in leaders]
    for a, b in edges:
        (x1, y1, _, _), (x2, y2, _, _) = at[a], at[b]
        body.append(f'<line x1="{cx + x1:.1f}" y1="{cy + y1:.1f}" x2="{cx + x2:.1f}" y2="{cy + y2:.1f}" stroke="#555" '
                    f'stroke-width="2"><title>{escape(f"{a} peers with {b}")}</title></line>')
    for name, country, gpus, fill in nodes:
        x, y, _, r = at[name]
        body.append(f'<circle cx="{cx + x:.1f}" cy="{cy + y:.1f}" r="{r:.1f}" fill="{fill}" stroke="#333">'
                    f'<title>{escape(f"{name} ({country}): {gpus:,} GPUs")}</title></circle>')
    for x, y, text, anchor, extra in labels:
        body.append(_text(cx + x, cy + y, text, anchor, extra))
    return _svg(width, bottom - top + 2 * margin, body, label)


def peering_label(peer: Peering) -> tuple[str, str]:
    """What a site's network diagram says of one of its remote peering connections, and its tooltip: both ends
    name the peer site and its region, and which end requests the connection."""
    region = peer.region or "region unknown"
    end = "requests" if peer.requests else "accepts"
    detail = (f"remote peering connection {peer.name}: "
              + (f"requests the connection to {peer.site} in {region}" if peer.requests
                 else f"accepts the connection {peer.site} requests from {region}"))
    return f"RPC to {peer.site} ({region}), {end}", detail


def network_diagram(topo: Topology, role_colour: dict[str, str]) -> str:
    """The DRG on top, one box per VCN below (role, CIDRs, subnets with CIDRs, gateways), the DRG's attachments
    as a bus from the DRG down to each VCN it attaches, and the remote peering connections as a column of
    labels beside the DRG, one line each, as many lines as there are connections (the drawing grows down for
    them); a label too long for the room left is shortened, whole in its tooltip."""
    box_w, gap, line_h = 176, 14, 16
    n = max(len(topo.vcns), 1)
    width = max(620, n * (box_w + gap) + gap)
    rows = max([len(v.subnets) + len(v.gateways) for v in topo.vcns] + [0])
    box_h = 58 + line_h * rows
    drg_w = 220.0
    drg_y = 30
    drg_x = width / 2 if not topo.peerings else max(gap + drg_w / 2, 0.3 * width)
    spine = drg_x + drg_w / 2 + 20
    last = drg_y + line_h * (len(topo.peerings) - 1)  # the baseline row of the last connection's label, less 4
    top = max(96.0, last + 40)
    bus = top - 18
    body: list[str] = []
    if topo.drg:
        body.append(f'<rect x="{drg_x - drg_w / 2:.1f}" y="{drg_y - 18}" width="{drg_w:.0f}" height="36" rx="6" '
                    f'fill="#fff3d6" stroke="#b07a00"/>')
        body.append(_text(drg_x, drg_y + 4, f"DRG {topo.drg}", "middle", width=drg_w - 16, bold=True))
    if topo.peerings:
        body.append(f'<line x1="{drg_x + drg_w / 2:.1f}" y1="{drg_y}" x2="{spine:.1f}" y2="{drg_y}" stroke="#b07a00" '
                    f'stroke-dasharray="4 3"/>')
        body.append(f'<line x1="{spine:.1f}" y1="{drg_y}" x2="{spine:.1f}" y2="{last:.1f}" stroke="#b07a00" '
                    f'stroke-dasharray="4 3"/>')
    for i, peer in enumerate(topo.peerings):
        y = drg_y + i * line_h
        text, detail = peering_label(peer)
        body.append(f'<line x1="{spine:.1f}" y1="{y}" x2="{spine + 10:.1f}" y2="{y}" stroke="#b07a00"/>')
        body.append(_text(spine + 14, y + 4, text, width=width - spine - 14 - 6, title=detail))
    xs = [gap + i * (box_w + gap) + (width - n * (box_w + gap) - gap) / 2 for i in range(len(topo.vcns))]
    attached = [x + box_w / 2 for x, v in zip(xs, topo.vcns) if v.attached]
    if topo.drg and attached:
        body.append(f'<line x1="{drg_x:.1f}" y1="{drg_y + 18}" x2="{drg_x:.1f}" y2="{bus:.1f}" stroke="#b07a00"/>')
        body.append(f'<line x1="{min(attached + [drg_x]):.1f}" y1="{bus:.1f}" x2="{max(attached + [drg_x]):.1f}" '
                    f'y2="{bus:.1f}" stroke="#b07a00"/>')
    for x, v in zip(xs, topo.vcns):
        fill = role_colour.get(v.role, "#999")
        if v.attached and topo.drg:
            body.append(f'<line x1="{x + box_w / 2:.1f}" y1="{bus:.1f}" x2="{x + box_w / 2:.1f}" y2="{top}" '
                        f'stroke="#b07a00"><title>{escape(f"DRG attachment: {v.name}")}</title></line>')
        body.append(f'<rect x="{x:.1f}" y="{top}" width="{box_w}" height="{box_h}" rx="6" fill="#fafafa" '
                    f'stroke="{fill}" stroke-width="2"/>')
        body.append(f'<rect x="{x:.1f}" y="{top}" width="{box_w}" height="22" rx="6" fill="{fill}"/>')
        inner = box_w - 16
        body.append(_text(x + 8, top + 15, f"VCN {v.name}" + (f" ({v.role})" if v.role and v.role != v.name else ""),
                          extra='fill="#fff"', width=inner, bold=True))
        body.append(_text(x + 8, top + 38, ", ".join(v.cidrs), width=inner, bold=True))
        y = top + 38 + line_h
        for s in v.subnets:
            body.append(_text(x + 12, y, f"{s.name} {s.cidr}" + (" public" if s.public else ""), width=inner - 4))
            y += line_h
        for g in v.gateways:
            body.append(_text(x + 12, y, f"[{g}]", extra='fill="#555"', width=inner - 4))
            y += line_h
    return _svg(width, top + box_h + 12, body, f"network of {topo.site}")
