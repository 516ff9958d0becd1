"""`sitekit kueue`: the Kueue Topology and ResourceFlavors of a site's OKE GPU pools, validated against the CRD
schemas of the pinned Kueue release (tests/schemas/kueue-v0.17.0/, README there), and tied to what the plan
registers (each OKE node pool labels its nodes with the pool's name, which its ResourceFlavor selects)."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from sitekit import ROOT
from sitekit.cli.main import app
from sitekit.facts.kueue import API_VERSION, POOL_LABEL, TOPOLOGY_LEVELS
from sitekit.naming import Kind, logical
from sitekit.spec.layout import list_sites
from sitekit.stamp.kueue import manifests

CRDS = Path(__file__).parent / "schemas/kueue-v0.17.0"
KINDS = {"Topology": "kueue.x-k8s.io_topologies.yaml", "ResourceFlavor": "kueue.x-k8s.io_resourceflavors.yaml"}
NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                       r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def crd_schema(kind: str, api_version: str) -> dict:
    """The openAPIV3Schema the pinned CRD serves for `api_version` (a KeyError for a version it does not serve)."""
    crd = yaml.safe_load((CRDS / KINDS[kind]).read_text())
    group, _, version = api_version.partition("/")
    assert crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == kind
    served = {v["name"]: v for v in crd["spec"]["versions"] if v["served"]}
    return served[version]["schema"]["openAPIV3Schema"]


def problems(obj: dict, others: list[dict] = ()) -> list[str]:
    """Every reason the API server would refuse `obj`: its CRD schema (jsonschema), the object name and labels, and
    the CRDs' CEL rules one by one (jsonschema cannot run them), and a ResourceFlavor's topology being rendered."""
    kind = obj.get("kind")
    if kind not in KINDS:
        return [f"unknown kind {kind!r}"]
    try:
        schema = crd_schema(kind, obj.get("apiVersion", ""))
    except KeyError:
        return [f"apiVersion {obj.get('apiVersion')!r} is not served by the pinned CRD"]
    out = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in Draft202012Validator(schema).iter_errors(obj)]
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    if not (isinstance(name, str) and NAME.fullmatch(name) and len(name) <= 253):
        out.append(f"metadata.name {name!r} is no Kubernetes name")
    for key, value in (meta.get("labels") or {}).items():
        if not (LABEL_KEY.fullmatch(key) and isinstance(value, str) and LABEL_VALUE.fullmatch(value) and len(value) <= 63):
            out.append(f"label {key}={value!r} is not a valid label")
    spec = obj.get("spec") or {}
    if kind == "Topology" and isinstance(spec.get("levels"), list):
        labels = [level.get("nodeLabel") for level in spec["levels"] if isinstance(level, dict)]
        if len(set(labels)) != len(labels):
            out.append("levels: must be unique")
        if "kubernetes.io/hostname" in labels and labels[-1] != "kubernetes.io/hostname":
            out.append("levels: the kubernetes.io/hostname label can only be used at the lowest level of topology")
    if kind == "ResourceFlavor" and "topologyName" in spec:
        if not spec.get("nodeLabels"):
            out.append("spec: at least one nodeLabel is required when topology is set")
        topologies = {o["metadata"]["name"] for o in others if o.get("kind") == "Topology"}
        if spec["topologyName"] not in topologies:
            out.append(f"spec.topologyName: no Topology {spec['topologyName']!r} is rendered with it")
    return out


@pytest.mark.parametrize("site", list_sites(ROOT))
def test_every_shipped_sites_manifests_validate(site, shipped_sites):
    spec = shipped_sites[site].spec
    objs = list(manifests(spec).values())
    oke = [p for p in spec.compute.pools if p.placement == "oke"]
    assert oke, f"{site} has no OKE pool to schedule on"
    assert [o["kind"] for o in objs] == ["Topology"] + ["ResourceFlavor"] * len(oke)
    assert all(o["apiVersion"] == API_VERSION for o in objs)
    for obj in objs:
        assert problems(obj, objs) == [], obj
    topology = objs[0]
    assert [lv["nodeLabel"] for lv in topology["spec"]["levels"]] == list(TOPOLOGY_LEVELS)
    for pool, flavor in zip(oke, objs[1:]):
        assert flavor["spec"]["nodeLabels"] == {POOL_LABEL: pool.name, "node.kubernetes.io/instance-type": pool.shape}
        assert flavor["spec"]["topologyName"] == topology["metadata"]["name"]


@pytest.mark.parametrize("site", list_sites(ROOT))
def test_each_flavor_selects_what_the_node_pool_labels(site, shipped_sites, shipped_plans):
    """The ResourceFlavor's pool label is one the plan's node pool gives its nodes (initialNodeLabels)."""
    flavors = [o for o in manifests(shipped_sites[site].spec).values() if o["kind"] == "ResourceFlavor"]
    pools = {r.name: r for r in shipped_plans[site].resources if r.type == "oci:ContainerEngine/nodePool:NodePool"}
    for flavor in flavors:
        pool = pools[logical(site, Kind.NODE_POOL, flavor["metadata"]["name"])]
        labels = {lb["key"]: lb["value"] for lb in pool.inputs["initialNodeLabels"]}
        assert labels[POOL_LABEL] == flavor["metadata"]["name"]
        assert pool.inputs["nodeShape"] == flavor["spec"]["nodeLabels"]["node.kubernetes.io/instance-type"]


def _broken(edit):
    def apply(objs):
        objs = copy.deepcopy(objs)
        edit(objs)
        return objs
    return apply


BROKEN = {
    "a level label that is no label": _broken(lambda o: o[0]["spec"]["levels"].__setitem__(0, {"nodeLabel": "rdma block!"})),
    "no levels": _broken(lambda o: o[0]["spec"].pop("levels")),
    "seventeen levels": _broken(lambda o: o[0]["spec"].__setitem__("levels", [{"nodeLabel": f"l{i}"} for i in range(17)])),
    "hostname above a block": _broken(lambda o: o[0]["spec"]["levels"].reverse()),
    "a level twice": _broken(lambda o: o[0]["spec"]["levels"].append(dict(o[0]["spec"]["levels"][0]))),
    "a version Kueue v0.17.0 does not serve": _broken(lambda o: o[0].__setitem__("apiVersion", "kueue.x-k8s.io/v1alpha1")),
    "nodeLabels not a map": _broken(lambda o: o[1]["spec"].__setitem__("nodeLabels", ["sitekit/pool=serve"])),
    "a topology not rendered": _broken(lambda o: o[1]["spec"].__setitem__("topologyName", "other")),
    "a name with capitals": _broken(lambda o: o[1]["metadata"].__setitem__("name", "Serve")),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_manifest_fails_validation(case, shipped_sites):
    objs = BROKEN[case](list(manifests(shipped_sites["us-ashburn"].spec).values()))
    assert [p for obj in objs for p in problems(obj, objs)], case


def run(project: Path, monkeypatch, *args: str):
    monkeypatch.chdir(project)
    return CliRunner().invoke(app, list(args))


def test_the_command_writes_refuses_to_overwrite_and_prints(project, monkeypatch, tmp_path, shipped_sites):
    out = tmp_path / "kueue"
    first = run(project, monkeypatch, "kueue", "us-ashburn", "--out", str(out))
    assert first.exit_code == 0, first.output
    written = sorted(p.name for p in out.iterdir())
    assert written == ["resourceflavor-serve.yaml", "topology.yaml"]
    objs = [yaml.safe_load((out / name).read_text()) for name in written]
    assert all(problems(o, objs) == [] for o in objs)
    (out / "topology.yaml").write_text("# mine\n")
    again = run(project, monkeypatch, "kueue", "us-ashburn", "--out", str(out))
    assert again.exit_code == 2 and "topology.yaml: the file exists; pass --force to overwrite it" in again.output
    assert (out / "topology.yaml").read_text() == "# mine\n"  # nothing written when any file exists
    forced = run(project, monkeypatch, "kueue", "us-ashburn", "--out", str(out), "--force")
    assert forced.exit_code == 0 and yaml.safe_load((out / "topology.yaml").read_text())["kind"] == "Topology"
    printed = run(project, monkeypatch, "kueue", "us-ashburn")
    assert printed.exit_code == 0
    assert list(yaml.safe_load_all(printed.output)) == list(manifests(shipped_sites["us-ashburn"].spec).values())


def test_a_site_without_oke_pools_is_bad_input(project, monkeypatch):
    path = project / "stacks/baseline.yaml"
    text = path.read_text()
    assert ", placement: oke, autoscale: {min: 2, max: 8}}" in text
    path.write_text(text.replace(", placement: oke, autoscale: {min: 2, max: 8}}", "}"))
    stack = project / "stacks/Pulumi.br-saopaulo.yaml"
    stack.write_text(stack.read_text().replace("      autoscale: {min: 16, max: 128}\n", ""))
    result = run(project, monkeypatch, "kueue", "br-saopaulo")
    assert result.exit_code == 2, result.output
    assert "compute.pools: no OKE pool (placement: oke)" in result.output
