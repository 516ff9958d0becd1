"""Where a project keeps its files: the baseline, the jurisdiction profiles, one stack file per site."""

from __future__ import annotations

from pathlib import Path

BASELINE = "stacks/baseline.yaml"


JURISDICTIONS = "stacks/jurisdictions"


def stack_file(stack: str) -> str:
    return f"stacks/Pulumi.{stack}.yaml"


def list_sites(root: Path) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (root / "stacks").glob("Pulumi.*.yaml"))


def list_jurisdictions(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / JURISDICTIONS).glob("*.yaml"))
