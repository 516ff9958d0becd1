"""`sitekit explain`: the effective spec as (dotted key, value, origin) rows.

The effective spec is the validated `SiteSpec`, so values the models default appear too, labelled
`(default)`; every other value names the file:line that set it. Items of named lists are addressed by name,
items of other lists by index, each with its own line. A secret is only ever a flag (`site.alertEndpoint`).
The rows as text (`print_rows`) and JSON (`rows_json`); the registry naming them is `EXPLAIN` in
sitekit/cli/formats.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.text import Text

from sitekit.errors import Problem, SpecError, nearest
from sitekit.spec.layout import stack_file
from sitekit.spec.loader import load_site
from sitekit.spec.sources import dotted, item_key

DEFAULT = "(default)"
_MISSING = object()


def _leaves(value: Any, path: tuple) -> list[tuple[tuple, Any]]:
    if isinstance(value, dict) and value:
        return [leaf for k, v in value.items() for leaf in _leaves(v, path + (k,))]
    if isinstance(value, list) and value:
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, path + (item_key(v, i),))]
    return [(path, value)]


def _at(data: Any, path: tuple) -> Any:
    """The value at `path` in the merged data (list items by name or index), or _MISSING."""
    for part in path:
        if isinstance(data, dict):
            data = data.get(part, _MISSING)
        elif isinstance(data, list):
            data = next((v for i, v in enumerate(data) if item_key(v, i) == part), _MISSING)
        else:
            return _MISSING
        if data is _MISSING:
            return data
    return data


def explain_rows(root: Path, site: str, key: str | None = None) -> list[tuple[str, Any, str]]:
    loaded = load_site(root, site)
    effective = loaded.spec.model_dump(mode="json", by_alias=True)
    leaves = _leaves(effective, ())
    rows = []
    for path, value in leaves:
        name = dotted(path)
        if key and not (name == key or name.startswith(key + ".")):
            continue
        written = _at(loaded.data, path)
        if written is _MISSING:
            rows.append((name, value, DEFAULT))
            continue
        origin = loaded.origin(path)
        # as written (60 rather than 60.0) where that is the same value and plain JSON
        shown = written if written == value and isinstance(written, (str, int, float, bool)) else value
        rows.append((name, shown, str(origin) if origin else DEFAULT))
    if key and not rows:
        keys = sorted({dotted(p[: i + 1]) for p, _ in leaves for i in range(len(p))})
        raise SpecError([Problem(stack_file(site), None, key, f"no such key; {nearest(key, keys)}")])
    return rows


def rows_json(rows: list[tuple[str, Any, str]]) -> str:
    return json.dumps([{"key": k, "value": v, "origin": o} for k, v, o in rows], indent=2) + "\n"


def print_rows(rows: list[tuple[str, Any, str]], console: Any) -> None:
    """`key  value  # origin`, the keys aligned, on a rich console."""
    width = max((len(k) for k, _, _ in rows), default=0)
    for k, v, o in rows:
        # as written: a value's `[bold]` or `:100:` is not console markup
        console.print(Text.assemble(f"{k.ljust(width)}  {json.dumps(v)}  ", (f"# {o}", "dim")), highlight=False)
