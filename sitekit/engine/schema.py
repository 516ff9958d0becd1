"""The input schema of a pulumi_oci resource type, read from the pulumi_oci classes themselves.

For each type token: every input's engine (camelCase) name, whether it is required, and, for an object or a
list of objects, the schema of the nested `*Args` class, recursively. The stand-in provider's Check refuses
what the real provider would: an unknown property name (at any depth) and a missing required input.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from dataclasses import dataclass, field

from sitekit.oci.types import OCI_PROVIDER

_NESTED = re.compile(r"ForwardRef\('(\w+Args)'\)")


@dataclass(frozen=True)
class Field:
    name: str  # engine (camelCase) name
    required: bool
    nested: "Schema | None" = None
    many: bool = False  # a list of nested objects
    free: bool = False  # a map of free-form keys (tags, metadata)
    py_name: str = ""  # the argument's name in the Python class


@dataclass(frozen=True)
class Schema:
    cls: str
    fields: dict[str, Field] = field(default_factory=dict)


def args_class(type_: str) -> type | None:
    """The pulumi_oci `*Args` class of a type token ('oci:Core/vcn:Vcn'), or None for an unknown token."""
    if type_ == OCI_PROVIDER:
        module, name = "pulumi_oci", "Provider"
    else:
        m = re.fullmatch(r"oci:([A-Za-z]+)/[A-Za-z0-9]+:([A-Za-z0-9]+)", type_)
        if not m:
            return None
        module, name = f"pulumi_oci.{m.group(1).lower()}", m.group(2)
    try:
        return getattr(importlib.import_module(module), f"{name}Args")
    except (ImportError, AttributeError):
        return None


@functools.lru_cache(maxsize=None)
def schema_of(type_: str) -> Schema | None:
    cls = args_class(type_)
    return _schema(cls) if cls is not None else None


@functools.lru_cache(maxsize=None)
def _schema(cls: type) -> Schema:
    module = importlib.import_module(cls.__module__)
    params = inspect.signature(cls.__init__).parameters
    fields: dict[str, Field] = {}
    for py_name, param in params.items():
        if py_name in ("self", "__self__"):
            continue
        prop = cls.__dict__.get(py_name)
        engine = getattr(getattr(prop, "fget", None), "_pulumi_name", None) or _camel(py_name)
        text = str(param.annotation)
        nested = _NESTED.search(text)
        sub = None
        if nested:
            sub_cls = getattr(module, nested.group(1), None)
            sub = _schema(sub_cls) if isinstance(sub_cls, type) else None
        fields[engine] = Field(engine, param.default is inspect.Parameter.empty, sub,
                               many=bool(nested) and "Sequence[" in text.split(nested.group(0))[0],
                               free="Mapping[" in text, py_name=py_name)
    return Schema(cls.__name__, fields)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def check(type_: str, inputs: dict, present=lambda v: v is not None) -> list[tuple[str, str]]:
    """(property path, reason) for every unknown name and missing required input, as the provider's Check
    would refuse them; an empty list for a type this module does not know (nothing to check against)."""
    schema = schema_of(type_)
    return [] if schema is None else _check(schema, inputs, "", present)


def _check(schema: Schema, value: dict, path: str, present) -> list[tuple[str, str]]:
    failures = []
    for key in sorted(value):
        if key.startswith("__"):
            continue  # engine bookkeeping such as __defaults
        where = f"{path}.{key}" if path else key
        f = schema.fields.get(key)
        if f is None:
            failures.append((where, f"unknown property '{key}' of {schema.cls[:-4]}"))
            continue
        item = value[key]
        if f.nested is not None and not f.free:
            for i, sub in enumerate(item if f.many and isinstance(item, list) else [item]):
                if isinstance(sub, dict):
                    failures += _check(f.nested, sub, f"{where}[{i}]" if f.many else where, present)
    for name, f in sorted(schema.fields.items()):
        if f.required and not present(value.get(name)):
            where = f"{path}.{name}" if path else name
            failures.append((where, f"missing required property '{name}'"))
    return failures
