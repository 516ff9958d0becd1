"""Component tests under mocks: what the real program registered for each shipped site.

Every shipped site is planned once per run (`shipped_plans`); one variant of us-ashburn (a secret alert
endpoint, and the baseline's named lists in reverse order) is planned once through the CLI.
"""

from __future__ import annotations

import collections.abc
import importlib
import inspect
import json
import re
import typing
from functools import lru_cache
from pathlib import Path

import pulumi_oci
import pytest
import yaml
from typer.testing import CliRunner

from sitekit import ROOT
from sitekit.cli.main import app
from sitekit.naming import block_key
from sitekit.plan import provider_urn
from sitekit.planners import fabric_blocks
from sitekit.region.context import DEFINED_TAG_KEYS
from sitekit.run.offline import SECRET_PLACEHOLDER
from sitekit.spec.catalog import load_catalog
from sitekit.spec.layout import list_sites
from sitekit.spec.validate import site_power

SITES = list_sites(ROOT)
IAM_TYPES = {
    "oci:Identity/compartment:Compartment", "oci:Identity/policy:Policy", "oci:Identity/tag:Tag",
    "oci:Identity/tagNamespace:TagNamespace", "oci:Identity/dynamicGroup:DynamicGroup",
}
# The tag definitions cannot carry the tags they define (they do not exist yet when these are created).
UNTAGGED_BY_DESIGN = {"oci:Identity/tag:Tag", "oci:Identity/tagNamespace:TagNamespace"}
PROTECTED_TYPES = {
    "oci:Kms/vault:Vault", "oci:Kms/key:Key", "oci:ObjectStorage/bucket:Bucket",
    "oci:FileStorage/fileSystem:FileSystem", "oci:Identity/compartment:Compartment",
    "oci:Core/computeCapacityReservation:ComputeCapacityReservation",  # us-ashburn's frontier declares one
}
COMPONENT_OF = {  # which component registers each type, by its prefix (the first that matches)
    "oci:CloudGuard/security": "Guardrails", "oci:Limits/": "Guardrails",
    "oci:Identity/": "Foundation", "oci:Core/": "Network", "oci:Kms/": "Security", "oci:Bastion/": "Security",
    "oci:CloudGuard/": "Security", "oci:Ons/": "Security", "oci:Events/": "Security",
    "oci:ContainerEngine/": "Compute", "oci:FileStorage/": "Storage", "oci:ObjectStorage/": "Storage",
}
LOG_OWNERS = {"flow-log": "Network", "bucket-log": "Storage", "security-logs": "Security",
              "storage-logs": "Storage"}
COMPUTE_CORE = {"oci:Core/clusterNetwork:ClusterNetwork", "oci:Core/computeCluster:ComputeCluster",
                "oci:Core/computeGpuMemoryCluster:ComputeGpuMemoryCluster",
                "oci:Core/instanceConfiguration:InstanceConfiguration",
                "oci:Core/computeCapacityReservation:ComputeCapacityReservation"}


@lru_cache(maxsize=1)
def oci_class_names() -> dict[str, tuple[str, str]]:
    """Type token -> (module, class name), from the table pulumi_oci registers its resource modules with."""
    source = Path(pulumi_oci.__file__).read_text()
    modules = json.loads(re.search(r'resource_modules="""(.*?)"""', source, re.S).group(1))
    return {token: (m["fqn"], cls) for m in modules for token, cls in m["classes"].items()}


def accepts_defined_tags(token: str) -> bool:
    """Whether the pulumi_oci class of `token` takes `defined_tags` (its Args class is introspected)."""
    module, name = oci_class_names()[token]
    args = getattr(importlib.import_module(module), name + "Args")
    return "defined_tags" in inspect.signature(args.__init__).parameters


def custom(plan):
    """The OCI resources (providers and stack references left out)."""
    return [r for r in plan.resources if r.custom and not r.type.startswith("pulumi:")]


PEERING_NAMES = ("-rpc-", "-drg-import-to-peers", "-drg-routes-to-peers", "-peer-")


def peering_owned(site: str, name: str) -> bool:
    """Names the Peering component registers: connections, their routes, the rules admitting peers."""
    return any(part in name[len(site):] for part in PEERING_NAMES)


def region_of(plan):
    """(site-region provider, home-region provider) registrations."""
    providers = plan.of_type("pulumi:providers:oci")
    home = [p for p in providers if "-home-" in p.name]
    region = [p for p in providers if "-home-" not in p.name]
    assert len(home) == 1 and len(region) == 1, [p.name for p in providers]
    return region[0], home[0]


