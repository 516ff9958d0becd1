"""The real Pulumi engine in the loop: the offline plan and `sitekit policy` agree with `pulumi preview`, the
policy pack runs under the CLI, secrets stay secret, and `pulumi up` / `destroy` / edits behave as the engine
says, through the stand-in OCI provider (never OCI)."""

from __future__ import annotations

import re

import pytest
from broken_site import EXPECTED_FAILURES, break_site
from conftest import SHIPPED, new_workspace, sitekit, sitekit_json

STACK_TYPE = "pulumi:pulumi:Stack"
SECRET_URL = "https://hooks.example.invalid/sitekit-engine-test-3f9c2a71"


def engine_resources(preview) -> set[tuple[str, str]]:
    return {(s["type"], s["urn"]) for s in preview.steps if s["type"] != STACK_TYPE}


def engine_verdicts(preview) -> set[tuple[str, str, str | None, str]]:
    """(rule, level, resource URN or None for the stack, message) of every violation the CLI reported."""
    out = set()
    for v in preview.violations:
        urn = v.get("resourceUrn") or None
        if urn and f"::{STACK_TYPE}::" in urn:
            urn = None
        message = v["message"].strip().splitlines()[-1]
        out.add((v["policyName"], v["enforcementLevel"], urn, re.sub(r"^\[[A-Z0-9-]+\] ", "", message)))
    return out


def offline_verdicts(report: dict) -> set[tuple[str, str, str | None, str]]:
    (site,) = report["sites"]
    return {(f["rule"], f["level"], f["urn"], f["message"]) for f in site["findings"] if f["waived"] is None}


# ------------------------------------------------------------------------------------------- every shipped site
@pytest.mark.parametrize("site", SHIPPED)
def test_preview_declares_exactly_the_offline_plan(shipped_previews, site):
    preview = shipped_previews[site]
    assert preview.returncode == 0, preview.text()[-3000:]
    assert not [d for d in preview.diagnostics if d.get("severity") == "error"]
    plan = sitekit_json("plan", site)
    offline = {(r["type"], r["urn"]) for r in plan["resources"]}
    assert engine_resources(preview) == offline  # the same types and the same URNs, parents included
    assert {s["op"] for s in preview.steps if s["type"] != "pulumi:pulumi:StackReference"} == {"create"}
    assert {s["op"] for s in preview.steps if s["type"] == "pulumi:pulumi:StackReference"} <= {"read"}
    assert len(offline) == len(plan["resources"]) > 100


GUARDRAILS = {"oci:Limits/quota:Quota", "oci:CloudGuard/securityRecipe:SecurityRecipe",
              "oci:CloudGuard/securityZone:SecurityZone"}


@pytest.mark.parametrize("site", SHIPPED)
def test_preview_declares_the_guardrails_the_cloud_enforces(shipped_previews, site):
    """Issue 21: the quota, the Security Zone and its recipe are previewed through the stand-in provider (which
    checks their inputs against pulumi_oci's schemas), the recipe with the policies the zone lookup found."""
    from sitekit.facts.guardrails import ZONE_POLICIES
    from sitekit.spec.guardrails import statement_keys

    preview = shipped_previews[site]
    created = {s["type"]: s for s in preview.steps if s["type"] in GUARDRAILS}
    assert set(created) == GUARDRAILS
    assert {created[t]["op"] for t in GUARDRAILS} == {"create"}
    quota = created["oci:Limits/quota:Quota"]["new"]["inputs"]  # the step's inputs, as the engine previews them
    assert sum("request.region !=" in st for st in quota["statements"]) == 5  # the five regional families
    keys = [k for st in quota["statements"] for k in statement_keys(st)]
    assert keys and set(quota["freeformTags"]) == set(keys)  # each statement's basis travels with the quota
    recipe = created["oci:CloudGuard/securityRecipe:SecurityRecipe"]["new"]["inputs"]
    assert len(set(recipe["securityPolicies"])) == len(ZONE_POLICIES)  # found by the zone lookup, by name


