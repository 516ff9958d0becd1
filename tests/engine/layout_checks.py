"""Four checks of a page as the browser laid it out, each over the whole page, not over named parts of it:

- overlap: two text labels whose boxes intersect, inside one SVG (its <text> elements) or one table (its text, one
  box per line);
- clipping: an SVG label reaching outside its SVG's box (the part outside is not drawn), or an element whose
  content is wider than its box (scrollWidth > clientWidth: cut off, or hidden behind a scroll bar);
- series: two series of one chart drawn alike: the same stroke colour and dash pattern (as getComputedStyle gives
  them) of their lines, or, for series without lines (bars), the same fill. A series is every mark inside one
  `data-series` group; a polyline or path outside any group is a series of its own;
- out of view: the page scrolling sideways, an element reaching past the viewport's left or right edge, or a
  scroll container that needs scrolling sideways to show all it holds.

Closed <details> are opened first, so what they hold is checked too. Each check gives at most 25 findings
(and how many more there were), each naming where it is and the text it concerns.
"""

from __future__ import annotations

from typing import Any

CHECKS_JS = r"""
(() => {
  const MAX = 25, EPS = 1;
  const found = {overlap: [], clipping: [], series: [], outOfView: []};
  const more = {overlap: 0, clipping: 0, series: 0, outOfView: 0};
  const add = (kind, message) => found[kind].length < MAX ? found[kind].push(message) : more[kind]++;
  const where = el => {
    const svg = el.closest('svg');
    if (svg) return `svg "${svg.getAttribute('aria-label') || '?'}"`;
    const section = el.closest('section[id], details[id], div[id]');
    return `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${section ? ' in #' + section.id : ''}`;
  };
  const quote = s => JSON.stringify(s.replace(/\s+/g, ' ').trim().slice(0, 70));
  const shown = r => r.width > 0 && r.height > 0;
  const cross = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > EPS
                       && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > EPS;
  const own = t => Array.from(t.childNodes).filter(n => n.nodeType === 3).map(n => n.data).join('');
  const box = r => `[${Math.round(r.left)}, ${Math.round(r.top)}, ${Math.round(r.right)}, ${Math.round(r.bottom)}]`;

  // text pieces of an SVG (each <text>) or a table (each text node, one box per line it takes)
  const pieces = root => {
    if (root.tagName.toLowerCase() === 'svg')
      return Array.from(root.querySelectorAll('text')).map(t => ({text: own(t), rects: [t.getBoundingClientRect()]}))
        .filter(p => p.text.trim() && shown(p.rects[0]));
    const out = [], walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
      if (!n.data.trim()) continue;
      const range = document.createRange(); range.selectNodeContents(n);
      const rects = Array.from(range.getClientRects()).filter(shown);
      if (rects.length) out.push({text: n.data, rects});
    }
    return out;
  };

  // (a) overlap
  for (const root of document.querySelectorAll('svg, table')) {
    if (root.tagName.toLowerCase() === 'table' && root.parentElement.closest('table')) continue;
    const ps = pieces(root);
    for (let i = 0; i < ps.length; i++)
      for (let j = i + 1; j < ps.length; j++)
        if (ps[i].rects.some(a => ps[j].rects.some(b => cross(a, b))))
          add('overlap', `${where(root)}: ${quote(ps[i].text)} overlaps ${quote(ps[j].text)}`);
  }

  // (b) clipping
  for (const svg of document.querySelectorAll('svg')) {
    const s = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (!shown(r) || !own(t).trim()) continue;
      if (r.left < s.left - EPS || r.right > s.right + EPS || r.top < s.top - EPS || r.bottom > s.bottom + EPS)
        add('clipping', `${where(svg)}: ${quote(own(t))} at ${box(r)} reaches outside the drawing ${box(s)}`);
    }
  }
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('svg') || el.clientWidth === 0) continue;
    if (el.scrollWidth > el.clientWidth + EPS)
      add('clipping', `${where(el)}: content ${el.scrollWidth} px wide in a box of ${el.clientWidth} px `
                      + `(overflow-x: ${getComputedStyle(el).overflowX}): ${quote(el.innerText || '')}`);
  }

  // (c) indistinguishable series
  for (const svg of document.querySelectorAll('svg')) {
    const groups = new Map();
    let loose = 0;
    for (const el of svg.querySelectorAll('[data-series], polyline, path')) {
      const g = el.closest('[data-series]');
      const key = g ? 'series ' + g.getAttribute('data-series') : `unnamed line ${++loose}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(el);
    }
    const looks = new Map();
    for (const [key, els] of groups) {
      const marks = els.flatMap(e => [e, ...e.querySelectorAll('*')]).filter(e => e.tagName.toLowerCase() !== 'title');
      const lines = marks.filter(e => ['polyline', 'path', 'line'].includes(e.tagName.toLowerCase()));
      const st = e => getComputedStyle(e);
      const look = lines.length
        ? `stroke ${st(lines[0]).stroke}, dash ${st(lines[0]).strokeDasharray}`
        : `fill ${st(marks[0]).fill}`;
      if (looks.has(look)) add('series', `${where(svg)}: ${looks.get(look)} and ${key} are both drawn with ${look}`);
      else looks.set(look, key);
    }
  }

  // (d) content out of view
  const vw = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > vw + EPS)
    add('outOfView', `the page is ${document.documentElement.scrollWidth} px wide in a viewport of ${vw} px`);
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (!shown(r)) continue;
    if (r.right > vw + EPS || r.left < -EPS) {
      if (el.closest('svg') && el.tagName.toLowerCase() !== 'svg') continue;  // the SVG itself is reported
      add('outOfView', `${where(el)} spans ${Math.round(r.left)} to ${Math.round(r.right)} px, past the viewport `
                       + `(0 to ${vw}): ${quote(el.innerText || el.textContent || '')}`);
    }
    const ox = getComputedStyle(el).overflowX;
    if ((ox === 'auto' || ox === 'scroll') && el.scrollWidth > el.clientWidth + EPS)
      add('outOfView', `${where(el)} must be scrolled sideways to show its ${el.scrollWidth} px in ${el.clientWidth} px`);
  }
  return {found, more};
})()
"""


def layout_problems(tab: Any) -> dict[str, list[str]]:
    """{check: findings} of the page in `tab` (a tests/engine/chromium.py Tab), every <details> opened first."""
    tab.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    tab.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    result = tab.evaluate(CHECKS_JS)
    return {kind: items + ([f"... and {result['more'][kind]} more"] if result["more"][kind] else [])
            for kind, items in result["found"].items()}