# ----------------------------------------------------------------------------------------------- structure
@pytest.mark.parametrize("site", SITES)
def test_components_and_parent_chains(site, shipped_plans, shipped_sites):
    plan = shipped_plans[site]
    by_urn = plan.by_urn()
    (region,) = plan.of_type("sitekit:index:AiRegion")
    assert region.name == site and region.parent.endswith("pulumi:pulumi:Stack::sitekit-" + site)
    components = {r.type.rsplit(":", 1)[1]: r for r in plan.resources if r.type.startswith("sitekit:index:")
                  and r is not region}
    peers = shipped_sites[site].peers
    assert set(components) == {"Foundation", "Network", "Security", "Compute", "Storage", "Guardrails"} | (
        {"Peering"} if peers else set())
    for kind, comp in components.items():
        assert comp.name == f"{site}-{kind.lower()}" and comp.parent == region.urn
    for res in plan.resources:
        if res is region:
            continue
        chain, node = [], res
        while node.parent in by_urn:
            node = by_urn[node.parent]
            chain.append(node)
        assert region in chain, f"{res.name} does not descend from the AiRegion"
    for res in custom(plan):
        parent = by_urn[res.parent]
        expected = "Compute" if res.type in COMPUTE_CORE else next(
            (c for prefix, c in COMPONENT_OF.items() if res.type.startswith(prefix)), None)
        if res.type.startswith("oci:Logging/"):  # each log lives with what it logs
            expected = next(c for prefix, c in LOG_OWNERS.items() if res.name.startswith(f"{site}-{prefix}"))
        if peering_owned(site, res.name):
            expected = "Peering"
        assert parent.type == f"sitekit:index:{expected}", (res.type, res.name, parent.type)
    assert all(p.parent == region.urn for p in plan.of_type("pulumi:providers:oci"))


@pytest.mark.parametrize("site", SITES)
def test_logical_names_derive_from_data_keys(site, shipped_plans, shipped_sites):
    plan, spec = shipped_plans[site], shipped_sites[site].spec
    names = lambda t: {r.name for r in plan.of_type(t)}  # noqa: E731
    nets = spec.network.networks
    assert names("oci:Core/vcn:Vcn") == {f"{site}-vcn-{n.name}" for n in nets}
    assert names("oci:Core/subnet:Subnet") == {f"{site}-subnet-{n.name}-{s.name}" for n in nets for s in n.subnets}
    assert names("oci:Core/routeTable:RouteTable") == {f"{site}-routes-{n.name}" for n in nets}
    assert names("oci:Core/networkSecurityGroup:NetworkSecurityGroup") == {f"{site}-nsg-{g.name}" for g in spec.network.nsgs}
    rules = [r for r in plan.of_type("oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule")
             if not peering_owned(site, r.name)]
    assert len(rules) == sum(len(g.rules) for g in spec.network.nsgs) == len({r.name for r in rules})
    assert names("oci:Kms/key:Key") == {f"{site}-key-{k.name}" for k in spec.security.keys}
    assert names("oci:ObjectStorage/bucket:Bucket") == {f"{site}-bucket-{b.name}" for b in spec.storage.buckets}
    assert names("oci:FileStorage/fileSystem:FileSystem") == {f"{site}-fs-{f.name}" for f in spec.storage.file_systems}
    assert names("oci:Identity/compartment:Compartment") == {f"{site}-compartment"} | {
        f"{site}-compartment-{c}" for c in ("network", "security", "compute", "storage")}
    assert names("oci:Identity/tag:Tag") == {f"{site}-tag-{k}" for k in DEFINED_TAG_KEYS}
    assert len({r.name for r in plan.resources}) == len(plan.resources)


# ----------------------------------------------------------------------------------------------- providers
@pytest.mark.parametrize("site", SITES)
def test_iam_on_the_home_region_provider_everything_else_on_the_site_region(site, shipped_plans, shipped_sites):
    plan, spec = shipped_plans[site], shipped_sites[site].spec
    region, home = region_of(plan)
    assert region.inputs["region"] == spec.site.region
    assert home.inputs["region"] == spec.site.home_region
    for provider in (region, home):
        assert json.loads(provider.inputs["ignoreDefinedTags"]) == ["Oracle-Tags.CreatedBy", "Oracle-Tags.CreatedOn"]
    # A site away from its home region watches IAM and registers its Cloud Guard target from the home region,
    # where OCI serves them (with an alert topic there); everything else stays in the site's region.
    split = spec.site.region != spec.site.home_region
    at_home = {f"{site}-event-iam", f"{site}-event-cloud-guard", f"{site}-cloud-guard",
               f"{site}-alerts-home"} if split else set()
    # issue 21: the quota (root compartment metadata) and Cloud Guard's security zones, kept in the home region
    guardrails = {"oci:Limits/quota:Quota", "oci:CloudGuard/securityRecipe:SecurityRecipe",
                  "oci:CloudGuard/securityZone:SecurityZone"}
    for res in custom(plan):
        want = home if res.type in IAM_TYPES | guardrails or res.name in at_home else region
        assert provider_urn(res.provider) == want.urn, (res.type, res.name, res.provider)
    assert {r.type for r in custom(plan) if provider_urn(r.provider) == home.urn} == IAM_TYPES | guardrails | (
        {"oci:Events/rule:Rule", "oci:CloudGuard/target:Target", "oci:Ons/notificationTopic:NotificationTopic"}
        if split else set())
    if split:
        rule = plan.named(f"{site}-event-iam").inputs["actions"]["action"][0]
        assert rule["topicId"] == f"{site}-alerts-home-id"
        network = plan.named(f"{site}-event-network").inputs["actions"]["action"][0]
        assert network["topicId"] == f"{site}-alerts-id"
        problems = plan.named(f"{site}-event-cloud-guard").inputs["actions"]["action"][0]
        assert problems["topicId"] == f"{site}-alerts-home-id"


