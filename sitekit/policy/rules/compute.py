"""Kubernetes and compute rules: private OKE endpoints and node pools, image verification, the instance
metadata service, approved GPU shapes, the grouping each GPU shape needs, Secure Boot where the shape has it,
and shapes the region is known to offer."""

from __future__ import annotations

import base64
import binascii
from typing import Iterator

from sitekit.oci.types import (
    CLUSTER_NETWORK,
    GPU_MEMORY_CLUSTER,
    GPU_SHAPE_PREFIXES,
    INSTANCE,
    INSTANCE_CONFIGURATION,
    NODE_POOL,
    OKE_CLUSTER,
    SUBNET,
)
from sitekit.policy.model import NotApplicable, Res, Stack, get, is_unknown, items, rule
from sitekit.policy.rules.network import subnet_public
from sitekit.spec import cloudconfig

LAUNCH = "instanceDetails.launchDetails"
SHAPE_PATH = {INSTANCE: "shape", INSTANCE_CONFIGURATION: f"{LAUNCH}.shape", NODE_POOL: "nodeShape"}


@rule("SK-OKE-001", "OKE API endpoint is private and guarded by NSGs", severity="high", level="mandatory",
      area="kubernetes", types=(OKE_CLUSTER,), anchor=("/compute", "oke", "apiNsg"),
      remediation="Give the cluster an `endpoint_config` in a private subnet with `is_public_ip_enabled=False` "
                  "and the API NSG in `nsg_ids`.")
def oke_endpoint_private(res: Res, ctx) -> Iterator[str]:
    endpoint = res.get("endpointConfig")
    if is_unknown(endpoint):
        return
    if endpoint is None:
        yield "cluster has no VCN-native endpoint configuration (the legacy endpoint is public)"
        return
    if res.get("endpointConfig.isPublicIpEnabled") is True:
        yield "the Kubernetes API endpoint has a public IP"
    nsgs = res.get("endpointConfig.nsgIds")
    if not is_unknown(nsgs) and not items(nsgs):
        yield "the Kubernetes API endpoint has no NSG"


@rule("SK-OKE-003", "OKE verifies image signatures", severity="medium", level="mandatory", area="kubernetes",
      types=(OKE_CLUSTER,), anchor=("/compute", "oke", "signingKey"),
      remediation="Give the cluster `image_policy_config` with `is_policy_enabled=True` and the Vault key(s) that "
                  "sign the site's images in `key_details` (sitekit: `compute.oke.signingKey`).")
def oke_images_verified(res: Res, ctx) -> Iterator[str]:
    """With an image verification policy, OKE runs only images from the Container Registry signed with one of
    the listed master encryption keys (Container Engine docs, "Enforcing the Use of Signed Images")."""
    enabled = res.get("imagePolicyConfig.isPolicyEnabled", False)
    keys = res.get("imagePolicyConfig.keyDetails")
    if is_unknown(enabled) or is_unknown(keys):
        return
    if enabled is not True:
        yield "image verification is off (imagePolicyConfig.isPolicyEnabled is not true)"
    elif not [k for k in items(keys) if is_unknown(get(k, "kmsKeyId")) or get(k, "kmsKeyId")]:
        yield "image verification names no signing key (imagePolicyConfig.keyDetails)"


@rule("SK-OKE-002", "OKE node pools are in private subnets", severity="high", level="mandatory",
      area="kubernetes", stack=True, anchor=("/compute", "oke", "workerSubnet"),
      remediation="Place node pools in a subnet with `prohibit_public_ip_on_vnic=True` outside the frontend role.")
