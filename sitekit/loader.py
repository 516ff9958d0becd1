"""YAML layers -> merged tree -> validated `SiteSpec`, with provenance. Nothing here declares resources.

`load_site(root, stack)` reads `stacks/baseline.yaml`, the jurisdiction the stack names and the stack file
itself; `load_site(root, stack, values=...)` takes the site's config values from elsewhere (the Pulumi
program passes what `pulumi.Config` holds) and still uses the stack file, when present, for line numbers.
Every problem found is raised together in one `SpecError`, each at a file and line.

Besides the models (`spec.py`) and the cross-field rules (`validate.py`), the loader refuses what only it can
see: a config key under a misspelt namespace or none, `sitekit:overrides` that is not a mapping, a site that
sets `jurisdiction.code` or `jurisdiction.locked`, a profile whose `code` is not its file name, a lock on a key
the spec does not have, and a supernet that overlaps another site's.
"""

from __future__ import annotations

import difflib
import re
import typing
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .catalog import Catalog, load_catalog
from .errors import Problem, SpecError, nearest
from .merge import Layer, Origin, merge_layers
from .sources import MAX_DEPTH, MAX_VALUES, Marks, PathKey, clip, dotted, item_key, kind_of, load_yaml
from .spec import Jurisdiction, SiteSpec, spec_key_problem
from .stackconfig import BY_NAME, NAMESPACE, from_engine, integer_from_config, place

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
    peers: list[Any] = field(default_factory=list)
    """The site's links to its peers (`peering.PeerLink`), validated with the fleet."""

    def origin(self, path: PathKey) -> Origin | None:
        """The origin of `path`, or of its nearest ancestor that has one."""
        return origin_in(self.provenance, path)

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
    by_key: dict[str, Marks] = {}
    for p, line in marks.items():
        if len(p) >= 2 and p[0] == "config":
            by_key.setdefault(p[1], {})[p[2:]] = line
    for full_key, value in config.items():
        ns, colon, key = str(full_key).partition(":")
        if not colon:
            close = difflib.get_close_matches(str(full_key), list(BY_NAME), n=1, cutoff=0.6)
            hint = f"did you mean '{NAMESPACE}:{close[0]}'?" if close else f"e.g. '{NAMESPACE}:region'"
            problems.append(Problem(file, marks.get(("config", full_key)), f"config.{full_key}",
                                    f"a config key is <namespace>:<name>; {hint}"))
            continue
        if ns != NAMESPACE:
            if _misspelt_namespace(ns):
                problems.append(Problem(file, marks.get(("config", full_key)), f"config.{full_key}",
                                        f"unknown namespace '{ns}'; did you mean '{NAMESPACE}'? (sitekit reads "
                                        f"only {NAMESPACE}: keys, so this value would be ignored)"))
            continue  # other namespaces (providers, pulumi:) are Pulumi's business
        if key not in BY_NAME:
            problems.append(Problem(file, marks.get(("config", full_key)), f"config.{full_key}",
                                    f"unknown config key; {nearest(key, BY_NAME)}"))
            continue
        prefix = ("config", full_key)
        key_marks[key] = by_key.get(full_key, {})
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


def _misspelt_namespace(ns: str) -> bool:
    """A namespace that is almost `sitekit` (a typo), not another tool's (`oci`, `pulumi`, `aws`)."""
    return difflib.SequenceMatcher(None, ns.lower(), NAMESPACE).ratio() >= 0.7


def check_values(stack: str, values: dict[str, Any], key_marks: dict[str, Marks]) -> tuple[dict[str, Any], list[Problem]]:
    """Config values as the spec tree takes them, and what cannot be taken at all.

    A top-level integer key given as text ("1", as `pulumi config set` writes it and `pulumi.Config` hands it
    over) is read as that integer, as Pulumi's own `get_int` would; anything else stays as it is, so the model
    refuses it by name. `sitekit:overrides` (and each section of it) must be a mapping: it is merged over the
    spec, key by key."""
    file = stack_file(stack)
    out: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in values.items():
        spec = BY_NAME.get(key)
        if spec is None:
            continue  # refused by read_stack_values; the engine hands over declared keys only
        line = key_marks.get(key, {}).get(()) or key_marks.get(CONFIG_LINE, {}).get(())
        too_big = _unbounded(value)
        if too_big:
            problems.append(Problem(file, line, f"config.{NAMESPACE}:{key}", too_big))
            continue
        if spec.kind == "integer":
            value = integer_from_config(value)
        elif key == "overrides" and value is not None:
            if not isinstance(value, dict):
                problems.append(Problem(file, line, f"config.{NAMESPACE}:{key}",
                                        f"expected a mapping of spec keys (e.g. {{bootstrap: {{timezone: UTC}}}}), "
                                        f"got {_got(value)}"))
                continue
            bad = [k for k, v in value.items() if k == "site" and not isinstance(v, dict)]
            for k in bad:
                problems.append(Problem(file, key_marks.get(key, {}).get((k,), line), k,
                                        f"expected a mapping, got {_got(value[k])}"))
            value = {k: v for k, v in value.items() if k not in bad}
        out[key] = value
    return out, problems


