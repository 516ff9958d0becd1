"""Every rule against a resource that passes and one that fails (the way Checkov keeps good and bad examples),
run through the CrossGuard policy the pack builds (`policy.validate` with Resource/StackValidationArgs), with
the site context of the shipped us-ashburn site (jurisdiction us: VIRTUAL_PRIVATE vault, logs >= 180 days,
statement budget 40, networks gpu 10.64.0.0/18, rdma 10.64.64.0/18, services 10.64.128.0/20,
storage 10.64.144.0/24, frontend 10.64.145.0/24)."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import (
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_STRING_VALUE,
    unknown_checking_proxy,
)

from sitekit.oci import types as T
from sitekit.policy import RULES
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


def _pol(*statements: str) -> Res:
    return R(T.POLICY, {"statements": list(statements)}, "us-ashburn-policy")


def _event_rule(category: str, enabled: bool = True, region: str | None = None, name: str | None = None,
                compartment: str | None = None) -> Res:
    """A sitekit-like event rule; the identity one in the root compartment, where identity resources live."""
    from sitekit.facts.events import event_types

    where = compartment or (TENANCY if category == "iam" else "ocid1.compartment.oc1..site")
    return R(T.EVENT_RULE, {"isEnabled": True, "compartmentId": where,
                            "condition": json.dumps({"eventType": event_types(category)}),
                            "actions": {"action": [{"actionType": "ONS", "isEnabled": enabled, "topicId": UNKNOWN}]}},
             name or f"us-ashburn-event-{category}", region=region)


def _watched(*categories: str, region: str | None = None) -> list[Res]:
    net = vcn("gpu", "10.64.0.0/18")
    comp = R(T.COMPARTMENT, {"name": "site"}, "us-ashburn-compartment", protect=True)
    return [net, comp] + [_event_rule(c, region=region) for c in categories]


def _alerts(subscribed: bool) -> list[Res]:
    topic = R(T.TOPIC, {"name": "sitekit-us-ashburn-alerts"}, "us-ashburn-alerts")
    rule_ = R(T.EVENT_RULE, {"isEnabled": True, "condition": "{}", "actions": {"action": [
        {"actionType": "ONS", "isEnabled": True, "topicId": UNKNOWN}]}}, "us-ashburn-event-x", deps=(urn_of(topic),))
    out = [topic, rule_]
    if subscribed:
        out.append(R(T.SUBSCRIPTION, {"protocol": "HTTPS", "endpoint": UNKNOWN, "topicId": UNKNOWN},
                     "us-ashburn-alerts-subscription", deps=(urn_of(topic),)))
    return out


def _guarded(targeted: bool) -> list[Res]:
    root = R(T.COMPARTMENT, {"name": "site"}, "us-ashburn-compartment", protect=True)
    child = R(T.COMPARTMENT, {"name": "compute"}, "us-ashburn-compartment-compute", protect=True,
              deps=(urn_of(root),))
    out = [root, child]
    if targeted:
        out.append(R(T.CLOUD_GUARD_TARGET, {"targetResourceType": "COMPARTMENT", "targetResourceId": UNKNOWN},
                     "us-ashburn-cloud-guard", deps=(urn_of(root),)))
    return out


def _routes(*destinations: str, network: str = "storage") -> Res:
    return R(T.ROUTE_TABLE, {"displayName": f"sitekit-us-ashburn-{network}-routes", "routeRules": [
        {"networkEntityId": UNKNOWN, "destination": d, "destinationType": "CIDR_BLOCK"} for d in destinations]},
        f"us-ashburn-routes-{network}")


def _peers_learn(network: str) -> list[Res]:
    """The peering attachment's DRG route table importing one VCN attachment, as the Peering component does."""
    attachment = R(T.DRG_ATTACHMENT, {}, f"us-ashburn-drg-attachment-{network}")
    dist = R(T.DRG_ROUTE_DISTRIBUTION, {"distributionType": "IMPORT"}, "us-ashburn-drg-import-to-peers")
    statement = R(T.DRG_ROUTE_DISTRIBUTION_STATEMENT, {"action": "ACCEPT"}, f"us-ashburn-drg-import-to-peers-{network}",
                  deps=(urn_of(attachment), urn_of(dist)))
    table = R(T.DRG_ROUTE_TABLE, {}, "us-ashburn-drg-routes-to-peers", deps=(urn_of(dist),))
    manage = R(T.DRG_ATTACHMENT_MANAGEMENT, {"attachmentType": "REMOTE_PEERING_CONNECTION"},
               "us-ashburn-rpc-attachment-br-saopaulo", deps=(urn_of(table),))
    return [attachment, dist, statement, table, manage]


