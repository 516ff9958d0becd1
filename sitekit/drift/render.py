"""Drift, the report: a table for people, the drift JSON for machines (and `sitekit fleet --drift`), markdown for
an issue or a comment. Every renderer reads a `DriftReport`; none shows a secret (the model hid them)."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table

from sitekit.drift.model import CLASSES, DriftReport, SiteDrift, to_json

MAX_VALUE = 60


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 3] + "..."


def _counts(site: SiteDrift) -> str:
    if site.error:
        return "error"
    parts = [f"{n} {k}" for k, n in site.counts.items() if n]
    if site.pending:
        parts.append(f"{len(site.pending)} pending")
    return ", ".join(parts) or "no drift"


def render_json(report: DriftReport) -> str:
    return json.dumps(to_json(report), indent=2, sort_keys=True) + "\n"


def show(report: DriftReport, console) -> None:
    summary = Table(title=f"drift, {report.run}", show_lines=False)
    for col in ("site", "status", *CLASSES, "pending", "resources"):
        summary.add_column(col, justify="left" if col in ("site", "status") else "right")
    for s in report.sites:
        c = s.counts
        summary.add_row(s.site, s.status, *(str(c[k]) for k in CLASSES), str(len(s.pending)), str(s.resources))
    console.print(summary)
    for s in report.sites:
        if s.error:
            console.print(f"{s.site}: error: {s.error}", markup=False, highlight=False)
        if not s.differences and not s.pending:
            continue
        table = Table(title=f"{s.site}: {_counts(s)}")
        for col in ("class", "resource", "property", "in state", "in the cloud", "what to do"):
            table.add_column(col, overflow="fold")
        for d in s.differences:
            table.add_row(d.klass, f"{d.name}\n[dim]{d.type}[/dim]", d.property or "(the resource)",
                          _value(d.state), _value(d.cloud), d.action)
        for p in s.pending:
            table.add_row("pending", p["urn"].rsplit("::", 1)[-1], f"(a {p['operation']} operation)", "", "",
                          f"check the resource in the console, then `pulumi refresh -s {s.site}`")
        console.print(table)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: DriftReport) -> str:
    drifted = [s for s in report.sites if s.status != "clean"]
    lines = [f"## sitekit drift, {report.run}", "",
             f"{len(report.sites)} sites checked, {len(drifted)} with drift or errors; "
             + ", ".join(f"{n} {k}" for k, n in report.counts.items()) + ".", "",
             "| site | status | " + " | ".join(CLASSES) + " | pending |",
             "|---|---|" + "---:|" * (len(CLASSES) + 1)]
    for s in report.sites:
        c = s.counts
        lines.append(f"| {s.site} | {s.status} | " + " | ".join(str(c[k]) for k in CLASSES)
                     + f" | {len(s.pending)} |")
    for s in drifted:
        lines += ["", f"### {s.site}: {_counts(s)}", ""]
        if s.error:
            lines += [f"Error: `{_cell(s.error)}`", ""]
        if s.differences or s.pending:
            lines += ["| class | resource | property | in state | in the cloud | what to do |",
                      "|---|---|---|---|---|---|"]
        for d in s.differences:
            lines.append(f"| {d.klass} | `{d.name}` | `{_cell(d.property or '(the resource)')}` | "
                         f"`{_cell(_value(d.state))}` | `{_cell(_value(d.cloud))}` | {_cell(d.action)} |")
        for p in s.pending:
            lines.append(f"| pending | `{p['urn'].rsplit('::', 1)[-1]}` | a {p['operation']} operation | | | "
                         f"check it in the console, then `pulumi refresh -s {s.site}` |")
    return "\n".join(lines) + "\n"
