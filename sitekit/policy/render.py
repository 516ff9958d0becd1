"""Policy results as a table (people), JSON (machines), SARIF 2.1.0 (code scanning) and Markdown (PR comments).

Every format lists the site's waivers, current or expired, with the findings each one waived.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from rich.console import Console
from rich.table import Table

from sitekit import __version__
from sitekit.policy.model import RULES, Rule
from sitekit.policy.runner import Finding, SiteResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {"mandatory": "error", "advisory": "warning", "disabled": "none"}
SECURITY_SEVERITY = {"low": "3.0", "medium": "5.5", "high": "8.0", "critical": "9.5"}


def _waiver_rows(result: SiteResult) -> list[dict[str, Any]]:
    rows = []
    for w in result.waivers:
        used = sum(1 for f in result.waived() if f.waiver == w)
        rows.append({"rule": w.rule, "resource": w.resource, "reason": w.reason, "expires": w.expires.isoformat(),
                     "expired": w.expired(result.today), "waivedFindings": used})
    return rows


def _finding_dict(f: Finding) -> dict[str, Any]:
    return {"rule": f.rule, "level": f.level, "severity": f.severity, "message": f.message, "resource": f.resource,
            "type": f.type, "urn": f.urn, "file": f.file, "line": f.line,
            "waived": {"reason": f.waiver.reason, "expires": f.waiver.expires.isoformat()} if f.waiver else None}


def counts(result: SiteResult) -> dict[str, int]:
    active = result.active()
    return {"mandatory": sum(f.level == "mandatory" for f in active),
            "advisory": sum(f.level == "advisory" for f in active), "waived": len(result.waived())}


def to_json(results: Iterable[SiteResult]) -> dict[str, Any]:
    return {"tool": "sitekit policy", "version": __version__, "rules": len(RULES),
            "sites": [{"site": r.site, "jurisdiction": r.jurisdiction, "stackFile": r.stack_file,
                       "passed": r.passed, "counts": counts(r), "findings": [_finding_dict(f) for f in r.findings],
                       "waivers": _waiver_rows(r),
                       "levels": {k: v for k, v in sorted(r.levels.items()) if v != RULES[k].level}}
                      for r in results]}


def _where(f: Finding) -> str:
    return f"{f.file}:{f.line}" if f.line else f.file


def print_table(results: Iterable[SiteResult], console: Console) -> None:
    for r in results:
        c = counts(r)
        status = "[green]passed[/green]" if r.passed else "[red]FAILED[/red]"
        table = Table(title=f"sitekit policy: {r.site} ({r.jurisdiction}) {status}", title_justify="left")
        for col in ("level", "rule", "resource", "finding", "where"):
            table.add_column(col)
        for f in r.findings:
            level = f"waived ({f.level})" if f.waiver else f.level
            style = "red" if f.blocking else ("yellow" if f.level == "advisory" and not f.waiver else "dim")
            table.add_row(f"[{style}]{level}[/{style}]", f.rule, f.resource or "(stack)", f.message, _where(f))
        if r.findings:
            console.print(table)
        else:
            console.print(f"sitekit policy: {r.site} ({r.jurisdiction}) {status}: {len(RULES)} rules, no findings")
        waivers = _waiver_rows(r)
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


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(results: Iterable[SiteResult]) -> str:
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
                             f"`{_where(f)}` |")
            lines.append("")
        waivers = _waiver_rows(r)
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


def _sarif_rule(rule: Rule) -> dict[str, Any]:
    props: dict[str, Any] = {"tags": [rule.area, "security"], "severity": rule.severity,
                             "security-severity": SECURITY_SEVERITY[rule.severity], "kind": rule.kind}
    if rule.cis:
        props["cis"] = rule.cis
    if rule.ckv:
        props["checkov"] = rule.ckv
    return {"id": rule.id, "name": rule.function, "shortDescription": {"text": rule.title},
            "fullDescription": {"text": rule.title + (f" (CIS OCI {rule.cis})" if rule.cis else "")},
            "help": {"text": f"{rule.remediation} See docs/policies.md#{rule.id.lower()}.",
                     "markdown": f"{rule.remediation} See `docs/policies.md#{rule.id.lower()}`."},
            "defaultConfiguration": {"level": SARIF_LEVEL[rule.level]}, "properties": props}


def to_sarif(results: Iterable[SiteResult]) -> dict[str, Any]:
    rules = sorted(RULES.values(), key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(rules)}
    sarif_results = []
    results = list(results)
    for r in results:
        for f in r.findings:
            region = {"startLine": f.line} if f.line else None
            physical: dict[str, Any] = {"artifactLocation": {"uri": f.file, "uriBaseId": "%SRCROOT%"}}
            if region:
                physical["region"] = region
            item: dict[str, Any] = {
                "ruleId": f.rule, "ruleIndex": index[f.rule], "level": SARIF_LEVEL[f.level],
                "message": {"text": f"{r.site}: {f.message}" + (f" ({f.resource})" if f.resource else "")},
                "locations": [{"physicalLocation": physical,
                               "logicalLocations": [{"name": f.resource or r.site,
                                                     "fullyQualifiedName": f.urn or r.site,
                                                     "kind": "resource" if f.urn else "module"}]}],
                "partialFingerprints": {"sitekitFinding/v1": f"{r.site}/{f.rule}/{f.resource or ''}/{f.message}"},
                "properties": {"site": r.site, "jurisdiction": r.jurisdiction, "type": f.type,
                               "enforcementLevel": f.level},
            }
            if f.file != r.stack_file:
                item["relatedLocations"] = [{"id": 0, "message": {"text": f"stack file of site {r.site}"},
                                             "physicalLocation": {"artifactLocation": {
                                                 "uri": r.stack_file, "uriBaseId": "%SRCROOT%"}}}]
            if f.waiver:
                item["suppressions"] = [{"kind": "external", "status": "accepted",
                                         "justification": f"{f.waiver.reason} (waiver expires "
                                                          f"{f.waiver.expires.isoformat()})"}]
            sarif_results.append(item)
    return {
        "$schema": SARIF_SCHEMA, "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "sitekit-policy", "version": __version__, "semanticVersion": __version__,
                                "rules": [_sarif_rule(rule) for rule in rules]}},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the sitekit project root"}}},
            "results": sarif_results,
            "properties": {"sites": [{"site": r.site, "passed": r.passed, "waivers": _waiver_rows(r)}
                                     for r in results]},
        }],
    }


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False) + "\n"