def test_preview_declares_the_capacity_reservations_and_fabric_blocks(shipped_previews):
    """Issue 22: us-ashburn's frontier pool (two NVL72 blocks) declares its capacity reservation; the stand-in
    provider checks its inputs against pulumi_oci's schema; both blocks' clusters and fabrics are created, and
    their instance configurations launch into the reservation."""
    steps = {s["urn"].rsplit("::", 1)[-1]: s for s in shipped_previews["us-ashburn"].steps}
    reservation = steps["us-ashburn-capacity-reservation-frontier"]
    assert reservation["type"] == "oci:Core/computeCapacityReservation:ComputeCapacityReservation"
    assert reservation["op"] == "create"
    inputs = reservation["new"]["inputs"]  # the step's inputs, as the engine previews them
    assert inputs["instanceReservationConfigs"] == [{"instanceShape": "BM.GPU.GB200.4", "reservedCount": "36"}]
    assert inputs["availabilityDomain"] and inputs["isDefaultReservation"] is False
    for key in ("frontier", "frontier-block-2"):
        for kind in ("compute-cluster", "instance-config", "gpu-memory-cluster"):
            assert steps[f"us-ashburn-{kind}-{key}"]["op"] == "create"
        launch = steps[f"us-ashburn-instance-config-{key}"]["new"]["inputs"]["instanceDetails"]["launchDetails"]
        assert "capacityReservationId" in launch  # the reservation's id (unknown until it exists)
    assert not [n for n in steps if "capacity-reservation" in n and not n.endswith("-frontier")]


@pytest.mark.parametrize("site", SHIPPED)
def test_policy_pack_passes_under_the_cli_with_the_verdicts_of_sitekit_policy(shipped_previews, site):
    preview = shipped_previews[site]
    assert preview.summary["PolicyPacks"] == {"sitekit|local|policies": "0.1.0"}  # the pack did run
    assert preview.summary["result"] == "succeeded"
    assert not [v for v in preview.violations if v["enforcementLevel"] == "mandatory"]
    assert engine_verdicts(preview) == offline_verdicts(sitekit_json("policy", site))


def test_a_broken_copy_fails_the_pack_with_the_expected_rules(tmp_path_factory, pulumi_cli):
    ws = new_workspace(tmp_path_factory, pulumi_cli, "engine-broken", stacks=["us-ashburn"], prepare=break_site)
    preview = ws.preview_events("us-ashburn", "--policy-pack", "policies")
    assert preview.returncode != 0
    assert preview.summary["result"] == "failed"
    mandatory = {v["policyName"] for v in preview.violations if v["enforcementLevel"] == "mandatory"}
    assert mandatory == EXPECTED_FAILURES
    offline = sitekit("policy", "us-ashburn", "--format", "json", cwd=ws.project)
    assert offline.returncode == 1
    import json

    assert engine_verdicts(preview) == offline_verdicts(json.loads(offline.stdout))


# ------------------------------------------------------------------------------------------- bad input
def test_a_bad_value_fails_preview_with_the_lines_sitekit_prints(tmp_path_factory, pulumi_cli):
    ws = new_workspace(tmp_path_factory, pulumi_cli, "engine-bad-value", stacks=["br-saopaulo"])
    path = ws.project / "stacks/Pulumi.br-saopaulo.yaml"
    text = path.read_text()
    text = re.sub(r"(?m)^(\s+storage:) \S+", r"\1 10.0.0.0/33", text, count=1)
    text = re.sub(r"(?m)^(\s+pue:) \S+", r"\1 0.5", text, count=1)
    text = re.sub(r"(?m)^(\s+nodes:) \d+", r"\1 -4", text, count=1)
    path.write_text(text)
    offline = sitekit("plan", "br-saopaulo", cwd=ws.project)
    assert offline.returncode == 2
    expected = [line for line in offline.stderr.splitlines() if line.strip()]
    assert len(expected) == 3 and all(re.match(r"stacks/Pulumi\.br-saopaulo\.yaml:\d+: \S+: ", l) for l in expected)

    preview = ws.preview_events("br-saopaulo")
    assert preview.returncode != 0
    errors = [d["message"].strip() for d in preview.diagnostics if d.get("severity") == "error"]
    reported = [m.removeprefix("error: ") for m in errors]
    assert [m for m in reported if m.startswith("stacks/")] == expected
    assert "Traceback" not in preview.text()


