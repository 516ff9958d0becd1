"""The CrossGuard pack: it assembles from the rule module without starting its server; the analyzer built from
it answers the engine's requests (GetAnalyzerInfo, Analyze, AnalyzeStack) for a stack whose sitekit config
the CLI passes in the environment; policies/__main__.py serves it as the Pulumi CLI would start it;
docs/policies.md is generated from the rules. (That the type tokens the rules name are real pulumi-oci types is
tests/test_oci_types.py.)"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime import config as pulumi_config
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import Policy, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.policy import _POLICY_PACK_NAME_RE, _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from sitekit import ROOT
from sitekit.oci import types as T
from sitekit.policy import RULES
from sitekit.policy import pack as pack_module
from sitekit.policy.docs import DOC, rules_markdown
from sitekit.run.offline import stack_config

LEVELS = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory", analyzer_pb2.DISABLED: "disabled"}


def servicer(args: dict) -> _PolicyAnalyzerServicer:
    """The analyzer `PolicyPack(**args)` would serve, without its gRPC server."""
    return _PolicyAnalyzerServicer(args["name"], "0.1.0", args["policies"], args["enforcement_level"], None,
                                   args["description"], args["display_name"], None, args["provider"], args["tags"],
                                   None)


@pytest.fixture
def engine_env(monkeypatch):
    """The environment the Pulumi CLI gives a policy pack for `pulumi preview -s us-ashburn`."""
    config, _ = stack_config(ROOT, "us-ashburn")
    config["sitekit:alertEndpoint"] = "https://alerts.example/hook"  # a secret: the CLI passes it decrypted
    monkeypatch.setenv("PULUMI_STACK", "us-ashburn")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    monkeypatch.delenv("SITEKIT_ROOT", raising=False)
    monkeypatch.setattr(pack_module, "_ENGINE", {})
    token = pulumi_config.CONFIG.set({})  # what earlier offline plans left in the process is not the CLI's
    yield config
    pulumi_config.CONFIG.reset(token)


def test_pack_assembles_without_a_stack(monkeypatch):
    monkeypatch.delenv("PULUMI_STACK", raising=False)
    args = pack_module.pack_args(ROOT)
    assert _POLICY_PACK_NAME_RE.match(args["name"])
    assert all(isinstance(p, Policy) for p in args["policies"])
    assert [p.name for p in args["policies"]] == sorted(RULES)
    kinds = {p.name: type(p) for p in args["policies"]}
    assert {r for r, k in kinds.items() if k is StackValidationPolicy} == {r.id for r in RULES.values()
                                                                            if r.kind == "stack"}
    assert {r for r, k in kinds.items() if k is ResourceValidationPolicy} == {r.id for r in RULES.values()
                                                                               if r.kind == "resource"}
    info = servicer(args).GetAnalyzerInfo(empty_pb2.Empty(), None)
    assert info.name == "sitekit" and len(info.policies) == len(RULES) >= 25
    by_name = {p.name: p for p in info.policies}
    for rule in RULES.values():
        policy = by_name[rule.id]
        assert LEVELS[policy.enforcementLevel] == rule.level
        assert policy.remediation_steps.startswith(rule.remediation)
        assert set(policy.configSchema.properties) == set(rule.params)
        assert (policy.framework.reference or None) == rule.cis
    assert dict(by_name["SK-GOV-003"].configSchema.properties["minLogDays"]) == {
        "type": "integer", "minimum": 30.0, "maximum": 180.0}


def test_pack_under_the_engine_reads_the_stack_config(engine_env):
    """Levels come from the jurisdiction (us raises SK-DATA-004); rules see the site's roles and waivers."""
    args = pack_module.pack_args(ROOT)
    assert pack_module.stack_values()["alertEndpoint"] == "[secret]"
    assert pack_module._ENGINE["us-ashburn"].known and pack_module._ENGINE["us-ashburn"].problems == ()
    analyzer = servicer(args)
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), None)
    assert LEVELS[{p.name: p for p in info.policies}["SK-DATA-004"].enforcementLevel] == "mandatory"

    props = struct_pb2.Struct()
    props.update({"accessType": "ObjectRead", "versioning": "Enabled", "kmsKeyId": UNKNOWN_STRING_VALUE,
                  "objectEventsEnabled": False, "__defaults": [], "definedTags": {"sitekit-us-ashburn.site": "x"}})
    request = analyzer_pb2.AnalyzeRequest(
        type=T.BUCKET, properties=props, urn="urn:pulumi:us-ashburn::sitekit::oci:ObjectStorage/bucket:Bucket::b",
        name="us-ashburn-bucket-b", options=analyzer_pb2.AnalyzerResourceOptions(protect=True),
        provider=analyzer_pb2.AnalyzerProviderResource(
            type=T.OCI_PROVIDER, urn="urn:p", name="p",
            properties=struct_pb2.Struct(fields={"region": struct_pb2.Value(string_value="eu-frankfurt-1")})))
    with ThreadPoolExecutor(1) as pool:  # the analyzer serves requests on worker threads
        response = pool.submit(analyzer.Analyze, request, None).result()
    found = {d.policyName: LEVELS[d.enforcementLevel] for d in response.diagnostics}
    assert found == {"SK-DATA-001": "mandatory", "SK-DATA-004": "mandatory", "SK-GOV-001": "mandatory",
                     "SK-STK-001": "mandatory"}
    assert all(d.message.startswith(d.description) for d in response.diagnostics)

    gpu_vcn = analyzer_pb2.AnalyzerResource(type=T.VCN, urn="urn:vcn", name="us-ashburn-vcn-gpu",
                                            properties=struct_pb2.Struct())
    gpu_vcn.properties.update({"cidrBlocks": ["10.64.0.0/18"]})
    igw = analyzer_pb2.AnalyzerResource(type=T.INTERNET_GATEWAY, urn="urn:igw", name="us-ashburn-igw-gpu",
                                        dependencies=["urn:vcn"], properties=struct_pb2.Struct())
    igw.properties.update({"vcnId": UNKNOWN_STRING_VALUE})
    with ThreadPoolExecutor(1) as pool:
        response = pool.submit(analyzer.AnalyzeStack, analyzer_pb2.AnalyzeStackRequest(resources=[gpu_vcn, igw]),
                               None).result()
    # the VCN's default security list is not managed, so OCI's default rules (SSH from anywhere) stay; and no
    # event rule watches the VCN's changes (a stack-wide finding)
    assert {(d.policyName, d.urn) for d in response.diagnostics} == {("SK-NET-006", "urn:igw"),
                                                                      ("SK-NET-008", "urn:vcn"), ("SK-MON-001", "")}


