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
"""GPU shape -> its compute-core quota name (OCI docs, "Compute Quotas"; names of the newest shapes UNCERTAIN:
check with `oci limits quota ...` or the console's quota list before relying on them)."""

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
bucket without a Vault key, no public subnet in the zone's compartments), by display name."""