# ------------------------------------------------------------------------------------------- a deployed site
@pytest.fixture(scope="module")
def deployed(tmp_path_factory, pulumi_cli):
    """us-ashburn with a secret alert endpoint, `pulumi up` into the file backend; outputs kept for the tests."""
    ws = new_workspace(tmp_path_factory, pulumi_cli, "engine-deployed", stacks=["us-ashburn"])
    setting = ws.run(["config", "set", "--secret", "sitekit:alertEndpoint", SECRET_URL, "-s", "us-ashburn"])
    assert setting.returncode == 0, setting.output
    up = ws.up("us-ashburn")
    assert up.returncode == 0, up.output[-4000:]
    return ws, {"config set": setting.output, "up": up.output}


def test_a_secret_config_value_never_shows(deployed):
    ws, seen = deployed
    stack_file = (ws.project / "stacks/Pulumi.us-ashburn.yaml").read_text()
    assert SECRET_URL not in stack_file and "secure: v1:" in stack_file
    preview = ws.preview_events("us-ashburn")
    subscription = [s for s in preview.steps if s["type"] == "oci:Ons/subscription:Subscription"]
    assert subscription, "the alert topic gets a subscription once the endpoint is set"
    seen |= {"preview": preview.text(), "stack output": ws.run(["stack", "output", "--json", "-s", "us-ashburn"]).output,
             "stack export": ws.run(["stack", "export", "-s", "us-ashburn"]).output,
             "config": ws.run(["config", "-s", "us-ashburn"]).output}
    state = "".join(p.read_text(errors="replace") for p in (ws.state).rglob("*.json"))
    seen["state files"] = state
    for where, text in seen.items():
        assert SECRET_URL not in text, f"the secret shows in {where}"


def test_a_second_preview_changes_nothing(deployed):
    ws, _ = deployed
    preview = ws.preview_events("us-ashburn")
    assert preview.returncode == 0
    assert {s["op"] for s in preview.steps} == {"same"}, [(s["op"], s["urn"]) for s in preview.steps if s["op"] != "same"]


def test_edits_show_the_engines_update_replace_and_delete_create(deployed):
    ws, _ = deployed
    path = ws.project / "stacks/Pulumi.us-ashburn.yaml"
    original = path.read_text()
    try:
        edited = original.replace("nodes: 2048", "nodes: 1024", 1)  # the train pool's size
        edited = edited.replace("shape: BM.GPU.H100.8", "shape: BM.GPU.B200.8", 1)  # the train pool's shape
        edited = edited.replace("storage: 10.64.144.0/24", "storage: 10.64.146.0/24", 1)  # a network's CIDR
        edited = edited.replace("- name: frontier", "- name: gb200", 1)  # a pool renamed, no alias
        assert edited.count("gb200") == 1 and edited.count("B200.8") == 1
        path.write_text(edited)
        preview = ws.preview_events("us-ashburn")
    finally:
        path.write_text(original)
    # the renamed pool's declared reservation is protected: the engine judges every change, refuses to delete it
    # and fails the preview (issue 22: a rename of a pool with a reservation needs formerNames)
    assert preview.returncode != 0, preview.text()[-3000:]
    errors = [d["message"] for d in preview.diagnostics if d.get("severity") == "error"]
    assert any("us-ashburn-capacity-reservation-frontier" in m and "protect" in m for m in errors), (
        errors, preview.stderr[-2000:])
    ops: dict[str, set[str]] = {}
    for step in preview.steps:
        ops.setdefault(step["urn"].rsplit("::", 1)[-1], set()).add(step["op"])
    changed = {name: o for name, o in ops.items() if o != {"same"}}
    # the shape is ForceNew in the instance configuration: it is replaced, and its cluster network, which
    # takes the new configuration's id and the new size, is updated in place
    assert changed["us-ashburn-instance-config-train"] == {"create-replacement", "replace", "delete-replaced"}
    step = next(s for s in preview.steps if s["op"] == "replace" and s["urn"].endswith("::us-ashburn-instance-config-train"))
    assert step["keys"] == ["instanceDetails"]
    assert step["detailedDiff"]["instanceDetails.launchDetails.shape"]["diffKind"] == "update-replace"
    network = next(s for s in preview.steps if s["urn"].endswith("::us-ashburn-cluster-network-train"))
    assert network["op"] == "update"
    assert {"instancePools[0].size", "instancePools[0].instanceConfigurationId"} <= set(network["detailedDiff"])
    # a CIDR is edited in place in OCI (VCN cidrBlocks, subnet cidrBlock), and the rules that name it follow
    assert changed["us-ashburn-vcn-storage"] == {"update"}
    assert changed["us-ashburn-subnet-storage-fss"] == {"update"}
    assert changed["us-ashburn-nsg-gpu-nodes-egress-tcp-111-storage"] == {"update"}
    # a rename without an alias: the old pool's resources are deleted, the new ones created (both NVL72 blocks)
    for kind in ("instance-config", "compute-cluster", "gpu-memory-cluster"):
        for block in ("", "-block-2"):
            assert changed[f"us-ashburn-{kind}-frontier{block}"] == {"delete"}
            assert changed[f"us-ashburn-{kind}-gb200{block}"] == {"create"}
    assert changed["us-ashburn-capacity-reservation-gb200"] == {"create"}
    assert not [n for n, o in changed.items() if "replace" in o and n != "us-ashburn-instance-config-train"]


