"""The table of OCI types: per pulumi-oci type token, what the type is, said once for every step that reads
resources (policy rules, review, cost, the fleet, the offline fakes). Ground knowledge, below all of them: it
imports only the facts (sitekit/facts/).

Where each fact comes from:
- the tokens: the resource classes of pulumi_oci 5.5.0 (tests/test_oci_types.py checks each row against the
  installed SDK, and fails, naming this table, when a shipped site plans a type with no row);
- `stateful`: OCI deletes what the resource holds with it (objects, files, blocks, key material, everything
  in a compartment); the region declares these with `protect=True` (the test checks the plans) and
  SK-GOV-002 checks any stack;
- `taggable`: the pulumi-oci class takes `defined_tags` (checked against the SDK) and a site must tag it
  (SK-GOV-001); the tag namespace and its tags are left out: they cannot carry tags of the namespace they
  create;
- `gpu`: the resource carries GPU capacity or may (node groups and their templates, clusters, instances);
  review warns on every change to one; run/cost.py prices the node groups of three of them;
- `iam`, `tenancy_setting`, `home_control_plane`: where OCI keeps the object (IAM in the home region, tenancy
  settings keyed by the root compartment, IAM events and Cloud Guard reporting in the home region only);
  the residency and root-compartment rules read them;
- `key_inputs`: sitekit's choice of the inputs worth a glance in `sitekit plan` (run/report.py);
- `fake_outputs`: what oci/fakes.py answers for the outputs the provider computes and the program reads back
  (invented values, not OCI data);
- `drift`: sitekit's judgement of what a change made outside Pulumi to the type means (`sitekit drift`):
  `security` when it can widen access, `capacity` when it moves GPUs, nodes, shapes or volumes, `cosmetic`
  when it only names or labels, `other` otherwise; `drift_properties` refines it per property path, and
  `DRIFT_COSMETIC` holds for every type (tags, display names, descriptions);
- `replacement`: terraform-provider-oci's replace-on-change facts (sitekit/facts/oci-replace-on-change.json),
  looked up, not copied; oci/replacement.py judges changes with them.

The constants (VCN, BUCKET, ...) are the tokens the rules name; the sets below them are views of the table.
"""

from __future__ import annotations

from dataclasses import dataclass

from sitekit.facts import replace_on_change

