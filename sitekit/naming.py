"""Names: Pulumi logical names, OCI display names and DNS labels, built in one place.

Logical names derive from the site and data keys (never list positions), so reordering data never
renames a resource. Display names are for people; DNS labels follow OCI's rule: letters and digits only,
starting with a letter, at most 15 characters.

`Kind` is the one table of logical-name kinds. The components build every name through it
(`logical(site, Kind.VCN, net.name)`), and whatever reads a name back (the policy runner, to point a finding at
the spec line a resource came from) reads it through the same rows: `read` and `spec_path`.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum
from typing import Any, Callable, Mapping, NamedTuple

SpecPath = tuple[str | int, ...]

Children = Callable[[SpecPath], Mapping[str, str | int]]
"""The items of the site's spec list at a path, by the key each gives logical names (`item_key`), with the
part that addresses the item in a spec path (its name, or its index for an item that has none); {} when the
path is no list (`LoadedSite.items`)."""


def logical(site: str, kind: str, *keys: str) -> str:
    """The Pulumi logical name of a child: '<site>-<kind>-<key>...' (`kind` a `Kind`)."""
    return "-".join((site, kind) + keys)


class Kind(StrEnum):
    """Every kind of logical name, '<site>-<kind>[-<key>...]': its word in the name, and the spec item its key
    names.

    `spec` is a dotted spec path, `<...>` standing for an item of the list before it, named by the next part of
    the key (an NSG rule by its `rule_key`). A path without `<...>` is the kind's whatever key follows (the
    site's tags, whichever tag). None: the kind has no spec item (a component; a site-level singleton sitekit
    adds on its own; a key that is not spec data, such as a peer site). `partial`: the key may stop short of
    the path or go on past what the spec names, and the deepest item named is the answer.

    Reading a name back, the longest kind word wins: '<site>-bucket-log-x' is the log of bucket 'x', never
    bucket 'log-x'; a name whose key names no item of the site reads as no spec item at all.
    """

    spec: str | None
    partial: bool

    def __new__(cls, word: str, spec: str | None = None, partial: bool = False) -> "Kind":
        member = str.__new__(cls, word)
        member._value_ = word
        member.spec = spec
        member.partial = partial
        return member

    # the components of a site's AiRegion (the root component is named after the site alone): no spec item
    FOUNDATION = "foundation"
    NETWORK = "network"
    PEERING = "peering"
    SECURITY = "security"
    COMPUTE = "compute"
    STORAGE = "storage"

    # foundation
    TAG_NAMESPACE = "tag-namespace", "tags.namespace"
    TAG = "tag", "tags"                                      # key: a defined-tag key (region.context.TAG_KEYS)
    COMPARTMENT = "compartment", "site.parentCompartmentId"  # no key: the site's; key: one of CHILD_COMPARTMENTS
    DYNAMIC_GROUP = "dynamic-group"                          # key 'gpu-nodes'; site-level, no spec item
    POLICY = "policy", "iam.statements"                      # no key: the site policy; 'oke': its {cluster} grants

    # network
    DRG = "drg"                                              # site-level singleton, no spec item
    FLOW_LOGS = "flow-logs", "network"                       # the flow logs' log group
    VCN = "vcn", "network.networks.<network>"
    DEFAULT_SECURITY_LIST = "default-security-list", "network.networks.<network>"
    DRG_ATTACHMENT = "drg-attachment", "network.networks.<network>"
    IGW = "igw", "network.networks.<network>"
    NAT = "nat", "network.networks.<network>"
    SGW = "sgw", "network.networks.<network>"
    ROUTES = "routes", "network.networks.<network>"
    SUBNET = "subnet", "network.networks.<network>.subnets.<subnet>"
    FLOW_LOG = "flow-log", "network.networks.<network>.subnets.<subnet>"
    NSG = "nsg", "network.nsgs.<nsg>.rules.<rule>", True     # '<nsg>', '<nsg>-<rule key>', '<nsg>-peer-<site>-...'
    DRG_IMPORT = "drg-import"                                # key: internal | peered | to-peers [-<what it takes>]
    DRG_ROUTES = "drg-routes"                                # key: internal | peered | to-peers

    # peering: keys are peer sites (the sitekit:peers stack key, not the spec)
    PEER_STACK = "peer-stack"
    RPC = "rpc"
    RPC_ATTACHMENT = "rpc-attachment"

    # security
    VAULT = "vault", "jurisdiction.vault"
    KEY = "key", "security.keys.<key>"
    SECURITY_LOGS = "security-logs"                          # site-level singleton, no spec item
    ALERTS = "alerts"                                        # the alert topic; key 'subscription': its subscription
    ALERTS_HOME = "alerts-home"                              # the same, in the home region
    EVENT = "event", "security.events"                       # key: an event category
    CLOUD_GUARD = "cloud-guard", "security.cloudGuard"
    BASTION = "bastion", "security.bastion"

    # guardrails (issue 21): what OCI enforces; planned from the jurisdiction and the pools (spec/guardrails.py)
    GUARDRAILS = "guardrails"
    QUOTA = "quota", "jurisdiction.residency"                # site-level singleton: its statements
    ZONE_RECIPE = "zone-recipe", "jurisdiction"              # key: the jurisdiction code
    ZONE = "zone"                                            # key: the compartment it covers; no spec item

    # compute
    # key: the pool, then '-block-<n>' from a pool's second fabric block on (`block_key`)
    INSTANCE_CONFIG = "instance-config", "compute.pools.<pool>", True
    CLUSTER_NETWORK = "cluster-network", "compute.pools.<pool>", True
    COMPUTE_CLUSTER = "compute-cluster", "compute.pools.<pool>", True
    GPU_MEMORY_CLUSTER = "gpu-memory-cluster", "compute.pools.<pool>", True
    CAPACITY_RESERVATION = "capacity-reservation", "compute.pools.<pool>"  # a pool's declared reservation
    NODE_POOL = "node-pool", "compute.pools.<pool>"
    OKE = "oke", "compute.oke"
    OKE_AUTOSCALER = "oke-autoscaler", "compute.pools"       # it resizes every autoscaled pool

    # storage
    FS = "fs", "storage.fileSystems.<fs>"
    MOUNT_TARGET = "mount-target", "storage.fileSystems.<fs>"
    EXPORT = "export", "storage.fileSystems.<fs>"
    STORAGE_LOGS = "storage-logs"                            # site-level singleton, no spec item
    BUCKET = "bucket", "storage.buckets.<bucket>"
    BUCKET_LOG = "bucket-log", "storage.buckets.<bucket>"

    def spec_path(self, key: str | None, children: Children) -> SpecPath | None:
        """The spec item a name of this kind with `key` was declared from; None when the kind has none or the
        key names no item of the site's lists (`children`)."""
        if self.spec is None:
            return None
        parts = self.spec.split(".")
        if not any(p.startswith("<") for p in parts):
            return tuple(parts)
        return _walk(parts, key or "", (), None, children, self.partial)


