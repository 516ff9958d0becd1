"""Keys and identity rules: HSM keys with rotation, the jurisdiction's vault type, no `manage all-resources`
outside the Administrators group, the Administrators group out of reach, storage grants without deletes, no
API keys on instances, a strong password policy, and an IAM statement budget per compartment chain."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Iterator

from sitekit.oci.types import (
    AUTHENTICATION_POLICY,
    COMPARTMENT,
    DOMAINS_PASSWORD_POLICY,
    INSTANCE,
    INSTANCE_CONFIGURATION,
    KEY,
    NODE_POOL,
    OCI_PROVIDER,
    POLICY,
    VAULT,
)
from sitekit.policy.model import IAM_STATEMENT, Res, Stack, is_unknown, items, rule

TENANCY = r"(?:tenancy\b|compartment\s+id\s+'?ocid1\.tenancy\.)"
"""A statement's location when it is the tenancy: named as such or as its root compartment (the tenancy's own
OCID)."""
MANAGE_ALL = re.compile(r"^\s*allow\s+(?P<who>.+?)\s+to\s+manage\s+all-resources\s+in\s+" + TENANCY,
                        re.IGNORECASE)
"""`manage all-resources` in the tenancy."""
ADMINISTRATORS = re.compile(r"^group\s+(?:'?default'?/)?'?administrators'?$", re.IGNORECASE)


@rule("SK-KEY-001", "Keys are protected by an HSM", severity="high", level="mandatory", area="keys",
      types=(KEY,), remediation="Create keys with `protection_mode='HSM'` (the jurisdiction's vault.keyProtection).",
      anchor=("/jurisdiction", "vault", "keyProtection"))
def keys_in_hsm(res: Res, ctx) -> Iterator[str]:
    mode = res.get("protectionMode", "HSM")  # OCI's default
    if not is_unknown(mode) and mode != "HSM":
        yield f"key protection mode is {mode}"


@rule("SK-KEY-002", "Keys rotate automatically, at least yearly", severity="medium", level="mandatory",
      area="keys", types=(KEY,), cis="4.16", anchor=("rotationDays",),
      params={"maxKeyRotationDays": {"type": "integer", "minimum": 60, "maximum": 365}},
      remediation="Set `rotationDays` on the key (needs a VIRTUAL_PRIVATE vault); at most maxKeyRotationDays.")
def keys_rotate(res: Res, ctx) -> Iterator[str]:
    enabled = res.get("isAutoRotationEnabled", False)
    if is_unknown(enabled):
        return
    if enabled is not True:
        yield "key auto-rotation is off"
        return
    interval = res.get("autoKeyRotationDetails.rotationIntervalInDays")
    limit = ctx.param("maxKeyRotationDays") or 365
    if isinstance(interval, (int, float)) and interval > limit:
        yield f"key rotates every {interval:g} days (more than {limit:g})"


@rule("SK-KEY-003", "The vault has the type the jurisdiction requires", severity="high", level="mandatory",
      area="keys", types=(VAULT,), needs_site=True, anchor=("/jurisdiction", "vault", "type"),
      remediation="Create the vault with the jurisdiction's vault.type (changing it replaces the vault).")
def vault_type_as_required(res: Res, ctx) -> Iterator[str]:
    kind = res.get("vaultType", "DEFAULT")
    if not is_unknown(kind) and ctx.vault_type and kind != ctx.vault_type:
        yield f"vault type is {kind}; {ctx.jurisdiction_name or ctx.jurisdiction} requires {ctx.vault_type}"


@rule("SK-IAM-001", "No IAM statement grants `manage all-resources` in the tenancy", severity="critical",
      level="mandatory", area="identity", types=(POLICY,), cis="1.2", points_at=IAM_STATEMENT,
      remediation="Grant per-family permissions in the site's compartments; only the tenancy Administrators "
                  "group manages all-resources in the tenancy.")
def no_tenancy_wide_manage_all(res: Res, ctx) -> Iterator[str]:
    for i, statement in enumerate(items(res.get("statements"))):
        if not isinstance(statement, str) or is_unknown(statement):
            continue
        match = MANAGE_ALL.match(statement)
        if match and not ADMINISTRATORS.match(match.group("who").strip()):
            yield f"{IAM_STATEMENT(i)} grants {match.group('who')} manage all-resources in the tenancy"


def _chain_root(stack: Stack, res: Res) -> str:
    """The top of the compartment chain a resource lives in: the highest compartment of the stack above it,
    else the compartment id it names."""
    seen: set[str] = set()
    current = res
    while True:
        parents = [c for c in stack.deps(current, COMPARTMENT) if c.urn not in seen]
        if not parents:
            break
        current = parents[0]
        seen.add(current.urn)
    if current is res:
        value = res.get("compartmentId")
        return value if isinstance(value, str) else "?"
    return current.urn


@rule("SK-IAM-002", "IAM statements stay within the budget per compartment chain", severity="medium",
      level="mandatory", area="identity", stack=True, anchor=("/iam", "statementBudget"),
      params={"statementBudget": {"type": "integer", "minimum": 1}},
      remediation="Merge or drop statements, or raise iam.statementBudget within OCI's limits.")
def iam_statement_budget(stack: Stack, ctx) -> Iterator[tuple[Res | None, str]]:
    budget = ctx.param("statementBudget") or ctx.statement_budget
    chains: dict[str, list[tuple[Res, int]]] = {}
    for policy in stack.of_type(POLICY):
        statements = policy.get("statements")
        if is_unknown(statements):
            continue
        chains.setdefault(_chain_root(stack, policy), []).append((policy, len(items(statements))))
    for root, policies in chains.items():
        # policies attached above the chain's top compartment count in it too: at its parent (the compartment
        # id the top compartment names) or at the tenancy, the root compartment of every chain
        top = stack.by_urn.get(root)
        parent = top.get("compartmentId") if top is not None else None
        above = [n for key, found in chains.items()
                 if key != root and (key == parent or ctx.is_root_compartment(key)) for _, n in found]
        total = sum(n for _, n in policies) + sum(above)
        if total > budget:
            extra = f", {sum(above)} of them in policies above it" if above else ""
            yield policies[-1][0], (f"{total} statements in one compartment chain{extra} exceed the budget of "
                                    f"{budget:g}")


# ------------------------------------------------------------------------------------------ statements
STATEMENT = re.compile(
    r"^\s*allow\s+(?P<who>.+?)\s+to\s+(?P<verb>inspect|read|use|manage)\s+(?P<what>[\w-]+)\s+in\s+"
    r"(?P<where>tenancy|compartment\s+id\s+\S+|compartment\s+\S+)(?:\s+where\s+(?P<cond>.+?))?\s*$",
    re.IGNORECASE | re.DOTALL)
"""One IAM policy statement: `Allow <who> to <verb> <resource-type> in <location> [where <conditions>]`."""


def _statements(res: Res) -> Iterator[tuple[int, re.Match[str]]]:
    """(index, parsed statement) for every known statement of a policy that parses."""
    for i, statement in enumerate(items(res.get("statements"))):
        if isinstance(statement, str) and not is_unknown(statement):
            match = STATEMENT.match(statement)
            if match:
                yield i, match


def _administrators(who: str) -> bool:
    return bool(ADMINISTRATORS.match(who.strip()))


def _in_tenancy(where: str) -> bool:
    return bool(re.match(TENANCY, where.strip(), re.IGNORECASE))


def _flat(condition: str | None) -> str:
    """A statement's condition lower-cased without spaces or quotes, for matching `name!=value` forms."""
    return re.sub(r"[\s'\"]", "", condition or "").lower()