def node_pools_private(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    for pool in stack.of_type(NODE_POOL):
        for subnet in stack.deps(pool, SUBNET):
            shown = subnet.get("displayName", subnet.name)
            if subnet_public(subnet.props) is True:
                yield pool, f"node pool subnet {shown} allows public IPs"
            elif ctx.role_of_subnet(subnet.props) == "frontend":
                yield pool, f"node pool subnet {shown} is in the frontend role"


@rule("SK-CMP-001", "Legacy instance metadata endpoints are disabled", severity="medium", level="mandatory",
      area="compute", types=(INSTANCE, INSTANCE_CONFIGURATION), cis="3.1",
      remediation="Set `instance_options.are_legacy_imds_endpoints_disabled=True` (IMDSv2 only).")
def legacy_imds_disabled(res: Res, ctx) -> Iterator[str]:
    base = "instanceOptions" if res.type == INSTANCE else f"{LAUNCH}.instanceOptions"
    if res.type == INSTANCE_CONFIGURATION and res.get("instanceDetails.instanceType", "compute") != "compute":
        return
    value = res.get(f"{base}.areLegacyImdsEndpointsDisabled", False)
    if not is_unknown(value) and value is not True:
        yield "legacy IMDS v1 endpoints are enabled"


def _gpu_shape(res: Res) -> str | None:
    shape = res.get(SHAPE_PATH.get(res.type, "shape"))
    if isinstance(shape, str) and not is_unknown(shape) and shape.startswith(GPU_SHAPE_PREFIXES):
        return shape
    return None


@rule("SK-CMP-002", "GPU shapes only from the jurisdiction's approved list", severity="high", level="mandatory",
      area="compute", types=(INSTANCE, INSTANCE_CONFIGURATION, NODE_POOL), anchor=("shape",),
      params={"approvedShapes": {"type": "array", "items": {"type": "string"}}},
      remediation="Use a shape from jurisdiction.shapes.approved, or have the jurisdiction approve the shape.")
def gpu_shapes_approved(res: Res, ctx) -> Iterator[str]:
    approved = ctx.param("approvedShapes")
    shape = _gpu_shape(res)
    if shape and approved is None and not ctx.known:
        raise NotApplicable("the approved GPU shapes are the jurisdiction's; no site context gives them")
    if shape and approved is not None and shape not in approved:
        yield f"GPU shape {shape} is not approved (approved: {', '.join(approved) or 'none'})"


@rule("SK-CMP-003", "GPU grouping matches the shape", severity="high", level="mandatory", area="compute",
      stack=True, anchor=("placement",),
      remediation="8-GPU bare-metal shapes go in a cluster network; GB200-class shapes in a compute cluster with "
                  "a GPU memory cluster (see stacks/catalog/shapes.yaml).")
def gpu_grouping_matches_shape(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    def grouping(res: Res) -> tuple[str | None, str | None]:
        shape = _gpu_shape(res)
        info = ctx.shapes.get(shape) if shape else None
        return shape, info.grouping if info else None

    for group_type, wanted, what in ((CLUSTER_NETWORK, "cluster-network", "cluster network"),
                                     (GPU_MEMORY_CLUSTER, "gpu-memory-cluster", "GPU memory cluster")):
        for group in stack.of_type(group_type):
            for config in stack.deps(group, INSTANCE_CONFIGURATION):
                shape, kind = grouping(config)
                if kind and kind != wanted:
                    yield group, f"{shape} needs a {kind.replace('-', ' ')}, not a {what}"
    for res in stack.of_type(INSTANCE_CONFIGURATION, INSTANCE, NODE_POOL):
        shape, kind = grouping(res)
        if not kind or not shape.startswith("BM."):
            continue
        if res.type == INSTANCE_CONFIGURATION:
            users = {g.type for g in stack.dependents(res, CLUSTER_NETWORK, GPU_MEMORY_CLUSTER)}
            if not users:
                yield res, f"{shape} instance configuration is used by no {kind.replace('-', ' ')}"
        elif kind == "gpu-memory-cluster":
            yield res, f"{shape} needs a GPU memory cluster; a standalone {res.type.rsplit(':', 1)[-1]} cannot join one"


def _secure_boot(res: Res) -> tuple[str | None, object]:
    """(shape, isSecureBootEnabled) of an instance or a compute instance configuration; (None, None) when the
    resource launches nothing."""
    if res.type == INSTANCE_CONFIGURATION and res.get("instanceDetails.instanceType", "compute") != "compute":
        return None, None
    shape = res.get(SHAPE_PATH[res.type])
    base = "platformConfig" if res.type == INSTANCE else f"{LAUNCH}.platformConfig"
    return (shape if isinstance(shape, str) and not is_unknown(shape) else None), res.get(f"{base}.isSecureBootEnabled")


@rule("SK-CMP-004", "Secure Boot on instances whose shape supports it", severity="medium", level="mandatory",
      area="compute", types=(INSTANCE, INSTANCE_CONFIGURATION), cis="3.2", anchor=("shape",),
      remediation="Launch the instance with `platform_config` of the shape's platform type and "
                  "`is_secure_boot_enabled=True` (stacks/catalog/shapes.yaml says which shapes support it).")
def secure_boot_where_supported(res: Res, ctx) -> Iterator[str]:
    shape, enabled = _secure_boot(res)
    if shape is None or ctx.secure_boot.get(shape) is not True:
        return  # a shape without Secure Boot, or one whose support is unknown (SK-CMP-006): nothing to demand
    if not is_unknown(enabled) and enabled is not True:
        yield f"{shape} supports Secure Boot but platformConfig.isSecureBootEnabled is not true"


@rule("SK-CMP-006", "Secure Boot where the shape's support is unknown", severity="low", level="advisory",
      area="compute", types=(INSTANCE, INSTANCE_CONFIGURATION), cis="3.2", anchor=("shape",),
      remediation="Find whether the shape takes Secure Boot (`oci compute shape list`: platformConfigOptions."
                  "secureBootOptions.allowedValues, or a test launch), record it in stacks/catalog/shapes.yaml "
                  "with the source, and enable it where it is supported.")
def secure_boot_support_unknown(res: Res, ctx) -> Iterator[str]:
    """CIS OCI 3.2 asks for Secure Boot on every instance; where sitekit cannot say whether the shape supports
    it (the catalog marks it unknown, or does not list the shape), an instance without it is reported as
    advice rather than passed in silence."""
    shape, enabled = _secure_boot(res)
    if shape is None or ctx.secure_boot.get(shape) is not None:
        return  # supported (SK-CMP-004 demands it) or known not to be
    if not is_unknown(enabled) and enabled is not True:
        yield (f"whether {shape} supports Secure Boot is unknown (stacks/catalog/shapes.yaml); it is not enabled: "
               "verify the shape and record it")


@rule("SK-CMP-005", "The Oracle Cloud Agent keeps monitoring instances", severity="low", level="advisory",
      area="compute", types=(INSTANCE, INSTANCE_CONFIGURATION),
      remediation="Leave `agent_config.is_monitoring_disabled` and `are_all_plugins_disabled` unset or false.")
def instance_monitoring_on(res: Res, ctx) -> Iterator[str]:
    base = "agentConfig" if res.type == INSTANCE else f"{LAUNCH}.agentConfig"
    for flag in ("isMonitoringDisabled", "areAllPluginsDisabled"):
        if res.get(f"{base}.{flag}") is True:
            yield f"{base}.{flag} is true"

@rule("SK-CMP-007", "GPU shapes and capacity the site's region is known to offer", severity="medium",
      level="advisory", area="compute", stack=True, needs_site=True, anchor=("shape",),
      remediation="Confirm the shape in the region (`oci compute shape list --region <region>` in the tenancy, or "
                  "Oracle's capacity report) and record it with its source and date in "
                  "stacks/catalog/capacity.yaml, or pick a shape and region the catalog knows "
                  "(`sitekit fleet --capacity SHAPE` shows where a shape could move); record the tenancy's "
                  "limits, quotas and reservations in the capacity ledger (`sitekit capacity import`).")
def gpu_shape_known_in_region(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    """A fact about the site's region and a shape, not about a resource: said once per shape, on the first
    resource that asks for it, with how many others do. A shape known to be offered is still said where the
    capacity ledger cannot tell whether the site's pools of it fit (a pool that does not fit never loads)."""
    users: dict[str, list[Res]] = {}
    for res in stack.of_type(INSTANCE, INSTANCE_CONFIGURATION, NODE_POOL):
        shape = _gpu_shape(res)
        if shape:
            users.setdefault(shape, []).append(res)
    for shape, found in users.items():
        found.sort(key=lambda r: r.name)  # the same first resource whatever order the engine registered them in
        status, why = ctx.shape_capacity.get(shape, ("unknown", f"{shape} is not in the shape catalog"))
        others = f" (and {len(found) - 1} other resource{'s' * (len(found) > 2)} of the shape)" if len(found) > 1 else ""
        if status == "not-offered":
            yield found[0], f"GPU shape {shape} is not offered in {ctx.region} ({why}){others}"
        elif status != "offered":
            yield found[0], f"GPU shape {shape} is not known to be offered in {ctx.region} ({why}){others}"
        elif shape in ctx.capacity_unknown:
            yield found[0], (f"GPU shape {shape} is offered in {ctx.region}, but the capacity ledger cannot say "
                             f"whether the site's pools fit: {ctx.capacity_unknown[shape]}{others}")


USER_DATA_PATHS = {INSTANCE_CONFIGURATION: f"{LAUNCH}.metadata.user_data", NODE_POOL: "nodeMetadata.user_data"}
"""Where the GPU pools' node user data is: what every node of a pool boots with."""


@rule("SK-CMP-008", "Node user data grants nothing the baseline does not declare", severity="critical",
      level="mandatory", area="compute", types=(INSTANCE_CONFIGURATION, NODE_POOL),
      remediation="Declare node configuration only through the spec's `bootstrap:` (audit rules, agents, health "
                  "checks as argument lists), never users, sudo rules, SSH keys or extra files in user data; "
                  "`sitekit bootstrap SITE` prints what each pool gets. The user data must be one `#cloud-config` "
                  "writing the journal and audit files.")
def user_data_declared(res: Res, ctx) -> Iterator[str]:
    """Decodes the cloud-init user data (base64, as OCI's `user_data` metadata key takes it) and reads what it
    grants with PyYAML's safe loader, as cloud-init does: any user, group, sudo rule or SSH key, a file outside
    the paths the baseline's bootstrap writes, a missing journal or audit-rules file, or another key that grants
    access or runs code (bootcmd, chpasswd, ...) fails. A resource without user data is not judged here."""
    value = res.get(USER_DATA_PATHS[res.type])
    if value is None or is_unknown(value):
        return
    try:
        text = base64.b64decode(str(value), validate=True).decode("utf-8")
    except (ValueError, binascii.Error):
        yield "the user data is not base64-encoded UTF-8 text (OCI's user_data takes base64)"
        return
    try:
        doc = cloudconfig.parse(text)
    except cloudconfig.NotCloudConfig as exc:
        yield str(exc)
        return
    for problem in cloudconfig.undeclared(doc):
        yield f"the user data {problem}"
