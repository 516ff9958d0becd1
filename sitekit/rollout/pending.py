"""Pending operations: what an interrupted update (the CLI killed while a resource was being created, updated
or deleted) leaves in a stack's state. Found in `pulumi stack export` before any new update of the stack,
reported one per line with its exact remedy, never cleared by sitekit.

The remedies (checked under the pinned CLI, tests/engine/test_rollout_engine.py), after making sure no update of
the stack is still running:
- the killed CLI's lock (a self-managed backend keeps it; pulumi says "the stack is currently locked"):
  `pulumi cancel -s SITE --yes` removes it;
- creating: the resource may or may not exist in OCI. If it does, import it into the state with
  `pulumi refresh -s SITE --yes --import-pending-creates URN=OCID`; if it does not,
  `pulumi refresh -s SITE --yes --clear-pending-creates`.
- updating, deleting, reading, importing: `pulumi refresh -s SITE --yes` reads the resource's real state
  and drops the pending operation.
Then `sitekit rollout run --resume`. A refresh never deletes a protected resource from the cloud (it only
reads), and sitekit never runs one on its own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pending:
    site: str
    urn: str
    op: str  # creating | updating | deleting | reading | importing

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    def remedy(self) -> str:
        if self.op == "creating":
            return (f"if it exists in OCI, `pulumi refresh -s {self.site} --yes --import-pending-creates "
                    f"'{self.urn}=<its OCID>'`; if not, `pulumi refresh -s {self.site} --yes --clear-pending-creates`")
        return f"`pulumi refresh -s {self.site} --yes` (reads its real state and drops the pending operation)"

    def line(self) -> str:
        return (f"rollout: {self.site}: {self.name} was left {self.op} by an interrupted update ({self.urn}); "
                f"when no update of {self.site} is running: `pulumi cancel -s {self.site} --yes` (the lock the "
                f"interrupted CLI left, if any); check the resource in OCI, then {self.remedy()}; then `sitekit "
                "rollout run --resume`")


def pending_operations(site: str, export: dict) -> list[Pending]:
    """The pending operations of a `pulumi stack export` document (an empty stack has none)."""
    deployment = (export or {}).get("deployment") or {}
    out = []
    for op in deployment.get("pending_operations") or []:
        resource = op.get("resource") or {}
        out.append(Pending(site, str(resource.get("urn", "?")), str(op.get("type", "?"))))
    return out
