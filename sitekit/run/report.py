"""Render plans and sites for people (rich tables) and machines (JSON). The registries naming the renderers are
`PLAN` and `SITES` in sitekit/cli/formats.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sitekit.oci.types import KEY_INPUTS, QUOTA
from sitekit.plan import Plan, PlannedResource
from sitekit.spec.guardrails import statement_keys


def dig(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _short(value: Any, limit: int = 60) -> str:
    if isinstance(value, list) and len(value) > 2:
        text = f"[{len(value)} items]"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def key_inputs(res: PlannedResource) -> str:
    """The inputs worth a glance of its type (sitekit/oci/types.py), else its display name."""
    keys = KEY_INPUTS.get(res.type)
    if keys is None:
        keys = ("displayName",) if "displayName" in res.inputs else ("name",)
    parts = [f"{k.rsplit('.', 1)[-1]}={_short(dig(res.inputs, k))}" for k in keys if dig(res.inputs, k) is not None]
    return " ".join(parts)


def plan_summary(plan: Plan) -> dict[str, Any]:
    return {"site": plan.site, "resources": len(plan.resources), "counts": plan.counts(),
            "protected": sum(r.protect for r in plan.resources), "outputs": plan.outputs}


@dataclass(frozen=True)
class PlanReport:
    """What `sitekit plan` shows: one site's plan in full (`one`), or a line per site. `texts`: each site's part
    of the JSON document already rendered (`site_json`, from the cache), in the place of `plans`."""

    plans: tuple[Plan, ...]
    one: bool
    texts: tuple[str, ...] | None = None


SITE_JSON_VERSION = 1
"""The version of `site_json`'s text: part of the key its cached renderings are filed under (bump on a change)."""


def site_json(plan: Plan) -> str:
    """One site's part of `plan --all --format json`: its plan as the document nests it (in "sites", two levels
    down), so the parts of sites that did not change can be kept rendered and joined (`plans_json`)."""
    return "\n".join("    " + line for line in json.dumps(plan.to_dict(), indent=2, sort_keys=True).splitlines())


def plans_json(texts: tuple[str, ...]) -> str:
    """The document `{"sites": [...]}` from its sites' parts, byte for byte what json.dumps(indent=2) writes."""
    if not texts:
        return json.dumps({"sites": []}, indent=2) + "\n"
    return '{\n  "sites": [\n' + ",\n".join(texts) + "\n  ]\n}\n"


def plan_json(report: PlanReport) -> str:
    if report.one:
        return json.dumps(report.plans[0].to_dict(), indent=2, sort_keys=True) + "\n"
    return plans_json(report.texts if report.texts is not None else tuple(site_json(p) for p in report.plans))


def print_plans(report: PlanReport, console: Console) -> None:
    if report.one:
        print_plan(report.plans[0], console)
        return
    table = Table(title=f"sitekit plan: {len(report.plans)} sites")
    for col in ("site", "resources", "protected", "GPUs", "IT MW", "facility MW", "envelope MW"):
        table.add_column(col, justify="left" if col == "site" else "right")
    for p in report.plans:
        row, o = plan_summary(p), p.outputs
        table.add_row(Text(p.site), f"{row['resources']:,}", f"{row['protected']:,}", f"{o.get('gpus', 0):,}",
                      f"{o.get('itMw', 0):.2f}", f"{o.get('facilityMw', 0):.2f}", f"{o.get('envelopeMw', 0):g}")
    console.print(table)