def _clauses(condition: str | None) -> tuple[str, list[str]]:
    """('all' | 'any', the condition's clauses, each flattened as `_flat` does). A condition without a top-level
    `all {...}` or `any {...}` is one clause; a clause nested in braces is kept whole."""
    flat = _flat(condition)
    match = re.fullmatch(r"(all|any)\{(.*)\}", flat)
    if not match:
        return "all", [flat] if flat else []
    body, depth, parts, start = match.group(2), 0, [], 0
    for i, char in enumerate(body):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return match.group(1), [p for p in parts if p]


def _enforced(condition: str | None) -> list[str]:
    """The clauses a request must each satisfy: all of an `all {...}` (or a lone clause), none of an `any {...}`
    of two or more, where one true clause lets the request through (storage managers "without delete" under
    `any` still delete)."""
    mode, clauses = _clauses(condition)
    return clauses if mode == "all" or len(clauses) == 1 else []


def _permissions(condition: str | None, operator: str) -> set[str]:
    """The permissions a statement's condition names with `operator`, upper-case: for '!=', those it excludes
    (clauses every request must satisfy); for '=', those it grants only, when the condition lets no other
    permission through (an `any` of nothing but `request.permission = ...`, or an enforced clause)."""
    pattern = re.compile(r"request\.permission" + re.escape(operator) + r"([a-z_]+)")
    if operator == "!=":
        return {m.group(1).upper() for c in _enforced(condition) if (m := pattern.fullmatch(c))}
    mode, clauses = _clauses(condition)
    granted = [pattern.fullmatch(c) for c in clauses]
    if mode == "any" and clauses and all(granted):
        return {m.group(1).upper() for m in granted}
    return {m.group(1).upper() for m in granted if m and mode == "all"}


