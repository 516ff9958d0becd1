"""Dotted keys of the site spec (`compute.pools.train.nodes`): whether a key names one, and the nearest that does."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

from sitekit.errors import clip, nearest
from sitekit.spec.models import SiteSpec


def _model_of(tp: Any) -> Any:
    """The model or container a field's annotation holds (Optional and Annotated unwrapped)."""
    while True:
        origin = typing.get_origin(tp)
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if origin is typing.Annotated or (origin in (typing.Union, types.UnionType) and len(args) == 1):
            tp = args[0]
        else:
            return tp


def spec_key_problem(key: str) -> str | None:
    """Why the dotted `key` names no key of the site spec (with the nearest that does), or None. An item of a
    list of named items is addressed by its name (`compute.pools.train.nodes`), a mapping's entry by its key."""
    tp: Any = SiteSpec
    done: list[str] = []
    for part in key.split("."):
        tp = _model_of(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            fields = {f.alias or n: f.annotation for n, f in tp.model_fields.items()}
            if part not in fields:
                here = [".".join(done + [f]) for f in fields]
                return f"no such key in the spec; {nearest('.'.join(done + [part]), here)}"
            tp = fields[part]
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        elif origin is list and isinstance(item := _model_of(typing.get_args(tp)[0]), type) \
                and issubclass(item, BaseModel) and "name" in item.model_fields:
            tp = item  # the item named `part`
        else:
            above = ".".join(done)
            what = "a list whose items have no names" if origin is list else "a value"
            return f"'{clip(above)}' is {what}; it has no key '{clip(part)}'"
        done.append(part)
    return None
