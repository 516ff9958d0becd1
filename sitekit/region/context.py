"""What the components share: the validated site, its providers, compartments and defined tags."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Any

import pulumi

from sitekit import naming
from sitekit.planners import carve
from sitekit.region.bootstrap import node_metadata
from sitekit.spec.loaded import LoadedSite

# Defined-tag keys in the site's tag namespace, set on every resource.
TAG_KEYS = ("site", "jurisdiction", "data-classification", "applicable-law", "cost-centre")

NODE_ROLE = "node-role"
"""Defined-tag key the bare-metal GPU nodes carry (value GPU_ROLE, set in their instance configurations' launch
details): the GPU nodes' dynamic group matches it, so OKE serving nodes in the same compartment stay out."""

GPU_ROLE = "gpu"

DEFINED_TAG_KEYS = TAG_KEYS + (NODE_ROLE,)
"""Every key the site's tag namespace defines."""


@dataclass
class SiteContext:
    site: LoadedSite
    compartments: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    tag_definitions: list[pulumi.Resource] = field(default_factory=list)
    key_grants: list[pulumi.Resource] = field(default_factory=list)
    """What must exist before a service uses the site's keys (the IAM policy that allows it)."""
    subnets: dict[tuple[str, str], Any] = field(default_factory=dict)
    nsgs: dict[str, Any] = field(default_factory=dict)
    vcns: dict[str, Any] = field(default_factory=dict)
    drg: Any = None
    drg_attachments: dict[str, Any] = field(default_factory=dict)
    """Each network's DRG attachment, by network name (peering imports routes from the peered ones)."""
    keys: dict[str, Any] = field(default_factory=dict)
    alert_endpoint: pulumi.Output[str] | None = None
    home_provider: pulumi.ProviderResource | None = None
    """The home-region provider: IAM objects, and the control-plane objects OCI serves only there."""

    @property
    def spec(self):
        return self.site.spec

    @property
    def name(self) -> str:
        return self.spec.site.name

    def logical(self, kind: naming.Kind, *keys: str) -> str:
        """A child's logical name, '<site>-<kind>-<key>...', through the table of kinds (naming.Kind)."""
        return naming.logical(self.name, kind, *keys)

    def display(self, *keys: str) -> str:
        return naming.display(self.spec.organisation.name, self.name, *keys)

    @property
    def tag_namespace(self) -> str:
        return f"{self.spec.tags.namespace}-{self.name}"

    @property
    def defined_tags(self) -> dict[str, str]:
        j = self.spec.jurisdiction
        values = (self.name, j.code, j.tags.data_classification, j.tags.applicable_law, self.spec.tags.cost_centre)
        return {f"{self.tag_namespace}.{k}": v for k, v in zip(TAG_KEYS, values)}

    @property
    def node_role_tag(self) -> str:
        """The node-role defined tag's full name, '<namespace>.node-role'."""
        return f"{self.tag_namespace}.{NODE_ROLE}"

    @property
    def gpu_node_tags(self) -> dict[str, str]:
        """The defined tags of a bare-metal GPU node: the site's, and node-role gpu."""
        return {**self.defined_tags, self.node_role_tag: GPU_ROLE}

    def opts(self, parent: pulumi.Resource, *, protect: bool = False, retain: bool = False,
             depends_on: list[pulumi.Resource] | None = None,
             former: list[str] | None = None) -> pulumi.ResourceOptions:
        """Child options: parented, after the tag definitions exist, protected when stateful; `former` logical
        names become aliases, so a rename keeps the resource."""
        return pulumi.ResourceOptions(
            parent=parent, protect=protect or None, retain_on_delete=retain or None,
            depends_on=list(self.tag_definitions) + list(depends_on or []),
            aliases=[pulumi.Alias(name=n) for n in former] if former else None)

    def former(self, kind: naming.Kind, pool) -> list[str]:
        """The logical names a pool's resource of `kind` had under the pool's former names."""
        return [self.logical(kind, old) for old in pool.former_names]

    def network_cidr(self, network: str) -> IPv4Network:
        return self.spec.site.address_plan.networks[network]

    def subnet_cidrs(self, network: str) -> dict[str, IPv4Network]:
        net = next(n for n in self.spec.network.networks if n.name == network)
        return carve(self.network_cidr(network), [(s.name, s.prefix) for s in net.subnets])

    def peer_cidr(self, peer: str) -> str:
        """A rule peer as a CIDR: a network's range, or the CIDR itself."""
        if peer in self.spec.site.address_plan.networks:
            return str(self.network_cidr(peer))
        return peer

    def node_metadata(self, pool: Any) -> dict[str, str]:
        """Instance metadata for a pool's nodes: {'user_data': base64 cloud-init} rendered from the site's
        bootstrap template (see sitekit/region/bootstrap.py)."""

        return node_metadata(self.site, pool)
