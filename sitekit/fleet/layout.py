"""Layout arithmetic for the fleet report's SVG: how wide a label is, how to shorten one to a width, how to set
labels in rows or in a column without overlap, and a style (colour, dash pattern, marker) per series that no
other series in the same chart shares. Pure: strings and numbers in, numbers out; the browser test
(tests/engine/test_fleet_report.py) checks the drawn result, tests/test_fleet_layout.py this arithmetic.

Widths are estimated with DejaVu Sans, the font `system-ui, sans-serif` resolves to on Debian and among the widest
of the common sans-serif fonts (Segoe UI, San Francisco, Roboto, Liberation Sans are narrower), so a label laid
out for it also fits elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

# Advance widths of the printable ASCII characters (space to '~'), per 1000 em, of DejaVu Sans and DejaVu Sans
# Bold (Debian 12's fonts-dejavu-core 2.37, measured with canvas measureText in its chromium 156 at 1000 px).
_NORMAL = (318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636, 636,
           636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295,
           295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838,
           500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521,
           392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838)
_BOLD = (348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696, 696, 696,
         696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734, 830, 683, 683, 821, 837, 372,
         372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812, 774, 1103, 771, 724, 725, 457, 365, 457, 838,
         500, 500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343, 665, 343, 1042, 712, 687, 716, 716, 493, 595,
         478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838)
_OTHER = 1000
"""Any other character: a whole em, as wide as the widest glyphs in common use."""
ELLIPSIS = "…"


def text_width(text: str, size: float = 12, bold: bool = False) -> float:
    """The width of `text` at `size` px, in px."""
    table = _BOLD if bold else _NORMAL
    return size * sum(table[o - 32] if 32 <= (o := ord(c)) < 127 else _OTHER for c in text) / 1000


def fit(text: str, width: float, size: float = 12, bold: bool = False) -> str:
    """`text` itself when it fits in `width` px, else its longest start that fits with an ellipsis after it."""
    if text_width(text, size, bold) <= width:
        return text
    room = width - text_width(ELLIPSIS, size, bold)
    out = ""
    for c in text:
        if text_width(out + c, size, bold) > room:
            break
        out += c
    return out.rstrip() + ELLIPSIS


@dataclass(frozen=True)
class Box:
    """A label's box: left, top, width, height."""

    x: float
    y: float
    w: float
    h: float

    def overlaps(self, other: "Box") -> bool:
        return (self.x < other.x + other.w and other.x < self.x + self.w
                and self.y < other.y + other.h and other.y < self.y + self.h)

    def inside(self, width: float, height: float) -> bool:
        return self.x >= 0 and self.y >= 0 and self.x + self.w <= width and self.y + self.h <= height


ASCENT, DESCENT = 0.928, 0.236
"""DejaVu Sans' ascent and descent, in em: a label's box spans from its baseline less the ascent to its baseline
plus the descent (what chromium's getBoundingClientRect gives an SVG <text>)."""


def label_box(x: float, y: float, text: str, anchor: str = "start", size: float = 12, bold: bool = False) -> Box:
    """The box of an SVG label drawn at (x, y) (its baseline) with `text-anchor` `anchor`."""
    w = text_width(text, size, bold)
    left = x - {"start": 0.0, "middle": w / 2, "end": w}[anchor]
    return Box(left, y - ASCENT * size, w, (ASCENT + DESCENT) * size)


def first_free(candidates: Sequence[Box], taken: Sequence[Box]) -> int:
    """The index of the first candidate clear of every taken box; the last candidate's when none is."""
    for i, box in enumerate(candidates):
        if not any(box.overlaps(t) for t in taken):
            return i
    return len(candidates) - 1


def flow(widths: Sequence[float], width: float, row_h: float, gap: float = 14) -> list[tuple[float, float]]:
    """(x, y) of items of the given widths set left to right in rows across `width` (wrapping before an item that
    would not fit; an item wider than `width` gets a row of its own), rows `row_h` apart from y = 0."""
    out, x, y = [], 0.0, 0.0
    for w in widths:
        if x > 0 and x + w > width:
            x, y = 0.0, y + row_h
        out.append((x, y))
        x += w + gap
    return out


# ------------------------------------------------------------------------------------------------ series styles
COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#4d4d4d")
"""Tableau 10 with its grey darkened (apart from the brown and the grid): ten colours readers tell apart, every two
at least 29 CIELAB units apart (tests/test_fleet_layout.py)."""
DASHES = ("", "9 4", "2 3", "12 3 2 3")
"""Solid, dashed, dotted, dash-dot: the second ten series are dashed, the third dotted, the fourth dash-dot."""
MARKERS = ("circle", "square", "triangle", "diamond")
"""The point marker of each dash pattern, so a series reads apart at its points too."""
MAX_SERIES = len(COLOURS) * len(DASHES)


@dataclass(frozen=True)
class Style:
    colour: str
    dash: str
    """An SVG stroke-dasharray ('' for a solid line)."""
    marker: str


def series_styles(keys: Iterable[str]) -> dict[str, Style]:
    """A style per key (sorted): the i-th takes colour i mod 10 and the dash pattern and marker of i div 10, so
    no two of up to MAX_SERIES (40) keys share both colour and dash; more keys are refused (split the chart)."""
    ordered = sorted(set(keys))
    if len(ordered) > MAX_SERIES:
        raise ValueError(f"{len(ordered)} series in one chart; at most {MAX_SERIES} can be told apart")
    return {k: Style(COLOURS[i % len(COLOURS)], DASHES[i // len(COLOURS)], MARKERS[i // len(COLOURS)])
            for i, k in enumerate(ordered)}


def chunks(keys: Sequence[str], most: int) -> list[list[str]]:
    """`keys` in consecutive groups of at most `most`, as even as possible (45 by 20: 15, 15, 15)."""
    if not keys:
        return []
    count = -(-len(keys) // most)
    size, bigger = divmod(len(keys), count)  # the first `bigger` groups take one more
    out, start = [], 0
    for i in range(count):
        end = start + size + (i < bigger)
        out.append(list(keys[start:end]))
        start = end
    return out
