"""Every rule against a resource that passes and one that fails (the way Checkov keeps good and bad examples),
run through the CrossGuard policy the pack builds (`policy.validate` with Resource/StackValidationArgs), with
the site context of the shipped us-ashburn site (jurisdiction us: VIRTUAL_PRIVATE vault, logs >= 180 days,
statement budget 40, networks gpu 10.64.0.0/18, rdma 10.64.64.0/18, services 10.64.128.0/20,
storage 10.64.144.0/24, frontend 10.64.145.0/24)."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi_policy import (PolicyCustomTimeouts, PolicyProviderResource, PolicyResource, PolicyResourceOptions,
                           ResourceValidationArgs, StackValidationArgs)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

from sitekit.policy import RULES
from sitekit.policy import types as T
from sitekit.policy.context import PolicyContext, WaiverInfo, context_from_site
from sitekit.policy.model import UNKNOWN, Res
from sitekit.policy.pack import build_policies

TAGS = {"sitekit-us-ashburn.site": "us-ashburn", "sitekit-us-ashburn.jurisdiction": "us",
        "sitekit-us-ashburn.data-classification": "confidential"}
TENANCY = "ocid1.tenancy.oc1..aaaaaaaaexampletenancy"


def R(type_: str, props: dict | None = None, name: str = "us-ashburn-thing", *, protect: bool = False,
      region: str | None = None, deps: tuple[str, ...] = ()) -> Res:
    return Res(type=type_, name=name, urn=f"urn:pulumi:us-ashburn::sitekit::{type_}::{name}", props=props or {},
               protect=protect, provider={"region": region} if region else None,
               dependencies=tuple(f"urn:pulumi:us-ashburn::sitekit::{d}" for d in deps))


def urn_of(res: Res) -> str:
    return res.urn.split("sitekit::", 1)[1]


def vcn(name: str, cidr: str) -> Res:
    return R(T.VCN, {"cidrBlocks": [cidr], "displayName": f"sitekit-us-ashburn-{name}"}, f"us-ashburn-vcn-{name}")


def subnet(name: str, cidr: str, public: bool = False) -> Res:
    return R(T.SUBNET, {"cidrBlock": cidr, "prohibitPublicIpOnVnic": not public,
                        "displayName": f"sitekit-us-ashburn-{name}"}, f"us-ashburn-subnet-{name}")


def sl(ingress: list, egress: list | None = None, type_: str = T.SECURITY_LIST) -> Res:
    return R(type_, {"ingressSecurityRules": ingress, "egressSecurityRules": egress or []})


def nsg_rule(direction: str, source: str, low: int, high: int, protocol: str = "6") -> Res:
    return R(T.NSG_RULE, {"direction": direction, "protocol": protocol, "source": source, "sourceType": "CIDR_BLOCK",
                          "tcpOptions": {"destinationPortRange": {"min": low, "max": high}}})


def launch(**details) -> dict:
    return {"instanceDetails": {"instanceType": "compute", "launchDetails": details}}


GOOD_LAUNCH = dict(shape="BM.GPU.H100.8", isPvEncryptionInTransitEnabled=True,
                   instanceOptions={"areLegacyImdsEndpointsDisabled": True},
                   sourceDetails={"sourceType": "image", "kmsKeyId": UNKNOWN},
                   createVnicDetails={"assignPublicIp": False})


def stack(*resources: Res) -> list[Res]:
    return list(resources)


def _cluster_network(shape: str, nodes: int) -> list[Res]:
    config = R(T.INSTANCE_CONFIGURATION, launch(**{**GOOD_LAUNCH, "shape": shape}), "us-ashburn-instance-config-x")
    group = R(T.CLUSTER_NETWORK, {"instancePools": [{"size": nodes}]}, "us-ashburn-cluster-network-x",
              deps=(urn_of(config),))
    return [config, group]


def _policy_chain(statements: int) -> list[Res]:
    root = R(T.COMPARTMENT, {"name": "site"}, "us-ashburn-compartment", protect=True)
    child = R(T.COMPARTMENT, {"name": "compute"}, "us-ashburn-compartment-compute", protect=True,
              deps=(urn_of(root),))
    half = statements // 2
    return [root, child,
            R(T.POLICY, {"statements": ["Allow group ops to read all-resources in compartment x"] * half},
              "us-ashburn-policy", deps=(urn_of(root),)),
            R(T.POLICY, {"statements": ["Allow group ops to use instances in compartment y"] * (statements - half)},
              "us-ashburn-policy-compute", deps=(urn_of(child),))]


def _gpu_vcn_with(gateway_in: str) -> list[Res]:
    net = vcn(gateway_in, {"gpu": "10.64.0.0/18", "frontend": "10.64.145.0/24"}[gateway_in])
    igw = R(T.INTERNET_GATEWAY, {"enabled": True}, f"us-ashburn-igw-{gateway_in}", deps=(urn_of(net),))
    routes = R(T.ROUTE_TABLE, {"routeRules": [{"destination": "0.0.0.0/0", "networkEntityId": UNKNOWN}]},
               f"us-ashburn-routes-{gateway_in}", deps=(urn_of(net), urn_of(igw)))
    return [net, igw, routes]


def _default_list(network: str, ingress: list, egress: list | None = None) -> list[Res]:
    net = vcn(network, "10.64.0.0/18")
    rules = R(T.DEFAULT_SECURITY_LIST, {"ingressSecurityRules": ingress, "egressSecurityRules": egress or [],
                                        "manageDefaultResourceId": UNKNOWN},
              f"us-ashburn-default-security-list-{network}", deps=(urn_of(net),))
    return [net, rules]


def _with_log(service: str) -> list[Res]:
    sub = subnet("gpu-nodes", "10.64.0.0/19")
    log = R(T.LOG, {"configuration": {"source": {"service": service, "category": "all", "resource": UNKNOWN}},
                    "isEnabled": True, "retentionDuration": 180}, "us-ashburn-flow-log-gpu-nodes",
            deps=(urn_of(sub),))
    return [sub, log]


def _lb_in(name: str, cidr: str) -> list[Res]:
    sub = subnet(name, cidr)
    return [sub, R(T.LOAD_BALANCER, {"isPrivate": False, "shape": "flexible", "subnetIds": [UNKNOWN]},
                   "us-ashburn-lb", deps=(urn_of(sub),))]


def _bucket(logged: bool) -> list[Res]:
    bucket = R(T.BUCKET, {"name": "sitekit-us-ashburn-datasets"}, "us-ashburn-bucket-datasets", protect=True)
    out = [bucket]
    if logged:
        out.append(R(T.LOG, {"configuration": {"source": {"service": "objectstorage", "category": "write",
                                                          "resource": "sitekit-us-ashburn-datasets"}}},
                     "us-ashburn-bucket-log-datasets"))
    return out


def _node_pool_in(public: bool, cidr: str = "10.64.132.0/22") -> list[Res]:
    sub = subnet("services-workers", cidr, public=public)
    return [sub, R(T.NODE_POOL, {"nodeShape": "BM.GPU.H200.8", "nodeConfigDetails": {"size": 2}},
                   "us-ashburn-node-pool-serve", deps=(urn_of(sub),))]


def _gpu_memory_cluster(shape: str) -> list[Res]:
    config = R(T.INSTANCE_CONFIGURATION, launch(**{**GOOD_LAUNCH, "shape": shape}), "us-ashburn-instance-config-f")
    return [config, R(T.GPU_MEMORY_CLUSTER, {"size": "18"}, "us-ashburn-gpu-memory-cluster-f",
                      deps=(urn_of(config),))]


# rule id -> (good examples, bad examples, context change); each example is a resource or a stack (a list)
EXAMPLES: dict[str, tuple[list, list, dict]] = {
    "SK-NET-001": ([sl([{"protocol": "6", "source": "10.64.0.0/16", "tcpOptions": {"min": 22, "max": 22}}])],
                   [sl([{"protocol": "6", "source": "0.0.0.0/0", "tcpOptions": {"min": 20, "max": 25}}]),
                    sl([{"protocol": "6", "source": "0.0.0.0/0"}])], {}),
    "SK-NET-002": ([sl([{"protocol": "6", "source": "0.0.0.0/0", "tcpOptions": {"min": 443, "max": 443}}])],
                   [sl([{"protocol": "all", "source": "0.0.0.0/0"}])], {}),
    "SK-NET-003": ([nsg_rule("INGRESS", "10.64.128.0/20", 22, 22), nsg_rule("EGRESS", "0.0.0.0/0", 22, 22)],
                   [nsg_rule("INGRESS", "0.0.0.0/0", 22, 22), nsg_rule("INGRESS", "::/0", 1, 1024)], {}),
    "SK-NET-004": ([nsg_rule("INGRESS", "0.0.0.0/0", 443, 443)], [nsg_rule("INGRESS", "0.0.0.0/0", 3389, 3389)], {}),
    "SK-NET-005": ([subnet("frontend-lb", "10.64.145.0/26", public=True), subnet("gpu-nodes", "10.64.0.0/19"),
                    R(T.INSTANCE_CONFIGURATION, launch(**GOOD_LAUNCH)),
                    R(T.VNIC_ATTACHMENT, {"createVnicDetails": {"assignPublicIp": False}}),
                    R(T.PUBLIC_IP, {"lifetime": "RESERVED"})],  # reserved for a load balancer
                   [subnet("gpu-nodes", "10.64.0.0/19", public=True),
                    R(T.SUBNET, {"cidrBlock": "10.64.128.0/28"}),  # OCI allows public IPs unless told not to
                    R(T.INSTANCE, {"createVnicDetails": {"assignPublicIp": True}}),
                    R(T.VNIC_ATTACHMENT, {"createVnicDetails": {"assignPublicIp": True}}),  # a secondary VNIC
                    R(T.PUBLIC_IP, {"lifetime": "RESERVED", "privateIpId": UNKNOWN}),  # on an instance's VNIC
                    R(T.INSTANCE_CONFIGURATION, {"instanceDetails": {
                        "instanceType": "compute", "launchDetails": GOOD_LAUNCH,
                        "secondaryVnics": [{"createVnicDetails": {"assignPublicIp": True}}]}})], {}),
    "SK-NET-006": ([stack(*_gpu_vcn_with("frontend"))], [stack(*_gpu_vcn_with("gpu"))], {}),
    "SK-NET-007": ([stack(*_with_log("flowlogs"))], [stack(*_with_log("objectstorage"))], {}),
    "SK-NET-008": ([stack(*_default_list("gpu", [{"protocol": "1", "source": "10.64.0.0/18"}]))],
                   [stack(*_default_list("gpu", [], [{"protocol": "all", "destination": "0.0.0.0/0"}])),
                    stack(*_default_list("gpu", [{"protocol": "1", "source": "0.0.0.0/0"}])),  # CIS 2.5: in the VCN
                    stack(*_default_list("gpu", [{"protocol": "1", "source": "10.64.145.0/24"}])),
                    stack(vcn("gpu", "10.64.0.0/18"))], {}),  # unmanaged: OCI's default list opens SSH to all
    "SK-NET-009": ([stack(*_lb_in("frontend-lb", "10.64.145.0/26"))], [stack(*_lb_in("gpu-nodes", "10.64.0.0/19"))],
                   {}),
    "SK-DATA-001": ([R(T.BUCKET, {"accessType": "NoPublicAccess"}), R(T.BUCKET, {})],
                    [R(T.BUCKET, {"accessType": "ObjectRead"})], {}),
    "SK-DATA-002": ([R(T.BUCKET, {"versioning": "Enabled"})], [R(T.BUCKET, {"versioning": "Disabled"}),
                                                                R(T.BUCKET, {})], {}),
    "SK-DATA-003": ([R(T.BUCKET, {"kmsKeyId": UNKNOWN}), R(T.BUCKET, {"kmsKeyId": "ocid1.key.oc1..k"})],
                    [R(T.BUCKET, {"kmsKeyId": ""}), R(T.BUCKET, {})], {}),
    "SK-DATA-004": ([R(T.BUCKET, {"objectEventsEnabled": True})], [R(T.BUCKET, {"objectEventsEnabled": False})], {}),
    "SK-DATA-005": ([stack(*_bucket(logged=True))], [stack(*_bucket(logged=False))], {}),
    "SK-DATA-006": ([R(T.FILE_SYSTEM, {"kmsKeyId": UNKNOWN})], [R(T.FILE_SYSTEM, {"displayName": "fs"})], {}),
    "SK-DATA-007": ([R(T.VOLUME, {"kmsKeyId": "ocid1.key.oc1..k"}), R(T.NODE_POOL, {"nodeConfigDetails": {"kmsKeyId": UNKNOWN}}),
                     R(T.INSTANCE_CONFIGURATION, launch(**GOOD_LAUNCH))],
                    [R(T.BOOT_VOLUME, {}), R(T.INSTANCE, {"sourceDetails": {"sourceType": "image"}})], {}),
    "SK-DATA-008": ([R(T.INSTANCE, {"isPvEncryptionInTransitEnabled": True}),
                     R(T.NODE_POOL, {"nodeConfigDetails": {"isPvEncryptionInTransitEnabled": True}})],
                    [R(T.INSTANCE_CONFIGURATION, launch(**{**GOOD_LAUNCH, "isPvEncryptionInTransitEnabled": False})),
                     R(T.NODE_POOL, {"nodeConfigDetails": {}})], {}),
    "SK-DATA-009": ([R(T.EXPORT, {"exportOptions": [{"source": "10.64.0.0/16", "identitySquash": "ROOT"}]})],
                    [R(T.EXPORT, {"exportOptions": [{"source": "10.64.0.0/16", "identitySquash": "NONE"}]}),
                     R(T.EXPORT, {"exportOptions": [{"source": "0.0.0.0/0", "identitySquash": "ALL"}]}),
                     R(T.EXPORT, {"path": "/x"})], {}),
    "SK-KEY-001": ([R(T.KEY, {"protectionMode": "HSM"})], [R(T.KEY, {"protectionMode": "SOFTWARE"})], {}),
    "SK-KEY-002": ([R(T.KEY, {"isAutoRotationEnabled": True, "autoKeyRotationDetails": {"rotationIntervalInDays": 90}})],
                   [R(T.KEY, {"isAutoRotationEnabled": False}),
                    R(T.KEY, {"isAutoRotationEnabled": True, "autoKeyRotationDetails": {"rotationIntervalInDays": 400}})],
                   {}),
    "SK-KEY-003": ([R(T.VAULT, {"vaultType": "VIRTUAL_PRIVATE"})], [R(T.VAULT, {"vaultType": "DEFAULT"}), R(T.VAULT)],
                   {}),
    "SK-IAM-001": ([R(T.POLICY, {"statements": ["Allow group Administrators to manage all-resources in tenancy",
                                                "Allow group ops to manage all-resources in compartment site"]})],
                   [R(T.POLICY, {"statements": ["allow group ops to manage all-resources in tenancy"]}),
                    R(T.POLICY, {"statements": ["Allow any-user to manage all-resources in tenancy where x = 'y'"]}),
                    R(T.POLICY, {"statements": [f"Allow group ops to manage all-resources in compartment id {TENANCY}"]})],
                   {}),
    "SK-IAM-002": ([stack(*_policy_chain(40))],
                   [stack(*_policy_chain(41)),
                    # a policy attached to the tenancy (the root compartment) counts in every chain below it
                    stack(*_policy_chain(30), R(T.POLICY, {"compartmentId": TENANCY, "statements": [
                        "Allow group ops to inspect all-resources in tenancy"] * 11}, "us-ashburn-policy-tenancy"))],
                   {}),
    "SK-OKE-001": ([R(T.OKE_CLUSTER, {"endpointConfig": {"isPublicIpEnabled": False, "nsgIds": [UNKNOWN]}})],
                   [R(T.OKE_CLUSTER, {"endpointConfig": {"isPublicIpEnabled": True, "nsgIds": ["n"]}}),
                    R(T.OKE_CLUSTER, {"endpointConfig": {"isPublicIpEnabled": False}}), R(T.OKE_CLUSTER, {})], {}),
    "SK-OKE-002": ([stack(*_node_pool_in(public=False))],
                   [stack(*_node_pool_in(public=True)), stack(*_node_pool_in(False, "10.64.145.0/26"))], {}),
    "SK-CMP-001": ([R(T.INSTANCE, {"instanceOptions": {"areLegacyImdsEndpointsDisabled": True}}),
                    R(T.INSTANCE_CONFIGURATION, launch(**GOOD_LAUNCH))],
                   [R(T.INSTANCE, {"shape": "BM.GPU.H100.8"}),
                    R(T.INSTANCE_CONFIGURATION, launch(**{**GOOD_LAUNCH, "instanceOptions": {}}))], {}),
    "SK-CMP-002": ([R(T.NODE_POOL, {"nodeShape": "BM.GPU.H100.8"}), R(T.INSTANCE, {"shape": "VM.Standard.E5.Flex"})],
                   [R(T.NODE_POOL, {"nodeShape": "BM.GPU4.8"}),
                    R(T.INSTANCE_CONFIGURATION, launch(**{**GOOD_LAUNCH, "shape": "BM.GPU4.8"}))], {}),
    "SK-CMP-003": ([stack(*_cluster_network("BM.GPU.H100.8", 4)), stack(*_gpu_memory_cluster("BM.GPU.GB200.4"))],
                   [stack(*_cluster_network("BM.GPU.GB200.4", 4)), stack(*_gpu_memory_cluster("BM.GPU.H100.8")),
                    stack(R(T.INSTANCE_CONFIGURATION, launch(**GOOD_LAUNCH))),
                    stack(R(T.NODE_POOL, {"nodeShape": "BM.GPU.GB200.4"}))], {}),
    "SK-CMP-007": ([R(T.NODE_POOL, {"nodeShape": "BM.GPU.H200.8"}), R(T.INSTANCE, {"shape": "VM.Standard.E5.Flex"}),
                    R(T.INSTANCE_CONFIGURATION, launch(**GOOD_LAUNCH))],
                   [R(T.NODE_POOL, {"nodeShape": "BM.GPU.H200.8"}),  # the shipped catalog: us-ashburn-1 unknown
                    R(T.INSTANCE_CONFIGURATION, launch(**{**GOOD_LAUNCH, "shape": "BM.GPU.B200.8"}))],
                   {"good": dict(shape_capacity={"BM.GPU.H100.8": ("offered", "a test fact"),
                                                 "BM.GPU.H200.8": ("offered", "a test fact")}),
                    "bad": dict(shape_capacity={"BM.GPU.B200.8": ("not-offered", "a test fact"),
                                                "BM.GPU.H200.8": ("unknown", "offers: unknown")})}),
    "SK-GOV-001": ([R(T.BUCKET, {"definedTags": TAGS}), R(T.TAG, {"name": "site"}),
                    R("oci:Core/instancePool:InstancePool", {"definedTags": TAGS})],
                   [R(T.BUCKET, {"definedTags": {**TAGS, "sitekit-us-ashburn.jurisdiction": "br"}}),
                    # a type beyond the curated list is checked once it carries defined tags
                    R("oci:Core/instancePool:InstancePool", {"definedTags": {"sitekit-us-ashburn.site": "us-ashburn"}}),
                    R(T.SUBNET, {"definedTags": {"sitekit-us-ashburn.site": "us-ashburn"}}), R(T.VCN, {})], {}),
    "SK-GOV-002": ([R(T.BUCKET, protect=True), R(T.KEY, protect=True)], [R(T.BUCKET), R(T.VAULT)], {}),
    "SK-GOV-003": ([R(T.LOG, {"retentionDuration": 180})], [R(T.LOG, {"retentionDuration": 90}), R(T.LOG, {})], {}),
    "SK-GOV-004": ([R(T.AUDIT_CONFIGURATION, {"retentionPeriodDays": 365})],
                   [R(T.AUDIT_CONFIGURATION, {"retentionPeriodDays": 90})], {}),
    "SK-GOV-005": ([R(T.DYNAMIC_GROUP, {"compartmentId": TENANCY}), R(T.BUCKET, {"compartmentId": "ocid1.compartment.oc1..c"})],
                   [R(T.BUCKET, {"compartmentId": TENANCY})], {}),
    "SK-GOV-006": ([stack(R(T.BUCKET))], [stack(R(T.BUCKET))],
                   {"good": dict(waivers=(WaiverInfo("SK-DATA-004", "accepted by security", datetime.date(2099, 1, 1), None, 0),)),
                    "bad": dict(waivers=(WaiverInfo("SK-DATA-004", "accepted by security", datetime.date(2020, 1, 1), None, 0),))}),
    "SK-GOV-007": ([stack(R(T.BUCKET))], [stack(R(T.BUCKET))],
                   {"bad": dict(problems=("stacks/Pulumi.x.yaml:3: site.region: required key is missing",))}),
    "SK-STK-001": ([R(T.BUCKET, region="us-ashburn-1"), R(T.COMPARTMENT, region="eu-frankfurt-1"), R(T.BUCKET),
                    R("oci:Events/rule:Rule", region="eu-frankfurt-1"),  # IAM events: served in the home region only
                    R("oci:CloudGuard/target:Target", region="eu-frankfurt-1")],
                   [R(T.BUCKET, region="eu-frankfurt-1"), R("oci:Events/rule:Rule", region="eu-frankfurt-1")],
                   {"good": dict(home_region="eu-frankfurt-1")}),
    "SK-STK-002": ([stack(*_cluster_network("BM.GPU.H100.8", 2048))], [stack(*_cluster_network("BM.GPU.H100.8", 6000))],
                   {}),
    "SK-STK-003": ([stack(vcn("gpu", "10.64.0.0/18"), vcn("rdma", "10.64.64.0/18"))],
                   [stack(vcn("gpu", "10.64.0.0/18"), vcn("rdma", "10.64.32.0/19")),
                    stack(subnet("a", "10.64.0.0/19"), subnet("b", "10.64.0.0/20"))], {}),
}


@pytest.fixture(scope="module")
def ctx(shipped_sites) -> PolicyContext:
    return context_from_site(shipped_sites["us-ashburn"])


def policy_resource(res: Res, known: dict[str, PolicyResource]) -> PolicyResource:
    opts = PolicyResourceOptions(res.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    provider = PolicyProviderResource(T.OCI_PROVIDER, res.provider, "urn:provider", "provider") if res.provider else None
    out = PolicyResource(res.type, res.props, res.urn, res.name, opts, provider, None, [], {})
    known[res.urn] = out
    return out


def violations(rule_id: str, example, ctx: PolicyContext) -> list[tuple[str, str | None]]:
    """What the CrossGuard policy of `rule_id` reports for one example (a resource, or a stack as a list)."""
    policy = next(p for p in build_policies(lambda: ctx, levels=ctx) if p.name == rule_id)
    found: list[tuple[str, str | None]] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append((message, urn))

    known: dict[str, PolicyResource] = {}
    if RULES[rule_id].kind == "resource":
        res = policy_resource(example, known)
        policy.validate(ResourceValidationArgs(res.resource_type, res.props, res.urn, res.name, res.opts,
                                               res.provider), report)
    else:
        resources = [policy_resource(r, known) for r in example]
        for r, src in zip(resources, example):
            r.dependencies = [known[d] for d in src.dependencies if d in known]
        policy.validate(StackValidationArgs(resources), report)
    return found


def test_every_rule_has_good_and_bad_examples():
    assert sorted(EXAMPLES) == sorted(RULES)
    assert all(good and bad for good, bad, _ in EXAMPLES.values())


@pytest.mark.parametrize("rule_id", sorted(EXAMPLES))
def test_good_examples_pass(rule_id, ctx):
    good, _, change = EXAMPLES[rule_id]
    local = dataclasses.replace(ctx, **change.get("good", {}))
    for example in good:
        assert violations(rule_id, example, local) == [], example


@pytest.mark.parametrize("rule_id", sorted(EXAMPLES))
def test_bad_examples_fail(rule_id, ctx):
    _, bad, change = EXAMPLES[rule_id]
    local = dataclasses.replace(ctx, **change.get("bad", {}))
    for example in bad:
        found = violations(rule_id, example, local)
        assert found, example
        assert all(message.startswith(f"[{rule_id}] ") for message, _ in found)
        if RULES[rule_id].kind == "resource":
            assert {urn for _, urn in found} == {example.urn}


def _engine_form(value, unknown_leaves: bool):
    """Props as the engine hands them: unknown leaves become the SDK's unknown sentinels."""
    if isinstance(value, dict):
        return {k: _engine_form(v, unknown_leaves) for k, v in value.items()}
    if isinstance(value, list):
        return [_engine_form(v, unknown_leaves) for v in value]
    if value == UNKNOWN or unknown_leaves:
        return UNKNOWN_BOOLEAN_VALUE if isinstance(value, bool) else UNKNOWN_STRING_VALUE
    return value