def _unbounded(value: Any) -> str | None:
    """Why a config value handed over by the engine is past the bounds the YAML reader keeps, or None."""
    seen, stack = 0, [(value, 0)]
    while stack:
        node, depth = stack.pop()
        seen += 1
        if depth > MAX_DEPTH:
            return f"nesting deeper than {MAX_DEPTH} levels; sitekit refuses deeper inputs"
        if seen > MAX_VALUES:
            return f"more than {MAX_VALUES:,} values; sitekit refuses larger inputs"
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return None


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


def _model_at(loc: tuple[Any, ...], root: type[BaseModel] = SiteSpec) -> type[BaseModel] | None:
    """The pydantic model that owns the last key of `loc`, a location in a `root` (for listing the keys it
    allows)."""
    model: Any = root
    items = 0  # parts of `loc` ahead that are a list's index or a mapping's key, not a field
    for part in loc[:-1]:
        if items:
            items -= 1
            continue
        if isinstance(part, int) or model is None:
            continue
        fields = {f.alias or n: f for n, f in model.model_fields.items()}
        if not isinstance(model, type) or not issubclass(model, BaseModel) or part not in fields:
            if isinstance(model, type) and issubclass(model, BaseModel):
                return None
            continue
        model, items = _unwrap(fields[part].annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(tp: Any) -> tuple[Any, int]:
    """The type inside a field's containers (optional, annotated, list, mapping: its values), and how many
    parts of a location those containers take (a list's index, a mapping's key)."""
    items = 0
    while True:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        origin = typing.get_origin(tp)
        if origin is None or not args:
            return tp, items
        if origin is typing.Annotated:
            tp = args[0]
        elif origin in (dict, list):
            tp, items = args[-1], items + 1
        else:
            tp = args[-1]


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
    """The reason `ipaddress` gives for rejecting a CIDR (host bits set, bad netmask...), as a suffix; the
    parts of the value it quotes are clipped as `shown` clips the value."""
    try:
        IPv4Network(str(value))
    except ValueError as exc:
        return f" ({_QUOTED.sub(lambda m: m[0][0] + clip(m[0][1:-1]) + m[0][0], str(exc))})" if isinstance(value, str) else ""
    return ""


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
"""A text `ipaddress` quotes in its reason (its repr: in single quotes, or double where it holds one)."""


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


_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false", "bool_parsing": "true or false",
    "string_type": "text", "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
    "list_type": "a list", "date_type": "a date (YYYY-MM-DD)", "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)", "date_from_datetime_inexact": "a date (YYYY-MM-DD)",
    "finite_number": "a finite number",
}
"""Pydantic error types that mean 'the value has the wrong kind', and the kind the key takes."""


