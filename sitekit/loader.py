"""YAML layers -> merged tree -> validated `SiteSpec`, with provenance. Nothing here declares resources.

`load_site(root, stack)` reads `stacks/baseline.yaml`, the jurisdiction the stack names and the stack file
itself; `load_site(root, stack, values=...)` takes the site's config values from elsewhere (the Pulumi
program passes what `pulumi.Config` holds) and still uses the stack file, when present, for line numbers.
Every problem found is raised together in one `SpecError`.
"""

from __future__ import annotations

import difflib
import typing
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .catalog import Catalog, load_catalog
from .errors import Problem, SpecError, nearest
from .merge import Layer, Origin, merge_layers
from .sources import Marks, PathKey, dotted, item_key, load_yaml
from .spec import SiteSpec
from .stackconfig import BY_NAME, NAMESPACE, from_engine, place

BASELINE = "stacks/baseline.yaml"
JURISDICTIONS = "stacks/jurisdictions"
SECRET = "[secret]"
CONFIG_LINE = ""  # the key of `config:`'s own line in read_stack_values' key marks (no config key is empty)


def stack_file(stack: str) -> str:
    return f"stacks/Pulumi.{stack}.yaml"


@dataclass
class LoadedSite:
    """A validated site: the typed spec, the merged data and where every value came from."""

    spec: SiteSpec
    data: dict[str, Any]
    provenance: dict[PathKey, Origin]
    catalog: Catalog
    root: Path

    def origin(self, path: PathKey) -> Origin | None:
        """The origin of `path`, or of its nearest ancestor that has one."""
        return _origin(self.provenance, path)

    @property
    def name(self) -> str:
        return self.spec.site.name


def list_sites(root: Path) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (root / "stacks").glob("Pulumi.*.yaml"))


def list_jurisdictions(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / JURISDICTIONS).glob("*.yaml"))


def read_stack_values(root: Path, stack: str) -> tuple[dict[str, Any], dict[str, Marks], list[Problem]]:
    """The `sitekit:` config values of a stack file, each key's marks (relative to the value), problems.

    `key_marks[CONFIG_LINE]` holds the line of `config:` itself, where a missing key would be added."""
    file = stack_file(stack)
    data, marks = load_yaml(root / file, file)
    problems: list[Problem] = []
    config = data.get("config") if isinstance(data, dict) else None
    if not isinstance(config, dict):
        raise SpecError([Problem(file, marks.get((), 1), "config", "a stack file needs a 'config:' mapping")])
    values: dict[str, Any] = {}
    key_marks: dict[str, Marks] = {CONFIG_LINE: {(): marks.get(("config",))}}
    for full_key, value in config.items():
        ns, _, key = str(full_key).partition(":")
        if ns != NAMESPACE:
            continue  # other namespaces (providers, pulumi:) are Pulumi's business
        if key not in BY_NAME:
            problems.append(Problem(file, marks.get(("config", full_key)), f"config.{full_key}",
                                    f"unknown config key; {nearest(key, BY_NAME)}"))
            continue
        prefix = ("config", full_key)
        key_marks[key] = {p[2:]: line for p, line in marks.items() if p[:2] == prefix}
        if isinstance(value, dict) and set(value) == {"secure"}:
            if BY_NAME[key].kind != "secret":
                problems.append(Problem(file, marks.get(prefix), f"config.{full_key}",
                                        "a secure value is only accepted for secret keys"))
                continue
            values[key] = SECRET
        elif BY_NAME[key].kind == "secret" and value not in (None, ""):
            # the text is already in the file; never echo it, and have it encrypted before it is committed
            problems.append(Problem(file, marks.get(prefix), f"config.{full_key}",
                                    "a secret must not be written as plain text; set it with "
                                    f"`pulumi config set --secret {full_key} <value>`"))
            values[key] = SECRET
        else:
            # `pulumi config set` and `pulumi stack init` rewrite the file: YAML dates as Go time text
            values[key] = from_engine(value) if BY_NAME[key].kind in ("object", "array") else value
    return values, key_marks, problems