# ------------------------------------------------------------------------------------------------ the tokens
VCN = "oci:Core/vcn:Vcn"
SUBNET = "oci:Core/subnet:Subnet"
SECURITY_LIST = "oci:Core/securityList:SecurityList"
DEFAULT_SECURITY_LIST = "oci:Core/defaultSecurityList:DefaultSecurityList"
NSG = "oci:Core/networkSecurityGroup:NetworkSecurityGroup"
NSG_RULE = "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule"
ROUTE_TABLE = "oci:Core/routeTable:RouteTable"
INTERNET_GATEWAY = "oci:Core/internetGateway:InternetGateway"
NAT_GATEWAY = "oci:Core/natGateway:NatGateway"
SERVICE_GATEWAY = "oci:Core/serviceGateway:ServiceGateway"
DRG = "oci:Core/drg:Drg"
DRG_ATTACHMENT = "oci:Core/drgAttachment:DrgAttachment"
DRG_ATTACHMENT_MANAGEMENT = "oci:Core/drgAttachmentManagement:DrgAttachmentManagement"
DRG_ROUTE_TABLE = "oci:Core/drgRouteTable:DrgRouteTable"
DRG_ROUTE_DISTRIBUTION = "oci:Core/drgRouteDistribution:DrgRouteDistribution"
DRG_ROUTE_DISTRIBUTION_STATEMENT = "oci:Core/drgRouteDistributionStatement:DrgRouteDistributionStatement"
REMOTE_PEERING_CONNECTION = "oci:Core/remotePeeringConnection:RemotePeeringConnection"
VNIC_ATTACHMENT = "oci:Core/vnicAttachment:VnicAttachment"
PUBLIC_IP = "oci:Core/publicIp:PublicIp"
LOAD_BALANCER = "oci:LoadBalancer/loadBalancer:LoadBalancer"
NETWORK_LOAD_BALANCER = "oci:NetworkLoadBalancer/networkLoadBalancer:NetworkLoadBalancer"
INSTANCE = "oci:Core/instance:Instance"
INSTANCE_CONFIGURATION = "oci:Core/instanceConfiguration:InstanceConfiguration"
INSTANCE_POOL = "oci:Core/instancePool:InstancePool"
CLUSTER_NETWORK = "oci:Core/clusterNetwork:ClusterNetwork"
COMPUTE_CLUSTER = "oci:Core/computeCluster:ComputeCluster"
GPU_MEMORY_CLUSTER = "oci:Core/computeGpuMemoryCluster:ComputeGpuMemoryCluster"
CAPACITY_RESERVATION = "oci:Core/computeCapacityReservation:ComputeCapacityReservation"
OKE_CLUSTER = "oci:ContainerEngine/cluster:Cluster"
NODE_POOL = "oci:ContainerEngine/nodePool:NodePool"
OKE_ADDON = "oci:ContainerEngine/addon:Addon"
VOLUME = "oci:Core/volume:Volume"
BOOT_VOLUME = "oci:Core/bootVolume:BootVolume"
BUCKET = "oci:ObjectStorage/bucket:Bucket"
FILE_SYSTEM = "oci:FileStorage/fileSystem:FileSystem"
MOUNT_TARGET = "oci:FileStorage/mountTarget:MountTarget"
EXPORT = "oci:FileStorage/export:Export"
VAULT = "oci:Kms/vault:Vault"
KEY = "oci:Kms/key:Key"
BASTION = "oci:Bastion/bastion:Bastion"
CLOUD_GUARD_TARGET = "oci:CloudGuard/target:Target"
CLOUD_GUARD_CONFIGURATION = "oci:CloudGuard/cloudGuardConfiguration:CloudGuardConfiguration"
SECURITY_RECIPE = "oci:CloudGuard/securityRecipe:SecurityRecipe"
SECURITY_ZONE = "oci:CloudGuard/securityZone:SecurityZone"
QUOTA = "oci:Limits/quota:Quota"
COMPARTMENT = "oci:Identity/compartment:Compartment"
POLICY = "oci:Identity/policy:Policy"
TAG_NAMESPACE = "oci:Identity/tagNamespace:TagNamespace"
TAG = "oci:Identity/tag:Tag"
DYNAMIC_GROUP = "oci:Identity/dynamicGroup:DynamicGroup"
GROUP = "oci:Identity/group:Group"
USER = "oci:Identity/user:User"
AUTHENTICATION_POLICY = "oci:Identity/authenticationPolicy:AuthenticationPolicy"
DOMAINS_PASSWORD_POLICY = "oci:Identity/domainsPasswordPolicy:DomainsPasswordPolicy"
TAG_DEFAULT = "oci:Identity/tagDefault:TagDefault"
AUDIT_CONFIGURATION = "oci:Audit/configuration:Configuration"
LOG_GROUP = "oci:Logging/logGroup:LogGroup"
LOG = "oci:Logging/log:Log"
EVENT_RULE = "oci:Events/rule:Rule"
TOPIC = "oci:Ons/notificationTopic:NotificationTopic"
SUBSCRIPTION = "oci:Ons/subscription:Subscription"
INTEGRATION_INSTANCE = "oci:Integration/integrationInstance:IntegrationInstance"
ANALYTICS_INSTANCE = "oci:Analytics/analyticsInstance:AnalyticsInstance"
AUTONOMOUS_DATABASE = "oci:Database/autonomousDatabase:AutonomousDatabase"
FUNCTIONS_APPLICATION = "oci:Functions/application:Application"
FUNCTION = "oci:Functions/function:Function"
OCI_PROVIDER = "pulumi:providers:oci"

_NAMES = {token: name for name, token in dict(globals()).items()
          if name.isupper() and isinstance(token, str) and token.startswith(("oci:", "pulumi:providers:"))}
"""Token -> the name of its constant above (so a row's name is read, not written twice)."""


