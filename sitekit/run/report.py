"""Render plans and sites for people (rich tables) and machines (JSON)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sitekit.plan import Plan, PlannedResource

# The inputs worth a glance per type; others show their display name.
KEY_INPUTS: dict[str, tuple[str, ...]] = {
    "pulumi:providers:oci": ("region",),
    "oci:Core/vcn:Vcn": ("cidrBlocks", "dnsLabel"),
    "oci:Core/subnet:Subnet": ("cidrBlock", "prohibitPublicIpOnVnic"),
    "oci:Core/routeTable:RouteTable": ("routeRules",),
    "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule":
        ("direction", "protocol", "source", "destination", "tcpOptions"),
    "oci:Kms/vault:Vault": ("vaultType",),
    "oci:Kms/key:Key": ("protectionMode", "autoKeyRotationDetails"),
    "oci:Core/clusterNetwork:ClusterNetwork": ("instancePools",),
    "oci:Core/computeGpuMemoryCluster:ComputeGpuMemoryCluster": ("size",),
    "oci:Core/instanceConfiguration:InstanceConfiguration": ("instanceDetails.launchDetails.shape",),
    "oci:ContainerEngine/nodePool:NodePool": ("nodeShape", "nodeConfigDetails.size"),
    "oci:ContainerEngine/cluster:Cluster": ("kubernetesVersion", "endpointConfig.isPublicIpEnabled"),
    "oci:ContainerEngine/addon:Addon": ("addonName", "configurations"),
    "oci:ObjectStorage/bucket:Bucket": ("accessType", "versioning"),
    "oci:Logging/log:Log": ("retentionDuration", "configuration.source.service"),
    "oci:Ons/subscription:Subscription": ("protocol", "endpoint"),
    "oci:Identity/policy:Policy": ("statements",),
}


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
    keys = KEY_INPUTS.get(res.type)
    if keys is None:
        keys = ("displayName",) if "displayName" in res.inputs else ("name",)
    parts = [f"{k.rsplit('.', 1)[-1]}={_short(dig(res.inputs, k))}" for k in keys if dig(res.inputs, k) is not None]
    return " ".join(parts)


def plan_summary(plan: Plan) -> dict[str, Any]:
    return {"site": plan.site, "resources": len(plan.resources), "counts": plan.counts(),
            "protected": sum(r.protect for r in plan.resources), "outputs": plan.outputs}


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
    o = plan.outputs
    roles = ", ".join(f"{k} {v}" for k, v in (o.get("gpusByRole") or {}).items())
    console.print(f"GPUs: {o.get('gpus')} ({roles})", markup=False, emoji=False)
    console.print(f"Power: IT {o.get('itMw')} MW, facility {o.get('facilityMw')} MW, envelope {o.get('envelopeMw')} MW",
                  markup=False, emoji=False)
