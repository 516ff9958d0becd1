"""Policy results as rich tables, for people: per site its findings, then its waivers, then the counts."""

from __future__ import annotations

from typing import Iterable

from rich.console import Console
from rich.table import Table

from sitekit.policy.model import RULES
from sitekit.policy.render.rows import counts, waiver_rows, where
from sitekit.policy.runner import SiteResult


def show(results: Iterable[SiteResult], console: Console) -> None:
    for r in results:
        c = counts(r)
        status = "[green]passed[/green]" if r.passed else "[red]FAILED[/red]"
        table = Table(title=f"sitekit policy: {r.site} ({r.jurisdiction}) {status}", title_justify="left")
        for col in ("level", "rule", "resource", "finding", "where"):
            table.add_column(col)
        for f in r.findings:
            level = f"waived ({f.level})" if f.waiver else f.level
            style = "red" if f.blocking else ("yellow" if f.level == "advisory" and not f.waiver else "dim")
            table.add_row(f"[{style}]{level}[/{style}]", f.rule, f.resource or "(stack)", f.message, where(f))
        if r.findings:
            console.print(table)
        else:
            console.print(f"sitekit policy: {r.site} ({r.jurisdiction}) {status}: {len(RULES)} rules, no findings")
        waivers = waiver_rows(r)
        if waivers:
            wt = Table(title=f"waivers of {r.site}", title_justify="left")
            for col in ("rule", "resource", "expires", "reason", "waived"):
                wt.add_column(col)
            for w in waivers:
                expires = f"[red]{w['expires']} (expired)[/red]" if w["expired"] else w["expires"]
                wt.add_row(w["rule"], w["resource"] or "(all)", expires, w["reason"], str(w["waivedFindings"]))
            console.print(wt)
        else:
            console.print(f"waivers of {r.site}: none")
        console.print(f"{c['mandatory']} mandatory, {c['advisory']} advisory, {c['waived']} waived\n")