_LONGEST_FIRST = sorted(Kind, key=lambda k: -len(k.value))


def _walk(parts: list[str], key: str, path: SpecPath, last: SpecPath | None, children: Children,
          partial: bool) -> SpecPath | None:
    """Follow `parts` from `path`: each `<...>` takes an item of the list reached whose key begins `key`
    (longest first: 'oke-api' before 'oke'), and the whole key must be used up; a `partial` kind settles for
    `last`, the deepest item named so far."""
    if not parts:
        return path if not key else last if partial else None
    part, rest = parts[0], parts[1:]
    if not part.startswith("<"):
        return _walk(rest, key, path + (part,), last, children, partial)
    for item, address in sorted(children(path).items(), key=lambda kv: -len(kv[0])) if key else ():
        if key == item or key.startswith(item + "-"):
            here = path + (address,)
            found = _walk(rest, key[len(item) + 1:], here, here, children, partial)
            if found is not None:
                return found
    return last if partial else None


class Read(NamedTuple):
    kind: Kind
    key: str | None
    """What follows '<site>-<kind>-'; None when nothing does."""


def read(site: str, name: str | None) -> Read | None:
    """The kind and key of a logical name of `site`, the longest kind word first; None when `name` is not
    '<site>-<kind>[-<key>]' (a provider, the site's root component, another site's resource)."""
    for kind in _LONGEST_FIRST if name else ():
        prefix = logical(site, kind)
        if name == prefix:
            return Read(kind, None)
        if name.startswith(prefix + "-"):
            return Read(kind, name[len(prefix) + 1:])
    return None


def spec_path(site: str, name: str | None, children: Children) -> SpecPath | None:
    """The spec item a resource of `site` was declared from, read from its logical name through `Kind`; None
    when the name is none of the table's, its kind has no spec item, or its key names no item of the site."""
    found = read(site, name)
    return found.kind.spec_path(found.key, children) if found else None


def key_of(site: str, kind: str, name: str) -> str | None:
    """The data key of a logical name `logical(site, kind, key)`; None when `name` is not one of that kind.

    Read names of one resource type: a kind is a prefix of the names of longer kinds ('drg' reads
    '<site>-drg-attachment-gpu' as key 'attachment-gpu'); `read` tells kinds apart."""
    prefix = logical(site, kind) + "-"
    if not name.startswith(prefix):
        return None
    return name[len(prefix):] or None


def block_key(pool: str, index: int) -> str:
    """The key of a pool's fabric block `index` (from 0): the pool's own name for the first, so a pool that grows
    past one block keeps the cluster it has; '<pool>-block-<n>' for the n-th after it."""
    return pool if index == 0 else f"{pool}-block-{index + 1}"


def display(org: str, site: str, *keys: str) -> str:
    """The OCI display name: '<org>-<site>-<key>...'."""
    return "-".join((org, site) + keys)


def dns_label(*parts: str) -> str:
    """An OCI DNS label from parts: letters and digits, starts with a letter, at most 15 characters.

    When the joined parts are too long, the label keeps a readable prefix and ends in 4 hex digits of a
    hash of the full name, so two long names stay distinct and the label never changes between runs.
    """
    raw = re.sub(r"[^a-z0-9]", "", "".join(parts).lower())
    if not raw or not raw[0].isalpha():
        raw = "n" + raw
    if len(raw) <= 15:
        return raw
    digest = hashlib.sha256(raw.encode()).hexdigest()[:4]
    return raw[:11] + digest


CHILD_COMPARTMENTS = ("network", "security", "compute", "storage")
"""The site compartment's children, by the names IAM statement templates use."""


def rule_key(direction: str, protocol: str, ports: str | None, peer: str) -> str:
    """A stable key for an NSG rule, from what it allows (not its position in a list)."""
    raw = f"{direction}-{protocol}-{ports or 'any'}-{peer}"
    return re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")


def item_key(item: Any) -> str | None:
    """The key a spec list item gives logical names: its `name`, an NSG rule's `rule_key` (a rule has no name),
    a plain value itself (an event category); None for an item no name is built from (a waiver)."""
    if isinstance(item, str):
        return item
    if isinstance(getattr(item, "name", None), str):
        return item.name
    if all(hasattr(item, a) for a in ("direction", "protocol", "ports", "peer")):
        return rule_key(item.direction, item.protocol, item.ports, item.peer)
    return None
