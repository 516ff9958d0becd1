"""One side of a review: plan sites and summarise them as plain JSON, run by that side's own code.

`sitekit review` runs this file against a tree (the base's, or the working tree) in a fresh interpreter that
sees only that tree's sitekit and the installed libraries (`python -S`, no editable install, see
`review.sides`), so each side is planned by its own code. It imports that tree's sitekit by absolute name,
through `LAYOUTS` (where each entry point lives in each layout the package has had), and reads what a plan
record may lack in older code with defaults. Those imports are inside functions on purpose: they are of the
tree under review, found only once `sys.path` points at it. One JSON document per site goes to stdout; a line
`done <site>` to stderr after each, for progress.

Policy is judged on the review's date (`SITEKIT_TODAY`, else today), and a snapshot says for which days its
verdict holds (`judgedOn` to `holdsUntil`: the day the first waiver still in force expires; none without one), so
a cached snapshot is judged again once a waiver has expired (`review.sides`).
"""

from __future__ import annotations

import datetime
import gc
import importlib
import importlib.util
import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

LAYOUTS = {
    "folders": {"plan_site": "sitekit.run.offline", "load_site": "sitekit.spec.loader",
                "evaluate": "sitekit.policy.runner"},
    "flat": {"plan_site": "sitekit.offline", "load_site": "sitekit.loader", "evaluate": "sitekit.policy.runner"},
}
"""Where the entry points a snapshot calls live, per layout of the package: `folders` since the move into
folders by step of the flow (issue 16), `flat` before it. The first layout whose planner the tree has is its own."""


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its package is missing
        return False


def layout() -> dict[str, str]:
    """The entry points of the tree on `sys.path`."""
    for places in LAYOUTS.values():
        if _has(places["plan_site"]):
            return places
    raise ImportError("this tree has no sitekit planner in any known layout: " +
                      ", ".join(p["plan_site"] for p in LAYOUTS.values()))


def entry(name: str) -> Callable[..., Any]:
    """An entry point (`plan_site`, `load_site`, `evaluate`) of the tree on `sys.path`; ImportError if it has none."""
    module = layout()[name]
    if not _has(module):
        raise ImportError(f"this tree has no {module}")
    return getattr(importlib.import_module(module), name)


def failed(site: str, exc: Exception, spec: bool) -> dict[str, Any]:
    """The snapshot of a site that could not be planned: why, and whether it is bad input."""
    return {"site": site, "resources": [], "outputs": {}, "policy": None, "error": str(exc),
            "errorKind": "spec" if spec else "other"}


def snapshot_site(root: Path, site: str, loaded: Any = None, day: datetime.date | None = None,
                  plan: Any = None) -> dict[str, Any]:
    """A site's registrations (URN, type, name, parent, inputs, options), outputs and policy summary on `day`
    (default `today()`). Called in the tree's own interpreter with the site alone; or, where the tree's code is the
    code running (`review.sides`), with the site already `loaded` from the tree and, when the plan cache holds it,
    its `plan`."""
    from sitekit.errors import (  # the tree's own (every layout has sitekit.errors)
        SitekitError,
        SpecError,
    )

    try:
        if plan is None:
            planner = entry("plan_site")
            if loaded is None and "site" in inspect.signature(planner).parameters:  # a planner that takes it
                loaded = entry("load_site")(root, site)  # loaded once, for the program and the rules
            plan = planner(root, site) if loaded is None else planner(root, site, site=loaded)
    except SpecError as exc:
        return failed(site, exc, True)
    except SitekitError as exc:
        return failed(site, exc, False)
    day = day or today()
    policy, holds_until = policy_summary(root, site, plan, day, loaded)
    records = [{"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent, "inputs": r.inputs,
                "protect": r.protect, "custom": getattr(r, "custom", True), "provider": getattr(r, "provider", None),
                "ignoreChanges": list(getattr(r, "ignore_changes", []) or []),
                "aliases": list(getattr(r, "aliases", []) or [])}
               for r in sorted(plan.resources, key=lambda r: r.urn)]  # registration order varies between runs
    return {"site": site, "resources": records, "outputs": plan.outputs, "policy": policy,
            "judgedOn": day.isoformat(), "holdsUntil": holds_until, "error": None, "errorKind": None}


def snapshot_sites(root: Path, sites: Iterable[str]) -> list[dict[str, Any]]:
    return [snapshot_site(root, site) for site in sites]


def today() -> datetime.date:
    """The date a review judges policy on: `SITEKIT_TODAY` (the review's, set once for both sides), else today."""
    given = os.environ.get("SITEKIT_TODAY")
    return datetime.date.fromisoformat(given) if given else datetime.date.today()


def policy_summary(root: Path, site: str, plan: Any, day: datetime.date,
                   loaded: Any = None) -> tuple[dict[str, Any], str | None]:
    """Mandatory failures and advisory findings of the site's plan on `day`, and the last day that verdict holds
    (the earliest expiry of a waiver in force; None when none is); `{"error": why, "errorKind": "spec" (bad input,
    e.g. a waiver naming an unknown rule) or "other"}` where the tree's policy could not be evaluated (never
    nothing: a review must not show an empty policy column as a pass)."""
    from sitekit.errors import SitekitError, SpecError  # the tree's own

    try:
        load_site, evaluate = entry("load_site"), entry("evaluate")
    except ImportError as exc:
        return {"error": f"this tree's policy pack could not be loaded: {exc}", "errorKind": "other"}, None
    dated = "today" in inspect.signature(evaluate).parameters  # a tree from before the date was a parameter: today
    try:
        loaded = loaded if loaded is not None else load_site(root, site)
        result = evaluate(loaded, plan, today=day) if dated else evaluate(loaded, plan)
    except SitekitError as exc:
        return {"error": str(exc), "errorKind": "spec" if isinstance(exc, SpecError) else "other"}, None
    in_force = [w.expires for w in getattr(result, "waivers", []) if w.expires >= day]
    if not dated:
        holds_until: str | None = day.isoformat()  # judged on the clock's date: that day only
    else:
        holds_until = min(in_force).isoformat() if in_force else None
    return ({"mandatoryFailures": sorted({f.rule for f in result.findings if f.blocking}),
             "advisory": sorted({f.rule for f in result.findings if f.waiver is None and f.level == "advisory"}),
             "waived": len(result.waived()), "waivers": len(result.waivers)}, holds_until)


def main(argv: list[str]) -> None:
    root = Path(argv[0])
    sites = argv[1:]
    for i, site in enumerate(sites):
        sys.stdout.write(json.dumps(snapshot_site(root, site), sort_keys=True, default=str) + "\n")
        sys.stdout.flush()
        sys.stderr.write(f"done {site}\n")
        sys.stderr.flush()
        if i == 0 and len(sites) > 1:
            # the first site imported what planning needs (pulumi_oci loads its modules lazily): never garbage,
            # so the collections of the sites to come need not walk it (see sitekit.run.batch)
            gc.collect()
            gc.freeze()


if __name__ == "__main__":
    main(sys.argv[1:])
