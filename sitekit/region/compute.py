"""Compute: GPU pools grouped as their shape needs, and an OKE cluster with autoscaled GPU node pools."""

from __future__ import annotations

import pulumi
import pulumi_oci as oci

from sitekit.facts.kueue import POOL_LABEL
from sitekit.naming import Kind
from sitekit.region.context import SiteContext

RDMA_PLUGINS = ("Compute HPC RDMA Authentication", "Compute HPC RDMA Auto-Configuration",
                "Compute RDMA GPU Monitoring")

L = oci.core  # the launch-details Args classes have long names


class Compute(pulumi.ComponentResource):
    """Per bare-metal pool: an instance configuration plus a cluster network (8-GPU shapes) or a compute
    cluster with a GPU memory cluster (GB200 class). Per OKE pool: a node pool in the private OKE cluster,
    with its autoscaling bounds in the cluster autoscaler add-on."""

    def __init__(self, name: str, ctx: SiteContext, opts: pulumi.ResourceOptions | None = None):
        super().__init__("sitekit:index:Compute", name, None, opts)
        spec = ctx.spec
        comp = spec.compute
        self.ctx = ctx
        self.compartment = ctx.compartments["compute"]
        ads = oci.identity.get_availability_domains_output(
            compartment_id=spec.site.tenancy_id, opts=pulumi.InvokeOutputOptions(parent=self))
        self.ad = ads.availability_domains[spec.site.availability_domain - 1].name

        bare = [p for p in comp.pools if p.placement == "bare-metal"]
        oke = [p for p in comp.pools if p.placement == "oke"]
        for pool in bare:
            shape = ctx.site.catalog.shape(pool.shape)
            if shape.grouping == "cluster-network":
                self._cluster_network(pool)
            else:
                self._gpu_memory_cluster(pool, shape)
        self.cluster = self._oke(oke)
        self.register_outputs({})

    # ---------------------------------------------------------------------------------------- bare metal
    def _instance_configuration(self, pool, compute_cluster=None) -> oci.core.InstanceConfiguration:
        ctx, comp = self.ctx, self.ctx.spec.compute
        boot = ctx.site.catalog.shape(pool.shape).secure_boot  # CIS OCI 3.2, where the shape supports it
        launch = L.InstanceConfigurationInstanceDetailsLaunchDetailsArgs(
            compartment_id=self.compartment, availability_domain=self.ad, shape=pool.shape,
            display_name=ctx.display(pool.name),
            compute_cluster_id=compute_cluster.id if compute_cluster is not None else None,
            create_vnic_details=L.InstanceConfigurationInstanceDetailsLaunchDetailsCreateVnicDetailsArgs(
                subnet_id=ctx.subnets[(comp.gpu_network, comp.gpu_subnet)].id, assign_public_ip=False,
                nsg_ids=[ctx.nsgs[comp.gpu_nsg].id]),
            source_details=L.InstanceConfigurationInstanceDetailsLaunchDetailsSourceDetailsArgs(
                source_type="image", image_id=ctx.spec.site.images.gpu, kms_key_id=ctx.keys[pool.key].id,
                boot_volume_size_in_gbs=str(comp.boot_volume_gbs)),
            instance_options=L.InstanceConfigurationInstanceDetailsLaunchDetailsInstanceOptionsArgs(
                are_legacy_imds_endpoints_disabled=True),
            is_pv_encryption_in_transit_enabled=True,
            platform_config=L.InstanceConfigurationInstanceDetailsLaunchDetailsPlatformConfigArgs(
                type=boot.platform_type, is_secure_boot_enabled=True) if boot.supported is True else None,
            agent_config=L.InstanceConfigurationInstanceDetailsLaunchDetailsAgentConfigArgs(
                plugins_configs=[L.InstanceConfigurationInstanceDetailsLaunchDetailsAgentConfigPluginsConfigArgs(
                    name=p, desired_state="ENABLED") for p in RDMA_PLUGINS]),
            metadata=ctx.node_metadata(pool) or None,
            defined_tags=ctx.gpu_node_tags)  # node-role gpu: what the GPU nodes' dynamic group matches
        return oci.core.InstanceConfiguration(
            ctx.logical(Kind.INSTANCE_CONFIG, pool.name), compartment_id=self.compartment,
            display_name=ctx.display(pool.name, "config"),
            instance_details=L.InstanceConfigurationInstanceDetailsArgs(instance_type="compute", launch_details=launch),
            defined_tags=ctx.defined_tags, opts=ctx.opts(self, former=ctx.former(Kind.INSTANCE_CONFIG, pool)))

    def _cluster_network(self, pool) -> None:
        ctx, comp = self.ctx, self.ctx.spec.compute
        config = self._instance_configuration(pool)
        oci.core.ClusterNetwork(
            ctx.logical(Kind.CLUSTER_NETWORK, pool.name), compartment_id=self.compartment,
            display_name=ctx.display(pool.name),
            instance_pools=[L.ClusterNetworkInstancePoolArgs(
                instance_configuration_id=config.id, size=pool.nodes, display_name=ctx.display(pool.name, "pool"))],
            placement_configuration=L.ClusterNetworkPlacementConfigurationArgs(
                availability_domain=self.ad,
                primary_vnic_subnets=L.ClusterNetworkPlacementConfigurationPrimaryVnicSubnetsArgs(
                    subnet_id=ctx.subnets[(comp.gpu_network, comp.gpu_subnet)].id),
                secondary_vnic_subnets=[L.ClusterNetworkPlacementConfigurationSecondaryVnicSubnetArgs(
                    subnet_id=ctx.subnets[(comp.rdma_network, comp.rdma_subnet)].id,
                    display_name=ctx.display(pool.name, "rdma"))]),
            defined_tags=ctx.defined_tags,
            opts=ctx.opts(self, depends_on=ctx.key_grants, former=ctx.former(Kind.CLUSTER_NETWORK, pool)))

    def _gpu_memory_cluster(self, pool, shape) -> None:
        ctx = self.ctx
        cluster = oci.core.ComputeCluster(
            ctx.logical(Kind.COMPUTE_CLUSTER, pool.name), availability_domain=self.ad, compartment_id=self.compartment,
            display_name=ctx.display(pool.name), defined_tags=ctx.defined_tags,
            opts=ctx.opts(self, former=ctx.former(Kind.COMPUTE_CLUSTER, pool)))
        config = self._instance_configuration(pool, compute_cluster=cluster)
        oci.core.ComputeGpuMemoryCluster(
            ctx.logical(Kind.GPU_MEMORY_CLUSTER, pool.name), availability_domain=self.ad,
            compartment_id=self.compartment, compute_cluster_id=cluster.id, instance_configuration_id=config.id,
            size=str(pool.nodes), display_name=ctx.display(pool.name, "gmc"), defined_tags=ctx.defined_tags,
            opts=ctx.opts(self, depends_on=ctx.key_grants, former=ctx.former(Kind.GPU_MEMORY_CLUSTER, pool)))

    # ---------------------------------------------------------------------------------------- OKE
    def _oke(self, pools) -> oci.containerengine.Cluster:
        ctx, spec = self.ctx, self.ctx.spec
        oke = spec.compute.oke
        cluster = oci.containerengine.Cluster(
            ctx.logical(Kind.OKE), compartment_id=self.compartment, kubernetes_version=oke.kubernetes_version,
            name=ctx.display("oke"), type="ENHANCED_CLUSTER", vcn_id=ctx.vcns[oke.network].id,
            kms_key_id=ctx.keys[oke.key].id,
            endpoint_config=oci.containerengine.ClusterEndpointConfigArgs(
                subnet_id=ctx.subnets[(oke.network, oke.api_subnet)].id, is_public_ip_enabled=False,
                nsg_ids=[ctx.nsgs[oke.api_nsg].id]),
            cluster_pod_network_options=[oci.containerengine.ClusterClusterPodNetworkOptionArgs(
                cni_type="FLANNEL_OVERLAY")],
            # image verification: only images signed with the site's signing key run (the site's image
            # pipeline signs what it promotes into the site's regional registry)
            image_policy_config=oci.containerengine.ClusterImagePolicyConfigArgs(
                is_policy_enabled=True, key_details=[oci.containerengine.ClusterImagePolicyConfigKeyDetailArgs(
                    kms_key_id=ctx.keys[oke.signing_key].id)]),
            defined_tags=ctx.defined_tags, opts=ctx.opts(self, depends_on=ctx.key_grants))
        bounds = []
        for pool in pools:
            node_pool = oci.containerengine.NodePool(
                ctx.logical(Kind.NODE_POOL, pool.name), cluster_id=cluster.id, compartment_id=self.compartment,
                name=ctx.display(pool.name), node_shape=pool.shape, kubernetes_version=oke.kubernetes_version,
                node_config_details=oci.containerengine.NodePoolNodeConfigDetailsArgs(
                    size=pool.nodes, is_pv_encryption_in_transit_enabled=True, kms_key_id=ctx.keys[pool.key].id,
                    nsg_ids=[ctx.nsgs[oke.worker_nsg].id],
                    placement_configs=[oci.containerengine.NodePoolNodeConfigDetailsPlacementConfigArgs(
                        availability_domain=self.ad,
                        subnet_id=ctx.subnets[(oke.worker_network, oke.worker_subnet)].id)],
                    defined_tags=ctx.defined_tags),
                node_source_details=oci.containerengine.NodePoolNodeSourceDetailsArgs(
                    image_id=spec.site.images.oke, source_type="IMAGE",
                    boot_volume_size_in_gbs=str(spec.compute.boot_volume_gbs)),
                node_metadata=ctx.node_metadata(pool) or None,
                initial_node_labels=[oci.containerengine.NodePoolInitialNodeLabelArgs(key="sitekit/role",
                                                                                     value=pool.role),
                                     # what the pool's Kueue ResourceFlavor selects (`sitekit kueue`)
                                     oci.containerengine.NodePoolInitialNodeLabelArgs(key=POOL_LABEL,
                                                                                     value=pool.name)],
                defined_tags=ctx.defined_tags,
                # the autoscaler owns the size once the pool exists
                opts=pulumi.ResourceOptions.merge(ctx.opts(
                    self, depends_on=ctx.key_grants, former=ctx.former(Kind.NODE_POOL, pool)), pulumi.ResourceOptions(
                    ignore_changes=["nodeConfigDetails.size"] if pool.autoscale else None)))
            if pool.autoscale:
                bounds.append(node_pool.id.apply(lambda i, a=pool.autoscale: f"{a.min}:{a.max}:{i}"))
        if bounds:
            oci.containerengine.Addon(
                ctx.logical(Kind.OKE_AUTOSCALER), addon_name="ClusterAutoscaler", cluster_id=cluster.id,
                remove_addon_resources_on_delete=True,
                configurations=[
                    oci.containerengine.AddonConfigurationArgs(key="nodes", value=pulumi.Output.all(*bounds).apply(",".join)),
                    oci.containerengine.AddonConfigurationArgs(key="authType", value="workload"),
                ],
                opts=ctx.opts(self))
        return cluster