def print_plan(plan: Plan, console: Console) -> None:
    """The plan for people; names and inputs as written (`Text`: never console markup, never emoji codes)."""
    by_urn = plan.by_urn()
    table = Table(title=Text(f"sitekit plan: {plan.site} ({len(plan.resources)} resources)"), show_lines=False)
    for col in ("type", "name", "parent", "key inputs", "protect"):
        table.add_column(col, overflow="fold")
    for r in plan.resources:
        parent = by_urn[r.parent].name if r.parent in by_urn else ""
        table.add_row(*map(Text, (r.type, r.name, parent, key_inputs(r), "yes" if r.protect else "")))
    console.print(table)
    counts = Table(title="resources per type")
    counts.add_column("type")
    counts.add_column("count", justify="right")
    for t, n in plan.counts().items():
        counts.add_row(Text(t), str(n))
    console.print(counts)
    for quota in (r for r in plan.resources if r.type == QUOTA):
        console.print(quota_table(quota))
    o = plan.outputs
    roles = ", ".join(f"{k} {v}" for k, v in (o.get("gpusByRole") or {}).items())
    console.print(f"GPUs: {o.get('gpus')} ({roles})", markup=False, emoji=False)
    console.print(f"Power: IT {o.get('itMw')} MW, facility {o.get('facilityMw')} MW, envelope {o.get('envelopeMw')} MW",
                  markup=False, emoji=False)
    for pool, blocks in (o.get("fabricBlocks") or {}).items():
        console.print(f"Fabric: pool {pool}: {len(blocks)} block{'s' * (len(blocks) != 1)} of "
                      f"{' + '.join(map(str, blocks)) or 'no'} hosts", markup=False, emoji=False, highlight=False)
    for v in o.get("capacity") or ():
        label = "advisory: capacity unknown" if v["status"] == "unknown" else "capacity"
        console.print(f"{label}: pool {v['pool']}: {v['detail']}", markup=False, emoji=False, highlight=False)


def quota_bases(quota: PlannedResource) -> list[tuple[str, str]]:
    """(statement, its basis) of a quota: the basis from the freeform tag each zeroing statement's keys name
    (sitekit/spec/guardrails.py), "(no basis)" where one is missing, "" for a statement that zeroes nothing."""
    tags = quota.inputs.get("freeformTags") or {}
    found = []
    for statement in quota.inputs.get("statements") or []:
        keys = statement_keys(statement)
        found.append((str(statement), "; ".join(str(tags.get(k) or "(no basis)") for k in keys)))
    return found


def quota_table(quota: PlannedResource) -> Table:
    """What OCI itself enforces for the site (issue 21): each quota statement beside its basis."""
    table = Table(title=Text(f"quota {quota.name}: each statement and its basis"))
    table.add_column("statement", overflow="fold")
    table.add_column("basis", overflow="fold")
    for statement, basis in quota_bases(quota):
        table.add_row(Text(statement), Text(basis))
    return table


# ------------------------------------------------------------------------------------------------ sites
def sites_json(rows: list[dict[str, Any]]) -> str:
    """`sitekit sites`: one object per site (site, jurisdiction, region, regionKind, gpus, itMw, facilityMw,
    envelopeMw, halls: [{name, itMw, usedMw, racks, cooling, maxRackKw}], pools: [{pool, hall, shape, nodes (at
    peak), racks, rackKw, cooling, itMw}])."""
    return json.dumps(rows, indent=2) + "\n"


def print_sites(rows: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="sitekit sites")
    for col in ("site", "jurisdiction", "region", "GPUs", "IT MW", "facility MW", "envelope MW", "halls (IT MW)",
                "racks per pool"):
        table.add_column(col, justify="right" if col.endswith(" MW") or col == "GPUs" else "left")
    for r in rows:
        region = r["region"] + (" (dedicated)" if r["regionKind"] == "dedicated" else "")
        cells = (r["site"], r["jurisdiction"], region, f"{r['gpus']:,}", f"{r['itMw']:.2f}",
                 f"{r['facilityMw']:.2f}", f"{r['envelopeMw']:g}", halls_text(r.get("halls", ())),
                 racks_text(r.get("pools", ())))
        table.add_row(*(Text(c) for c in cells))  # as written: never console markup
    console.print(table)


def halls_text(halls: Any) -> str:
    """`main 26.24/50 MW`: each hall's IT MW drawn at peak of what it delivers."""
    return ", ".join(f"{h['name']} {h['usedMw']:.2f}/{h['itMw']:.2f} MW" for h in halls)


def racks_text(pools: Any) -> str:
    """`train 512 (main)`: each pool's racks at peak, and its hall."""
    return ", ".join(f"{p['pool']} {p['racks']:,} ({p['hall']})" for p in pools)
