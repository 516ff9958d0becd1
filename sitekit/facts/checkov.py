"""What each Checkov OCI check inspects, and how it relates to sitekit's rules.

Source: bridgecrewio/checkov at commit 03d5fdad8d6154b1565799a7b1fb8070c158866f (2026-08-20), the files under
checkov/terraform/checks/resource/oci/, checkov/terraform/checks/graph_checks/oci/ and
checkov/terraform/checks/provider/oci/ (read for what each check inspects; none of its code is used here).

`relation` says how a sitekit rule stands to the check:
- "same": the rule judges the same setting to the same end, and fails every resource the check fails (it may
  read more places of that setting, or more resource types); the rule lists the id (docs/policies.md).
- "part": the rule and the check overlap but each fails resources the other passes; the id is not listed on the
  rule, and docs/policies.md names the overlap.
- "none": no sitekit rule judges what the check judges (why in `note`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

COMMIT = "03d5fdad8d6154b1565799a7b1fb8070c158866f"


@dataclass(frozen=True)
class CheckovCheck:
    id: str
    title: str
    inspects: str
    """The Terraform resource type (or provider) and the attribute the check reads."""
    relation: Literal["same", "part", "none"]
    rule: str | None
    note: str = ""


CHECKS: tuple[CheckovCheck, ...] = (
    CheckovCheck("CKV_OCI_1", "Ensure no hard coded OCI private key in provider",
                 "provider oci: private_key_password set", "same", "SK-IAM-006",
                 "SK-IAM-006 also fails a provider carrying private_key itself"),
    CheckovCheck("CKV_OCI_2", "Ensure OCI Block Storage Block Volume has backup enabled",
                 "oci_core_volume: backup_policy_id", "none", None,
                 "backup_policy_id is deprecated in pulumi_oci; backups are a volume backup policy assignment"),
    CheckovCheck("CKV_OCI_3", "OCI Block Storage Block Volumes are not encrypted with a Customer Managed Key",
                 "oci_core_volume: kms_key_id", "same", "SK-DATA-007",
                 "SK-DATA-007 also judges boot volumes, instance sources and node pools"),
    CheckovCheck("CKV_OCI_4", "Ensure OCI Compute Instance boot volume has in-transit data encryption enabled",
                 "oci_core_instance: launch_options.is_pv_encryption_in_transit_enabled", "part", "SK-DATA-008",
                 "Checkov reads only launch_options, which OCI deprecates at create; SK-DATA-008 accepts either "
                 "that or the launch field is_pv_encryption_in_transit_enabled, so Checkov fails instances "
                 "SK-DATA-008 passes"),
    CheckovCheck("CKV_OCI_5", "Ensure OCI Compute Instance has Legacy MetaData service endpoint disabled",
                 "oci_core_instance: instance_options.are_legacy_imds_endpoints_disabled", "same", "SK-CMP-001"),
    CheckovCheck("CKV_OCI_6", "Ensure OCI Compute Instance has monitoring enabled",
                 "oci_core_instance: agent_config.is_monitoring_disabled", "same", "SK-CMP-005",
                 "SK-CMP-005 also fails are_all_plugins_disabled"),
    CheckovCheck("CKV_OCI_7", "Ensure OCI Object Storage bucket can emit object events",
                 "oci_objectstorage_bucket: object_events_enabled", "same", "SK-DATA-004"),
    CheckovCheck("CKV_OCI_8", "Ensure OCI Object Storage has versioning enabled",
                 "oci_objectstorage_bucket: versioning", "same", "SK-DATA-002"),
    CheckovCheck("CKV_OCI_9", "Ensure OCI Object Storage is encrypted with Customer Managed Key",
                 "oci_objectstorage_bucket: kms_key_id", "same", "SK-DATA-003"),
    CheckovCheck("CKV_OCI_10", "Ensure OCI Object Storage is not Public",
                 "oci_objectstorage_bucket: access_type", "same", "SK-DATA-001"),
    CheckovCheck("CKV_OCI_11", "OCI IAM password policy - must contain lower case",
                 "oci_identity_authentication_policy: password_policy.is_lowercase_characters_required", "same",
                 "SK-IAM-007"),
    CheckovCheck("CKV_OCI_12", "OCI IAM password policy - must contain Numeric characters",
                 "oci_identity_authentication_policy: password_policy.is_numeric_characters_required", "same",
                 "SK-IAM-007"),
    CheckovCheck("CKV_OCI_13", "OCI IAM password policy - must contain Special characters",
                 "oci_identity_authentication_policy: password_policy.is_special_characters_required", "same",
                 "SK-IAM-007"),
    CheckovCheck("CKV_OCI_14", "OCI IAM password policy - must contain Uppercase characters",
                 "oci_identity_authentication_policy: password_policy.is_uppercase_characters_required", "same",
                 "SK-IAM-007"),
    CheckovCheck("CKV_OCI_15", "Ensure OCI File System is Encrypted with a customer Managed Key",
                 "oci_file_storage_file_system: kms_key_id", "same", "SK-DATA-006"),
    CheckovCheck("CKV_OCI_16", "Ensure VCN has an inbound security list",
                 "oci_core_security_list: ingress_security_rules present", "none", None,
                 "sitekit filters traffic with NSGs and keeps default security lists empty (SK-NET-008)"),
    CheckovCheck("CKV_OCI_17", "Ensure VCN inbound security lists are stateless",
                 "oci_core_security_list: ingress_security_rules.stateless", "none", None,
                 "a performance choice, not a CIS recommendation"),
    CheckovCheck("CKV_OCI_18", "OCI IAM password policy for local (non-federated) users has a minimum length of 14",
                 "oci_identity_authentication_policy: password_policy.minimum_password_length", "same",
                 "SK-IAM-007"),
    CheckovCheck("CKV_OCI_19", "Ensure no security list allow ingress from 0.0.0.0:0 to port 22",
                 "oci_core_security_list: ingress_security_rules source and tcp_options", "same", "SK-NET-001"),
    CheckovCheck("CKV_OCI_20", "Ensure no security list allow ingress from 0.0.0.0:0 to port 3389",
                 "oci_core_security_list: ingress_security_rules source and tcp_options", "same", "SK-NET-002"),
    CheckovCheck("CKV_OCI_21", "Ensure security group has stateless ingress security rules",
                 "oci_core_network_security_group_security_rule: stateless", "none", None,
                 "a performance choice, not a CIS recommendation"),
    CheckovCheck("CKV_OCI_22", "Ensure no security groups rules allow ingress from 0.0.0.0/0 to port 22",
                 "oci_core_network_security_group_security_rule: source and tcp_options", "same", "SK-NET-003"),
    CheckovCheck("CKV_OCI_23", "Ensure OCI Data Catalog is configured without overly permissive network access",
                 "oci_datacatalog_catalog: attached_catalog_private_endpoints", "none", None,
                 "sitekit declares no Data Catalog"),
    CheckovCheck("CKV2_OCI_1", "Ensure administrator users are not associated with API keys",
                 "oci_identity_user, oci_identity_api_key, Administrators group membership", "none", None,
                 "users and their API keys are tenancy administration, not part of a site"),
    CheckovCheck("CKV2_OCI_2", "Ensure NSG does not allow all traffic on RDP port (3389)",
                 "oci_core_network_security_group_security_rule: direction, source, protocol, tcp_options", "same",
                 "SK-NET-004"),
    CheckovCheck("CKV2_OCI_3", "Ensure Kubernetes engine cluster is configured with NSG(s)",
                 "oci_containerengine_cluster: endpoint_config.nsg_ids", "part", "SK-OKE-001",
                 "Checkov asks only for NSGs on the endpoint; SK-OKE-001 also asks for a private endpoint, so it "
                 "fails clusters Checkov passes"),
    CheckovCheck("CKV2_OCI_4", "Ensure File Storage File System access is restricted to root users",
                 "oci_file_storage_export: export_options with identity_squash ROOT and anonymous uid/gid 65534",
                 "none", None,
                 "not SK-DATA-009: Checkov passes an export that squashes nothing and only checks the anonymous ids of a ROOT "
                 "squash; SK-DATA-009 asks for the squash itself: they test different things"),
    CheckovCheck("CKV2_OCI_5", "Ensure Kubernetes Engine Cluster boot volume is configured with in-transit data "
                 "encryption", "oci_containerengine_node_pool: node_config_details.is_pv_encryption_in_transit_enabled",
                 "same", "SK-DATA-008"),
    CheckovCheck("CKV2_OCI_6", "Ensure Kubernetes Engine Cluster pod security policy is enforced",
                 "oci_containerengine_cluster: options.admission_controller_options.is_pod_security_policy_enabled",
                 "none", None, "Kubernetes removed PodSecurityPolicy in 1.25; OKE clusters of a site run 1.31"),
)
"""Every Checkov OCI check at the commit above."""


def same_as(rule_id: str) -> list[str]:
    """The Checkov ids whose check `rule_id` matches (relation "same"), in Checkov's order."""
    return [c.id for c in CHECKS if c.rule == rule_id and c.relation == "same"]


def overlapping(rule_id: str) -> list[CheckovCheck]:
    """The Checkov checks that only partly match `rule_id`."""
    return [c for c in CHECKS if c.rule == rule_id and c.relation == "part"]
