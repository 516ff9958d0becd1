"""Golden inventories: per shipped site, counts per type and a few key properties per resource.

`tests/golden/<site>.yaml` is compared as a SUBSET of what the plan registered: a golden may leave out
types, resources or properties, and everything it lists must match. Regenerate after an intended change
with `pytest tests/test_golden.py --update-golden` and review the diff; without the flag nothing is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sitekit import ROOT
from sitekit.plan import Plan, PlannedResource
from sitekit.spec.layout import list_sites

GOLDEN = Path(__file__).parent / "golden"
SITES = list_sites(ROOT)

# Properties worth reviewing per type (dotted paths into the engine-form inputs; a number indexes a list).
KEY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "pulumi:providers:oci": ("region",),
    "oci:Core/vcn:Vcn": ("cidrBlocks",),
    "oci:Core/subnet:Subnet": ("cidrBlock", "prohibitPublicIpOnVnic"),
    "oci:Core/internetGateway:InternetGateway": ("vcnId",),
    "oci:Kms/vault:Vault": ("vaultType",),
    "oci:Kms/key:Key": ("protectionMode", "autoKeyRotationDetails.rotationIntervalInDays"),
    "oci:ObjectStorage/bucket:Bucket": ("accessType", "versioning"),
    "oci:FileStorage/fileSystem:FileSystem": ("kmsKeyId",),
    "oci:Core/instanceConfiguration:InstanceConfiguration": ("instanceDetails.launchDetails.shape",
                                                             "instanceDetails.launchDetails.capacityReservationId"),
    "oci:Core/computeCapacityReservation:ComputeCapacityReservation": (
        "availabilityDomain", "instanceReservationConfigs.0.instanceShape", "instanceReservationConfigs.0.reservedCount"),
    "oci:Core/clusterNetwork:ClusterNetwork": ("instancePools.0.size",),
    "oci:Core/computeGpuMemoryCluster:ComputeGpuMemoryCluster": ("size",),
    "oci:ContainerEngine/nodePool:NodePool": ("nodeShape", "nodeConfigDetails.size"),
    "oci:ContainerEngine/cluster:Cluster": ("kubernetesVersion", "endpointConfig.isPublicIpEnabled"),
    # issue 21: what OCI itself enforces, each quota statement beside its basis (freeform tags basis-<what>)
    "oci:Limits/quota:Quota": ("statements", "freeformTags"),
    "oci:CloudGuard/securityZone:SecurityZone": ("securityZoneRecipeId",),
}
OUTPUTS = ("gpus", "gpusByRole", "itMw", "facilityMw", "envelopeMw")


def dig(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return None
    return data


def describe(res: PlannedResource) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": res.type}
    for prop in KEY_PROPERTIES.get(res.type, ()):
        value = dig(res.inputs, prop)
        if value is not None:
            entry[prop] = value
    if res.protect:
        entry["protect"] = True
    if res.retain_on_delete:
        entry["retainOnDelete"] = True
    return entry


def inventory(plan: Plan) -> dict[str, Any]:
    """The full inventory a golden is cut from: counts, key properties of the reviewed types, outputs."""
    return {
        "resources": len(plan.resources),
        "counts": plan.counts(),
        "key": {r.name: describe(r) for r in sorted(plan.resources, key=lambda r: r.name)
                if r.type in KEY_PROPERTIES or r.protect},
        "outputs": {k: plan.outputs[k] for k in OUTPUTS},
    }


def render(site: str, inv: dict[str, Any]) -> str:
    """The golden file: one line per resource, so a change shows as a one-line diff."""
    flow = lambda value: yaml.safe_dump([value], default_flow_style=True, width=10**6, sort_keys=False).strip()[1:-1]  # noqa: E731
    lines = [f"# Golden inventory of {site}: a subset of what `sitekit plan {site}` registers (see tests/test_golden.py).",
             "# Regenerate with `pytest tests/test_golden.py --update-golden` and review the diff; entries may be removed.",
             f"resources: {inv['resources']}", "counts:"]
    lines += [f"  {flow(t)}: {n}" for t, n in inv["counts"].items()]
    lines += ["key:"] + [f"  {name}: {flow(entry)}" for name, entry in inv["key"].items()]
    lines += ["outputs:"] + [f"  {k}: {flow(v)}" for k, v in inv["outputs"].items()]
    return "\n".join(lines) + "\n"


def subset_mismatches(golden: Any, actual: Any, path: str = "") -> list[str]:
    """Where `golden` is not contained in `actual` (mappings: every listed key; anything else: equal)."""
    if isinstance(golden, dict):
        if not isinstance(actual, dict):
            return [f"{path or '.'}: expected a mapping, got {actual!r}"]
        out = []
        for key, value in golden.items():
            where = f"{path}.{key}" if path else str(key)
            if key not in actual:
                out.append(f"{where}: missing from the plan")
            else:
                out += subset_mismatches(value, actual[key], where)
        return out
    return [] if golden == actual else [f"{path}: golden {golden!r}, plan {actual!r}"]


def test_subset_comparison_is_strict_where_it_lists_something():
    actual = {"a": 1, "b": {"c": [1, 2], "d": True}, "e": "x"}
    assert subset_mismatches({"b": {"c": [1, 2]}}, actual) == []
    assert subset_mismatches({"b": {"c": [1]}}, actual) == ["b.c: golden [1], plan [1, 2]"]
    assert subset_mismatches({"z": 1}, actual) == ["z: missing from the plan"]
    assert subset_mismatches({"b": {"d": 1.5}}, actual) == ["b.d: golden 1.5, plan True"]


@pytest.mark.parametrize("site", SITES)
def test_golden_inventory(site, shipped_plans, request):
    path = GOLDEN / f"{site}.yaml"
    current = inventory(shipped_plans[site])
    if request.config.getoption("--update-golden"):
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(render(site, current))
    assert path.exists(), f"no golden for {site}: run `pytest tests/test_golden.py --update-golden` and review it"
    golden = yaml.safe_load(path.read_text())
    assert golden.get("counts"), "a golden lists at least the counts per type"
    problems = subset_mismatches(golden, current)
    assert not problems, "plan differs from " + str(path.relative_to(ROOT)) + ":\n" + "\n".join(problems)
