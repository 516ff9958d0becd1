"""Policy results as JSON, for machines: per site, its counts, findings, waivers and changed levels."""

from __future__ import annotations

from typing import Any, Iterable

from sitekit import __version__
from sitekit.policy.model import RULES
from sitekit.policy.render.rows import counts, dumps, finding_dict, waiver_rows
from sitekit.policy.runner import SiteResult


def to_json(results: Iterable[SiteResult]) -> dict[str, Any]:
    return {"tool": "sitekit policy", "version": __version__, "rules": len(RULES),
            "sites": [{"site": r.site, "jurisdiction": r.jurisdiction, "stackFile": r.stack_file,
                       "passed": r.passed, "counts": counts(r), "findings": [finding_dict(f) for f in r.findings],
                       "waivers": waiver_rows(r),
                       "levels": {k: v for k, v in sorted(r.levels.items()) if v != RULES[k].level}}
                      for r in results]}


def render(results: Iterable[SiteResult]) -> str:
    return dumps(to_json(results))