@pytest.mark.parametrize("site", SITES)
def test_event_rules_watch_every_cis_event_type(site, shipped_plans):
    """One enabled rule per category, notifying the alert topic of every event type its CIS recommendations
    name (sitekit/facts/events.py), and nothing outside them."""
    from typing import get_args

    from sitekit.facts.events import CATEGORIES, CIS_EVENTS, EXTRA
    from sitekit.spec.models import Security

    plan = shipped_plans[site]
    rules = {r.name.rsplit("-event-", 1)[1]: r for r in plan.of_type("oci:Events/rule:Rule")}
    assert set(rules) == set(CATEGORIES) == set(get_args(get_args(Security.model_fields["events"].annotation)[0]))
    for category, rule in rules.items():
        watched = json.loads(rule.inputs["condition"])["eventType"]
        wanted = {e for rec in CATEGORIES[category] for e in CIS_EVENTS[rec][1] + EXTRA.get(rec, ())}
        assert set(watched) == wanted and len(watched) == len(wanted), category
        assert rule.inputs["isEnabled"] is True
        [action] = rule.inputs["actions"]["action"]
        assert action["actionType"] == "ONS" and action["isEnabled"] is True
        assert rule.parent.endswith(f"{site}-security")


@pytest.mark.parametrize("site", SITES)
def test_data_source_calls_reach_the_site_region_provider(site, shipped_plans):
    """Without the component's provider, an invoke would ask the default provider (the wrong region)."""
    plan = shipped_plans[site]
    region, home = region_of(plan)
    assert sorted(tok for tok, _ in plan.invokes) == [
        "oci:CloudGuard/getSecurityPolicies:getSecurityPolicies", "oci:Core/getServices:getServices",
        "oci:Identity/getAvailabilityDomains:getAvailabilityDomains", "oci:ObjectStorage/getNamespace:getNamespace"]
    # the Security Zone policies are looked up where the guardrails live: the home region (issue 21)
    assert {provider_urn(p) for tok, p in plan.invokes if "CloudGuard" not in tok} == {region.urn}
    assert {provider_urn(p) for tok, p in plan.invokes if "CloudGuard" in tok} == {home.urn}


def test_dedicated_region_site_has_its_own_region_provider(shipped_plans, shipped_sites):
    plan = shipped_plans["ar-patagonia"]
    region, home = region_of(plan)
    assert shipped_sites["ar-patagonia"].spec.site.region_kind == "dedicated"
    assert region.inputs["region"] == "ar-dedicated-1"
    assert home.inputs["region"] == "sa-saopaulo-1"


# ----------------------------------------------------------------------------------------------- options and tags
@pytest.mark.parametrize("site", SITES)
def test_stateful_resources_are_protected_and_keys_retained(site, shipped_plans):
    plan = shipped_plans[site]
    reserved = site == "us-ashburn"  # the only shipped site that declares a capacity reservation
    assert {r.type for r in plan.resources if r.protect} == PROTECTED_TYPES - (
        set() if reserved else {"oci:Core/computeCapacityReservation:ComputeCapacityReservation"})
    for res in plan.resources:
        assert res.protect == (res.type in PROTECTED_TYPES), res.name
        assert res.retain_on_delete == (res.type == "oci:Kms/key:Key"), res.name
    assert plan.of_type("oci:Kms/key:Key")


@pytest.mark.parametrize("site", SITES)
def test_defined_tags_on_every_taggable_resource(site, shipped_plans, shipped_sites):
    plan, spec = shipped_plans[site], shipped_sites[site].spec
    j = spec.jurisdiction
    ns = f"{spec.tags.namespace}-{site}"
    expected = {f"{ns}.site": site, f"{ns}.jurisdiction": j.code,
                f"{ns}.data-classification": j.tags.data_classification,
                f"{ns}.applicable-law": j.tags.applicable_law, f"{ns}.cost-centre": spec.tags.cost_centre}
    (namespace,) = plan.of_type("oci:Identity/tagNamespace:TagNamespace")
    assert namespace.inputs["name"] == ns
    tagged = 0
    for res in custom(plan):
        if not accepts_defined_tags(res.type):
            assert "definedTags" not in res.inputs
        elif res.type not in UNTAGGED_BY_DESIGN:
            assert res.inputs.get("definedTags") == expected, (res.type, res.name)
            tagged += 1
            # and the tag definitions exist before anything uses them
            assert {f"{site}-tag-{k}" for k in DEFINED_TAG_KEYS} <= {d.rsplit("::", 1)[1] for d in res.dependencies}, res.name
    assert tagged > 50
    launch = plan.named(f"{site}-instance-config-train").inputs["instanceDetails"]["launchDetails"]
    # nested launch details carry them too, and the GPU node's role (what the GPU dynamic group matches)
    assert launch["definedTags"] == {**expected, f"{spec.tags.namespace}-{site}.node-role": "gpu"}


# Resources that make a service use the site's keys: they can only succeed once the IAM policy lets the
# service (objectstorage, FssOc1Prod, oke, blockstorage for boot volumes) use keys in the security compartment.
KEY_USERS = {"oci:ObjectStorage/bucket:Bucket", "oci:FileStorage/fileSystem:FileSystem",
             "oci:ContainerEngine/cluster:Cluster", "oci:ContainerEngine/nodePool:NodePool",
             "oci:Core/clusterNetwork:ClusterNetwork", "oci:Core/computeGpuMemoryCluster:ComputeGpuMemoryCluster"}


