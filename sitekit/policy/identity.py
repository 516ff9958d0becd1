"""Keys and identity rules: HSM keys with rotation, the jurisdiction's vault type, no tenancy-wide
`manage all-resources`, and an IAM statement budget per compartment chain."""

from __future__ import annotations

import re
from typing import Iterator

from .model import Res, Stack, is_unknown, items, rule
from .types import COMPARTMENT, KEY, POLICY, VAULT

MANAGE_ALL = re.compile(r"^\s*allow\s+(?P<who>.+?)\s+to\s+manage\s+all-resources\s+in\s+"
                        r"(?:tenancy\b|compartment\s+id\s+'?ocid1\.tenancy\.)", re.IGNORECASE)
"""`manage all-resources` in the tenancy, named as such or as its root compartment (the tenancy's own OCID)."""
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
      level="mandatory", area="identity", types=(POLICY,), cis="1.2", anchor=("/iam", "statements"),
      remediation="Grant per-family permissions in the site's compartments; only the tenancy Administrators "
                  "group manages all-resources in the tenancy.")
def no_tenancy_wide_manage_all(res: Res, ctx) -> Iterator[str]:
    for i, statement in enumerate(items(res.get("statements"))):
        if not isinstance(statement, str) or is_unknown(statement):
            continue
        match = MANAGE_ALL.match(statement)
        if match and not ADMINISTRATORS.match(match.group("who").strip()):
            yield f"statement {i} grants {match.group('who')} manage all-resources in the tenancy"


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
                 if key != root and (key == parent or key.startswith("ocid1.tenancy.")) for _, n in found]
        total = sum(n for _, n in policies) + sum(above)
        if total > budget:
            extra = f", {sum(above)} of them in policies above it" if above else ""
            yield policies[-1][0], (f"{total} statements in one compartment chain{extra} exceed the budget of "
                                    f"{budget:g}")
