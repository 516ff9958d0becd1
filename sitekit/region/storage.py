"""Storage: file systems for checkpoints and datasets, and private, versioned, encrypted buckets."""

from __future__ import annotations

import pulumi
import pulumi_oci as oci

from sitekit.naming import Kind
from sitekit.region.context import SiteContext


class Storage(pulumi.ComponentResource):
    """File systems with a mount target and export each, and buckets; all encrypted with the site's keys
    and protected from deletion."""

    def __init__(self, name: str, ctx: SiteContext, ad: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("sitekit:index:Storage", name, None, opts)
        spec = ctx.spec
        compartment = ctx.compartments["storage"]
        tags = ctx.defined_tags
        namespace = oci.objectstorage.get_namespace_output(
            compartment_id=spec.site.tenancy_id, opts=pulumi.InvokeOutputOptions(parent=self)).namespace

        for fs in spec.storage.file_systems:
            file_system = oci.filestorage.FileSystem(
                ctx.logical(Kind.FS, fs.name), availability_domain=ad, compartment_id=compartment,
                display_name=ctx.display(fs.name), kms_key_id=ctx.keys[fs.key].id, defined_tags=tags,
                opts=ctx.opts(self, protect=True, depends_on=ctx.key_grants))
            target = oci.filestorage.MountTarget(
                ctx.logical(Kind.MOUNT_TARGET, fs.name), availability_domain=ad, compartment_id=compartment,
                subnet_id=ctx.subnets[(fs.network, fs.subnet)].id, nsg_ids=[ctx.nsgs[fs.nsg].id],
                display_name=ctx.display(fs.name, "mount"),
                # pulumi-oci types the throughput (Gbps) as a string
                requested_throughput=None if fs.throughput_gbps is None else str(fs.throughput_gbps),
                defined_tags=tags, opts=ctx.opts(self))
            oci.filestorage.Export(
                ctx.logical(Kind.EXPORT, fs.name), export_set_id=target.export_set_id, file_system_id=file_system.id,
                path=fs.export_path,
                export_options=[oci.filestorage.ExportExportOptionArgs(
                    source=str(spec.site.address_plan.supernet), access="READ_WRITE", identity_squash="ROOT",
                    require_privileged_source_port=True)],
                opts=ctx.opts(self))

        log_group = oci.logging.LogGroup(
            ctx.logical(Kind.STORAGE_LOGS), compartment_id=compartment, display_name=ctx.display("storage-logs"),
            description=f"Object Storage write logs of AI site {ctx.name}", defined_tags=tags, opts=ctx.opts(self))
        for bucket in spec.storage.buckets:
            created = oci.objectstorage.Bucket(
                ctx.logical(Kind.BUCKET, bucket.name), compartment_id=compartment, namespace=namespace,
                name=ctx.display(bucket.name), access_type="NoPublicAccess", versioning="Enabled",
                kms_key_id=ctx.keys[bucket.key].id, object_events_enabled=True, storage_tier=bucket.tier,
                defined_tags=tags, opts=ctx.opts(self, protect=True, depends_on=ctx.key_grants))
            oci.logging.Log(
                ctx.logical(Kind.BUCKET_LOG, bucket.name), display_name=ctx.display(bucket.name, "write"),
                log_group_id=log_group.id, log_type="SERVICE", is_enabled=True,
                retention_duration=spec.jurisdiction.retention.log_days,
                configuration=oci.logging.LogConfigurationArgs(source=oci.logging.LogConfigurationSourceArgs(
                    category="write", resource=created.name, service="objectstorage", source_type="OCISERVICE")),
                defined_tags=tags, opts=ctx.opts(self))
        self.register_outputs({})
