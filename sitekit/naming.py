"""Names: Pulumi logical names, OCI display names and DNS labels, built in one place.

Logical names derive from the site and data keys (never list positions), so reordering data never
renames a resource. Display names are for people; DNS labels follow OCI's rule: letters and digits only,
starting with a letter, at most 15 characters.
"""

from __future__ import annotations

import hashlib
import re


def logical(site: str, *keys: str) -> str:
    """The Pulumi logical name of a child: '<site>-<key>-<key>...'."""
    return "-".join((site,) + keys)


def key_of(site: str, kind: str, name: str) -> str | None:
    """The data key of a logical name `logical(site, kind, key)`; None when `name` is not one of that kind.

    Read names of one resource type: a kind is a prefix of the names of longer kinds ('drg' reads
    '<site>-drg-attachment-gpu' as key 'attachment-gpu')."""
    prefix = logical(site, kind) + "-"
    if not name.startswith(prefix):
        return None
    return name[len(prefix):] or None


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
