"""Render plans and sites for people (rich tables) and machines (JSON)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from sitekit.oci.types import KEY_INPUTS
from sitekit.plan import Plan, PlannedResource


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


def print_plan(plan: Plan, console: Console) -> None:
    by_urn = plan.by_urn()
    table = Table(title=f"sitekit plan: {plan.site} ({len(plan.resources)} resources)", show_lines=False)
    for col in ("type", "name", "parent", "key inputs", "protect"):
        table.add_column(col, overflow="fold")
    for r in plan.resources:
        parent = by_urn[r.parent].name if r.parent in by_urn else ""
        table.add_row(r.type, r.name, parent, key_inputs(r), "yes" if r.protect else "")
    console.print(table)
    counts = Table(title="resources per type")
    counts.add_column("type")
    counts.add_column("count", justify="right")
    for t, n in plan.counts().items():
        counts.add_row(t, str(n))
    console.print(counts)
    o = plan.outputs
    roles = ", ".join(f"{k} {v}" for k, v in (o.get("gpusByRole") or {}).items())
    console.print(f"GPUs: {o.get('gpus')} ({roles})")
    console.print(f"Power: IT {o.get('itMw')} MW, facility {o.get('facilityMw')} MW, envelope {o.get('envelopeMw')} MW")