# ------------------------------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class OciType:
    """What one pulumi-oci type is (the module docstring gives the source of each field)."""

    token: str
    stateful: bool = False
    """Deleting it loses data or keys: declared with `protect=True`."""
    taggable: bool = False
    """Takes `definedTags`, and a site must tag it."""
    gpu: bool = False
    """Carries GPU capacity, or may: a change to it adds, removes or restarts GPU nodes."""
    iam: bool = False
    """An IAM object: tenancy metadata written in the home region, not site data (exempt from residency)."""
    tenancy_setting: bool = False
    """A tenancy-wide setting, which OCI keys by the tenancy (root compartment) id: it lives nowhere else."""
    home_control_plane: bool = False
    """A control-plane object a site keeps in its home region because OCI serves it only there (IAM events,
    Cloud Guard's reporting region): alerts and configuration, no site data; exempt from residency there only."""
    key_inputs: tuple[str, ...] = ()
    """The inputs (dotted paths) `sitekit plan` shows for it; none: its display name."""
    fake_outputs: tuple[tuple[str, str], ...] = ()
    """(output, value) the offline fakes answer for what the provider computes and the program reads back;
    `{key}` in a value is the resource's stable name."""

    drift: str = "other"
    """What a change made outside Pulumi to it is (`DRIFT_CLASSES`): security, capacity, cosmetic or other."""
    drift_properties: tuple[tuple[str, str], ...] = ()
    """(property path, class) where a property's change is not the type's class (the longest prefix wins)."""

    @property
    def name(self) -> str:
        """The name of its constant in this module (VCN, BUCKET, ...)."""
        return _NAMES[self.token]

    @property
    def replacement(self) -> replace_on_change.Facts | None:
        """The provider's replace-on-change facts of the type; None where the facts file has no row."""
        return replace_on_change.facts(self.token)