@pytest.mark.parametrize("site", SITES)
def test_key_users_wait_for_the_policy_that_grants_key_use(site, shipped_plans):
    plan = shipped_plans[site]
    policy = plan.named(f"{site}-policy")
    # the statements name the dynamic group as text: OCI refuses a statement naming a group that does not exist
    assert plan.named(f"{site}-dynamic-group-gpu-nodes").urn in policy.dependencies
    users = [r for r in plan.resources if r.type in KEY_USERS]
    assert {r.type for r in users} >= KEY_USERS - {"oci:Core/computeGpuMemoryCluster:ComputeGpuMemoryCluster"}
    for res in users:
        assert policy.urn in res.dependencies, res.name


@pytest.mark.parametrize("site", SITES)
def test_site_tags_do_not_spend_the_tenancys_cost_tracking_slots(site, shipped_plans):
    """OCI allows 10 cost-tracking tag keys per tenancy; two per site namespace would stop the sixth site."""
    tags = shipped_plans[site].of_type("oci:Identity/tag:Tag")
    assert len(tags) == len(DEFINED_TAG_KEYS) and not any(t.inputs.get("isCostTracking") for t in tags)


# ----------------------------------------------------------------------------------------------- network
@pytest.mark.parametrize("site", SITES)
def test_no_public_ips_outside_the_frontend(site, shipped_plans, shipped_sites):
    plan, spec = shipped_plans[site], shipped_sites[site].spec
    roles = {n.name: n.role for n in spec.network.networks}
    for net in spec.network.networks:
        for sub in net.subnets:
            inputs = plan.named(f"{site}-subnet-{net.name}-{sub.name}").inputs
            public = net.role == "frontend"
            assert inputs["prohibitPublicIpOnVnic"] is (not public), (net.name, sub.name)
            assert inputs["prohibitInternetIngress"] is (not public)
    assert {r for r in roles.values()} >= {"gpu", "rdma", "services", "storage", "frontend"}
    igws = plan.of_type("oci:Core/internetGateway:InternetGateway")
    frontends = [n for n, role in roles.items() if role == "frontend"]
    assert [g.inputs["vcnId"] for g in igws] == [f"{site}-vcn-{n}-id" for n in frontends]
    for config in plan.of_type("oci:Core/instanceConfiguration:InstanceConfiguration"):
        vnic = config.inputs["instanceDetails"]["launchDetails"]["createVnicDetails"]
        assert vnic["assignPublicIp"] is False
        assert vnic["subnetId"] == f"{site}-subnet-gpu-nodes-id"


@pytest.mark.parametrize("site", SITES)
def test_a_flow_log_on_every_subnet(site, shipped_plans):
    plan = shipped_plans[site]
    subnets = {f"{r.name}-id" for r in plan.of_type("oci:Core/subnet:Subnet")}
    flow = [r.inputs for r in plan.of_type("oci:Logging/log:Log")
            if r.inputs["configuration"]["source"]["service"] == "flowlogs"]
    assert sorted(f["configuration"]["source"]["resource"] for f in flow) == sorted(subnets)
    assert all(f["isEnabled"] and f["retentionDuration"] == 180 for f in flow)


def test_rdma_network_has_no_route_out(shipped_plans):
    plan = shipped_plans["us-ashburn"]
    assert plan.named("us-ashburn-routes-rdma").inputs.get("routeRules", []) == []
    types = {r.type for r in plan.resources if r.inputs.get("vcnId") == "us-ashburn-vcn-rdma-id"}
    assert not types & {"oci:Core/natGateway:NatGateway", "oci:Core/internetGateway:InternetGateway",
                        "oci:Core/serviceGateway:ServiceGateway"}


@pytest.mark.parametrize("site", SITES)
def test_routes_to_the_drg_wait_for_the_drg_attachment(site, shipped_plans):
    plan = shipped_plans[site]
    drg = plan.named(f"{site}-drg")
    checked = 0
    for table in plan.of_type("oci:Core/routeTable:RouteTable"):
        network = table.name.removeprefix(f"{site}-routes-")
        if any(rule["networkEntityId"] == f"{drg.name}-id" for rule in table.inputs.get("routeRules", [])):
            attachment = plan.named(f"{site}-drg-attachment-{network}")
            assert attachment.urn in table.dependencies, table.name
            assert attachment.inputs["networkDetails"] == {"type": "VCN", "id": f"{site}-vcn-{network}-id"}
            checked += 1
    assert checked == 4  # every network but the RDMA fabric routes through the hub