def site_layer(stack: str, values: dict[str, Any], key_marks: dict[str, Marks]) -> Layer:
    """Turn config values into the site layer of the spec tree, marks re-rooted at their targets."""
    file = stack_file(stack)
    tree: dict[str, Any] = {}
    marks: Marks = {}
    from .merge import _merge  # the same merge rule joins the keys' subtrees

    scratch: dict[PathKey, Origin] = {}
    for key, value in values.items():
        spec = BY_NAME[key]
        if spec.kind == "secret":
            value = value is not None and value != ""
        part = place(spec.target, value)
        tree = _merge(tree, part, (), Layer(file, part), scratch)
        for p, line in key_marks.get(key, {}).items():
            marks[spec.target + p] = line
    if (CONFIG_LINE in key_marks) and ("site",) not in marks:
        marks[("site",)] = key_marks[CONFIG_LINE][()]  # so a missing site key points at `config:`
    tree.setdefault("site", {})["name"] = stack
    return Layer(file, tree, marks, is_site=True)


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the last key of `loc` (for listing the keys it allows)."""
    model: Any = SiteSpec
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        fields = {f.alias or n: f for n, f in model.model_fields.items()}
        if not isinstance(model, type) or not issubclass(model, BaseModel) or part not in fields:
            if isinstance(model, type) and issubclass(model, BaseModel):
                return None
            continue
        model = _unwrap(fields[part].annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    while True:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        origin = typing.get_origin(tp)
        if origin is None or not args:
            return tp
        if origin is typing.Annotated:
            tp = args[0]
        elif origin is dict:
            return _unwrap(args[1])
        else:
            tp = args[-1] if origin is not list else args[0]


def _named_path(data: Any, loc: tuple[Any, ...]) -> PathKey:
    """A pydantic location with list indices replaced by item names, as in messages and provenance."""
    path: list[Any] = []
    node = data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            path.append(item_key(node, part))
        else:
            node = node.get(part) if isinstance(node, dict) else None
            path.append(part)
    return tuple(path)


def _why_not_network(value: Any) -> str:
    """The reason `ipaddress` gives for rejecting a CIDR (host bits set, bad netmask...), as a suffix."""
    try:
        IPv4Network(str(value))
    except ValueError as exc:
        return f" ({exc})" if isinstance(value, str) else ""
    return ""


def _new_item_hint(data: Any, loc: tuple[Any, ...], origin_of) -> str:
    """For a key missing in an item of a named list: when a later layer added the item under a name close to
    an existing one (a site's `- name: trian` beside the baseline's `train`), say so."""
    node, path, hint = data, (), ""
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            name = item_key(node[part], part)
            siblings = [item_key(v, i) for i, v in enumerate(node) if i != part]
            named = [s for s in siblings if isinstance(s, str)]
            close = difflib.get_close_matches(str(name), named, n=1, cutoff=0.6) if isinstance(name, str) else []
            mine, theirs = origin_of(path + (name,)), origin_of(path + tuple(close))
            if close and mine and theirs and mine.file != theirs.file:
                hint = f" (a new item '{name}'; did you mean '{close[0]}'?)"
            node, path = node[part], path + (name,)
        else:
            node = node.get(part) if isinstance(node, dict) else None
            path = path + (part,)
    return hint


def validation_problems(exc: ValidationError, data: dict[str, Any], origin_of) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        path = _named_path(data, loc)
        origin = origin_of(path) or Origin(BASELINE, None)
        kind = err["type"]
        if kind == "extra_forbidden":
            model = _model_at(loc)
            allowed = [f.alias or n for n, f in model.model_fields.items()] if model else []
            msg = f"unknown key; {nearest(str(loc[-1]), allowed)}" if allowed else "unknown key"
        elif kind == "missing":
            msg = "required key is missing" + _new_item_hint(data, loc, origin_of)
        elif kind == "ip_v4_network":
            msg = f"{err.get('input')!r} is not a valid IPv4 network{_why_not_network(err.get('input'))}"
        else:
            msg = err["msg"]
            if kind in ("literal_error", "enum"):
                msg = f"{msg} (got {err.get('input')!r})"
        problems.append(Problem(origin.file, origin.line, dotted(path), msg))
    return problems


def load_site(root: Path, stack: str, values: dict[str, Any] | None = None) -> LoadedSite:
    """Load, merge and validate one site. Raises SpecError with every problem found."""
    from .validate import check_site  # cross-field rules

    root = root.resolve()
    problems: list[Problem] = []
    file = stack_file(stack)
    if values is None:
        values, key_marks, problems = read_stack_values(root, stack)
    else:
        key_marks = {}
        if (root / file).exists():
            try:
                _, key_marks, _ = read_stack_values(root, stack)
            except SpecError:
                key_marks = {}
    site = site_layer(stack, values, key_marks)

    baseline = Layer(BASELINE, *load_yaml(root / BASELINE, BASELINE))
    layers = [baseline]
    code = values.get("jurisdiction")
    known = list_jurisdictions(root)
    if not isinstance(code, str) or code not in known:
        line = site.marks.get(("site", "jurisdiction"))
        what = "is missing" if code is None else f"unknown jurisdiction '{code}'; {nearest(str(code), known)}"
        problems.append(Problem(file, line, "site.jurisdiction", what))
    else:
        jfile = f"{JURISDICTIONS}/{code}.yaml"
        layers.append(Layer(jfile, *load_yaml(root / jfile, jfile)))
    layers.append(site)

    data, prov, merge_problems = merge_layers(layers)
    problems += merge_problems
    loaded_origin = lambda path: _origin(prov, path)  # noqa: E731
    catalog = load_catalog(root)
    if len(layers) < 3:  # no jurisdiction layer: validating the rest would only echo that problem
        raise SpecError(problems)
    try:
        spec = SiteSpec.model_validate(data)
    except ValidationError as exc:
        # A config key already refused above is not reported again as missing.
        refused = {dotted(BY_NAME[p.key.partition(":")[2]].target) for p in problems
                   if p.key.startswith(f"config.{NAMESPACE}:") and p.key.partition(":")[2] in BY_NAME}
        raise SpecError(problems + [p for p in validation_problems(exc, data, loaded_origin)
                                    if not (p.key in refused and p.message == "required key is missing")]) from None
    loaded = LoadedSite(spec, data, prov, catalog, root)
    problems += check_site(loaded)
    if problems:
        raise SpecError(problems)
    return loaded


def _origin(prov: dict[PathKey, Origin], path: PathKey) -> Origin | None:
    """The origin of `path` or of its nearest ancestor that has one (the root's, last)."""
    while path:
        if path in prov:
            return prov[path]
        path = path[:-1]
    return prov.get(())
