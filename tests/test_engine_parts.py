"""The engine-facing parts that need no CLI: the replace-on-change judgement, the stand-in provider's answers
(called in-process), the CLI's config text read back, and `make pulumi` on a machine without Go."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from pulumi.runtime.proto import provider_pb2

from sitekit import ROOT
from sitekit.engine import schema
from sitekit.engine.provider import UNKNOWN, StandInProvider, to_dict, to_struct
from sitekit.oci import fakes
from sitekit.oci.replacement import diff_inputs, facts, replaces, source
from sitekit.spec.stackconfig import from_engine


def judged(type_, before, after, ignore=()):
    return {c.path: ("replace" if c.replace else c.kind) for c in diff_inputs(type_, before, after, ignore)}


# ------------------------------------------------------------------------------------------- replace facts
def test_facts_carry_their_source_and_cover_every_type_the_sites_use(shipped_plans):
    assert source()["terraform-provider-oci"].startswith("8de3c480b4bf")
    types = {r.type for plan in shipped_plans.values() for r in plan.resources if r.custom}
    missing = sorted(t for t in types if not t.startswith("pulumi:") and facts(t) is None)
    assert missing == []


def test_docs_that_say_replace_where_the_provider_updates():
    # pulumi_oci's docstrings mark none of these "(Updatable)"; the provider updates them in place
    assert judged("oci:Core/defaultSecurityList:DefaultSecurityList", {"displayName": "a"}, {"displayName": "b"}) == \
        {"displayName": "update"}
    assert judged("oci:Identity/compartment:Compartment", {"enableDelete": True}, {"enableDelete": False}) == \
        {"enableDelete": "update"}
    assert judged("oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule",
                  {"source": "10.0.0.0/8", "networkSecurityGroupId": "n"},
                  {"source": "10.1.0.0/16", "networkSecurityGroupId": "n"}) == {"source": "update"}
    assert judged("oci:ContainerEngine/addon:Addon", {"removeAddonResourcesOnDelete": True},
                  {"removeAddonResourcesOnDelete": False}) == {"removeAddonResourcesOnDelete": "update"}


def test_a_nested_force_new_field_replaces_and_its_siblings_update():
    before = {"drgId": "d", "networkDetails": {"id": "vcn-1", "type": "VCN"}, "displayName": "x"}
    after = {"drgId": "d", "networkDetails": {"id": "vcn-2", "type": "VCN"}, "displayName": "y"}
    assert judged("oci:Core/drgAttachment:DrgAttachment", before, after) == \
        {"networkDetails.id": "replace", "displayName": "update"}
    changes = diff_inputs("oci:Core/drgAttachment:DrgAttachment", before, after)
    assert replaces(changes) == ["networkDetails"]


def test_lists_of_blocks_replace_on_count_only_when_force_new():
    t = "oci:Core/clusterNetwork:ClusterNetwork"
    one = {"instancePools": [{"size": 2, "instanceConfigurationId": "ic-1"}]}
    assert judged(t, one, {"instancePools": [{"size": 4, "instanceConfigurationId": "ic-1"}]}) == \
        {"instancePools[0].size": "update"}
    assert judged(t, one, {"instancePools": [{"size": 4, "instanceConfigurationId": UNKNOWN}]}) == \
        {"instancePools[0].size": "update", "instancePools[0].instanceConfigurationId": "update"}
    # a force-new block: an unknown id inside it (the parent being replaced) replaces
    assert judged("oci:Core/instanceConfiguration:InstanceConfiguration",
                  {"instanceDetails": {"launchDetails": {"shape": "BM.GPU.H100.8"}}},
                  {"instanceDetails": {"launchDetails": {"shape": "BM.GPU.B200.8"}}}) == \
        {"instanceDetails.launchDetails.shape": "replace"}


def test_conditions_case_optional_computed_and_ignore_changes():
    instance = "oci:Core/instance:Instance"
    assert judged(instance, {"metadata": {"user_data": "a", "x": "1"}}, {"metadata": {"user_data": "a", "x": "2"}}) == \
        {"metadata": "update"}
    assert judged(instance, {"metadata": {"user_data": "a"}}, {"metadata": {"user_data": "b"}}) == {"metadata": "replace"}
    cluster = "oci:ContainerEngine/cluster:Cluster"
    assert judged(cluster, {"endpointConfig": {"subnetId": ""}}, {"endpointConfig": {"subnetId": "s"}}) == \
        {"endpointConfig.subnetId": "update"}
    assert judged(cluster, {"endpointConfig": {"subnetId": "s"}}, {"endpointConfig": {"subnetId": "t"}}) == \
        {"endpointConfig.subnetId": "replace"}
    assert judged("oci:Core/subnet:Subnet", {"dnsLabel": "Nodes"}, {"dnsLabel": "nodes"}) == {}  # case only
    assert judged("oci:Core/drgAttachment:DrgAttachment", {"routeTableId": "r"}, {}) == {}  # Optional+Computed
    assert judged("oci:ContainerEngine/nodePool:NodePool", {"nodeConfigDetails": {"size": 2}},
                  {"nodeConfigDetails": {"size": 9}}, ignore=["nodeConfigDetails.size"]) == {}


# ------------------------------------------------------------------------------------------- stand-in provider
def check(type_: str, news: dict) -> list[tuple[str, str]]:
    request = provider_pb2.CheckRequest(urn=f"urn:pulumi:s::p::{type_}::x", type=type_, news=to_struct(news))
    return [(f.property, f.reason) for f in StandInProvider().Check(request, None).failures]


def test_check_refuses_unknown_names_at_any_depth_and_missing_required_inputs():
    assert check("oci:Core/vcn:Vcn", {"compartmentId": "c", "cidrBlocks": ["10.0.0.0/16"]}) == []
    assert check("oci:Core/vcn:Vcn", {"cidrBlock": "10.0.0.0/16", "dnsLable": "x"}) == [
        ("dnsLable", "unknown property 'dnsLable' of Vcn"),
        ("compartmentId", "missing required property 'compartmentId'")]
    failures = check("oci:Core/drgAttachment:DrgAttachment", {"drgId": "d", "networkDetails": {"id": "v", "tipe": "VCN"}})
    assert [p for p, _ in failures] == ["networkDetails.tipe", "networkDetails.type"]
    # an unknown value (a preview) counts as present; the SDK's `version` input of a provider is accepted
    assert check("oci:Core/vcn:Vcn", {"compartmentId": UNKNOWN}) == []
    assert check("pulumi:providers:oci", {"region": "us-ashburn-1", "version": "5.5.0"}) == []


def test_every_input_the_shipped_sites_register_passes_check(shipped_plans):
    """Property names are checked at any depth against the pulumi_oci classes: what a plain dict would hide."""
    bad = [(plan.site, r.name, failure) for plan in shipped_plans.values() for r in plan.resources if r.custom
           for failure in schema.check(r.type, r.inputs)]
    assert bad == []
    assert sum(schema.schema_of(r.type) is not None for p in shipped_plans.values() for r in p.resources if r.custom) > 300


def test_diff_reports_replace_keys_and_detail():
    request = provider_pb2.DiffRequest(
        urn="urn:pulumi:s::p::oci:Core/drgAttachment:DrgAttachment::a", type="oci:Core/drgAttachment:DrgAttachment",
        old_inputs=to_struct({"drgId": "d", "networkDetails": {"id": "v1", "type": "VCN"}}),
        news=to_struct({"drgId": "d", "networkDetails": {"id": "v2", "type": "VCN"}}))
    response = StandInProvider().Diff(request, None)
    assert response.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(response.replaces) == ["networkDetails"]
    assert response.detailedDiff["networkDetails.id"].kind == provider_pb2.PropertyDiff.UPDATE_REPLACE
    same = provider_pb2.DiffRequest(urn=request.urn, type=request.type, old_inputs=request.news, news=request.news)
    assert StandInProvider().Diff(same, None).changes == provider_pb2.DiffResponse.DIFF_NONE


def test_create_ids_are_deterministic_and_unknown_in_a_preview():
    urn = "urn:pulumi:s::sitekit::oci:Core/vcn:Vcn::s-vcn-gpu"
    props = to_struct({"compartmentId": "c", "cidrBlocks": ["10.0.0.0/16"]})
    created = StandInProvider().Create(provider_pb2.CreateRequest(urn=urn, type="oci:Core/vcn:Vcn", properties=props), None)
    assert created.id == fakes.fake_id("oci:Core/vcn:Vcn", urn) and created.id.startswith("ocid1.vcn.oc1..")
    assert to_dict(created.properties)["defaultSecurityListId"] == "ocid1.securitylist.oc1..s-vcn-gpu-default"
    preview = StandInProvider().Create(
        provider_pb2.CreateRequest(urn=urn, type="oci:Core/vcn:Vcn", properties=props, preview=True), None)
    assert preview.id == "" and to_dict(preview.properties)["defaultSecurityListId"] == UNKNOWN


def test_invoke_answers_for_the_provider_region():
    provider = StandInProvider()
    provider.Configure(provider_pb2.ConfigureRequest(args=to_struct({"region": "sa-saopaulo-1"})), None)
    answer = provider.Invoke(provider_pb2.InvokeRequest(
        tok="oci:Identity/getAvailabilityDomains:getAvailabilityDomains", args=to_struct({"compartmentId": "t"})), None)
    names = [ad["name"] for ad in to_dict(getattr(answer, "return"))["availabilityDomains"]]
    assert names == [f"Uocm:SA-SAOPAULO-1-AD-{i}" for i in (1, 2, 3)]


# ------------------------------------------------------------------------------------------- CLI text, build
def test_config_from_the_cli_reads_back_dates():
    assert from_engine({"waivers": [{"expires": "2099-12-31 00:00:00 +0000 UTC", "reason": "r"}]}) == \
        {"waivers": [{"expires": "2099-12-31", "reason": "r"}]}
    assert from_engine("2030-01-02 03:04:05.5 +0100 CET") == "2030-01-02T03:04:05.5+01:00"
    assert from_engine(["2099-12-31", "12:00", 7]) == ["2099-12-31", "12:00", 7]


def test_make_pulumi_without_go_says_what_is_needed(tmp_path):
    tools = tmp_path / "tools"
    shutil.copytree(ROOT / "tools/pulumi", tools / "pulumi")
    path = ":".join(p for p in ("/usr/bin", "/bin") if Path(p).is_dir())
    assert not shutil.which("go", path=path) and not shutil.which("pulumi", path=path)
    done = subprocess.run(["sh", str(tools / "pulumi/build.sh")], capture_output=True, text=True,
                          env={"PATH": path, "HOME": str(tmp_path)})
    assert done.returncode == 2
    assert done.stdout == "" and done.stderr.count("\n") == 1
    assert "needs Go >= 1.26" in done.stderr and "Traceback" not in done.stderr


def test_make_s3_without_go_says_what_is_needed(tmp_path):
    tools = tmp_path / "tools"
    shutil.copytree(ROOT / "tools/seaweedfs", tools / "seaweedfs")
    path = ":".join(p for p in ("/usr/bin", "/bin") if Path(p).is_dir())
    assert not shutil.which("go", path=path)
    done = subprocess.run(["sh", str(tools / "seaweedfs/build.sh")], capture_output=True, text=True,
                          env={"PATH": path, "HOME": str(tmp_path)})
    assert done.returncode == 2
    assert done.stdout == "" and done.stderr.count("\n") == 1
    assert "needs Go >= 1.26.6" in done.stderr and "v0.0.0-20261109003541-7506e5f91cd6" in done.stderr
