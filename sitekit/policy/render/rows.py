"""What every format of the policy results shows: counts per level, the waiver rows, a finding as data and
where it points."""

from __future__ import annotations

import json
from typing import Any

from sitekit.policy.runner import Finding, SiteResult


def waiver_rows(result: SiteResult) -> list[dict[str, Any]]:
    rows = []
    for w in result.waivers:
        used = sum(1 for f in result.waived() if f.waiver == w)
        rows.append({"rule": w.rule, "resource": w.resource, "reason": w.reason, "expires": w.expires.isoformat(),
                     "expired": w.expired(result.today), "waivedFindings": used})
    return rows


def finding_dict(f: Finding) -> dict[str, Any]:
    return {"rule": f.rule, "level": f.level, "severity": f.severity, "message": f.message, "resource": f.resource,
            "type": f.type, "urn": f.urn, "file": f.file, "line": f.line,
            "waived": {"reason": f.waiver.reason, "expires": f.waiver.expires.isoformat()} if f.waiver else None}


def counts(result: SiteResult) -> dict[str, int]:
    active = result.active()
    return {"mandatory": sum(f.level == "mandatory" for f in active),
            "advisory": sum(f.level == "advisory" for f in active), "waived": len(result.waived())}


def where(f: Finding) -> str:
    return f"{f.file}:{f.line}" if f.line else f.file


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False) + "\n"
