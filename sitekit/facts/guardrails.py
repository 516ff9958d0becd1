"""OCI facts the guardrails rest on (issue 21): the compute-core quota name of each GPU shape, and the
Oracle-managed Security Zone policies every sitekit recipe holds. Names to confirm in the tenancy (README,
"Guardrails the cloud enforces")."""

from __future__ import annotations

GPU_QUOTAS: dict[str, str] = {
    "BM.GPU.A100-v2.8": "gpu-a100-v2-count",
    "BM.GPU4.8": "gpu4-count",
    "BM.GPU.H100.8": "gpu-h100-count",
    "BM.GPU.H200.8": "gpu-h200-count",
    "BM.GPU.B200.8": "gpu-b200-count",
    "BM.GPU.GB200.4": "gpu-gb200-count",
    "BM.GPU.MI300X.8": "gpu-mi300x-count",
}
"""GPU shape -> its quota name in the compute-core family. NOT CONFIRMED (README, "Guardrails the cloud enforces"):
OCI's quota syntax page names compute-core quotas such as standard-e4-core-count but lists no GPU names here;
gpu-h100-count, gpu-a100-v2-count and gpu-b200-count appear only in third-party scripts, as Compute service limit
names. Check with `oci limits definition list --service-name compute` in a tenancy before relying on them."""

TAG_VALUE_MAX = 256
"""The longest value sitekit writes in an OCI tag: the 256 characters the spec already allows a defined tag's
value (spec/types.py TagValue), taken for freeform tags too (not confirmed in the shared OCI reference: README,
"Guardrails the cloud enforces"); a quota statement's basis is clipped to it."""

ZONE_POLICIES: tuple[str, ...] = (
    "deny public_buckets",
    "deny buckets_without_vault_key",
    "deny block_volume_without_vault_key",
    "deny boot_volume_without_vault_key",
    "deny file_system_without_vault_key",
    "deny public_subnets",
)
"""The Oracle-managed Security Zone policies of every recipe (no public buckets, no volume, file system or
bucket without a Vault key, no public subnet in the zone's compartments), by short name: the four `*_without_vault_key`
names and `public_buckets` as Oracle's landing-zone security-zones module (oci-landing-zones/terraform-oci-modules-
security, security-zones/main.tf) looks them up under `friendly_name`; `deny public_subnets` from OCI's "Security
Zone Policies" page (Deny Public Access), not seen in Oracle's code."""