def shown(value: Any) -> str:
    """A value as a message quotes it: short, one line, its kind plain ('2' is text, 2 an integer)."""
    if isinstance(value, str):
        return f"'{clip(value)}'"
    if isinstance(value, (dict, list)) or value is None:
        return kind_of(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**18:
        return f"an integer of {len(str(abs(value))) if abs(value) < 10**4000 else 'over 4,000'} digits"
    return clip(repr(value))


def section_problems(data: dict[str, Any], origin_of, sections: dict[str, type[BaseModel]]) -> list[Problem]:
    """Problems of some sections of a merged tree, each validated by its model (for commands that use part of
    the spec before there is a site: new-site reads the baseline's organisation, network and compute)."""
    problems: list[Problem] = []
    for key, model in sections.items():
        try:
            model.model_validate(data.get(key))
        except ValidationError as exc:
            problems += validation_problems(exc, data, origin_of, prefix=(key,))
    return problems


def _layer_rank(origin: Origin) -> int:
    """Later layers rank higher: the stack file over its profile over the baseline."""
    return 2 if origin.file.startswith("stacks/Pulumi.") else 1 if origin.file.startswith(JURISDICTIONS) else 0


def _got(value: Any) -> str:
    """'an integer 5', "text '2'", 'a list', 'null': a value's kind, and the value where it is short."""
    what = kind_of(value)
    return what if isinstance(value, (dict, list)) or value is None else f"{what} {shown(value)}"


def validation_problems(exc: ValidationError, data: dict[str, Any], origin_of, prefix: PathKey = (),
                        root: type[BaseModel] = SiteSpec) -> list[Problem]:
    """Pydantic's errors as problems at their file and line; `prefix` is where the validated part of `data` is
    (a section validated on its own, e.g. ("jurisdiction",)); `root` is the model of the whole of `data` (a
    catalog file's), which an unknown key's hint lists the allowed keys from."""
    problems = []
    for err in exc.errors():
        loc = prefix + tuple(err["loc"])
        path = _named_path(data, loc)
        origin = origin_of(path) or Origin(BASELINE, 1)
        kind = err["type"]
        value = err.get("input")
        if kind == "extra_forbidden":
            model = _model_at(loc, root)
            allowed = [f.alias or n for n, f in model.model_fields.items()] if model else []
            msg = f"unknown key; {nearest(str(loc[-1]), allowed)}" if allowed else "unknown key"
        elif kind == "missing":
            msg = "required key is missing" + _new_item_hint(data, loc, origin_of)
        elif kind == "ip_v4_network":
            msg = f"{shown(value)} is not a valid IPv4 network{_why_not_network(value)}" if isinstance(value, str) \
                else f"expected an IPv4 network as text (e.g. '10.0.0.0/16'), got {kind_of(value)} {shown(value)}"
        elif kind in _EXPECTED:
            got = _got(value)
            msg = f"expected {_EXPECTED[kind]}, got {got}"
            if kind.startswith("int") and isinstance(value, str) and value.strip().lstrip("+-").isdigit():
                msg += f" (write {value.strip()} without quotes)"
        elif kind == "value_error":
            msg = str(err["msg"]).removeprefix("Value error, ")
            if isinstance(value, dict):  # a rule across a mapping's keys: blame the layer that set them last
                origin = max([o for k in value if (o := origin_of(path + (k,)))] or [origin], key=_layer_rank)
        else:
            msg = err["msg"]
            if kind in ("literal_error", "enum"):
                msg = f"{msg} (got {shown(value)})"
            elif value is not None and not isinstance(value, (dict, list)):
                msg = f"{msg} (got {shown(value)})"
        problems.append(Problem(origin.file, origin.line or 1, dotted(path), msg))
    return problems


SITE_MAY_NOT_SET = {
    ("jurisdiction", "code"): "a site chooses its jurisdiction with sitekit:jurisdiction; the profile's code is "
                              "its file name",
    ("jurisdiction", "locked"): "locks are the jurisdiction's own; a site may not add, change or remove them",
}
"""Keys no site may set, whatever its jurisdiction locks."""


def _refuse_site_keys(site: Layer) -> list[Problem]:
    problems = []
    section = site.data.get("jurisdiction")
    for path, why in SITE_MAY_NOT_SET.items():
        if isinstance(section, dict) and path[1] in section:
            problems.append(Problem(site.file, site.origin(path).line, dotted(path), why))
            del section[path[1]]
            if not section:  # nothing else set under it: as if the site never wrote the section
                del site.data["jurisdiction"]
    return problems


def _layer(root: Path, file: str, problems: list[Problem]) -> Layer | None:
    try:
        return Layer(file, *load_yaml(root / file, file))
    except SpecError as exc:
        problems += exc.problems
        return None


def load_profile(root: Path, code: str) -> tuple[Layer, Jurisdiction]:
    """A jurisdiction profile on its own (no site, no baseline): its layer and its `jurisdiction:` section,
    validated. Raises SpecError with every problem of the file, each at its line."""
    file = f"{JURISDICTIONS}/{code}.yaml"
    layer = Layer(file, *load_yaml(root / file, file))
    try:
        return layer, Jurisdiction.model_validate(layer.data.get("jurisdiction"))
    except ValidationError as exc:
        raise SpecError(validation_problems(exc, layer.data, layer.origin, prefix=("jurisdiction",))) from None


def _profile_code(layer: Layer, code: str) -> list[Problem]:
    """A profile's `code` is its file name: sites name it by file, messages and tags by code."""
    section = layer.data.get("jurisdiction")
    written = section.get("code") if isinstance(section, dict) else None
    if written is None or written == code:
        return []
    return [Problem(layer.file, layer.origin(("jurisdiction", "code")).line, "jurisdiction.code",
                    f"'{written}' differs from the profile's file name; write code: {code} (or rename the file "
                    f"to {written}.yaml)")]


def _bad_locks(layer: Layer) -> list[Problem]:
    """A lock names a key of the spec: a misspelt one would lock nothing, and one below a value would refuse the
    value itself. Each bad lock is a problem, and is left out of the merge."""
    section = layer.data.get("jurisdiction")
    locked = section.get("locked") if isinstance(section, dict) else None
    if not isinstance(locked, list):
        return []
    problems, kept = [], []
    for i, entry in enumerate(locked):
        why = spec_key_problem(entry["key"]) if isinstance(entry, dict) and isinstance(entry.get("key"), str) else None
        if why:
            path = ("jurisdiction", "locked", i, "key")
            problems.append(Problem(layer.file, layer.origin(path).line, dotted(path), f"lock on '{clip(entry['key'])}': {why}"))
        else:
            kept.append(entry)
    section["locked"] = kept
    return problems


PLAN_PLACES = {"sitekit:addressPlan": ("addressPlan", ()),
               "sitekit:overrides.site.addressPlan": ("overrides", ("site", "addressPlan"))}
"""Where a stack file can hold its address plan: {where: (sitekit key, path inside its value)}."""


def declared_plans(values: dict[str, Any]) -> dict[str, Any]:
    """The address plans a stack file's `sitekit:` values declare, by where (see PLAN_PLACES), as written."""
    out = {}
    for where, (key, inner) in PLAN_PLACES.items():
        node = values.get(key)
        for part in inner:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            out[where] = node
    return out


def site_supernets(root: Path, skip: str) -> list[tuple[str, IPv4Network, Origin]]:
    """Every other site's supernets (from both places a plan can be), read leniently from its stack file: a file
    that cannot be read, or a supernet that is not a network, is that site's own problem, reported when it is
    loaded."""
    out = []
    for name in list_sites(root):
        if name == skip:
            continue
        try:
            values, key_marks, _ = read_stack_values(root, name)
        except SpecError:
            continue
        for where, plan in declared_plans(values).items():
            key, inner = PLAN_PLACES[where]
            try:
                supernet = IPv4Network(plan["supernet"]) if isinstance(plan, dict) and isinstance(plan.get("supernet"), str) else None
            except ValueError:
                continue
            if supernet is not None:
                line = key_marks.get(key, {}).get(inner + ("supernet",))
                out.append((name, supernet, Origin(stack_file(name), line)))
    return out


def _overlapping_sites(loaded: LoadedSite) -> list[Problem]:
    mine = loaded.spec.site.address_plan.supernet
    path = ("site", "addressPlan", "supernet")
    origin = loaded.origin(path) or Origin(stack_file(loaded.name), 1)
    return [Problem(origin.file, origin.line, dotted(path),
                    f"{mine} overlaps site '{name}' ({theirs}, {where}); each site needs its own block of the "
                    "organisation's address space")
            for name, theirs, where in site_supernets(loaded.root, loaded.name) if mine.overlaps(theirs)]


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
        if (root / file).is_file():
            try:
                _, key_marks, _ = read_stack_values(root, stack)
            except SpecError:
                key_marks = {}
    values, value_problems = check_values(stack, values, key_marks)
    problems += value_problems
    site = site_layer(stack, values, key_marks)
    problems += _refuse_site_keys(site)

    baseline = _layer(root, BASELINE, problems)
    if baseline is not None:
        problems += _bad_locks(baseline)
    layers = [baseline] if baseline is not None else []
    code = values.get("jurisdiction")
    known = list_jurisdictions(root)
    if not isinstance(code, str) or code not in known:
        line = site.origin(("site", "jurisdiction")).line or 1  # where it is, or `config:`, where it belongs
        what = "is missing" if code is None else f"unknown jurisdiction '{clip(str(code))}'; {nearest(str(code), known)}"
        problems.append(Problem(file, line, "site.jurisdiction", what))
        profile = None
    else:
        profile = _layer(root, f"{JURISDICTIONS}/{code}.yaml", problems)
        if profile is not None:
            problems += _profile_code(profile, code) + _bad_locks(profile)
            layers.append(profile)
    try:
        catalog = load_catalog(root)
    except SpecError as exc:
        problems += exc.problems
        catalog = None
    if baseline is None or profile is None or catalog is None:
        # a missing layer or catalog: validating the rest would only echo that problem
        raise SpecError(problems)
    layers.append(site)

    data, prov, merge_problems = merge_layers(layers)
    problems += merge_problems
    loaded_origin = lambda path: origin_in(prov, path)  # noqa: E731
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
    problems += _overlapping_sites(loaded)
    from .peering import peer_links

    loaded.peers, peer_problems = peer_links(loaded)
    problems += peer_problems
    if problems:
        raise SpecError(problems)
    return loaded


def origin_in(prov: dict[PathKey, Origin], path: PathKey) -> Origin | None:
    """The origin of `path` or of its nearest ancestor that has one (the root's, last)."""
    while path:
        if path in prov:
            return prov[path]
        path = path[:-1]
    return prov.get(())
