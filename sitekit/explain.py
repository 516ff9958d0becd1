"""`sitekit explain`: the effective spec as (dotted key, value, origin) rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import Problem, SpecError, nearest
from .loader import load_site, stack_file
from .sources import dotted, item_key


def _leaves(value: Any, path: tuple) -> list[tuple[tuple, Any]]:
    if isinstance(value, dict) and value:
        return [leaf for k, v in value.items() for leaf in _leaves(v, path + (k,))]
    if isinstance(value, list) and value and all(isinstance(i, dict) for i in value):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, path + (item_key(v, i),))]
    return [(path, value)]


def explain_rows(root: Path, site: str, key: str | None = None) -> list[tuple[str, Any, str]]:
    loaded = load_site(root, site)
    rows = []
    for path, value in _leaves(loaded.data, ()):
        name = dotted(path)
        if key and not (name == key or name.startswith(key + ".")):
            continue
        origin = loaded.origin(path)
        rows.append((name, value, str(origin) if origin else "(default)"))
    if key and not rows:
        keys = sorted({dotted(p[: i + 1]) for p, _ in _leaves(loaded.data, ()) for i in range(len(p))})
        raise SpecError([Problem(stack_file(site), None, key, f"no such key; {nearest(key, keys)}")])
    return rows
