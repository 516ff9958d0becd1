"""Policy results as Markdown, for a pull-request comment: per site a heading, the counts, the findings and the
waivers."""

from __future__ import annotations

from typing import Any, Iterable

from sitekit.policy.model import RULES
from sitekit.policy.render.rows import counts, waiver_rows, where
from sitekit.policy.runner import SiteResult


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(results: Iterable[SiteResult]) -> str:
    lines: list[str] = []
    for r in results:
        c = counts(r)
        mark = "passed" if r.passed else "failed"
        lines += [f"### sitekit policy: `{r.site}` ({r.jurisdiction}): {mark}", "",
                  f"{c['mandatory']} mandatory, {c['advisory']} advisory, {c['waived']} waived "
                  f"({len(RULES)} rules).", ""]
        if r.findings:
            lines += ["| level | rule | resource | finding | where |", "|---|---|---|---|---|"]
            for f in r.findings:
                level = f"waived ({f.level})" if f.waiver else f"**{f.level}**" if f.blocking else f.level
                lines.append(f"| {level} | {f.rule} | {_md(f.resource or '(stack)')} | {_md(f.message)} | "
                             f"`{where(f)}` |")
            lines.append("")
        waivers = waiver_rows(r)
        if waivers:
            lines += ["Waivers:", "", "| rule | resource | expires | reason | waived |", "|---|---|---|---|---|"]
            for w in waivers:
                expires = f"{w['expires']} **expired**" if w["expired"] else w["expires"]
                lines.append(f"| {w['rule']} | {_md(w['resource'] or '(all)')} | {expires} | {_md(w['reason'])} | "
                             f"{w['waivedFindings']} |")
        else:
            lines.append("Waivers: none.")
        lines.append("")
    return "\n".join(lines)
