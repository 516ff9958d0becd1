"""Data rules: private, versioned, encrypted and logged buckets; customer-managed keys on file systems and
volumes; encryption in transit; file-storage exports that squash root; no secrets in Functions configuration."""

from __future__ import annotations

import re
from typing import Iterator

from sitekit.oci.types import (
    BOOT_VOLUME,
    BUCKET,
    EXPORT,
    FILE_SYSTEM,
    FUNCTION,
    FUNCTIONS_APPLICATION,
    INSTANCE,
    INSTANCE_CONFIGURATION,
    LOG,
    NODE_POOL,
    VOLUME,
)
from sitekit.policy.model import Res, Stack, get, is_unknown, items, rule

LAUNCH = "instanceDetails.launchDetails"


def _has_key(value) -> bool:
    """A KMS key reference is set: a known non-empty id, or an unknown one (a key created in the same run)."""
    return is_unknown(value) or (isinstance(value, str) and value != "")


@rule("SK-DATA-001", "Buckets are private", severity="critical", level="mandatory", area="data", types=(BUCKET,),
      cis="5.1.1", remediation="Set `access_type='NoPublicAccess'`; share objects with "
                                                 "pre-authenticated requests instead.")
def buckets_are_private(res: Res, ctx) -> Iterator[str]:
    access = res.get("accessType", "NoPublicAccess")  # OCI's default
    if not is_unknown(access) and access != "NoPublicAccess":
        yield f"bucket access type is {access}"


@rule("SK-DATA-002", "Buckets are versioned", severity="medium", level="mandatory", area="data", types=(BUCKET,),
      cis="5.1.3", remediation="Set `versioning='Enabled'` on the bucket.")
def buckets_are_versioned(res: Res, ctx) -> Iterator[str]:
    versioning = res.get("versioning", "Disabled")
    if not is_unknown(versioning) and versioning != "Enabled":
        yield f"bucket versioning is {versioning}"


@rule("SK-DATA-003", "Buckets are encrypted with a customer-managed key", severity="high", level="mandatory",
      area="data", types=(BUCKET,), cis="5.1.2", anchor=("key",),
      remediation="Set the bucket's `kms_key_id` to a key of the site vault (spec: storage.buckets[].key).")
def buckets_use_customer_keys(res: Res, ctx) -> Iterator[str]:
    if not _has_key(res.get("kmsKeyId")):
        yield "bucket has no customer-managed key (kmsKeyId)"


@rule("SK-DATA-004", "Buckets emit object events", severity="low", level="advisory", area="data", types=(BUCKET,), remediation="Set `object_events_enabled=True` so object changes reach the Events service.")
def buckets_emit_object_events(res: Res, ctx) -> Iterator[str]:
    enabled = res.get("objectEventsEnabled", False)
    if not is_unknown(enabled) and enabled is not True:
        yield "bucket does not emit object events"


@rule("SK-DATA-005", "Every bucket has a write-level Object Storage log", severity="medium", level="advisory",
      area="data", stack=True, cis="4.17",
      remediation="Declare an OCI Logging service log (service 'objectstorage', category 'write') per bucket.")