def test_pack_reports_a_stack_it_cannot_load(engine_env, monkeypatch):
    config = dict(engine_env)
    config.pop("sitekit:region")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    args = pack_module.pack_args(ROOT)
    analyzer = servicer(args)
    response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[]), None)
    [problem] = [d for d in response.diagnostics if d.policyName == "SK-GOV-007"]
    assert "site.region" in problem.message
    assert "SK-KEY-003" in {n.policy_name for n in analyzer.Analyze(analyzer_pb2.AnalyzeRequest(
        type=T.VAULT, urn="urn:v", name="v", properties=struct_pb2.Struct()), None).not_applicable}


class _Assembled(Exception):
    """Raised instead of serving: carries the analyzer `PolicyPack` built."""


def test_policies_main_assembles_a_policy_pack_without_serving(monkeypatch):
    """policies/__main__.py runs the real `PolicyPack` constructor (its own argument checks included); the
    gRPC server it would start is replaced, so nothing listens and nothing blocks."""
    import runpy
    from types import SimpleNamespace

    import pulumi_policy.policy as policy_module

    def capture(servicer, _server):
        raise _Assembled(servicer)

    monkeypatch.delenv("PULUMI_STACK", raising=False)
    monkeypatch.setattr(policy_module, "grpc", SimpleNamespace(server=lambda *a, **k: object()))
    monkeypatch.setattr(policy_module.analyzer_pb2_grpc, "add_AnalyzerServicer_to_server", capture)
    monkeypatch.setattr(sys, "path", list(sys.path))  # __main__.py puts the project on sys.path
    with pytest.raises(_Assembled) as assembled:
        runpy.run_path(str(ROOT / "policies/__main__.py"), run_name="__main__")
    [analyzer] = assembled.value.args
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), None)
    assert info.name == "sitekit" and sorted(p.name for p in info.policies) == sorted(RULES)


