"""JSON schemas of sitekit's YAML files, exported from the pydantic models (spec -> schema, no Pulumi).

Three schemas, written to schema/ and committed so editors can check files while people type (each stack
file and jurisdiction profile starts with a `# yaml-language-server: $schema=...` modeline):

* site.schema.json: the effective site spec (`SiteSpec`), every layer merged;
* stack.schema.json: a stack file, `config: {sitekit:<key>: ...}`, one property per key of
  `stackconfig.KEYS`, each with the schema of the spec node it lands on;
* jurisdiction.schema.json: a jurisdiction profile, a complete `jurisdiction:` section plus any other
  section of the spec as a partial override.

A layer that is merged over others sets only part of a section, so "partial" copies of the models' schemas
drop `required` (except `name`, the key named-list items merge by). `sitekit schema --write` (or
`make schema`) regenerates the files; a test fails when the committed files are stale.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any, Callable

from sitekit.atomic import write_atomic
from sitekit.spec.models import SiteSpec
from sitekit.spec.stackconfig import KEYS, NAMESPACE

DRAFT = "https://json-schema.org/draft/2020-12/schema"
PARTIAL = "Partial"
SCHEMA_DIR = "schema"


def modeline(schema_file: str, from_dir: str) -> str:
    """The yaml-language-server modeline for a file in `from_dir` (repo-relative) pointing at `schema_file`."""
    rel = os.path.relpath(schema_file, from_dir).replace(os.sep, "/")
    return f"# yaml-language-server: $schema={rel}"


def _base() -> dict[str, Any]:
    return SiteSpec.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")


def _with_partials(defs: dict[str, Any]) -> dict[str, Any]:
    """`defs` plus a partial twin of each definition (`<Name>Partial`) whose refs point at partial twins."""

    def partial(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: partial(v) for k, v in node.items() if k != "required"}
            if isinstance(node.get("$ref"), str):
                out["$ref"] = node["$ref"] + PARTIAL
            if "name" in node.get("required", ()):
                out["required"] = ["name"]
            return out
        if isinstance(node, list):
            return [partial(v) for v in node]
        return node

    out = dict(defs)
    for name, schema in defs.items():
        out[name + PARTIAL] = partial(schema)
    return out


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def _doc(title: str, description: str, body: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A schema document holding only the definitions `body` reaches, sorted by name."""
    keep: set[str] = set()
    todo = _refs(body)
    while todo:
        name = todo.pop()
        if name not in keep:
            keep.add(name)
            todo |= _refs(defs[name])
    return {"$schema": DRAFT, "title": title, "description": description, **body,
            "$defs": {k: defs[k] for k in sorted(keep)}}


def site_schema() -> dict[str, Any]:
    base = _base()
    defs = base.pop("$defs")
    base.pop("title", None)
    return _doc("sitekit site spec", "The effective spec of one site: baseline < jurisdiction < site, merged.",
                base, defs)


def _node(base: dict[str, Any], defs: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """The schema of the spec node at `path` (camelCase keys), following $refs."""
    node = base
    for part in path:
        while "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        node = node["properties"][part]
    return copy.deepcopy(node)


def _partial_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v + PARTIAL if k == "$ref" and isinstance(v, str) else _partial_refs(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_partial_refs(v) for v in node]
    return node


SECURE = {"type": "object", "properties": {"secure": {"type": "string"}}, "required": ["secure"],
          "additionalProperties": False, "description": "An encrypted value written by `pulumi config set --secret`."}


def stack_schema() -> dict[str, Any]:
    base = _base()
    defs = _with_partials(base.pop("$defs"))
    props: dict[str, Any] = {}
    required = []
    for key in KEYS:
        if key.kind == "secret":
            node: dict[str, Any] = {"anyOf": [SECURE, {"type": "string"}]}
        elif not key.target:
            node = {"$ref": "#/$defs/SiteSpec" + PARTIAL}
        elif key.kind == "array":  # named items merged into the baseline's: only `name` is required
            node = _partial_refs(_node(base, defs, key.target))
        else:
            node = _node(base, defs, key.target)
        node = {**node, "description": key.description}
        props[f"{NAMESPACE}:{key.name}"] = node
        if key.required:
            required.append(f"{NAMESPACE}:{key.name}")
    base.pop("title", None)
    defs["SiteSpec" + PARTIAL] = _partial_refs({k: v for k, v in base.items() if k != "required"})
    config = {
        "type": "object", "description": "Stack config. sitekit's own keys are checked; other namespaces are Pulumi's.",
        "properties": props, "required": required,
        "patternProperties": {f"^(?!{NAMESPACE}:)": {}}, "additionalProperties": False,
    }
    body = {"type": "object", "properties": {"config": config}, "required": ["config"]}
    return _doc("sitekit stack file", "stacks/Pulumi.<site>.yaml: one site's Pulumi stack configuration.", body, defs)


def jurisdiction_schema() -> dict[str, Any]:
    base = _base()
    defs = _with_partials(base.pop("$defs"))
    props = {name: (node if name == "jurisdiction" else _partial_refs(node))
             for name, node in base["properties"].items() if name != "site"}
    body = {"type": "object", "properties": props, "required": ["jurisdiction"], "additionalProperties": False}
    return _doc("sitekit jurisdiction profile",
                "stacks/jurisdictions/<code>.yaml: a complete jurisdiction section, and partial overrides of "
                "other sections (merged over the baseline, under the site).", body, defs)


SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    f"{SCHEMA_DIR}/site.schema.json": site_schema,
    f"{SCHEMA_DIR}/stack.schema.json": stack_schema,
    f"{SCHEMA_DIR}/jurisdiction.schema.json": jurisdiction_schema,
}
STACK_SCHEMA = f"{SCHEMA_DIR}/stack.schema.json"
JURISDICTION_SCHEMA = f"{SCHEMA_DIR}/jurisdiction.schema.json"


def render(file: str) -> str:
    return json.dumps(SCHEMAS[file](), indent=2) + "\n"


def stale(root: Path) -> list[str]:
    """Schema files that are missing or differ from what the models export now."""
    return [f for f in SCHEMAS if not (root / f).exists() or (root / f).read_text(encoding="utf-8") != render(f)]


def write(root: Path) -> list[str]:
    """Regenerate every schema file; return those that changed."""
    changed = stale(root)
    for f in changed:
        write_atomic(root / f, render(f))
    return changed