@pytest.mark.parametrize("rule_id", sorted(r for r in RULES if RULES[r].kind == "resource"))
def test_resource_rules_tolerate_unknown_missing_and_extra_keys(rule_id, ctx):
    """Engine props arrive behind a proxy that raises on unknown values; rules must decide without them."""
    policy = next(p for p in build_policies(lambda: ctx, levels=ctx) if p.name == rule_id)
    good, bad, _ = EXAMPLES[rule_id]
    for example in good + bad:
        for props in (_engine_form(example.props, True), {**_engine_form(example.props, False), "__defaults": []}, {}):
            found = []
            args = ResourceValidationArgs(example.type, unknown_checking_proxy(props), example.urn, example.name,
                                          PolicyResourceOptions(example.protect, [], None, [],
                                                                PolicyCustomTimeouts(0, 0, 0), [], None), None)
            policy.validate(args, lambda m, u=None: found.append(m))  # must not raise


def test_bad_unknown_values_are_not_violations(ctx):
    """An unknown value cannot be judged: a bucket whose access type is unknown during preview passes."""
    assert violations("SK-DATA-001", R(T.BUCKET, {"accessType": UNKNOWN}), ctx) == []
    assert violations("SK-NET-003", nsg_rule("INGRESS", UNKNOWN, 22, 22), ctx) == []