@rule("SK-IAM-003", "Groups get per-service permissions, not `manage all-resources` in a compartment",
      severity="high", level="mandatory", area="identity", types=(POLICY,), cis="1.1", points_at=IAM_STATEMENT,
      remediation="Grant each group the families it administers (`manage instance-family`, `use "
                  "virtual-network-family`, ...) instead of `manage all-resources`.")
def per_service_admins(res: Res, ctx) -> Iterator[str]:
    for i, match in _statements(res):
        if match.group("verb").lower() == "manage" and match.group("what").lower() == "all-resources" \
                and not _in_tenancy(match.group("where")) and not _administrators(match.group("who")):
            yield f"{IAM_STATEMENT(i)} grants {match.group('who')} manage all-resources in {match.group('where')}"


ADMIN_REACH = {"groups", "users"}
"""What a group may use or manage in the tenancy to change the Administrators group: its membership (groups),
or its members' credentials and group memberships (users). `manage all-resources` in the tenancy is SK-IAM-001's."""


@rule("SK-IAM-004", "Whoever manages groups or users cannot change the Administrators group", severity="high",
      level="mandatory", area="identity", types=(POLICY,), cis="1.3", points_at=IAM_STATEMENT,
      remediation="Add `where target.group.name != 'Administrators'` to every statement that lets a group other "
                  "than Administrators use or manage groups or users (or use all-resources) in the tenancy.")
def administrators_group_guarded(res: Res, ctx) -> Iterator[str]:
    for i, match in _statements(res):
        verb, what = match.group("verb").lower(), match.group("what").lower()
        if not (verb in ("use", "manage") and what in ADMIN_REACH or (verb, what) == ("use", "all-resources")):
            continue
        if not _in_tenancy(match.group("where")) or _administrators(match.group("who")):
            continue
        if "target.group.name!=administrators" not in _enforced(match.group("cond")):
            yield (f"{IAM_STATEMENT(i)} lets {match.group('who')} {verb} {what} with no "
                   "`target.group.name != 'Administrators'` condition every request must meet")


STORAGE_DELETES: dict[str, tuple[str, ...]] = {
    "object-family": ("BUCKET_DELETE", "OBJECT_DELETE"),
    "buckets": ("BUCKET_DELETE",),
    "objects": ("OBJECT_DELETE",),
    "file-family": ("EXPORT_SET_DELETE", "MOUNT_TARGET_DELETE", "FILE_SYSTEM_DELETE", "FILE_SYSTEM_DELETE_SNAPSHOT"),
    "file-systems": ("FILE_SYSTEM_DELETE", "FILE_SYSTEM_DELETE_SNAPSHOT"),
    "mount-targets": ("MOUNT_TARGET_DELETE",),
    "volume-family": ("VOLUME_BACKUP_DELETE", "VOLUME_DELETE", "BOOT_VOLUME_BACKUP_DELETE"),
    "volumes": ("VOLUME_DELETE",),
    "volume-backups": ("VOLUME_BACKUP_DELETE",),
    "boot-volume-backups": ("BOOT_VOLUME_BACKUP_DELETE",),
}
"""CIS OCI 1.15: the delete permissions a storage `manage` grant must exclude, per resource type. Source:
oci-landing-zones/oci-cis-landingzone-quickstart scripts/cis_reports.py (`cis_iam_checks["1.15"]`, commit
450275c257138c96794c5fa7b6c16cb47568c4fa)."""