_ROWS = (
    # network
    OciType(VCN, taggable=True, key_inputs=("cidrBlocks", "dnsLabel"),
            fake_outputs=(("defaultSecurityListId", "ocid1.securitylist.oc1..{key}-default"),
                          ("defaultRouteTableId", "ocid1.routetable.oc1..{key}-default"),
                          ("defaultDhcpOptionsId", "ocid1.dhcpoptions.oc1..{key}-default")),
            drift_properties=(("cidrBlocks", "security"),)),
    OciType(SUBNET, taggable=True, key_inputs=("cidrBlock", "prohibitPublicIpOnVnic"),
            drift_properties=(("prohibitPublicIpOnVnic", "security"), ("securityListIds", "security"),
                              ("routeTableId", "security"))),
    OciType(SECURITY_LIST, taggable=True, drift="security"),
    OciType(DEFAULT_SECURITY_LIST, taggable=True, drift="security"),
    OciType(NSG, taggable=True, drift="security"),
    OciType(NSG_RULE, key_inputs=("direction", "protocol", "source", "destination", "tcpOptions"), drift="security"),
    OciType(ROUTE_TABLE, taggable=True, key_inputs=("routeRules",), drift="security"),
    OciType(INTERNET_GATEWAY, taggable=True, drift="security"),
    OciType(NAT_GATEWAY, taggable=True, drift="security"),
    OciType(SERVICE_GATEWAY, taggable=True, drift="security"),
    OciType(DRG, taggable=True, drift="security"),
    OciType(DRG_ATTACHMENT, taggable=True, drift="security"),
    OciType(DRG_ATTACHMENT_MANAGEMENT, taggable=True, drift="security"),
    OciType(DRG_ROUTE_TABLE, taggable=True, drift="security"),
    OciType(DRG_ROUTE_DISTRIBUTION, taggable=True, drift="security"),
    OciType(DRG_ROUTE_DISTRIBUTION_STATEMENT, drift="security"),
    OciType(REMOTE_PEERING_CONNECTION, taggable=True, drift="security"),
    OciType(VNIC_ATTACHMENT),
    OciType(PUBLIC_IP, drift="security"),
    OciType(LOAD_BALANCER, taggable=True, drift="security"),
    OciType(NETWORK_LOAD_BALANCER, taggable=True, drift="security"),
    # compute
    OciType(INSTANCE, taggable=True, gpu=True, drift="capacity", drift_properties=(("metadata", "security"),)),
    OciType(INSTANCE_CONFIGURATION, taggable=True, gpu=True, key_inputs=("instanceDetails.launchDetails.shape",),
            drift="capacity"),
    OciType(INSTANCE_POOL, gpu=True, drift="capacity"),
    OciType(CLUSTER_NETWORK, taggable=True, gpu=True, key_inputs=("instancePools",), drift="capacity"),
    OciType(COMPUTE_CLUSTER, taggable=True, gpu=True, drift="capacity"),
    OciType(GPU_MEMORY_CLUSTER, taggable=True, gpu=True, key_inputs=("size",), drift="capacity"),
    # a deleted reservation's capacity is gone (OCI may not hold it again): protected like data
    OciType(CAPACITY_RESERVATION, stateful=True, taggable=True, gpu=True,
            key_inputs=("availabilityDomain", "instanceReservationConfigs"), drift="capacity"),
    OciType(OKE_CLUSTER, taggable=True, key_inputs=("kubernetesVersion", "endpointConfig.isPublicIpEnabled"),
            drift_properties=(("endpointConfig", "security"), ("options", "security"))),
    OciType(NODE_POOL, taggable=True, gpu=True, key_inputs=("nodeShape", "nodeConfigDetails.size"),
            drift="capacity", drift_properties=(("nodeConfigDetails.nsgIds", "security"),
                                                ("nodeConfigDetails.kmsKeyId", "security"))),
    OciType(OKE_ADDON, key_inputs=("addonName", "configurations")),
    # storage
    OciType(VOLUME, stateful=True, taggable=True, drift="capacity", drift_properties=(("kmsKeyId", "security"),)),
    OciType(BOOT_VOLUME, stateful=True, taggable=True, drift="capacity", drift_properties=(("kmsKeyId", "security"),)),
    OciType(BUCKET, stateful=True, taggable=True, key_inputs=("accessType", "versioning"),
            drift_properties=(("accessType", "security"), ("versioning", "security"), ("kmsKeyId", "security"),
                              ("objectEventsEnabled", "security"), ("retentionRules", "security"))),
    OciType(FILE_SYSTEM, stateful=True, taggable=True, drift_properties=(("kmsKeyId", "security"),)),
    OciType(MOUNT_TARGET, taggable=True, fake_outputs=(("exportSetId", "ocid1.exportset.oc1..{key}"),)),
    OciType(EXPORT, drift="security"),
    # security
    OciType(VAULT, stateful=True, taggable=True, key_inputs=("vaultType",),
            fake_outputs=(("managementEndpoint", "https://{key}-management.kms.example"),
                          ("cryptoEndpoint", "https://{key}-crypto.kms.example")), drift="security"),
    OciType(KEY, stateful=True, taggable=True, key_inputs=("protectionMode", "autoKeyRotationDetails"),
            drift="security"),
    OciType(BASTION, taggable=True, drift="security"),
    OciType(CLOUD_GUARD_TARGET, taggable=True, home_control_plane=True, drift="security"),
    OciType(CLOUD_GUARD_CONFIGURATION, tenancy_setting=True, drift="security"),
    OciType(SECURITY_RECIPE, taggable=True, home_control_plane=True, key_inputs=("securityPolicies",), drift="security"),
    OciType(SECURITY_ZONE, taggable=True, home_control_plane=True, drift="security"),
    # quotas live in the root compartment (OCI: "it must be the root compartment"), IAM-like tenancy metadata
    OciType(QUOTA, taggable=True, iam=True, tenancy_setting=True, key_inputs=("statements",), drift="security"),
    # identity
    OciType(COMPARTMENT, stateful=True, taggable=True, iam=True, drift_properties=(("enableDelete", "security"),)),
    OciType(POLICY, taggable=True, iam=True, key_inputs=("statements",), drift="security"),
    OciType(TAG_NAMESPACE, iam=True),
    OciType(TAG, iam=True),
    OciType(DYNAMIC_GROUP, taggable=True, iam=True, drift="security"),
    OciType(GROUP, iam=True, drift="security"),
    OciType(USER, iam=True, drift="security"),
    OciType(AUTHENTICATION_POLICY, iam=True, tenancy_setting=True, drift="security"),
    OciType(DOMAINS_PASSWORD_POLICY, iam=True, drift="security"),  # an identity domain's object (SCIM tags, no defined tags)
    OciType(TAG_DEFAULT, iam=True),
    # monitoring
    OciType(AUDIT_CONFIGURATION, tenancy_setting=True, drift="security"),
    OciType(LOG_GROUP, taggable=True),
    OciType(LOG, taggable=True, key_inputs=("retentionDuration", "configuration.source.service"),
            drift_properties=(("isEnabled", "security"), ("retentionDuration", "security"))),
    OciType(EVENT_RULE, taggable=True, home_control_plane=True, drift="security"),
    OciType(TOPIC, taggable=True, home_control_plane=True),
    OciType(SUBSCRIPTION, taggable=True, home_control_plane=True, key_inputs=("protocol", "endpoint"),
            drift_properties=(("endpoint", "security"),)),
    # services the rules know of, which no site declares
    OciType(INTEGRATION_INSTANCE, taggable=True),
    OciType(ANALYTICS_INSTANCE, taggable=True),
    OciType(AUTONOMOUS_DATABASE, taggable=True),
    OciType(FUNCTIONS_APPLICATION, taggable=True),
    OciType(FUNCTION, taggable=True),
    # the provider itself
    OciType(OCI_PROVIDER, key_inputs=("region",)),
)

