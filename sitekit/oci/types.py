"""The pulumi-oci type tokens the rules look at (checked against pulumi_oci in tests/test_policy_pack.py)."""

from __future__ import annotations

VCN = "oci:Core/vcn:Vcn"
SUBNET = "oci:Core/subnet:Subnet"
SECURITY_LIST = "oci:Core/securityList:SecurityList"
DEFAULT_SECURITY_LIST = "oci:Core/defaultSecurityList:DefaultSecurityList"
NSG = "oci:Core/networkSecurityGroup:NetworkSecurityGroup"
NSG_RULE = "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule"
ROUTE_TABLE = "oci:Core/routeTable:RouteTable"
INTERNET_GATEWAY = "oci:Core/internetGateway:InternetGateway"
INSTANCE = "oci:Core/instance:Instance"
INSTANCE_CONFIGURATION = "oci:Core/instanceConfiguration:InstanceConfiguration"
VNIC_ATTACHMENT = "oci:Core/vnicAttachment:VnicAttachment"
PUBLIC_IP = "oci:Core/publicIp:PublicIp"
CLUSTER_NETWORK = "oci:Core/clusterNetwork:ClusterNetwork"
COMPUTE_CLUSTER = "oci:Core/computeCluster:ComputeCluster"
GPU_MEMORY_CLUSTER = "oci:Core/computeGpuMemoryCluster:ComputeGpuMemoryCluster"
VOLUME = "oci:Core/volume:Volume"
BOOT_VOLUME = "oci:Core/bootVolume:BootVolume"
LOAD_BALANCER = "oci:LoadBalancer/loadBalancer:LoadBalancer"
NETWORK_LOAD_BALANCER = "oci:NetworkLoadBalancer/networkLoadBalancer:NetworkLoadBalancer"
BUCKET = "oci:ObjectStorage/bucket:Bucket"
FILE_SYSTEM = "oci:FileStorage/fileSystem:FileSystem"
EXPORT = "oci:FileStorage/export:Export"
VAULT = "oci:Kms/vault:Vault"
KEY = "oci:Kms/key:Key"
POLICY = "oci:Identity/policy:Policy"
COMPARTMENT = "oci:Identity/compartment:Compartment"
TAG_NAMESPACE = "oci:Identity/tagNamespace:TagNamespace"
TAG = "oci:Identity/tag:Tag"
DYNAMIC_GROUP = "oci:Identity/dynamicGroup:DynamicGroup"
OKE_CLUSTER = "oci:ContainerEngine/cluster:Cluster"
NODE_POOL = "oci:ContainerEngine/nodePool:NodePool"
OKE_ADDON = "oci:ContainerEngine/addon:Addon"
LOG = "oci:Logging/log:Log"
AUDIT_CONFIGURATION = "oci:Audit/configuration:Configuration"
AUTHENTICATION_POLICY = "oci:Identity/authenticationPolicy:AuthenticationPolicy"
EVENT_RULE = "oci:Events/rule:Rule"
TOPIC = "oci:Ons/notificationTopic:NotificationTopic"
SUBSCRIPTION = "oci:Ons/subscription:Subscription"
CLOUD_GUARD_TARGET = "oci:CloudGuard/target:Target"
CLOUD_GUARD_CONFIGURATION = "oci:CloudGuard/cloudGuardConfiguration:CloudGuardConfiguration"
BASTION = "oci:Bastion/bastion:Bastion"
INTEGRATION_INSTANCE = "oci:Integration/integrationInstance:IntegrationInstance"
ANALYTICS_INSTANCE = "oci:Analytics/analyticsInstance:AnalyticsInstance"
AUTONOMOUS_DATABASE = "oci:Database/autonomousDatabase:AutonomousDatabase"
OCI_PROVIDER = "pulumi:providers:oci"

TAGGABLE = frozenset({
    VCN, SUBNET, SECURITY_LIST, DEFAULT_SECURITY_LIST, NSG, ROUTE_TABLE, INTERNET_GATEWAY, INSTANCE,
    INSTANCE_CONFIGURATION, CLUSTER_NETWORK, COMPUTE_CLUSTER, GPU_MEMORY_CLUSTER, VOLUME, BOOT_VOLUME,
    LOAD_BALANCER, NETWORK_LOAD_BALANCER, BUCKET, FILE_SYSTEM, VAULT, KEY, POLICY, COMPARTMENT, DYNAMIC_GROUP,
    OKE_CLUSTER, NODE_POOL, LOG,
    "oci:Core/drg:Drg", "oci:Core/drgAttachment:DrgAttachment", "oci:Core/natGateway:NatGateway",
    "oci:Core/serviceGateway:ServiceGateway", "oci:FileStorage/mountTarget:MountTarget",
    "oci:Logging/logGroup:LogGroup", "oci:Ons/notificationTopic:NotificationTopic", "oci:Ons/subscription:Subscription",
    "oci:Events/rule:Rule", "oci:CloudGuard/target:Target", BASTION, INTEGRATION_INSTANCE, ANALYTICS_INSTANCE,
    AUTONOMOUS_DATABASE, "oci:Core/remotePeeringConnection:RemotePeeringConnection",
    "oci:Core/drgAttachmentManagement:DrgAttachmentManagement", "oci:Core/drgRouteTable:DrgRouteTable",
    "oci:Core/drgRouteDistribution:DrgRouteDistribution",
})
"""Types whose pulumi-oci resource takes `definedTags` and which a site must tag.

The tag namespace and its tag definitions are left out: they cannot carry tags of the namespace they create."""

STATEFUL = frozenset({BUCKET, FILE_SYSTEM, VOLUME, BOOT_VOLUME, VAULT, KEY, COMPARTMENT})
"""Types whose deletion loses data or keys: they must be protected (`protect=True`)."""

IAM_TYPES = frozenset({COMPARTMENT, POLICY, TAG_NAMESPACE, TAG, DYNAMIC_GROUP, AUTHENTICATION_POLICY,
                       "oci:Identity/group:Group", "oci:Identity/user:User"})
"""IAM objects: tenancy metadata written in the home region, not site data (exempt from residency)."""

TENANCY_SETTINGS = frozenset({AUDIT_CONFIGURATION, AUTHENTICATION_POLICY, CLOUD_GUARD_CONFIGURATION})
"""Tenancy-wide settings, which OCI keys by the tenancy (root compartment) id: they live nowhere else."""

HOME_CONTROL_PLANE = frozenset({"oci:CloudGuard/target:Target", "oci:Events/rule:Rule",
                                "oci:Ons/notificationTopic:NotificationTopic", "oci:Ons/subscription:Subscription"})
"""Control-plane objects a site keeps in its home region because OCI serves them only there (IAM events,
Cloud Guard's reporting region): alerts and configuration, no site data; exempt from residency there only."""

GPU_SHAPE_PREFIXES = ("BM.GPU", "VM.GPU")
REMOTE_PEERING_CONNECTION = "oci:Core/remotePeeringConnection:RemotePeeringConnection"
DRG_ATTACHMENT = "oci:Core/drgAttachment:DrgAttachment"
DRG_ATTACHMENT_MANAGEMENT = "oci:Core/drgAttachmentManagement:DrgAttachmentManagement"
DRG_ROUTE_TABLE = "oci:Core/drgRouteTable:DrgRouteTable"
DRG_ROUTE_DISTRIBUTION = "oci:Core/drgRouteDistribution:DrgRouteDistribution"
DRG_ROUTE_DISTRIBUTION_STATEMENT = "oci:Core/drgRouteDistributionStatement:DrgRouteDistributionStatement"
