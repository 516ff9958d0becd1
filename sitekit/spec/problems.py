"""Pydantic's validation errors as problems at a file, line and dotted key, in sitekit's words.

Values are quoted clipped (`shown`), an unknown key names the keys its model allows, a missing key in a new
list item names the existing item it was probably meant to be.
"""

from __future__ import annotations

import difflib
import re
import typing
from ipaddress import IPv4Network
from typing import Any

from pydantic import BaseModel, ValidationError

from sitekit.errors import Problem, clip, nearest
from sitekit.spec.layout import BASELINE, JURISDICTIONS
from sitekit.spec.merge import Origin
from sitekit.spec.models import SiteSpec
from sitekit.spec.sources import PathKey, dotted, item_key, kind_of


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


def why_not_network(value: Any) -> str:
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
                hint = f" (a new item '{clip(name)}'; did you mean '{close[0]}'?)"
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
            msg = f"{shown(value)} is not a valid IPv4 network{why_not_network(value)}" if isinstance(value, str) \
                else f"expected an IPv4 network as text (e.g. '10.0.0.0/16'), got {kind_of(value)} {shown(value)}"
        elif kind in _EXPECTED:
            got = described(value)
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


def described(value: Any) -> str:
    """'an integer 5', "text '2'", 'a list', 'null': a value's kind, and the value where it is short."""
    what = kind_of(value)
    return what if isinstance(value, (dict, list)) or value is None else f"{what} {shown(value)}"