def test_rules_needing_a_site_are_not_applicable_without_one():
    policy = next(p for p in build_policies(lambda: PolicyContext()) if p.name == "SK-KEY-003")
    res = R(T.VAULT, {"vaultType": "DEFAULT"})
    args = ResourceValidationArgs(res.type, res.props, res.urn, res.name,
                                  PolicyResourceOptions(True, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None),
                                  None)
    with pytest.raises(_NotApplicableError):
        policy.validate(args, lambda m, u=None: None)


def test_policy_config_parameters_override_the_jurisdiction(ctx):
    """`--policy-pack-config {"SK-GOV-003": {"minLogDays": 30}}` lowers the floor for that run."""
    policy = next(p for p in build_policies(lambda: ctx, levels=ctx) if p.name == "SK-GOV-003")
    res = R(T.LOG, {"retentionDuration": 90})
    found: list[str] = []
    for config, expected in ((None, 1), ({"minLogDays": 30}, 0), ({"minLogDays": 180.0}, 1)):
        found.clear()
        args = ResourceValidationArgs(res.type, res.props, res.urn, res.name,
                                      PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None),
                                      None, config=config)
        policy.validate(args, lambda m, u=None: found.append(m))
        assert len(found) == expected, config


def test_unknown_values_never_make_a_violation(ctx):
    """Turning the known values of a passing resource into unknowns (a first preview) never fails it."""
    for rule_id, (good, _, change) in EXAMPLES.items():
        if RULES[rule_id].kind != "resource":
            continue
        local = dataclasses.replace(ctx, **change.get("good", {}))
        policy = next(p for p in build_policies(lambda: local, levels=local) if p.name == rule_id)
        for example in good:
            found: list[str] = []
            args = ResourceValidationArgs(example.type, unknown_checking_proxy(_engine_form(example.props, True)),
                                          example.urn, example.name,
                                          PolicyResourceOptions(example.protect, [], None, [],
                                                                PolicyCustomTimeouts(0, 0, 0), [], None),
                                          PolicyProviderResource(T.OCI_PROVIDER, example.provider, "urn:p", "p")
                                          if example.provider else None)
            policy.validate(args, lambda m, u=None: found.append(m))
            assert found == [], (rule_id, example)


