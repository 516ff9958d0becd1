"""One side of a review: plan sites and summarise them as plain JSON.

This module imports sitekit only by absolute name, so `sitekit review` can run it against a base tree
(`python -c 'runpy.run_path(...)'` with the base first on the path): the base's own code plans the base.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterable


def snapshot_sites(root: Path, sites: Iterable[str]) -> list[dict[str, Any]]:
    """Each site's registrations (mock URN, type, name, parent, inputs, protect), outputs, policy summary."""
    from sitekit.errors import SitekitError
    from sitekit.offline import plan_site

    out = []
    for site in sites:
        try:
            plan = plan_site(root, site)
        except SitekitError as exc:
            out.append({"site": site, "resources": [], "outputs": {}, "policy": None, "error": str(exc)})
            continue
        records = [{"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent, "inputs": r.inputs,
                    "protect": r.protect} for r in plan.resources]
        out.append({"site": site, "resources": records, "outputs": plan.outputs,
                    "policy": policy_summary(root, site, plan), "error": None})
    return out


def policy_summary(root: Path, site: str, plan: Any) -> dict[str, Any] | None:
    """Mandatory failures and advisory findings of the site's plan; None where the tree has no policy pack."""
    try:
        from sitekit.errors import SitekitError
        from sitekit.loader import load_site
        from sitekit.policy.runner import evaluate
    except ImportError:
        return None
    try:
        result = evaluate(load_site(root, site), plan)
    except SitekitError as exc:
        return {"error": str(exc)}
    return {"mandatoryFailures": sorted({f.rule for f in result.findings if f.blocking}),
            "advisory": sorted({f.rule for f in result.findings if f.waiver is None and f.level == "advisory"}),
            "waived": len(result.waived()), "waivers": len(result.waivers)}


if __name__ == "__main__":
    json.dump(snapshot_sites(Path(sys.argv[1]), sys.argv[2:]), sys.stdout)