def _fabric_admits(source: str) -> list[Res]:
    net = vcn("rdma", "10.64.64.0/18")
    group = R(T.NSG, {"displayName": "sitekit-us-ashburn-nsg-rdma-fabric"}, "us-ashburn-nsg-rdma-fabric",
              deps=(urn_of(net),))
    rule_ = R(T.NSG_RULE, {"direction": "INGRESS", "protocol": "all", "source": source, "sourceType": "CIDR_BLOCK"},
              "us-ashburn-nsg-rdma-fabric-x", deps=(urn_of(group),))
    return [net, group, rule_]


STRONG = {"minimumPasswordLength": 16, "isLowercaseCharactersRequired": True, "isUppercaseCharactersRequired": True,
          "isNumericCharactersRequired": True, "isSpecialCharactersRequired": True}
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow...\n-----END RSA PRIVATE KEY-----\n"


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
                    R(T.SUBNET, {"cidrBlock": "10.64.0.0/19", "prohibitInternetIngress": True}),  # implies no public IP
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
    "SK-NET-008": ([stack(*_default_list("gpu", [{"protocol": "1", "source": "10.64.0.0/18"}])),
                    # open to the internet: SK-NET-010 reports it on the list itself
                    stack(*_default_list("gpu", [], [{"protocol": "all", "destination": "0.0.0.0/0"}]))],
                   [stack(*_default_list("gpu", [], [{"protocol": "6", "destination": "10.64.0.0/18"}])),
                    stack(*_default_list("gpu", [{"protocol": "6", "source": "10.0.0.0/8"}])),
                    stack(*_default_list("gpu", [{"protocol": "1", "source": "10.64.145.0/24"}])),  # CIS 2.5: in the VCN
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
                     R(T.INSTANCE_CONFIGURATION, launch(**GOOD_LAUNCH)),
                     # boots from an existing volume, which keeps its own key
                     R(T.INSTANCE, {"sourceDetails": {"sourceType": "bootVolume", "sourceId": "ocid1.bootvolume.oc1..b"}}),
                     R(T.INSTANCE_CONFIGURATION, launch(**{**GOOD_LAUNCH, "sourceDetails": {"sourceType": "bootVolume"}}))],
                    [R(T.BOOT_VOLUME, {}), R(T.INSTANCE, {"sourceDetails": {"sourceType": "image"}})], {}),
    "SK-DATA-008": ([R(T.INSTANCE, {"isPvEncryptionInTransitEnabled": True}),
                     R(T.INSTANCE, {"launchOptions": {"isPvEncryptionInTransitEnabled": True}}),
                     R(T.INSTANCE_CONFIGURATION, launch(**{**GOOD_LAUNCH, "isPvEncryptionInTransitEnabled": False,
                                                          "launchOptions": {"isPvEncryptionInTransitEnabled": True}})),
                     R(T.NODE_POOL, {"nodeConfigDetails": {"isPvEncryptionInTransitEnabled": True}})],
                    [R(T.INSTANCE_CONFIGURATION, launch(**{**GOOD_LAUNCH, "isPvEncryptionInTransitEnabled": False})),
                     R(T.INSTANCE, {"launchOptions": {"isPvEncryptionInTransitEnabled": False}}),
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
    "SK-GOV-005": ([R(T.DYNAMIC_GROUP, {"compartmentId": TENANCY}), R(T.BUCKET, {"compartmentId": "ocid1.compartment.oc1..c"}),
                    R(T.AUDIT_CONFIGURATION, {"compartmentId": TENANCY, "retentionPeriodDays": 365}),
                    _event_rule("iam"),  # identity events are seen only from the root
                    R(T.EVENT_RULE, {"compartmentId": TENANCY, "conditionDetails": {"eventTypes": [
                        "com.oraclecloud.identitycontrolplane.*"]}}),
                    R(T.EVENT_RULE, {"compartmentId": TENANCY, "condition": UNKNOWN})],  # unknown types: not judged
                   [R(T.BUCKET, {"compartmentId": TENANCY}),
                    R(T.VCN, {"compartmentId": "ocid1.tenancy.oc1..aaaaaaaaanothertenancy"}),
                    # only identity events belong at the root: network events are a site compartment's
                    _event_rule("network", compartment=TENANCY),
                    R(T.EVENT_RULE, {"compartmentId": TENANCY, "condition": json.dumps({"eventType": [
                        "com.oraclecloud.identitycontrolplane.createuser", "com.oraclecloud.objectstorage.*"]})}),
                    R(T.EVENT_RULE, {"compartmentId": TENANCY, "condition": "{}"})], {}),
    "SK-GOV-006": ([stack(R(T.BUCKET))], [stack(R(T.BUCKET))],
                   {"good": dict(waivers=(WaiverInfo("SK-DATA-004", "accepted by security", datetime.date(2099, 1, 1), None, 0),)),
                    "bad": dict(waivers=(WaiverInfo("SK-DATA-004", "accepted by security", datetime.date(2020, 1, 1), None, 0),))}),
    "SK-GOV-007": ([stack(R(T.BUCKET))], [stack(R(T.BUCKET))],
                   {"bad": dict(problems=("stacks/Pulumi.x.yaml:3: site.region: required key is missing",))}),
    "SK-PEER-001": ([_routes("10.64.128.0/20", "10.66.144.0/24", "0.0.0.0/0")], [_routes("172.20.0.0/16")], {}),
    "SK-PEER-002": ([stack(*_peers_learn("storage")), stack(*_fabric_admits("10.64.0.0/18")),
                     stack(_routes("10.64.144.0/24", network="gpu"))],
                    [stack(*_peers_learn("gpu")), stack(*_fabric_admits("10.66.144.0/24")),
                     stack(_routes("10.66.144.0/24", network="rdma"))], {}),
    "SK-PEER-003": ([R(T.REMOTE_PEERING_CONNECTION, {}, "us-ashburn-rpc-br-saopaulo")],
                    [R(T.REMOTE_PEERING_CONNECTION, {}, "us-ashburn-rpc-eu-partner"),
                     R(T.REMOTE_PEERING_CONNECTION, {}, "us-ashburn-rpc-br-saopaulo")],
                    {"bad": dict(data_classification="personal-data")}),
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
    "SK-IAM-003": ([_pol("Allow group ops to manage instance-family in compartment site:compute",
                         "Allow group Administrators to manage all-resources in compartment site",
                         "Allow group ops to read all-resources in compartment site")],
                   [_pol("Allow group ops to manage all-resources in compartment site"),
                    _pol("allow group 'Default'/'NetOps' to manage all-resources in compartment id ocid1.compartment.oc1..n")],
                   {}),
    "SK-IAM-004": ([_pol("Allow group IAMAdmins to manage groups in tenancy where target.group.name != 'Administrators'",
                         "Allow group ops to manage groups in compartment site",  # groups live in the tenancy only
                         "Allow group Administrators to manage groups in tenancy")],
                   [_pol("Allow group IAMAdmins to manage groups in tenancy"),
                    _pol("Allow group HelpDesk to manage users in tenancy"),  # resets an administrator's password
                    _pol("Allow group ops to use all-resources in tenancy"),
                    _pol("Allow group helpdesk to use groups in tenancy where request.operation = 'AddUserToGroup'"),
                    # the root compartment by its OCID, however the words are spaced
                    _pol(f"Allow group IAMAdmins to manage groups in compartment  id {TENANCY}")],
                   {}),
    "SK-IAM-005": ([_pol("Allow group StorageAdmins to manage object-family in compartment data where ALL "
                         "{request.permission != 'BUCKET_DELETE', request.permission != 'OBJECT_DELETE'}",
                         "Allow group StorageAdmins to manage volumes in tenancy where request.permission!='VOLUME_DELETE'",
                         # the named storage-admin group: deletes only
                         "Allow group StorageDeleters to manage object-family in tenancy where ANY "
                         "{request.permission = 'BUCKET_DELETE', request.permission = 'OBJECT_DELETE'}",
                         "Allow group ops to read buckets in compartment data")],
                   [_pol("Allow group StorageAdmins to manage object-family in compartment data"),
                    _pol("Allow group StorageAdmins to manage file-family in compartment data where "
                         "request.permission != 'FILE_SYSTEM_DELETE'")],
                   {}),
    "SK-IAM-006": ([R(T.INSTANCE, {"metadata": {"ssh_authorized_keys": "ssh-ed25519 AAAAC3Nza op@example",
                                                "user_data": base64.b64encode(b"#cloud-config\nruncmd: [true]\n").decode()}}),
                    R(T.OCI_PROVIDER, {"region": "us-ashburn-1", "configFileProfile": "DEFAULT"})],
                   [R(T.INSTANCE, {"metadata": {"user_data": base64.b64encode(
                       ("#cloud-config\nwrite_files:\n- path: /home/opc/.oci/key.pem\n  content: |\n    " + PEM).encode()).decode()}}),
                    R(T.NODE_POOL, {"nodeMetadata": {"oci_config": "[DEFAULT]\nuser=ocid1.user.oc1..u\nfingerprint=aa:bb\n"
                                                                    "key_file=~/.oci/key.pem\ntenancy=ocid1.tenancy.oc1..t\n"}}),
                    R(T.OCI_PROVIDER, {"region": "us-ashburn-1", "privateKey": PEM}),
                    R(T.OCI_PROVIDER, {"region": "us-ashburn-1", "privateKeyPath": "~/.oci/k.pem",
                                       "privateKeyPassword": "hunter2"})], {}),
    "SK-IAM-007": ([R(T.AUTHENTICATION_POLICY, {"passwordPolicy": {**STRONG, "minimumPasswordLength": 14}}),
                    R(T.AUTHENTICATION_POLICY, {"networkPolicy": {"networkSourceIds": ["ocid1.networksource.oc1..n"]}})],
                   [R(T.AUTHENTICATION_POLICY, {"passwordPolicy": {**STRONG, "minimumPasswordLength": 8}}),
                    R(T.AUTHENTICATION_POLICY, {"passwordPolicy": {k: v for k, v in STRONG.items()
                                                                   if k != "minimumPasswordLength"}}),
                    R(T.AUTHENTICATION_POLICY, {"passwordPolicy": {"minimumPasswordLength": 16,
                                                                  "isSpecialCharactersRequired": False}})], {}),
    "SK-CMP-004": ([R(T.INSTANCE, {"shape": "VM.Standard.E4.Flex",
                                   "platformConfig": {"type": "AMD_VM", "isSecureBootEnabled": True}}),
                    R(T.INSTANCE, {"shape": "VM.Standard.A1.Flex"}),  # Arm: no Secure Boot to ask for
                    R(T.INSTANCE_CONFIGURATION, launch(**GOOD_LAUNCH))],  # GPU shapes: unknown (SK-CMP-006)
                   [R(T.INSTANCE, {"shape": "VM.Standard.E4.Flex"}),
                    R(T.INSTANCE_CONFIGURATION, launch(**{**GOOD_LAUNCH, "shape": "BM.Standard3.64", "platformConfig": {
                        "type": "INTEL_ICELAKE_BM", "isSecureBootEnabled": False}}))], {}),
    "SK-CMP-005": ([R(T.INSTANCE, {"agentConfig": {"isMonitoringDisabled": False}}),
                    R(T.INSTANCE_CONFIGURATION, launch(**GOOD_LAUNCH))],
                   [R(T.INSTANCE, {"agentConfig": {"isMonitoringDisabled": True}}),
                    R(T.INSTANCE_CONFIGURATION, launch(**{**GOOD_LAUNCH, "agentConfig": {"areAllPluginsDisabled": True}}))],
                   {}),
    "SK-MON-001": ([stack(*_watched("iam", "network")), stack(subnet("x", "10.64.0.0/24"))],  # nothing to watch
                   [stack(*_watched("network")), stack(*_watched("iam")),
                    stack(*_watched("iam", "network", region="us-ashburn-1")),  # IAM events only at home
                    # identity events from a rule in the site compartment: users and groups live at the root
                    stack(*_watched("network"), _event_rule("iam", compartment="ocid1.compartment.oc1..site"))],
                   {"bad": dict(home_region="eu-frankfurt-1")}),
    "SK-MON-002": ([stack(*_guarded(True), _event_rule("cloud-guard"))], [stack(*_guarded(True))], {}),
    "SK-MON-003": ([stack(*_alerts(subscribed=True))], [stack(*_alerts(subscribed=False))], {}),
    "SK-MON-004": ([stack(*_guarded(True))], [stack(*_guarded(False))], {}),
    "SK-MON-005": ([R(T.CLOUD_GUARD_CONFIGURATION, {"compartmentId": TENANCY, "reportingRegion": "us-ashburn-1",
                                                   "status": "ENABLED"}),
                    R(T.CLOUD_GUARD_TARGET, {"targetResourceType": "COMPARTMENT"}),
                    R(T.CLOUD_GUARD_TARGET, {"state": "ACTIVE"})],
                   [R(T.CLOUD_GUARD_CONFIGURATION, {"status": "DISABLED"}), R(T.CLOUD_GUARD_TARGET, {"state": "INACTIVE"})],
                   {}),
    "SK-NET-010": ([R(T.DEFAULT_SECURITY_LIST, {"ingressSecurityRules": [], "egressSecurityRules": []}),
                    R(T.DEFAULT_SECURITY_LIST, {"ingressSecurityRules": [{"protocol": "1", "source": "10.64.0.0/18"}]})],
                   [R(T.DEFAULT_SECURITY_LIST, {"ingressSecurityRules": [{"protocol": "1", "source": "0.0.0.0/0"}]}),
                    R(T.DEFAULT_SECURITY_LIST, {"egressSecurityRules": [{"protocol": "all", "destination": "::/0"}]})],
                   {}),
    "SK-NET-011": ([R(T.LOG, {"configuration": {"source": {"service": "flowlogs", "category": "all"}}}),
                    R(T.LOG, {"isEnabled": False, "configuration": {"source": {"service": "objectstorage"}}})],
                   [R(T.LOG, {"isEnabled": False, "configuration": {"source": {"service": "flowlogs", "category": "all"}}})],
                   {}),
    "SK-NET-012": ([R(T.INTEGRATION_INSTANCE, {"networkEndpointDetails": {
                       "networkEndpointType": "PUBLIC", "allowlistedHttpIps": ["198.51.100.0/24"]}}),
                    R(T.INTEGRATION_INSTANCE, {"networkEndpointDetails": {
                        "networkEndpointType": "PUBLIC", "designTime": {"allowlistedHttpVcns": [{"id": UNKNOWN}]}}}),
                    R(T.INTEGRATION_INSTANCE, {"networkEndpointDetails": {"allowlistedHttpIps": UNKNOWN}})],
                   [R(T.INTEGRATION_INSTANCE, {"displayName": "oic"}),
                    R(T.INTEGRATION_INSTANCE, {"networkEndpointDetails": {
                        "networkEndpointType": "PUBLIC", "runtime": {"allowlistedHttpIps": ["0.0.0.0/0"]}}}),
                    # details with no allow list admit every source
                    R(T.INTEGRATION_INSTANCE, {"networkEndpointDetails": {}}),
                    R(T.INTEGRATION_INSTANCE, {"networkEndpointDetails": {
                        "networkEndpointType": "PUBLIC", "isIntegrationVcnAllowlisted": True, "allowlistedHttpIps": []}}),
                    R(T.INTEGRATION_INSTANCE, {"networkEndpointDetails": {  # one list unknown, another open
                        "allowlistedHttpVcns": UNKNOWN, "runtime": {"allowlistedHttpIps": ["::/0"]}}})],
                   {}),
    "SK-NET-013": ([R(T.ANALYTICS_INSTANCE, {"networkEndpointDetails": {"networkEndpointType": "PRIVATE",
                                                                         "subnetId": UNKNOWN}}),
                    R(T.ANALYTICS_INSTANCE, {"networkEndpointDetails": {"networkEndpointType": "PUBLIC",
                                                                         "whitelistedIps": ["198.51.100.7/32"]}})],
                   [R(T.ANALYTICS_INSTANCE, {"networkEndpointDetails": {"networkEndpointType": "PUBLIC"}}),
                    R(T.ANALYTICS_INSTANCE, {"networkEndpointDetails": {"networkEndpointType": "PUBLIC",
                                                                         "whitelistedIps": ["0.0.0.0/0"]}}),
                    R(T.ANALYTICS_INSTANCE, {"capacity": {"capacityType": "OLPU_COUNT", "capacityValue": 2}})], {}),
    "SK-NET-014": ([R(T.AUTONOMOUS_DATABASE, {"subnetId": UNKNOWN, "nsgIds": [UNKNOWN]}),
                    R(T.AUTONOMOUS_DATABASE, {"whitelistedIps": ["198.51.100.0/24"]}),
                    R(T.AUTONOMOUS_DATABASE, {"isDedicated": True})],
                   [R(T.AUTONOMOUS_DATABASE, {"dbName": "ai"}),
                    R(T.AUTONOMOUS_DATABASE, {"whitelistedIps": ["0.0.0.0/0"]})], {}),
    "SK-NET-015": ([R(T.BASTION, {"clientCidrBlockAllowLists": ["198.51.100.0/25", "203.0.113.7/32"]})],
                   [R(T.BASTION, {"clientCidrBlockAllowLists": ["10.64.0.0/10"]}),
                    R(T.BASTION, {"clientCidrBlockAllowLists": ["0.0.0.0/0"]})], {}),
    "SK-OKE-003": ([R(T.OKE_CLUSTER, {"imagePolicyConfig": {"isPolicyEnabled": True,
                                                            "keyDetails": [{"kmsKeyId": UNKNOWN}]}})],
                   [R(T.OKE_CLUSTER, {"endpointConfig": {"isPublicIpEnabled": False}}),
                    R(T.OKE_CLUSTER, {"imagePolicyConfig": {"isPolicyEnabled": True, "keyDetails": []}})], {}),
    "SK-IAM-008": ([_pol("Allow any-user to manage cluster-node-pools in compartment id ocid1.compartment.oc1..c where "
                         "ALL {request.principal.type = 'workload', request.principal.namespace = 'kube-system', "
                         "request.principal.service_account = 'cluster-autoscaler', request.principal.cluster_id = "
                         "'ocid1.cluster.oc1.iad.c'}",
                         "Allow any-user to read objects in compartment id ocid1.compartment.oc1..c where "
                         "request.principal.type = 'datascienceprojects'")],
                   [_pol("Allow any-user to use vnics in compartment id ocid1.compartment.oc1..c where ALL "
                         "{request.principal.type = 'workload', request.principal.namespace = 'kube-system'}"),
                    _pol("Allow any-user to read buckets in tenancy")], {}),
    "SK-CMP-006": ([R(T.INSTANCE_CONFIGURATION, launch(**{**GOOD_LAUNCH, "platformConfig": {
                        "type": "GENERIC_BM", "isSecureBootEnabled": True}})),
                    R(T.INSTANCE, {"shape": "VM.Standard.A1.Flex"}),  # known: no Secure Boot
                    R(T.INSTANCE, {"shape": "VM.Standard.E4.Flex"})],  # known: supported (SK-CMP-004's)
                   [R(T.INSTANCE_CONFIGURATION, launch(**GOOD_LAUNCH)),  # BM.GPU.H100.8: unknown
                    R(T.INSTANCE, {"shape": "VM.Standard.E5.Flex"})], {}),  # not in the catalog
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


def test_root_compartment_is_one_notion(ctx):
    """Any tenancy OCID, or the site's own tenancy id, is the root compartment; an unknown id never is."""
    site = dataclasses.replace(ctx, tenancy_id="ocid1.compartment.oc1..siteroot")
    assert site.is_root_compartment(TENANCY) and site.is_root_compartment("ocid1.compartment.oc1..siteroot")
    assert not any(site.is_root_compartment(v) for v in ("ocid1.compartment.oc1..c", UNKNOWN, None, 42))
    assert PolicyContext().is_root_compartment(TENANCY)


def test_tenancy_is_one_notion_for_every_iam_rule(ctx):
    """SK-IAM-001 (manage all-resources in the tenancy) and SK-IAM-003/004 (what lives in the tenancy) read
    "in the tenancy" from one pattern: spacing and case never move a statement out of it."""
    for where in ("tenancy", f"compartment  id {TENANCY}", f"COMPARTMENT\tID '{TENANCY}'"):
        assert violations("SK-IAM-001", _pol(f"Allow group ops to manage all-resources in {where}"), ctx)
        assert violations("SK-IAM-003", _pol(f"Allow group ops to manage all-resources in {where}"), ctx) == []
        assert violations("SK-IAM-004", _pol(f"Allow group ops to manage users in {where}"), ctx)


def test_power_also_counts_the_spec_peak(ctx):
    """Under preview the autoscaler's bounds are unknown; the spec's peak (pools at autoscale max) still counts."""
    small = _cluster_network("BM.GPU.H100.8", 16)
    assert violations("SK-STK-002", small, ctx) == []
    [(message, urn)] = violations("SK-STK-002", small, dataclasses.replace(ctx, spec_facility_mw=75.0))
    assert "autoscale maximum" in message and urn is None
    [(message, _)] = violations("SK-STK-002", _cluster_network("BM.GPU.H100.8", 6000), ctx)
    assert "73.44 MW" in message  # 6000 x 10.2 kW x PUE 1.2


# Without a site (a stack that is not a sitekit site, or the pack run outside the project), the rules judge what
# the resource itself decides, with the project's own facts (the shape catalog), and say "not applicable" for
# the rest: (rule, example, what it reports: a number of findings, or "n/a").
WITHOUT_A_SITE = [
    ("SK-NET-005", R(T.SUBNET, {"cidrBlock": "10.0.0.0/24", "prohibitPublicIpOnVnic": False}), "n/a"),
    ("SK-NET-005", R(T.SUBNET, {"cidrBlock": "10.0.0.0/24", "prohibitInternetIngress": True}), 0),
    ("SK-NET-005", R(T.INSTANCE, {"createVnicDetails": {"assignPublicIp": "true"}}), 1),
    ("SK-GOV-005", R(T.BUCKET, {"compartmentId": TENANCY}), 1),
    ("SK-GOV-005", R(T.AUDIT_CONFIGURATION, {"compartmentId": TENANCY}), 0),
    ("SK-GOV-001", R(T.BUCKET, {"name": "b"}), 1),
    ("SK-GOV-001", R(T.BUCKET, {"definedTags": {"Operations.CostCenter": "42"}}), 0),
    ("SK-GOV-003", R(T.LOG, {"retentionDuration": 90}), 1),  # the CIS 365 days, capped at OCI Logging's 180
    ("SK-GOV-003", R(T.LOG, {"retentionDuration": 180}), 0),
    ("SK-GOV-004", R(T.AUDIT_CONFIGURATION, {"retentionPeriodDays": 180}), 1),  # CIS: 365
    ("SK-KEY-003", R(T.VAULT, {"vaultType": "DEFAULT"}), "n/a"),
    ("SK-CMP-002", R(T.NODE_POOL, {"nodeShape": "BM.GPU4.8"}), "n/a"),  # the jurisdiction's list
    ("SK-CMP-002", R(T.INSTANCE, {"shape": "VM.Standard.E5.Flex"}), 0),  # no GPU: nothing to approve
    ("SK-CMP-003", stack(R(T.INSTANCE_CONFIGURATION, launch(**GOOD_LAUNCH))), 1),  # the catalog's grouping
    ("SK-CMP-006", R(T.INSTANCE_CONFIGURATION, launch(**GOOD_LAUNCH)), 1),
    # monitoring: judged once the stack takes a recommendation on, then it must be whole
    ("SK-MON-001", stack(*_watched("network")), 0),  # identity events may be a landing zone's
    ("SK-MON-001", stack(vcn("gpu", "10.64.0.0/18"), _event_rule("network", enabled=False)), 5),
    ("SK-MON-004", stack(*_guarded(False)), 0),
    ("SK-MON-004", stack(*_guarded(True), R(T.COMPARTMENT, {"name": "other"}, "us-ashburn-compartment-other")), 1),
]


@pytest.mark.parametrize("rule_id,example,expected", WITHOUT_A_SITE,
                         ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(WITHOUT_A_SITE)])
def test_judged_without_a_site(rule_id, example, expected):
    from sitekit import ROOT
    from sitekit.policy.pack import project_context

    bare = project_context(ROOT, ("no site",))
    if expected == "n/a":
        with pytest.raises(_NotApplicableError):
            violations(rule_id, example, bare)
    else:
        assert len(violations(rule_id, example, bare)) == expected