def _keys() -> list[str]:
    """Every key the examples use, so random props reach the paths the rules read."""
    found: set[str] = set()

    def walk(value) -> None:
        if isinstance(value, dict):
            found.update(value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for good, bad, _ in EXAMPLES.values():
        for example in good + bad:
            for res in (example if isinstance(example, list) else [example]):
                walk(dict(res.props))
    return sorted(found)


LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=False),
                   st.sampled_from(["0.0.0.0/0", "10.64.0.0/19", "6", "all", "HSM", "INGRESS", UNKNOWN,
                                    UNKNOWN_STRING_VALUE, "BM.GPU.GB200.4", "", "x"]))
PROPS = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(_keys()), inner, max_size=4)), max_leaves=12)


@settings(max_examples=40, deadline=None)
@given(props=st.dictionaries(st.sampled_from(_keys()), PROPS, max_size=6))
def test_rules_never_fail_on_arbitrary_props(props):
    """Whatever shape the engine's provider-checked inputs take, a rule reports or stays silent; it never raises."""
    ctx = PolicyContext(site="us-ashburn", organisation="sitekit", tenancy_id=TENANCY, params={"minLogDays": 180})
    policies = build_policies(lambda: ctx, levels=ctx)
    resources = [R(type_, props, f"us-ashburn-{i}") for i, type_ in enumerate(sorted(T.TAGGABLE | T.STATEFUL | {
        T.NSG_RULE, T.EXPORT, T.AUDIT_CONFIGURATION, T.VNIC_ATTACHMENT, T.PUBLIC_IP}))]
    for policy in policies:
        rule = RULES[policy.name]
        if rule.kind == "resource":
            for res in resources:
                args = ResourceValidationArgs(res.type, unknown_checking_proxy(props), res.urn, res.name,
                                              PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0),
                                                                    [], None), None)
                policy.validate(args, lambda m, u=None: None)
        else:
            stack_resources = [PolicyResource(r.type, unknown_checking_proxy(props), r.urn, r.name,
                                              PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0),
                                                                    [], None), None, None, [], {}) for r in resources]
            for a, b in zip(stack_resources, stack_resources[1:]):
                b.dependencies = [a]
            policy.validate(StackValidationArgs(stack_resources), lambda m, u=None: None)


def test_power_also_counts_the_spec_peak(ctx):
    """Under preview the autoscaler's bounds are unknown; the spec's peak (pools at autoscale max) still counts."""
    small = _cluster_network("BM.GPU.H100.8", 16)
    assert violations("SK-STK-002", small, ctx) == []
    [(message, urn)] = violations("SK-STK-002", small, dataclasses.replace(ctx, spec_facility_mw=75.0))
    assert "autoscale maximum" in message and urn is None
    [(message, _)] = violations("SK-STK-002", _cluster_network("BM.GPU.H100.8", 6000), ctx)
    assert "73.44 MW" in message  # 6000 x 10.2 kW x PUE 1.2
