"""The project's own Pulumi config keys (namespace `sitekit`) and how they map onto the spec tree.

This table is the single list of keys: the program reads them through `pulumi.Config`, the offline loader
reads them from `stacks/Pulumi.<site>.yaml`, and a test checks that Pulumi.yaml declares them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

NAMESPACE = "sitekit"


@dataclass(frozen=True)
class ConfigKey:
    name: str
    kind: Literal["string", "integer", "object", "array", "secret"]
    target: tuple[str, ...]
    description: str
    required: bool = False


KEYS: tuple[ConfigKey, ...] = (
    ConfigKey("jurisdiction", "string", ("site", "jurisdiction"),
              "Code of the jurisdiction profile (stacks/jurisdictions/<code>.yaml).", True),
    ConfigKey("region", "string", ("site", "region"),
              "OCI region of the site; for a Dedicated Region, the identifier Oracle assigned.", True),
    ConfigKey("regionKind", "string", ("site", "regionKind"),
              "'public' (default) or 'dedicated' (customer-hosted OCI Dedicated Region)."),
    ConfigKey("homeRegion", "string", ("site", "homeRegion"),
              "The tenancy's home region, where IAM objects are written.", True),
    ConfigKey("parentCompartmentId", "string", ("site", "parentCompartmentId"),
              "OCID of the compartment the site compartment is created in.", True),
    ConfigKey("tenancyId", "string", ("site", "tenancyId"), "OCID of the tenancy.", True),
    ConfigKey("availabilityDomain", "integer", ("site", "availabilityDomain"),
              "Availability domain (1-3) holding the site's GPU capacity; default 1."),
    ConfigKey("ociProfile", "string", ("site", "ociProfile"), "Profile in ~/.oci/config used by both providers."),
    ConfigKey("images", "object", ("site", "images"), "Image OCIDs: {gpu, oke}.", True),
    ConfigKey("addressPlan", "object", ("site", "addressPlan"),
              "{supernet, networks: {<network>: <cidr>}}: the site's address plan.", True),
    ConfigKey("power", "object", ("site", "power"),
              "{envelopeMw, pue, commissioned, energyReuse, halls}: the site's power envelope, its commissioning "
              "day and reused share (judged by the jurisdiction's energy limits), its data halls.", True),
    ConfigKey("transfer", "object", ("site", "transfer"),
              "{mechanism, reference}: declared transfer mechanism for a region outside the residency list."),
    ConfigKey("operatorCidrs", "array", ("security", "bastion", "clientCidrs"),
              "The public ranges operators open bastion sessions from (each no wider than a /16).", True),
    ConfigKey("peers", "array", ("site", "peers"),
              "Sites joined to this one by DRG remote peering: [{site, transfer}] (both sites name each other)."),
    ConfigKey("pools", "array", ("compute", "pools"),
              "GPU pools, merged by name into the baseline pools: [{name, nodes, shape, role, autoscale, hall}]."),
    ConfigKey("overrides", "object", (),
              "Any other key of the spec, merged over baseline and jurisdiction (locked keys refused)."),
    ConfigKey("policy", "object", ("policy",), "Policy-pack settings: enforcement overrides and waivers."),
    ConfigKey("alertEndpoint", "secret", ("site", "alertEndpoint"),
              "HTTPS endpoint subscribed to the site's alert topic (secret: set with --secret)."),
)

BY_NAME = {k.name: k for k in KEYS}


def place(target: tuple[str, ...], value: Any) -> dict[str, Any]:
    """Nest `value` under `target` (an empty target means the value is itself a tree)."""
    for part in reversed(target):
        value = {part: value}
    return value


_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,18}")


def integer_from_config(value: Any) -> Any:
    """A top-level integer config key as Pulumi's config model has it: text. `pulumi config set` (and
    `pulumi stack init`) write `sitekit:availabilityDomain: "1"` and the engine hands the program "1"; that
    text is the integer 1. Anything else (true, 1.0, "abc", "") is returned as it is, for the spec to refuse
    by name, where `pulumi.Config.get_int` would raise."""
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        return int(value)
    return value


# The Pulumi CLI reads a stack file's YAML with Go, and hands a YAML date (`expires: 2099-12-31`) to the program
# and to policy packs as Go's time text: "2099-12-31 00:00:00 +0000 UTC".
_GO_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)? ([+-]\d{4}) [A-Z]{1,5}")


def from_engine(value: Any) -> Any:
    """A structured config value as the CLI passes it, with YAML dates back as ISO dates (times as ISO 8601),
    so the program sees what the stack file says, as the offline loader does."""
    if isinstance(value, dict):
        return {k: from_engine(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_engine(v) for v in value]
    if isinstance(value, str):
        m = _GO_TIME.fullmatch(value)
        if m:
            day, clock, frac, zone = m.groups()
            if clock == "00:00:00" and not frac and zone == "+0000":
                return day
            return f"{day}T{clock}{frac or ''}{zone[:3]}:{zone[3:]}"
    return value
