"""A loaded site: the validated spec, the merged data and where every value came from (the loader's result)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sitekit.naming import item_key
from sitekit.spec.catalog import Catalog
from sitekit.spec.merge import Origin
from sitekit.spec.models import SiteSpec
from sitekit.spec.sources import PathKey


@dataclass
class LoadedSite:
    """A validated site: the typed spec, the merged data and where every value came from."""

    spec: SiteSpec
    data: dict[str, Any]
    provenance: dict[PathKey, Origin]
    catalog: Catalog
    root: Path
    peers: list[Any] = field(default_factory=list)
    """The site's links to its peers (`peering.PeerLink`), validated with the fleet."""
    crossing: dict[str, str] = field(default_factory=dict)
    """Public region outside the residency regions -> the jurisdiction whose residency lists it, for the
    jurisdictions the profile's cross-border list opens to the site's data class (`Residency.crossing`): where the
    site's data may be without a transfer mechanism, besides its residency regions. Set by the loader."""

    def origin(self, path: PathKey) -> Origin | None:
        """The origin of `path`, or of its nearest ancestor that has one."""
        return origin_in(self.provenance, path)

    @property
    def name(self) -> str:
        return self.spec.site.name

    def items(self, path: PathKey) -> dict[str, str | int]:
        """The items of the spec list at `path` (camelCase keys, list items by name, or by index when they have
        none), by the key each gives logical names (`naming.item_key`), with the part that addresses it in a
        path; {} when `path` is no list of the spec. What `naming.spec_path` reads a name's key against."""
        node: Any = self.spec
        for part in path:
            if isinstance(node, BaseModel):
                fields = {f.alias or n: n for n, f in type(node).model_fields.items()}
                node = getattr(node, fields[part]) if part in fields else None
            elif isinstance(node, (list, tuple)):
                node = next((item for i, item in enumerate(node) if _address(item, i) == part), None)
            else:
                return {}
        if not isinstance(node, (list, tuple)):
            return {}
        keyed = ((item_key(item), _address(item, i)) for i, item in enumerate(node))
        return {key: address for key, address in keyed if key is not None}


def _address(item: Any, index: int) -> str | int:
    """How a spec path addresses a list item: by its name, else by its index."""
    name = getattr(item, "name", None)
    return name if isinstance(name, str) else index


def origin_in(prov: dict[PathKey, Origin], path: PathKey) -> Origin | None:
    """The origin of `path` or of its nearest ancestor that has one (the root's, last)."""
    while path:
        if path in prov:
            return prov[path]
        path = path[:-1]
    return prov.get(())