TYPES: dict[str, OciType] = {t.token: t for t in _ROWS}
"""Every OCI type sitekit plans or judges, by token: the one place that says what each is."""

# ------------------------------------------------------------------------------------- views of the table
STATEFUL = frozenset(t.token for t in TYPES.values() if t.stateful)
"""Types whose deletion loses data or keys: they must be protected (`protect=True`)."""

TAGGABLE = frozenset(t.token for t in TYPES.values() if t.taggable)
"""Types whose pulumi-oci resource takes `definedTags` and which a site must tag."""

GPU_TYPES = frozenset(t.token for t in TYPES.values() if t.gpu)
"""Types that carry GPU capacity, or may: review warns on any change to one."""

IAM_TYPES = frozenset(t.token for t in TYPES.values() if t.iam)
"""IAM objects: tenancy metadata written in the home region, not site data (exempt from residency)."""

TENANCY_SETTINGS = frozenset(t.token for t in TYPES.values() if t.tenancy_setting)
"""Tenancy-wide settings, which OCI keys by the tenancy (root compartment) id: they live nowhere else."""

HOME_CONTROL_PLANE = frozenset(t.token for t in TYPES.values() if t.home_control_plane)
"""Control-plane objects a site keeps in its home region because OCI serves them only there."""

DRIFT_CLASSES = ("security", "capacity", "cosmetic", "other")
"""What a property changed outside Pulumi can be, most urgent first (`OciType.drift`)."""

DRIFT_COSMETIC = ("definedTags", "freeformTags", "displayName", "description")
"""Properties whose change only names or labels, on every type (a row's `drift_properties` may say otherwise)."""


def drift_class(token: str, path: str) -> str:
    """The class of a change to the property at dotted `path` of a resource of type `token`: the longest
    prefix in the row's `drift_properties`, else cosmetic for `DRIFT_COSMETIC`, else the row's class ('other'
    for a type with no row)."""
    row = TYPES.get(token)
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        found = dict(row.drift_properties if row else ()).get(".".join(parts[:n]))
        if found:
            return found
    if parts[0] in DRIFT_COSMETIC:
        return "cosmetic"
    return row.drift if row else "other"


KEY_INPUTS = {t.token: t.key_inputs for t in TYPES.values() if t.key_inputs}
"""Token -> the inputs worth a glance in `sitekit plan`; a type not here shows its display name."""

GPU_SHAPE_PREFIXES = ("BM.GPU", "VM.GPU")
"""What the name of every OCI GPU shape starts with (bare metal and VM)."""