def test_policies_main_serves_the_pack_as_the_cli_starts_it(tmp_path):
    """`pulumi preview --policy-pack policies` runs policies/__main__.py and reads the port it prints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    proc = subprocess.Popen([sys.executable, str(ROOT / "policies/__main__.py")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    try:
        port = proc.stdout.readline().decode().strip()
        assert port.isdigit(), proc.stderr.read().decode() if proc.poll() is not None else port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
        assert info.name == "sitekit" and sorted(p.name for p in info.policies) == sorted(RULES)
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_policies_share_one_conversion_of_the_resources(shipped_plans):
    """Every stack policy of a run is handed the same list, every resource policy the same props: each is
    converted once, and again for a new list or new props."""
    from sitekit.policy.pack import Converted
    from sitekit.policy.runner import policy_resources

    converted = Converted()
    resources, _ = policy_resources(shipped_plans["us-ashburn"])
    stack = converted.stack(resources)
    assert converted.stack(resources) is stack and len(stack.resources) == len(resources)
    again, _ = policy_resources(shipped_plans["us-ashburn"])
    assert converted.stack(again) is not stack and converted.stack(again).by_urn.keys() == stack.by_urn.keys()
    props = resources[0].props
    assert converted.props(props) is converted.props(props)


def test_docs_table_is_current():
    assert (ROOT / DOC).read_text() == rules_markdown(), "run `make docs` (or `python -m sitekit.policy.docs`) and commit"
    for rule in RULES.values():
        assert f"{rule.id} | {rule.title} |" in rules_markdown()


def _preview_form(value, ids: set[str]):
    """Plan inputs as a first `pulumi preview` sends them: every other resource's id or output is unknown."""
    if isinstance(value, dict):
        return {k: _preview_form(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_preview_form(v, ids) for v in value]
    if isinstance(value, str) and any(i in value for i in ids):
        return UNKNOWN_STRING_VALUE
    return value


def test_shipped_site_passes_the_pack_as_the_cli_runs_it_in_a_first_preview(engine_env, shipped_plans):
    """The whole us-ashburn plan through the analyzer (Analyze per resource, then AnalyzeStack), with ids
    unknown: no diagnostic; with its buckets unprotected and a VCN's default security list unmanaged, the
    pack finds both."""
    analyzer = servicer(pack_module.pack_args(ROOT))
    plan = shipped_plans["us-ashburn"]
    names = {r.name for r in plan.resources if r.custom and not r.type.startswith("pulumi:providers:")}
    ids = {f"{n}-id" for n in names} | {f"..{n}" for n in names} | {f"{n}-management" for n in names}
    by_urn = {r.urn: r for r in plan.resources}

    def struct(inputs) -> struct_pb2.Struct:
        out = struct_pb2.Struct()
        out.update(_preview_form(inputs, ids))
        return out

    def fields(r) -> dict:
        p = by_urn.get(r.provider.rsplit("::", 1)[0]) if r.provider else None
        provider = analyzer_pb2.AnalyzerProviderResource(type=p.type, urn=p.urn, name=p.name,
                                                         properties=struct(p.inputs)) if p else None
        return dict(type=r.type, urn=r.urn, name=r.name, properties=struct(r.inputs), provider=provider,
                    options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect))

    def diagnostics(resources) -> set[tuple[str, str]]:
        found = [d for r in resources
                 for d in analyzer.Analyze(analyzer_pb2.AnalyzeRequest(**fields(r)), None).diagnostics]
        stack = [analyzer_pb2.AnalyzerResource(**fields(r), parent=r.parent or "", dependencies=r.dependencies)
                 for r in resources]
        found += analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=stack), None).diagnostics
        return {(d.policyName, d.urn.rsplit("::", 1)[-1]) for d in found}

    # the plan was made without the secret alertEndpoint: its topic has no subscriber (advisory, SK-MON-003); the
    # GPU shapes' Secure Boot support is unknown (advisory, SK-CMP-006); the capacity catalog knows no region's
    # GPU shapes yet (advisory, SK-CMP-007, once per shape: on the first resource of it, by name; frontier's
    # second NVL72 block shares its shape)
    gpu_shaped = {r.name for r in plan.resources if r.type in (T.INSTANCE_CONFIGURATION, T.NODE_POOL)
                  and "-block-" not in r.name}
    unsubscribed = {("SK-MON-003", "us-ashburn-alerts"), ("SK-CMP-006", "us-ashburn-instance-config-train"),
                    ("SK-CMP-006", "us-ashburn-instance-config-frontier"),
                    ("SK-CMP-006", "us-ashburn-instance-config-frontier-block-2")} | {("SK-CMP-007", n) for n in gpu_shaped}
    assert diagnostics(plan.resources) == unsubscribed
    broken = [dataclasses.replace(r, protect=False) if r.type == T.BUCKET else r for r in plan.resources
              if r.type != T.DEFAULT_SECURITY_LIST or not r.name.endswith("-gpu")]
    assert diagnostics(broken) == {("SK-GOV-002", r.name) for r in plan.of_type(T.BUCKET)} | {
        ("SK-NET-008", "us-ashburn-vcn-gpu")} | unsubscribed


def test_checkov_facts_name_real_rules_and_list_each_check_once():
    """sitekit/facts/checkov.py: one row per Checkov OCI check; a "same" or "part" row names a rule; a rule lists
    exactly its "same" ids (docs/policies.md shows them)."""
    from sitekit.facts.checkov import CHECKS

    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids))
    assert {c.id for c in CHECKS if c.id.startswith("CKV_OCI_")} == {f"CKV_OCI_{n}" for n in range(1, 24)}
    assert {c.id for c in CHECKS if c.id.startswith("CKV2_OCI_")} == {f"CKV2_OCI_{n}" for n in range(1, 7)}
    for check in CHECKS:
        assert (check.rule in RULES) if check.relation in ("same", "part") else check.rule is None, check.id
    claimed = {c.strip() for r in RULES.values() if r.ckv for c in r.ckv.split(",")}
    assert claimed == {c.id for c in CHECKS if c.relation == "same"}
    # what issue 9 found mapped wrongly: these test other things than the rules that named them
    assert {r: RULES[r].ckv for r in ("SK-DATA-009", "SK-OKE-001")} == {"SK-DATA-009": None, "SK-OKE-001": None}
    assert "CKV_OCI_4" not in (RULES["SK-DATA-008"].ckv or "")