@rule("SK-IAM-005", "Storage managers cannot delete what they manage", severity="medium", level="mandatory",
      area="identity", types=(POLICY,), cis="1.15", points_at=IAM_STATEMENT,
      remediation="End each `manage` grant on a storage family with `where ALL {request.permission != "
                  "'BUCKET_DELETE', ...}` listing that family's delete permissions; deletion goes to a named "
                  "storage-admin group whose grant allows only the deletes (`where request.permission = "
                  "'BUCKET_DELETE'`), or stays with the tenancy administrators.")
def storage_admins_cannot_delete(res: Res, ctx) -> Iterator[str]:
    """A grant that allows only delete permissions (`request.permission = 'X'`) is the storage-admin group's,
    which CIS OCI 1.15 keeps apart from the managers; Oracle's compliance script accepts it too."""
    for i, match in _statements(res):
        what = match.group("what").lower()
        if match.group("verb").lower() != "manage" or what not in STORAGE_DELETES or _administrators(match.group("who")):
            continue
        deletes, condition = STORAGE_DELETES[what], match.group("cond")
        granted = _permissions(condition, "=")
        if granted and granted <= set(deletes):
            continue  # the named storage-admin grant: deletes only
        missing = [p for p in deletes if p not in _permissions(condition, "!=")]
        if missing:
            yield f"{IAM_STATEMENT(i)} lets {match.group('who')} manage {what} including {', '.join(missing)}"


@rule("SK-IAM-008", "Grants to any-user are bound to a principal", severity="high", level="mandatory",
      area="identity", types=(POLICY,), anchor=("/iam", "statements"),
      remediation="Give every `Allow any-user` statement a condition naming the principal; a workload identity "
                  "grant names the cluster too (`request.principal.cluster_id = '<cluster OCID>'`).")
def any_user_grants_bound(res: Res, ctx) -> Iterator[str]:
    """OKE workload identity matches a pod by namespace and service account, which any cluster in the tenancy
    can reproduce: OCI's documented form adds `request.principal.cluster_id` (Container Engine docs, "Granting
    Workloads Access to OCI Resources")."""
    for i, match in _statements(res):
        if match.group("who").strip().lower() != "any-user":
            continue
        flat = _flat(match.group("cond"))
        if not flat:
            yield f"statement {i} grants any-user with no condition: every principal of the tenancy"
        elif "request.principal.type=workload" in flat and "request.principal.cluster_id=" not in flat:
            yield (f"statement {i} grants Kubernetes workloads of any cluster (no `request.principal.cluster_id` "
                   "condition)")


PEM_KEY = re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")
OCI_CONFIG = re.compile(r"^\s*key_file\s*=", re.MULTILINE)


def _carries_key(value: Any) -> bool:
    """Whether a metadata value holds an API private key or an OCI CLI config pointing at one, as text or
    base64 (cloud-init user data)."""
    if not isinstance(value, str) or is_unknown(value):
        return False
    texts = [value]
    if value and len(value) % 4 == 0 and re.fullmatch(r"[A-Za-z0-9+/=]+", value):
        try:
            texts.append(base64.b64decode(value, validate=False).decode("utf-8", errors="ignore"))
        except (ValueError, binascii.Error):
            pass
    return any(PEM_KEY.search(t) or (OCI_CONFIG.search(t) and "fingerprint" in t) for t in texts)


METADATA_PATHS = {INSTANCE: ("metadata", "extendedMetadata"),
                  INSTANCE_CONFIGURATION: ("instanceDetails.launchDetails.metadata",
                                           "instanceDetails.launchDetails.extendedMetadata"),
                  NODE_POOL: ("nodeMetadata",)}


@rule("SK-IAM-006", "No API private keys on instances or in the provider configuration", severity="critical",
      level="mandatory", area="identity", types=(INSTANCE, INSTANCE_CONFIGURATION, NODE_POOL, OCI_PROVIDER),
      cis="1.14",
      remediation="Let workloads call OCI as instance principals (a dynamic group and a policy), never with a "
                  "user's API key in metadata or user data; run Pulumi with a config file profile or a security "
                  "token instead of `private_key` in the provider.")
