"""The one merge rule of sitekit: baseline < jurisdiction < site.

Semantics, stated once:

* mappings merge key by key; a key the later layer sets wins, a key it leaves out is kept;
* lists whose items are all mappings with a ``name`` merge by name: an item of the later layer with the
  same name merges into the earlier one (key by key, recursively), a new name is appended, order is kept;
  an earlier list of mappings that a later named list meets while an item of it has no name is a problem at
  that item (the later list would replace it whole, silently dropping what the earlier layer set);
* anything else (scalars, plain lists, a mapping meeting a scalar) is replaced whole by the later layer;
* a key that a jurisdiction lists under ``jurisdiction.locked`` may not be set by a site (nor may any key
  above or below it): the attempt is a problem naming the site line and the jurisdiction file that locked
  it, with the basis it cites; the refused value is left out of the result, so the locked value stands;
* within one layer, a list holds each name once: a repeated name is a problem at its line (merging by name
  would fold the two items into one, and their resources' logical names would collide).

Provenance is recorded for every node of the result: the file and line of the layer that set it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sitekit.errors import Problem, clip
from sitekit.spec.sources import Marks, PathKey, dotted, item_key


@dataclass(frozen=True)
class Origin:
    """Where an effective value came from."""

    file: str
    line: int | None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass
class Layer:
    """One layer of a site spec: its data, the file it came from and the line of each value."""

    file: str
    data: dict[str, Any]
    marks: Marks = field(default_factory=dict)
    is_site: bool = False

    def origin(self, path: PathKey) -> Origin:
        """Where the layer sets `path`: its line, or its nearest enclosing value's line when it has none (a
        value the program read through pulumi.Config, which the stack file spells otherwise)."""
        line = self.marks.get(path)
        while line is None and path:
            path = path[:-1]
            line = self.marks.get(path)
        return Origin(self.file, line)


@dataclass(frozen=True)
class Lock:
    key: str
    basis: str
    origin: Origin


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(i, dict) and isinstance(i.get("name"), str) for i in value
    )


def _drop(path: PathKey, prov: dict[PathKey, Origin]) -> None:
    n = len(path)
    for p in [p for p in prov if p[:n] == path]:
        del prov[p]


def _merge(base: Any, over: Any, path: PathKey, layer: Layer, prov: dict[PathKey, Origin],
           problems: list[Problem] | None = None) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base[k], v, path + (k,), layer, prov, problems) if k in base \
                else _fresh(v, path + (k,), layer, prov)
        return out
    if _named_list(base) and _named_list(over):
        out_list = list(base)
        index = {item["name"]: i for i, item in enumerate(out_list)}
        for item in over:
            p = path + (item["name"],)
            if item["name"] in index:
                out_list[index[item["name"]]] = _merge(out_list[index[item["name"]]], item, p, layer, prov, problems)
            else:
                out_list.append(_fresh(item, p, layer, prov))
        return out_list
    if problems is not None and _named_list(over) and isinstance(base, list) and base \
            and all(isinstance(i, dict) for i in base):
        for i, item in enumerate(base):  # a named list's item that lost its name: not replaced silently
            if item_key(item, i) == i:
                origin = prov.get(path + (i,)) or prov.get(path) or Origin(layer.file, None)
                problems.append(Problem(origin.file, origin.line, dotted(path + (i,)),
                                        f"this item has no name, so {layer.file} would replace the whole list "
                                        "rather than merge into it by name; name the item"))
    _drop(path, prov)
    return _fresh(over, path, layer, prov)


def _fresh(value: Any, path: PathKey, layer: Layer, prov: dict[PathKey, Origin]) -> Any:
    """A copy of `value` (layers hold plain data: mappings, lists, immutable scalars), each node's origin
    recorded as it is copied."""
    prov[path] = layer.origin(path)
    if isinstance(value, dict):
        return {k: _fresh(v, path + (k,), layer, prov) for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh(v, path + (item_key(v, i),), layer, prov) for i, v in enumerate(value)]
    return value


def _locks(layer: Layer) -> list[Lock]:
    section = layer.data.get("jurisdiction")
    locked = section.get("locked") if isinstance(section, dict) else None
    out = []
    for i, entry in enumerate(locked if isinstance(locked, list) else []):
        if isinstance(entry, dict) and isinstance(entry.get("key"), str):
            path = ("jurisdiction", "locked", i)
            out.append(Lock(entry["key"], str(entry.get("basis", "")), layer.origin(path)))
    return out


def _leaves(value: Any, path: PathKey):
    """Paths a layer sets outright: scalars and plain lists (mappings and named lists merge instead)."""
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from _leaves(v, path + (k,))
    elif _named_list(value):
        for item in value:  # `name` addresses the item; it is not a value the layer sets
            rest = {k: v for k, v in item.items() if k != "name"}
            yield from _leaves(rest, path + (item["name"],)) if rest else [path + (item["name"],)]
    else:
        yield path


_GONE = object()


def _without(value: Any, refused: set[PathKey], path: PathKey = ()) -> Any:
    """`value` without the `refused` paths (as `_leaves` yields them); a mapping or named list that loses
    everything it had goes too, so what is left merges exactly as if the refused values were never written."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            kept = _GONE if path + (k,) in refused else _without(v, refused, path + (k,))
            if kept is not _GONE:
                out[k] = kept
        return _GONE if value and not out else out
    if _named_list(value):
        items = []
        for item in value:
            p = path + (item["name"],)
            kept = _GONE if p in refused else _without(item, refused, p)
            if kept is not _GONE:
                items.append(kept)
        return items or _GONE
    return value


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def duplicate_names(layer: Layer) -> list[Problem]:
    """Items of one list that share a name: merging by name would fold them into one, and their logical names
    would collide. Each repeat is a problem at its line."""
    problems: list[Problem] = []

    def walk(value: Any, path: PathKey) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, path + (k,))
        elif isinstance(value, list):
            seen: set[str] = set()
            for i, item in enumerate(value):
                name = item_key(item, i)
                if isinstance(name, str):
                    if name in seen:
                        problems.append(Problem(layer.file, layer.origin(path + (name,)).line, dotted(path + (name,)),
                                                f"duplicate name '{clip(name)}': each item of a list is named once"))
                    seen.add(name)
                walk(item, path + (name,))

    walk(layer.data, ())
    return problems


def merge_layers(layers: list[Layer]) -> tuple[dict[str, Any], dict[PathKey, Origin], list[Problem]]:
    """Merge layers in order (earliest lowest). Return (data, provenance, problems)."""
    data: dict[str, Any] = {}
    prov: dict[PathKey, Origin] = {(): layers[0].origin(())} if layers else {}
    problems: list[Problem] = []
    locks: list[Lock] = []
    for layer in layers:
        problems += duplicate_names(layer)
        refused: set[PathKey] = set()
        if layer.is_site:
            for path in _leaves(layer.data, ()):
                key = dotted(path)
                for lock in locks:
                    if _related(key, lock.key):
                        basis = f" ({clip(lock.basis, 400)})" if lock.basis else ""
                        problems.append(Problem(
                            layer.file, layer.marks.get(path), key,
                            f"'{clip(lock.key)}' is locked by {lock.origin}{basis}; a site may not override it",
                        ))
                        refused.add(path)
                        break
        # A refused value is left out, so later checks judge the locked value, not the refused one.
        kept = _without(layer.data, refused) if refused else layer.data
        data = _merge(data, {} if kept is _GONE else kept, (), layer, prov, problems)
        locks.extend(_locks(layer))
    return data, prov, problems
