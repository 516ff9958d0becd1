"""Monthly list-price cost of a planned site, from its resources and the price catalog (stacks/catalog/prices.yaml).

Read from the registrations themselves (so a base planned by older code is priced the same way): GPU nodes
of cluster networks (instance pool sizes x the shape of their instance configuration), GPU memory clusters
(size x shape) and OKE node pools (size x node shape), their boot volumes at the declared size, and flexible
load balancers at their maximum bandwidth. File systems and buckets are billed by use and are not estimated;
a shape with no list price is counted and named, not priced. Plans are plain data: resources -> cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from sitekit.oci.types import CLUSTER_NETWORK, GPU_MEMORY_CLUSTER, INSTANCE_CONFIGURATION, LOAD_BALANCER, NODE_POOL
from sitekit.spec.catalog import load_price_catalog


@dataclass(frozen=True)
class Prices:
    hours: float
    gpu_shapes: Mapping[str, float | None]
    block_gb_month: float
    lb_hour: float
    lb_mbps_hour: float
    recorded: str
    """When the figures were recorded (the file's `recorded:`, as written), for reports to quote."""


def load_prices(root: Path) -> Prices:
    """The price catalog, validated (a SpecError naming each bad figure at its line); parsed once per process by
    load_yaml, read again when the file changes."""
    catalog = load_price_catalog(root)
    return Prices(hours=catalog.hours_per_month,
                  gpu_shapes={k: v.per_hour for k, v in catalog.gpu_shapes.items()},
                  block_gb_month=catalog.storage.block_volume.per_gb_month,
                  lb_hour=catalog.load_balancer.per_hour,
                  lb_mbps_hour=catalog.load_balancer.per_mbps_hour,
                  recorded=catalog.recorded.isoformat())


@dataclass
class Cost:
    monthly: float = 0.0
    by_shape: dict[str, float] = field(default_factory=dict)
    nodes: dict[str, int] = field(default_factory=dict)
    unpriced: dict[str, int] = field(default_factory=dict)  # shape -> nodes with no list price

    def to_dict(self) -> dict[str, Any]:
        return {"monthlyUsd": round(self.monthly, 2), "byShape": {k: round(v, 2) for k, v in sorted(self.by_shape.items())},
                "nodes": dict(sorted(self.nodes.items())), "unpriced": dict(sorted(self.unpriced.items()))}


def _int(value: Any) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def gpu_nodes(resources: Iterable[Mapping[str, Any]]) -> list[tuple[str, int, int]]:
    """(shape, nodes, boot volume GB per node) of every GPU node group a plan declares."""
    resources = list(resources)
    configs = {f"{r['name']}-id": r["inputs"] for r in resources if r["type"] == INSTANCE_CONFIGURATION}
    configs.update({r["urn"]: r["inputs"] for r in resources if r["type"] == INSTANCE_CONFIGURATION})

    def launch(config_ref: Any) -> tuple[str | None, int]:
        details = ((configs.get(config_ref) or {}).get("instanceDetails") or {}).get("launchDetails") or {}
        return details.get("shape"), _int((details.get("sourceDetails") or {}).get("bootVolumeSizeInGbs"))

    groups = []
    for r in resources:
        inputs = r["inputs"]
        if r["type"] == CLUSTER_NETWORK:
            for pool in inputs.get("instancePools") or []:
                shape, boot = launch(pool.get("instanceConfigurationId"))
                if shape:
                    groups.append((shape, _int(pool.get("size")), boot))
        elif r["type"] == GPU_MEMORY_CLUSTER:
            shape, boot = launch(inputs.get("instanceConfigurationId"))
            if shape:
                groups.append((shape, _int(inputs.get("size")), boot))
        elif r["type"] == NODE_POOL and inputs.get("nodeShape"):
            size = _int((inputs.get("nodeConfigDetails") or {}).get("size"))
            boot = _int((inputs.get("nodeSourceDetails") or {}).get("bootVolumeSizeInGbs"))
            groups.append((inputs["nodeShape"], size, boot))
    return groups


def monthly_cost(resources: Iterable[Mapping[str, Any]], prices: Prices) -> Cost:
    resources = list(resources)
    cost = Cost()
    for shape, nodes, boot_gb in gpu_nodes(resources):
        cost.nodes[shape] = cost.nodes.get(shape, 0) + nodes
        per_hour = prices.gpu_shapes.get(shape)
        if per_hour is None:
            cost.unpriced[shape] = cost.unpriced.get(shape, 0) + nodes
            continue
        amount = nodes * (per_hour * prices.hours + boot_gb * prices.block_gb_month)
        cost.by_shape[shape] = cost.by_shape.get(shape, 0.0) + amount
        cost.monthly += amount
    for r in resources:
        if r["type"] == LOAD_BALANCER:
            mbps = _int((r["inputs"].get("shapeDetails") or {}).get("maximumBandwidthInMbps"))
            amount = (prices.lb_hour + mbps * prices.lb_mbps_hour) * prices.hours
            cost.by_shape["load balancers"] = cost.by_shape.get("load balancers", 0.0) + amount
            cost.monthly += amount
    return cost
