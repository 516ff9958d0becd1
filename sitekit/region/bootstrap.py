"""Node bootstrap: a site's spec -> the cloud-init user data of one pool's nodes (spec -> text, no Pulumi).

The text is rendered from the Jinja2 template the spec names (`bootstrap.template`, in the project's
templates/ folder) with StrictUndefined, so a template that refers to a missing value fails instead of
rendering an empty string. `SiteContext.node_metadata` passes it, base64-encoded, as the instance metadata
key `user_data` that cloud-init reads on OCI; the plan records it, and `sitekit bootstrap <site>` prints it
decoded for review.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from sitekit.errors import Problem, SpecError
from sitekit.naming import Kind, read

if TYPE_CHECKING:
    from sitekit.spec.loaded import LoadedSite

TEMPLATES = "templates"
USER_DATA = "user_data"
"""The OCI instance metadata key cloud-init reads its user data from (base64)."""
METADATA_LIMIT = 32_000
"""OCI: the combined size of an instance's `metadata` and `extendedMetadata` is at most 32,000 bytes."""

_AUDIT_FAILURE = {"silent": 0, "printk": 1, "panic": 2}


@lru_cache(maxsize=8)
def environment(templates: Path) -> jinja2.Environment:
    """A strict Jinja2 environment over a templates folder (shared by every template sitekit renders)."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, autoescape=False)


def _applies(placement: str, pool: Any) -> bool:
    return placement == "all" or placement == pool.placement


def render_user_data(site: "LoadedSite", pool: Any) -> str:
    """The cloud-init user data of `pool`'s nodes, as text."""
    spec = site.spec
    boot = spec.bootstrap
    host, _, port = (boot.logging.collector or ":").rpartition(":")
    context = {
        "site": spec.site.name, "region": spec.site.region, "jurisdiction": spec.jurisdiction, "pool": pool,
        "template": boot.template, "bootstrap": boot, "audit_failure": _AUDIT_FAILURE[boot.audit.failure],
        "collector_host": host, "collector_port": port,
        "agents": [a for a in boot.agents if _applies(a.placement, pool)],
        "health_checks": [c for c in boot.health_checks if _applies(c.placement, pool)],
    }
    file = f"{TEMPLATES}/{boot.template}"
    try:
        template = environment(site.root / TEMPLATES).get_template(boot.template)
        return template.render(context)
    except jinja2.TemplateNotFound:
        raise SpecError([Problem(file, None, "bootstrap.template", "template not found")]) from None
    except jinja2.TemplateError as exc:
        raise SpecError([Problem(file, getattr(exc, "lineno", None), "bootstrap.template",
                                 f"template error: {exc}")]) from None


def encode(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def decode(value: str) -> str:
    return base64.b64decode(value.encode("ascii")).decode("utf-8")


def node_metadata(site: "LoadedSite", pool: Any) -> dict[str, str]:
    """Instance metadata of `pool`'s nodes: {'user_data': base64 cloud-init}, refused over OCI's limit."""
    text = render_user_data(site, pool)
    metadata = {USER_DATA: encode(text)}
    size = sum(len(k) + len(v) for k, v in metadata.items())
    if size > METADATA_LIMIT:
        raise SpecError([Problem(f"{TEMPLATES}/{site.spec.bootstrap.template}", None, "bootstrap",
                                 f"the user data of pool '{pool.name}' is {size:,} bytes as instance metadata "
                                 f"({len(text.encode()):,} before base64), more than the {METADATA_LIMIT:,} bytes "
                                 "OCI accepts: trim the audit rules or health checks")])
    return metadata


def user_data_in_plan(plan: Any) -> dict[str, str]:
    """{pool: decoded user data} read back from a plan's registrations (instance configurations' launch
    metadata and OKE node pools' node metadata), so review sees exactly what the program declared."""
    paths = {Kind.INSTANCE_CONFIG: ("instanceDetails", "launchDetails", "metadata"), Kind.NODE_POOL: ("nodeMetadata",)}
    found: dict[str, str] = {}
    for res in plan.resources:
        name = read(plan.site, res.name)
        if name is None or name.kind not in paths or not name.key:
            continue
        node: Any = res.inputs
        for key in paths[name.kind]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(USER_DATA), str):
            found[name.key] = decode(node[USER_DATA])
    return dict(sorted(found.items()))