# ----------------------------------------------------------------------------------------------- compute
@pytest.mark.parametrize("site", SITES)
def test_pools_get_the_grouping_their_shape_needs(site, shipped_plans, shipped_sites):
    plan, loaded = shipped_plans[site], shipped_sites[site]
    seen = set()
    for pool in loaded.spec.compute.pools:
        shape = loaded.catalog.shape(pool.shape)
        if pool.placement == "oke":
            node_pool = plan.named(f"{site}-node-pool-{pool.name}").inputs
            assert node_pool["nodeShape"] == pool.shape
            assert node_pool["nodeConfigDetails"]["size"] == pool.nodes
            seen.add("oke")
            continue
        config = plan.named(f"{site}-instance-config-{pool.name}").inputs["instanceDetails"]["launchDetails"]
        assert config["shape"] == pool.shape
        blocks = fabric_blocks(pool.nodes, shape.fabric.block, shape.fabric.whole_blocks)
        assert sum(blocks) == pool.nodes
        if shape.grouping == "cluster-network":
            assert shape.gpus == 8
            for i, size in enumerate(blocks):  # a cluster network per block, all on the pool's configuration
                net = plan.named(f"{site}-cluster-network-{block_key(pool.name, i)}").inputs
                (instance_pool,) = net["instancePools"]
                assert instance_pool["size"] == size
                assert instance_pool["instanceConfigurationId"] == f"{site}-instance-config-{pool.name}-id"
                placement = net["placementConfiguration"]
                assert placement["primaryVnicSubnets"]["subnetId"] == f"{site}-subnet-gpu-nodes-id"
                assert [s["subnetId"] for s in placement["secondaryVnicSubnets"]] == [f"{site}-subnet-rdma-fabric-id"]
            seen.add("cluster-network")
        else:
            assert shape.fabric.block == 18 and len(blocks) == pool.nodes // 18
            for i, size in enumerate(blocks):  # per NVL72 block: its compute cluster, configuration and fabric
                key = block_key(pool.name, i)
                cluster = plan.named(f"{site}-compute-cluster-{key}")
                block_config = plan.named(f"{site}-instance-config-{key}").inputs["instanceDetails"]["launchDetails"]
                gmc = plan.named(f"{site}-gpu-memory-cluster-{key}").inputs
                assert gmc["computeClusterId"] == f"{cluster.name}-id" == block_config["computeClusterId"]
                assert gmc["size"] == str(size) == "18"
                assert gmc["instanceConfigurationId"] == f"{site}-instance-config-{key}-id"
            assert not [r for r in plan.of_type("oci:Core/clusterNetwork:ClusterNetwork")
                        if r.name.endswith(f"-{pool.name}")]
            assert len([r for r in plan.of_type("oci:Core/computeCluster:ComputeCluster")
                        if r.name.startswith(f"{site}-compute-cluster-{pool.name}")]) == len(blocks)
            seen.add("gpu-memory-cluster")
    assert {"oke", "cluster-network"} <= seen
    if site == "us-ashburn":
        assert "gpu-memory-cluster" in seen  # the GB200 pool 'frontier', two NVL72 blocks


@pytest.mark.parametrize("site", SITES)
def test_pools_launch_into_their_capacity_reservations(site, shipped_plans, shipped_sites):
    """A pool declaring a reservation gets one, protected, of its peak nodes and shape, in its availability domain;
    every instance configuration and node pool of a pool with a reservation names it, and no other does."""
    plan, loaded = shipped_plans[site], shipped_sites[site]
    reservations = {r.name: r for r in plan.of_type("oci:Core/computeCapacityReservation:ComputeCapacityReservation")}
    declared = [p for p in loaded.spec.compute.pools if p.capacity_reservation == "declare"]
    assert set(reservations) == {f"{site}-capacity-reservation-{p.name}" for p in declared}
    if site == "us-ashburn":
        assert [p.name for p in declared] == ["frontier"]
    for pool in loaded.spec.compute.pools:
        want = None
        if pool.capacity_reservation == "declare":
            res = reservations[f"{site}-capacity-reservation-{pool.name}"]
            assert res.protect and res.inputs["availabilityDomain"] == "Uocm:US-ASHBURN-1-AD-1" or site != "us-ashburn"
            assert res.inputs["instanceReservationConfigs"] == [
                {"instanceShape": pool.shape, "reservedCount": str(pool.autoscale.max if pool.autoscale else pool.nodes)}]
            want = f"{res.name}-id"
        elif pool.capacity_reservation:
            want = pool.capacity_reservation
        if pool.placement == "oke":
            (placement,) = plan.named(f"{site}-node-pool-{pool.name}").inputs["nodeConfigDetails"]["placementConfigs"]
            assert placement.get("capacityReservationId") == want
        else:
            configs = [r for r in plan.of_type("oci:Core/instanceConfiguration:InstanceConfiguration")
                       if r.name == f"{site}-instance-config-{pool.name}"
                       or r.name.startswith(f"{site}-instance-config-{pool.name}-block-")]
            assert configs and all(c.inputs["instanceDetails"]["launchDetails"].get("capacityReservationId") == want
                                   for c in configs)


@pytest.mark.parametrize("site", SITES)
def test_oke_cluster_has_a_private_endpoint(site, shipped_plans):
    plan = shipped_plans[site]
    (cluster,) = plan.of_type("oci:ContainerEngine/cluster:Cluster")
    endpoint = cluster.inputs["endpointConfig"]
    assert endpoint["isPublicIpEnabled"] is False
    assert endpoint["subnetId"] == f"{site}-subnet-services-oke-api-id"
    assert endpoint["nsgIds"] == [f"{site}-nsg-oke-api-id"]
    assert cluster.inputs["kmsKeyId"] == f"{site}-key-compute-id"
    (addon,) = plan.of_type("oci:ContainerEngine/addon:Addon")
    nodes = next(c["value"] for c in addon.inputs["configurations"] if c["key"] == "nodes")
    assert re.fullmatch(r"\d+:\d+:" + re.escape(f"{site}-node-pool-serve-id"), nodes)