def no_api_keys_on_instances(res: Res, ctx) -> Iterator[str]:
    if res.type == OCI_PROVIDER:
        for name in ("privateKey", "privateKeyPassword"):
            value = res.get(name)
            if value not in (None, "") and not is_unknown(value):
                yield f"the OCI provider configuration carries an API private key or its passphrase ({name})"
        return
    for path in METADATA_PATHS[res.type]:
        metadata = res.get(path)
        if not hasattr(metadata, "items"):
            continue
        for key, value in metadata.items():
            if _carries_key(value):
                yield f"{path}.{key} carries an API private key or an OCI config that points at one"


PASSWORD_KINDS = {"lowercase": ("isLowercaseCharactersRequired", "minLowerCase"),
                  "uppercase": ("isUppercaseCharactersRequired", "minUpperCase"),
                  "numeric": ("isNumericCharactersRequired", "minNumerals"),
                  "special": ("isSpecialCharactersRequired", "minSpecialChars")}
"""Kind of character -> (the legacy authentication policy's flag, the identity domain policy's minimum count)."""
NON_ALPHABETIC = ("numeric", "special")


def _password_settings(res: Res) -> tuple[Any, dict[str, Any]] | None:
    """(minimum length, kind -> required: True, False or None when not stated) of a password policy the stack
    declares; None when it declares none (an authentication policy that sets only, say, network sources)."""
    if res.type == DOMAINS_PASSWORD_POLICY:
        def required(count: Any) -> bool | None:
            if count is None or is_unknown(count):
                return None if count is None else True
            return isinstance(count, (int, float)) and count >= 1
        return res.get("minLength"), {k: required(res.get(m)) for k, (_, m) in PASSWORD_KINDS.items()}
    policy = res.get("passwordPolicy")
    if policy is None or is_unknown(policy):
        return None
    return (res.get("passwordPolicy.minimumPasswordLength"),
            {k: (None if (v := res.get(f"passwordPolicy.{flag}")) is None else v is True or is_unknown(v))
             for k, (flag, _) in PASSWORD_KINDS.items()})


@rule("SK-IAM-007", "Password policies ask for 14 characters and a non-alphabetic one", severity="medium",
      level="mandatory", area="identity", types=(AUTHENTICATION_POLICY, DOMAINS_PASSWORD_POLICY), cis="1.4",
      params={"passwordCharacterKinds": {"type": "array", "items": {"enum": sorted(PASSWORD_KINDS)}}},
      remediation="Set the identity domain's password policy (`minLength` >= 14 and `minNumerals` or "
                  "`minSpecialChars` >= 1), or the legacy `password_policy` (`minimum_password_length` >= 14 and "
                  "numeric or special characters required); a jurisdiction may ask for more kinds "
                  "(passwordCharacterKinds), with its basis.")
def password_policy_strong(res: Res, ctx) -> Iterator[str]:
    """CIS OCI 1.4 as CIS writes it: "at least 14 characters" and "at least one non-alphabetic character" (a
    numeral or a special character); asking also for each letter case is a stricter choice a jurisdiction may
    make (the passwordCharacterKinds parameter). Judged on the legacy authentication policy and on an identity
    domain's password policy (the CIS v3 remediation path). A policy the stack declares must state its length:
    one left out is whatever the tenancy had, which no review of the program can show to be CIS's."""
    settings = _password_settings(res)
    if settings is None:
        return
    length, kinds = settings
    field = "minLength" if res.type == DOMAINS_PASSWORD_POLICY else "minimumPasswordLength"
    if length is None:
        yield f"the password policy states no minimum length ({field}; CIS asks for at least 14)"
    elif isinstance(length, (int, float)) and not isinstance(length, bool) and length < 14:
        yield f"minimum password length is {length:g}, less than 14"
    if not any(kinds[k] for k in NON_ALPHABETIC):
        yield "the password policy requires no non-alphabetic character (numeric or special; CIS 1.4 asks for one)"
    for kind in ctx.param("passwordCharacterKinds") or ():
        if kind in kinds and not kinds[kind]:
            yield f"{kind} characters are not required (the jurisdiction asks for them)"
