"""Compute: GPU pools grouped as their shape needs, split into the fabric blocks the hardware fixes, each pool in its
capacity reservation where it has one, and an OKE cluster with autoscaled GPU node pools."""

from __future__ import annotations

import pulumi
import pulumi_oci as oci

from sitekit.facts.kueue import POOL_LABEL
from sitekit.naming import Kind, block_key
from sitekit.planners import fabric_blocks
from sitekit.region.context import SiteContext

RDMA_PLUGINS = ("Compute HPC RDMA Authentication", "Compute HPC RDMA Auto-Configuration",
                "Compute RDMA GPU Monitoring")

L = oci.core  # the launch-details Args classes have long names


class Compute(pulumi.ComponentResource):
    """Per bare-metal pool, per fabric block (`planners.fabric_blocks`; the first block keyed by the pool's name,
    so a pool that grows keeps its first cluster): a cluster network on the pool's instance configuration (8-GPU
    shapes), or a compute cluster with its instance configuration and GPU memory cluster (GB200 class). Per OKE
    pool: a node pool in the private OKE cluster, with its autoscaling bounds in the cluster autoscaler add-on.
    A pool declaring a capacity reservation gets one (protected, in the pool's availability domain); the
    instance configurations and node pools of a pool with a reservation launch into it."""

    def __init__(self, name: str, ctx: SiteContext, opts: pulumi.ResourceOptions | None = None):
        super().__init__("sitekit:index:Compute", name, None, opts)
        spec = ctx.spec
        comp = spec.compute
        self.ctx = ctx
        self.compartment = ctx.compartments["compute"]
        ads = oci.identity.get_availability_domains_output(
            compartment_id=spec.site.tenancy_id, opts=pulumi.InvokeOutputOptions(parent=self))
        self.ads = ads.availability_domains
        self.ad = self.ads[spec.site.availability_domain - 1].name

        self.reservations = {p.name: self._reservation(p) for p in comp.pools if p.capacity_reservation}
        bare = [p for p in comp.pools if p.placement == "bare-metal"]
        oke = [p for p in comp.pools if p.placement == "oke"]
        for pool in bare:
            shape = ctx.site.catalog.shape(pool.shape)
            blocks = fabric_blocks(pool.nodes, shape.fabric.block, shape.fabric.whole_blocks)
            if shape.grouping == "cluster-network":
                self._cluster_networks(pool, blocks)
            else:
                for i, size in enumerate(blocks):
                    self._gpu_memory_cluster(pool, block_key(pool.name, i), size)
        self.cluster = self._oke(oke)
        self.register_outputs({})

    def _ad(self, pool) -> pulumi.Output[str]:
        """The name of the pool's availability domain (its own, else the site's)."""
        return self.ads[pool.availability_domain - 1].name if pool.availability_domain else self.ad

    # ---------------------------------------------------------------------------------------- reservations
    def _reservation(self, pool) -> pulumi.Output[str] | str:
        """The OCID of the pool's capacity reservation: the existing one it names, or one declared here of its
        peak nodes in its availability domain (protected: a deleted reservation's capacity is gone; changing the
        availability domain replaces it)."""
        if pool.capacity_reservation != "declare":
            return pool.capacity_reservation
        ctx = self.ctx
        peak = pool.autoscale.max if pool.autoscale else pool.nodes
        reservation = oci.core.ComputeCapacityReservation(
            ctx.logical(Kind.CAPACITY_RESERVATION, pool.name), availability_domain=self._ad(pool),
            compartment_id=self.compartment, display_name=ctx.display(pool.name, "reservation"),
            is_default_reservation=False,
            instance_reservation_configs=[L.ComputeCapacityReservationInstanceReservationConfigArgs(
                instance_shape=pool.shape, reserved_count=str(peak))],
            defined_tags=ctx.defined_tags,
            opts=ctx.opts(self, protect=True, former=ctx.former(Kind.CAPACITY_RESERVATION, pool)))
        return reservation.id

    # ---------------------------------------------------------------------------------------- bare metal
    def _instance_configuration(self, pool, key: str, compute_cluster=None) -> oci.core.InstanceConfiguration:
        ctx, comp = self.ctx, self.ctx.spec.compute
        boot = ctx.site.catalog.shape(pool.shape).secure_boot  # CIS OCI 3.2, where the shape supports it
        launch = L.InstanceConfigurationInstanceDetailsLaunchDetailsArgs(
            compartment_id=self.compartment, availability_domain=self._ad(pool), shape=pool.shape,
            display_name=ctx.display(pool.name),
            compute_cluster_id=compute_cluster.id if compute_cluster is not None else None,
            capacity_reservation_id=self.reservations.get(pool.name),
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
            ctx.logical(Kind.INSTANCE_CONFIG, key), compartment_id=self.compartment,
            display_name=ctx.display(key, "config"),
            instance_details=L.InstanceConfigurationInstanceDetailsArgs(instance_type="compute", launch_details=launch),
            defined_tags=ctx.defined_tags, opts=ctx.opts(self, former=self._former(Kind.INSTANCE_CONFIG, pool, key)))

    def _former(self, kind: Kind, pool, key: str) -> list[str]:
        """The names a block's resource had under the pool's former names."""
        return [self.ctx.logical(kind, old + key[len(pool.name):]) for old in pool.former_names]

    def _cluster_networks(self, pool, blocks: tuple[int, ...]) -> None:
        """One instance configuration for the pool, a cluster network per fabric block."""
        config = self._instance_configuration(pool, pool.name)
        for i, size in enumerate(blocks):
            self._cluster_network(pool, block_key(pool.name, i), size, config)

    def _cluster_network(self, pool, key: str, size: int, config: oci.core.InstanceConfiguration) -> None:
        ctx, comp = self.ctx, self.ctx.spec.compute
        oci.core.ClusterNetwork(
            ctx.logical(Kind.CLUSTER_NETWORK, key), compartment_id=self.compartment,
            display_name=ctx.display(key),
            instance_pools=[L.ClusterNetworkInstancePoolArgs(
                instance_configuration_id=config.id, size=size, display_name=ctx.display(key, "pool"))],
            placement_configuration=L.ClusterNetworkPlacementConfigurationArgs(
                availability_domain=self._ad(pool),
                primary_vnic_subnets=L.ClusterNetworkPlacementConfigurationPrimaryVnicSubnetsArgs(
                    subnet_id=ctx.subnets[(comp.gpu_network, comp.gpu_subnet)].id),
                secondary_vnic_subnets=[L.ClusterNetworkPlacementConfigurationSecondaryVnicSubnetArgs(
                    subnet_id=ctx.subnets[(comp.rdma_network, comp.rdma_subnet)].id,
                    display_name=ctx.display(key, "rdma"))]),
            defined_tags=ctx.defined_tags,
            opts=ctx.opts(self, depends_on=ctx.key_grants, former=self._former(Kind.CLUSTER_NETWORK, pool, key)))

    def _gpu_memory_cluster(self, pool, key: str, size: int) -> None:
        """One fabric block: a compute cluster (it does not span blocks), its instance configuration and the GPU
        memory cluster of `size` hosts."""
        ctx, ad = self.ctx, self._ad(pool)
        cluster = oci.core.ComputeCluster(
            ctx.logical(Kind.COMPUTE_CLUSTER, key), availability_domain=ad, compartment_id=self.compartment,
            display_name=ctx.display(key), defined_tags=ctx.defined_tags,
            opts=ctx.opts(self, former=self._former(Kind.COMPUTE_CLUSTER, pool, key)))
        config = self._instance_configuration(pool, key, compute_cluster=cluster)
        oci.core.ComputeGpuMemoryCluster(
            ctx.logical(Kind.GPU_MEMORY_CLUSTER, key), availability_domain=ad,
            compartment_id=self.compartment, compute_cluster_id=cluster.id, instance_configuration_id=config.id,
            size=str(size), display_name=ctx.display(key, "gmc"), defined_tags=ctx.defined_tags,
            opts=ctx.opts(self, depends_on=ctx.key_grants, former=self._former(Kind.GPU_MEMORY_CLUSTER, pool, key)))

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
                        availability_domain=self._ad(pool), capacity_reservation_id=self.reservations.get(pool.name),
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