@pytest.mark.parametrize("site", SITES)
def test_the_cluster_autoscaler_may_resize_the_node_pools(site, shipped_plans):
    """The add-on authenticates as a workload (authType), so a policy must grant that principal the pools; the
    grants name the site's own cluster, so no other cluster's kube-system/cluster-autoscaler gets them. They live in
    a policy of their own that waits for the cluster, since the cluster waits for the site policy (key grants)."""
    plan = shipped_plans[site]
    (addon,) = plan.of_type("oci:ContainerEngine/addon:Addon")
    assert {c["key"]: c["value"] for c in addon.inputs["configurations"]}["authType"] == "workload"
    principal = ("where ALL {request.principal.type = 'workload', request.principal.namespace = 'kube-system', "
                 f"request.principal.service_account = 'cluster-autoscaler', request.principal.cluster_id = "
                 f"'{site}-oke-id'}}")
    oke_policy, site_policy = plan.named(f"{site}-policy-oke"), plan.named(f"{site}-policy")
    statements = oke_policy.inputs["statements"]
    assert all(s.endswith(principal) for s in statements)
    grants = {s.split(" where ")[0] for s in statements if s.startswith("Allow any-user ")}
    compute, network = (f"compartment id {site}-compartment-{c}-id" for c in ("compute", "network"))
    assert {f"Allow any-user to manage cluster-node-pools in {compute}",
            f"Allow any-user to manage instance-family in {compute}", f"Allow any-user to use vnics in {compute}",
            f"Allow any-user to use subnets in {network}",
            f"Allow any-user to read virtual-network-family in {network}"} <= grants
    assert not [s for s in site_policy.inputs["statements"] if s.startswith("Allow any-user")]
    (cluster,) = plan.of_type("oci:ContainerEngine/cluster:Cluster")
    assert cluster.urn in oke_policy.dependencies and site_policy.urn in cluster.dependencies
    assert oke_policy.parent == site_policy.parent and oke_policy.provider == site_policy.provider  # home region


@pytest.mark.parametrize("site", SITES)
def test_oke_runs_only_images_signed_with_the_site_key(site, shipped_plans, shipped_sites):
    plan, spec = shipped_plans[site], shipped_sites[site].spec
    (cluster,) = plan.of_type("oci:ContainerEngine/cluster:Cluster")
    assert cluster.inputs["imagePolicyConfig"] == {
        "isPolicyEnabled": True, "keyDetails": [{"kmsKeyId": f"{site}-key-{spec.compute.oke.signing_key}-id"}]}
    key = plan.named(f"{site}-key-{spec.compute.oke.signing_key}").inputs
    assert key["keyShape"] == {"algorithm": "RSA", "length": 512}  # a signing key: asymmetric, 4096 bits
    assert key["isAutoRotationEnabled"] is True


@pytest.mark.parametrize("site", SITES)
def test_identity_events_are_watched_from_the_root_compartment(site, shipped_plans, shipped_sites):
    """Users, groups and identity providers live in the root compartment only, and an event rule sees its own
    compartment's subtree: the identity rule lives at the root, the others in the site compartment."""
    plan, spec = shipped_plans[site], shipped_sites[site].spec
    compartments = {r.name.rsplit("-event-", 1)[1]: r.inputs["compartmentId"]
                    for r in plan.of_type("oci:Events/rule:Rule")}
    assert compartments == {"iam": spec.site.tenancy_id, "network": f"{site}-compartment-id",
                            "cloud-guard": f"{site}-compartment-id"}


@pytest.mark.parametrize("site", SITES)
def test_the_bastion_admits_the_sites_operators_only(site, shipped_plans, shipped_sites):
    from ipaddress import ip_network

    plan, spec = shipped_plans[site], shipped_sites[site].spec
    (bastion,) = plan.of_type("oci:Bastion/bastion:Bastion")
    cidrs = bastion.inputs["clientCidrBlockAllowLists"]
    assert cidrs == [str(c) for c in spec.security.bastion.client_cidrs]
    assert all(ip_network(c).prefixlen >= 16 for c in cidrs)
    org = [ip_network(c) for c in spec.organisation.address_space]
    assert not any(ip_network(c).overlaps(o) for c in cidrs for o in org)  # operators, not the sites' networks
    assert shipped_sites[site].origin(("security", "bastion", "clientCidrs")).file == f"stacks/Pulumi.{site}.yaml"


@pytest.mark.parametrize("site", SITES)
def test_gpu_configurations_ask_for_secure_boot_exactly_where_the_catalog_says_it_is_supported(
        site, shipped_plans, shipped_sites):
    plan, loaded = shipped_plans[site], shipped_sites[site]
    for pool in loaded.spec.compute.pools:
        if pool.placement != "bare-metal":
            continue
        boot = loaded.catalog.shape(pool.shape).secure_boot
        launch = plan.named(f"{site}-instance-config-{pool.name}").inputs["instanceDetails"]["launchDetails"]
        if boot.supported is True:
            assert launch["platformConfig"] == {"type": boot.platform_type, "isSecureBootEnabled": True}
        else:  # unknown: a value the shape does not take would fail the launch (SK-CMP-006 advises instead)
            assert "platformConfig" not in launch


def test_a_shape_the_catalog_marks_supported_launches_with_secure_boot(variant):
    """The variant's catalog says BM.GPU.H100.8 takes Secure Boot: us-ashburn's 'train' pool then asks for it."""
    plan = json.loads(variant)
    (config,) = [r for r in plan["resources"] if r["name"] == "us-ashburn-instance-config-train"]
    assert config["inputs"]["instanceDetails"]["launchDetails"]["platformConfig"] == {
        "type": "GENERIC_BM", "isSecureBootEnabled": True}


