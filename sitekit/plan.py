"""A plan: what a site's program registered, as plain data (resources -> plan -> policy -> report)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

SECRET = "[secret]"
UNKNOWN = "[unknown]"


def provider_urn(ref: str | None) -> str | None:
    """The URN in a provider reference '<urn>::<id>'."""
    return ref.rsplit("::", 1)[0] if ref else None


@dataclass
class PlannedResource:
    """One registration: type token, logical name, engine-form inputs (secrets masked), options."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    inputs: dict[str, Any]
    protect: bool = False
    retain_on_delete: bool = False
    dependencies: list[str] = field(default_factory=list)
    ignore_changes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    secret_inputs: list[str] = field(default_factory=list)

    @property
    def provider_urn(self) -> str | None:
        """The URN of the resource's provider (a provider reference is '<urn>::<id>')."""
        return provider_urn(self.provider)


@dataclass
class Plan:
    site: str
    resources: list[PlannedResource]
    outputs: dict[str, Any]
    invokes: list[tuple[str, str | None]] = field(default_factory=list)
    """(token, provider reference) of every data-source call the program made."""

    def by_urn(self) -> dict[str, PlannedResource]:
        return {r.urn: r for r in self.resources}

    def of_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> PlannedResource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(r.type for r in self.resources).items()))

    def parent_of(self, res: PlannedResource) -> PlannedResource | None:
        return self.by_urn().get(res.parent) if res.parent else None

    def to_dict(self) -> dict[str, Any]:
        return {"site": self.site, "outputs": self.outputs, "counts": self.counts(),
                "resources": [asdict(r) for r in self.resources]}
