"""Policy results as rich tables, for people: per site its findings, then its waivers, then the counts."""

from __future__ import annotations

from typing import Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sitekit.policy.model import RULES
from sitekit.policy.render.rows import counts, waiver_rows, where
from sitekit.policy.runner import SiteResult


def show(results: Iterable[SiteResult], console: Console) -> None:
    """What the data says (sites, resources, messages, waiver reasons) is printed as written: `Text` cells, never
    console markup or emoji codes; only sitekit's own words carry styles."""
    for r in results:
        c = counts(r)
        status = Text("passed", "green") if r.passed else Text("FAILED", "red")
        heading = Text.assemble(f"sitekit policy: {r.site} ({r.jurisdiction}) ", status)
        table = Table(title=heading, title_justify="left")
        for col in ("level", "rule", "resource", "finding", "where"):
            table.add_column(col)
        for f in r.findings:
            level = f"waived ({f.level})" if f.waiver else f.level
            style = "red" if f.blocking else ("yellow" if f.level == "advisory" and not f.waiver else "dim")
            table.add_row(Text(level, style), *map(Text, (f.rule, f.resource or "(stack)", f.message, where(f))))
        if r.findings:
            console.print(table)
        else:
            console.print(Text.assemble(heading, f": {len(RULES)} rules, no findings"))
        waivers = waiver_rows(r)
        if waivers:
            wt = Table(title=Text(f"waivers of {r.site}"), title_justify="left")
            for col in ("rule", "resource", "expires", "reason", "waived"):
                wt.add_column(col)
            for w in waivers:
                expires = Text(f"{w['expires']} (expired)", "red") if w["expired"] else Text(str(w["expires"]))
                wt.add_row(Text(w["rule"]), Text(w["resource"] or "(all)"), expires, Text(str(w["reason"])),
                           str(w["waivedFindings"]))
            console.print(wt)
        else:
            console.print(Text(f"waivers of {r.site}: none"))
        console.print(Text(f"{c['mandatory']} mandatory, {c['advisory']} advisory, {c['waived']} waived\n"))
