"""A loaded site: the validated spec, the merged data and where every value came from (the loader's result)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

    def origin(self, path: PathKey) -> Origin | None:
        """The origin of `path`, or of its nearest ancestor that has one."""
        return origin_in(self.provenance, path)

    @property
    def name(self) -> str:
        return self.spec.site.name


def origin_in(prov: dict[PathKey, Origin], path: PathKey) -> Origin | None:
    """The origin of `path` or of its nearest ancestor that has one (the root's, last)."""
    while path:
        if path in prov:
            return prov[path]
        path = path[:-1]
    return prov.get(())