def buckets_have_write_logs(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    logs = [log for log in stack.of_type(LOG) if log.get("configuration.source.service") == "objectstorage"
            and log.get("configuration.source.category") == "write" and log.get("isEnabled") is not False]
    for bucket in stack.of_type(BUCKET):
        name = bucket.get("name")
        if not any(bucket.urn in log.dependencies or (name and log.get("configuration.source.resource") == name)
                   for log in logs):
            yield bucket, f"bucket {name or bucket.name} has no write log"


@rule("SK-DATA-006", "File systems are encrypted with a customer-managed key", severity="high", level="mandatory",
      area="data", types=(FILE_SYSTEM,), cis="5.3.1", anchor=("key",),
      remediation="Set the file system's `kms_key_id` to a key of the site vault.")
def file_systems_use_customer_keys(res: Res, ctx) -> Iterator[str]:
    if not _has_key(res.get("kmsKeyId")):
        yield "file system has no customer-managed key (kmsKeyId)"


@rule("SK-DATA-007", "Block and boot volumes are encrypted with a customer-managed key", severity="high",
      level="mandatory", area="data", types=(VOLUME, BOOT_VOLUME, INSTANCE, INSTANCE_CONFIGURATION, NODE_POOL),
      cis="5.2.1, 5.2.2", anchor=("key",),
      remediation="Set `kms_key_id` on volumes, on instance source details that boot from an image and on node "
                  "pools' node config.")
def volumes_use_customer_keys(res: Res, ctx) -> Iterator[str]:
    """An instance that boots from an existing boot volume (`sourceType: bootVolume`) takes that volume's key:
    there is no key to set on its source, and the volume itself is judged where it is declared."""
    source = {INSTANCE: "sourceDetails", INSTANCE_CONFIGURATION: f"{LAUNCH}.sourceDetails"}.get(res.type)
    if res.type == INSTANCE_CONFIGURATION and res.get("instanceDetails.instanceType", "compute") != "compute":
        return
    if source is not None:
        kind = res.get(f"{source}.sourceType", "image")
        if is_unknown(kind) or str(kind).lower() == "bootvolume":
            return
    path = f"{source}.kmsKeyId" if source else {NODE_POOL: "nodeConfigDetails.kmsKeyId"}.get(res.type, "kmsKeyId")
    if not _has_key(res.get(path)):
        yield f"no customer-managed key at {path}"


IN_TRANSIT = {INSTANCE: ("isPvEncryptionInTransitEnabled", "launchOptions.isPvEncryptionInTransitEnabled"),
              INSTANCE_CONFIGURATION: (f"{LAUNCH}.isPvEncryptionInTransitEnabled",
                                       f"{LAUNCH}.launchOptions.isPvEncryptionInTransitEnabled"),
              NODE_POOL: ("nodeConfigDetails.isPvEncryptionInTransitEnabled",)}
"""Where each type states in-transit encryption: at launch, or in the launch options (the field OCI reads on
update, and the one older configurations and Checkov's CKV_OCI_4 use); either being true is enough."""


@rule("SK-DATA-008", "In-transit encryption on instances and node pools", severity="medium", level="mandatory",
      area="data", types=(INSTANCE, INSTANCE_CONFIGURATION, NODE_POOL), cis="3.3",
      remediation="Set `is_pv_encryption_in_transit_enabled=True` (instances, launch details, node config).")
def in_transit_encryption(res: Res, ctx) -> Iterator[str]:
    if res.type == INSTANCE_CONFIGURATION and res.get("instanceDetails.instanceType", "compute") != "compute":
        return
    values = [res.get(path, False) for path in IN_TRANSIT[res.type]]
    if any(v is True or is_unknown(v) for v in values):
        return
    yield f"{' and '.join(IN_TRANSIT[res.type])} {'are' if len(values) > 1 else 'is'} not true"


@rule("SK-DATA-009", "File-storage exports squash root and stay inside the site", severity="medium",
      level="mandatory", area="data", types=(EXPORT,),
      remediation="Give every export option `identity_squash='ROOT'` (or 'ALL') and a source inside the site's "
                  "supernet.")
def exports_squash_root(res: Res, ctx) -> Iterator[str]:
    options = res.get("exportOptions")
    if is_unknown(options):
        return
    if not items(options):
        yield "export has no export options: OCI then allows every client with root access"
    for i, option in enumerate(items(options)):
        squash = get(option, "identitySquash", "NONE")
        if not is_unknown(squash) and squash not in ("ROOT", "ALL"):
            yield f"export option {i} does not squash root (identitySquash {squash})"
        if get(option, "source") in ("0.0.0.0/0", "::/0"):
            yield f"export option {i} admits any source"


SECRET_NAME = re.compile(r"pass(?:word|wd|phrase)?|secret|token|api_?key|private_?key|credential|signing_?key"
                         r"|client_?secret|conn(?:ection)?_?str", re.IGNORECASE)
"""Configuration keys whose value is a secret when written in clear (normalised: `-` and `.` read as `_`)."""
PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")
REFERENCE = re.compile(r"^ocid1\.[a-z0-9]+\.")
"""A value that names an OCI object (the Vault secret's OCID) instead of holding the secret."""


@rule("SK-DATA-010", "No secrets in clear in Functions configuration", severity="high", level="mandatory",
      area="data", types=(FUNCTIONS_APPLICATION, FUNCTION),
      remediation="Keep the secret in the site vault and put its OCID in the configuration (e.g. "
                  "`DB_PASSWORD_SECRET_OCID`); the function reads it at run time as a resource principal.")
def functions_config_has_no_secrets(res: Res, ctx) -> Iterator[str]:
    """CIS OCI names Functions among the services whose secrets belong in Vault: an application's or a
    function's `config` is plain key-value text, shown to anyone who may read the function. A key named like a
    secret whose value is not an OCID, or any value holding a private key, is a secret in clear; an unknown
    value (computed by the program, such as a secret's OCID) is not judged."""
    config = res.get("config")
    if not hasattr(config, "items"):
        return
    for key, value in config.items():
        if not isinstance(value, str) or is_unknown(value) or not value.strip():
            continue
        if PRIVATE_KEY.search(value):
            yield f"config.{key} holds a private key"
        elif SECRET_NAME.search(re.sub(r"[-.]", "_", key)) and not REFERENCE.match(value.strip()):
            yield f"config.{key} looks like a secret written in clear (not a Vault secret's OCID)"