@pytest.mark.parametrize("site", SITES)
def test_vault_and_keys_follow_the_jurisdiction(site, shipped_plans, shipped_sites):
    plan, j = shipped_plans[site], shipped_sites[site].spec.jurisdiction
    (vault,) = plan.of_type("oci:Kms/vault:Vault")
    assert vault.inputs["vaultType"] == j.vault.type
    for key in plan.of_type("oci:Kms/key:Key"):
        assert key.inputs["protectionMode"] == j.vault.key_protection
        assert key.inputs["managementEndpoint"] == f"https://{site}-vault-management.kms.example"
    for bucket in plan.of_type("oci:ObjectStorage/bucket:Bucket"):
        assert bucket.inputs["accessType"] == "NoPublicAccess" and bucket.inputs["versioning"] == "Enabled"
        assert bucket.inputs["kmsKeyId"] == f"{site}-key-storage-id"


@pytest.mark.parametrize("site", SITES)
def test_stack_outputs_equal_the_planners_numbers(site, shipped_plans, shipped_sites):
    plan, loaded = shipped_plans[site], shipped_sites[site]
    power = site_power(loaded.spec, load_catalog(loaded.root))
    out = plan.outputs
    assert (out["gpus"], out["itMw"], out["facilityMw"], out["envelopeMw"]) == (
        power.gpus, power.it_mw, power.facility_mw, power.envelope_mw)
    assert out["gpusByRole"] == power.gpus_by_role and sum(out["gpusByRole"].values()) == out["gpus"]
    assert out["gpus"] > 0 and out["facilityMw"] <= out["envelopeMw"]
    assert out["siteCompartmentId"] == f"{site}-compartment-id"


# ----------------------------------------------------------------------------------------------- a variant site
SECURE = "v1:AAAAABBBBexampleciphertextOfTheAlertEndpoint=="


def _reverse_named_lists(value):
    if isinstance(value, dict):
        return {k: _reverse_named_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_reverse_named_lists(v) for v in value]
        return items[::-1] if items and all(isinstance(i, dict) and "name" in i for i in items) else items
    return value