def test_destroy_is_refused_and_every_protected_resource_survives(deployed):
    """Last: `pulumi destroy` deletes what is not protected, then refuses; vaults, keys, buckets, file systems
    and compartments are still in the state."""
    ws, _ = deployed
    protected_before = protected_urns(ws)
    assert {u.rsplit("::", 2)[-2].rsplit("$", 1)[-1] for u in protected_before} >= {
        "oci:Kms/vault:Vault", "oci:Kms/key:Key", "oci:ObjectStorage/bucket:Bucket",
        "oci:FileStorage/fileSystem:FileSystem", "oci:Identity/compartment:Compartment"}
    done = ws.run(["destroy", "-s", "us-ashburn", "--yes", "--skip-preview", "--non-interactive"])
    assert done.returncode != 0
    assert "protected" in done.output
    assert protected_urns(ws) == protected_before


def protected_urns(ws) -> set[str]:
    import json

    state = json.loads(ws.run(["stack", "export", "-s", "us-ashburn"], check=True).stdout)
    return {r["urn"] for r in state["deployment"]["resources"] if r.get("protect")}


# ------------------------------------------------------------------------------------------- peered sites
def test_peered_sites_connect_through_the_engine(tmp_path_factory, pulumi_cli):
    """The hub first, then a spoke, into one backend: both ends exist, and the spoke's connection names the
    hub's (read from the hub's stack outputs by the engine, not faked)."""
    import json

    ws = new_workspace(tmp_path_factory, pulumi_cli, "engine-peered", stacks=["us-ashburn", "br-saopaulo"])
    for site in ("us-ashburn", "br-saopaulo"):
        up = ws.up(site)
        assert up.returncode == 0, up.output[-3000:]
    hub = json.loads(ws.run(["stack", "output", "peering", "--json", "-s", "us-ashburn"], check=True).stdout)
    state = json.loads(ws.run(["stack", "export", "-s", "br-saopaulo"], check=True).stdout)["deployment"]["resources"]
    (spoke_rpc,) = [r for r in state if r["type"] == "oci:Core/remotePeeringConnection:RemotePeeringConnection"]
    assert spoke_rpc["inputs"]["peerId"] == hub["rpcs"]["br-saopaulo"] and spoke_rpc["inputs"]["peerId"].startswith(
        "ocid1.remotepeeringconnection.oc1..")
    assert spoke_rpc["inputs"]["peerRegionName"] == "us-ashburn-1"
    routes = [r for r in state if r["type"] == "oci:Core/routeTable:RouteTable" and r["urn"].endswith("routes-storage")]
    hub_ranges = {"10.64.128.0/20", "10.64.144.0/24"}
    assert hub_ranges <= {rule["destination"] for rule in routes[0]["inputs"]["routeRules"]}
    assert ws.preview_events("br-saopaulo").returncode == 0  # and nothing left to change
    assert {s["op"] for s in ws.preview_events("br-saopaulo").steps} <= {"same", "read"}
