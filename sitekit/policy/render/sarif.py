"""Policy results as SARIF 2.1.0, for code scanning: every rule in the driver, each finding pointed at the file
and line of the stack, jurisdiction or baseline value that produced it, waived findings as accepted
suppressions."""

from __future__ import annotations

from typing import Any, Iterable

from sitekit import __version__
from sitekit.policy.model import RULES, Rule
from sitekit.policy.render.rows import dumps, waiver_rows
from sitekit.policy.runner import SiteResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {"mandatory": "error", "advisory": "warning", "disabled": "none"}
SECURITY_SEVERITY = {"low": "3.0", "medium": "5.5", "high": "8.0", "critical": "9.5"}


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
            "properties": {"sites": [{"site": r.site, "passed": r.passed, "waivers": waiver_rows(r)}
                                     for r in results]},
        }],
    }


def render(results: Iterable[SiteResult]) -> str:
    return dumps(to_sarif(results))