@pytest.fixture(scope="module")
def variant(tmp_path_factory, make_project):
    """us-ashburn with a secure alert endpoint, a mount-target throughput, every named list of the baseline
    reversed and a catalog that says BM.GPU.H100.8 takes Secure Boot, planned through `sitekit plan --format json`."""
    root = make_project(tmp_path_factory.mktemp("variant"))
    shapes = root / "stacks" / "catalog" / "shapes.yaml"
    catalog = yaml.safe_load(shapes.read_text())
    for shape in catalog["shapes"]:
        if shape["name"] == "BM.GPU.H100.8":
            shape["secureBoot"] = {"supported": True, "platformType": "GENERIC_BM", "source": "a test launch"}
    shapes.write_text(yaml.safe_dump(catalog, sort_keys=False))
    stack = root / "stacks" / "Pulumi.us-ashburn.yaml"
    stack.write_text(stack.read_text() + f"  sitekit:alertEndpoint:\n    secure: {SECURE}\n"
                     "  sitekit:overrides:\n    storage:\n      fileSystems:\n"
                     "        - {name: checkpoints, throughputGbps: 10}\n")
    baseline = root / "stacks" / "baseline.yaml"
    baseline.write_text(yaml.safe_dump(_reverse_named_lists(yaml.safe_load(baseline.read_text())), sort_keys=False))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        result = CliRunner().invoke(app, ["plan", "us-ashburn", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_secure_config_value_is_masked(variant):
    assert SECURE not in variant and SECRET_PLACEHOLDER not in variant
    plan = json.loads(variant)
    (sub,) = [r for r in plan["resources"] if r["type"] == "oci:Ons/subscription:Subscription"]
    assert sub["inputs"]["endpoint"] == "[secret]"
    assert "endpoint" in sub["secret_inputs"]
    assert sub["inputs"]["topicId"] == "us-ashburn-alerts-id" and sub["inputs"]["protocol"] == "HTTPS"


def test_names_do_not_depend_on_list_order(variant, shipped_plans):
    plan = json.loads(variant)
    shipped = shipped_plans["us-ashburn"]
    variant_names = {(r["type"], r["name"]) for r in plan["resources"]}
    assert variant_names - {(r.type, r.name) for r in shipped.resources} == {
        ("oci:Ons/subscription:Subscription", "us-ashburn-alerts-subscription")}
    assert {(r.type, r.name) for r in shipped.resources} <= variant_names
    cidrs = lambda items: {r["name"]: r["inputs"]["cidrBlock"] for r in items}  # noqa: E731
    assert cidrs(r for r in plan["resources"] if r["type"] == "oci:Core/subnet:Subnet") == \
        cidrs({"name": r.name, "inputs": r.inputs} for r in shipped.of_type("oci:Core/subnet:Subnet"))
    assert plan["outputs"]["gpus"] == shipped.outputs["gpus"]


def test_shipped_plans_have_no_secret_subscription(shipped_plans):
    for plan in shipped_plans.values():
        assert not plan.of_type("oci:Ons/subscription:Subscription")


# ----------------------------------------------------------------------------------------------- input types
def _args_class(token: str):
    module, name = oci_class_names()[token]
    return getattr(importlib.import_module(module), name + "Args")


def _accepted(annotation, module) -> set:
    """The plain types an argument annotation accepts: str/int/float/bool, dict, ('list', inner), Args classes."""
    if isinstance(annotation, str):
        annotation = typing.ForwardRef(annotation)
    if isinstance(annotation, typing.ForwardRef):
        name = annotation.__forward_arg__
        found = getattr(module, name, None) or getattr(importlib.import_module(
            module.__name__.rsplit(".", 1)[0] + "._inputs"), name, None)
        return {found} if found is not None else set()
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        return set().union(*(_accepted(a, module) for a in typing.get_args(annotation)))
    if origin in (list, collections.abc.Sequence):
        return {("list", frozenset(_accepted(typing.get_args(annotation)[0], module)))}
    if origin in (dict, collections.abc.Mapping):
        return {dict}
    if origin is collections.abc.Awaitable or annotation is type(None):
        return set()
    return {annotation}


def type_mismatches(value, accepted: set, path: str) -> list[str]:
    if value is None or value in ("[unknown]", "[secret]"):
        return []
    plain = {t for t in accepted if isinstance(t, type)}
    if isinstance(value, bool):
        return [] if bool in plain else [f"{path}: bool given, {plain} expected"]
    if isinstance(value, (int, float)):
        return [] if plain & {int, float} else [f"{path}: number given, {plain} expected"]
    if isinstance(value, str):
        return [] if str in plain else [f"{path}: str given, {plain} expected"]
    if isinstance(value, list):
        inner = [t for t in accepted if isinstance(t, tuple)]
        if not inner:
            return [f"{path}: list given"]
        return [m for i, v in enumerate(value) for m in type_mismatches(v, set(inner[0][1]), f"{path}[{i}]")]
    args = [t for t in plain if t.__name__.endswith("Args")]
    return object_mismatches(value, args[0], path) if args else []


def object_mismatches(inputs: dict, cls, path: str) -> list[str]:
    """Engine-form inputs against a pulumi_oci Args class (engine names come from its property getters)."""
    module = importlib.import_module(cls.__module__)
    params = inspect.signature(cls.__init__).parameters
    engine = {getattr(p.fget, "_pulumi_name", n): params.get(n) for n, p in vars(cls).items()
              if isinstance(p, property)}
    out = []
    for key, value in inputs.items():
        if engine.get(key) is None:
            out.append(f"{path}.{key}: not an argument of {cls.__name__}")
        else:
            out += type_mismatches(value, _accepted(engine[key].annotation, module), f"{path}.{key}")
    return out


def test_type_check_catches_a_number_for_a_string():
    from pulumi_oci.filestorage import MountTargetArgs
    assert object_mismatches({"requestedThroughput": 10, "subnetId": "s", "nope": 1}, MountTargetArgs, "mt") == [
        "mt.requestedThroughput: number given, {<class 'str'>} expected", "mt.nope: not an argument of MountTargetArgs"]


def test_every_input_has_the_type_pulumi_oci_declares(shipped_plans, variant):
    """A number where pulumi-oci declares a string (e.g. MountTarget.requested_throughput) passes the mocks but
    not the provider: compare every registered input with the Args class's annotations."""
    resources = [(r.type, r.name, r.inputs) for plan in shipped_plans.values() for r in plan.resources]
    resources += [(r["type"], r["name"], r["inputs"]) for r in json.loads(variant)["resources"]]
    mount = next(i for t, n, i in resources
                 if n == "us-ashburn-mount-target-checkpoints" and "requestedThroughput" in i)
    assert mount["requestedThroughput"] == "10"
    problems = [m for t, n, i in resources if t.startswith("oci:") for m in object_mismatches(i, _args_class(t), n)]
    assert problems == []


# ----------------------------------------------------------------------------------------------- issue 17, finding 5
@pytest.mark.parametrize("site", SITES)
def test_gpu_dynamic_group_matches_only_the_gpu_nodes(site, shipped_plans, shipped_sites):
    """The dynamic group matches the compute compartment's instances tagged node-role gpu; the bare-metal GPU
    instance configurations launch instances with that tag, OKE's node pools without it."""
    plan, spec = shipped_plans[site], shipped_sites[site].spec
    tag = f"{spec.tags.namespace}-{site}.node-role"
    rule = plan.named(f"{site}-dynamic-group-gpu-nodes").inputs["matchingRule"]
    assert rule.startswith("ALL {instance.compartment.id = '") and rule.endswith(f", tag.{tag}.value = 'gpu'}}")
    configs = plan.of_type("oci:Core/instanceConfiguration:InstanceConfiguration")
    assert configs and all(
        c.inputs["instanceDetails"]["launchDetails"]["definedTags"].get(tag) == "gpu" for c in configs)
    assert all(tag not in c.inputs.get("definedTags", {}) for c in configs)  # the configuration itself: no node
    for pool in plan.of_type("oci:ContainerEngine/nodePool:NodePool"):
        assert tag not in pool.inputs.get("definedTags", {})
        assert tag not in pool.inputs["nodeConfigDetails"].get("definedTags", {})
    assert plan.named(f"{site}-tag-node-role").inputs["name"] == "node-role"


@pytest.mark.parametrize("site", SITES)
def test_cloud_guard_target_attaches_its_recipes(site, shipped_plans, shipped_sites):
    plan, spec = shipped_plans[site], shipped_sites[site].spec
    guard = spec.security.cloud_guard
    target = plan.named(f"{site}-cloud-guard").inputs
    assert [r["detectorRecipeId"] for r in target["targetDetectorRecipes"]] == [
        guard.configuration_detector_recipe_id, guard.activity_detector_recipe_id]
    assert [r["responderRecipeId"] for r in target["targetResponderRecipes"]] == [guard.responder_recipe_id]
