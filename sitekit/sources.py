"""Read YAML files keeping, for every value, the line that set it.

`load_yaml` returns the data and a `Marks` map from a path to the line of the value. A path is a tuple of
keys; an item of a list of named mappings (``- name: gpu``) is addressed by its name, any other list item by
its index. This is the only module that parses YAML; a syntax error becomes a `SpecError` naming the file
and line.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from .errors import Problem, SpecError

PathKey = tuple[Any, ...]
Marks = dict[PathKey, int]


def item_key(item: Any, index: int) -> Any:
    """How a list item is addressed in a path: by its ``name`` when it has one, else by index."""
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        return item["name"]
    return index


def dotted(path: PathKey) -> str:
    return ".".join(str(p) for p in path)


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (a silent overwrite hides mistakes)."""


def _construct(node: yaml.Node, path: PathKey, marks: Marks, file: str, problems: list[Problem]) -> Any:
    marks[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _Loader(" ").construct_object(key_node)  # scalar keys only
            if key in out:
                problems.append(Problem(file, key_node.start_mark.line + 1, dotted(path + (key,)), "duplicate key"))
                continue
            out[key] = _construct(value_node, path + (key,), marks, file, problems)
            marks[path + (key,)] = key_node.start_mark.line + 1  # the key's line, not where a block value starts
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, child in enumerate(node.value):
            # Name the item by its `name:` child where it has one, so paths survive reordering.
            key: Any = i
            if isinstance(child, yaml.MappingNode):
                for k, v in child.value:
                    if k.value == "name" and isinstance(v, yaml.ScalarNode):
                        key = v.value
            items.append(_construct(child, path + (key,), marks, file, problems))
        return items
    loader = _Loader("")
    try:
        return loader.construct_object(node, deep=True)
    except ValueError as exc:  # a scalar YAML resolves but cannot build, e.g. the date 2027-13-01
        problems.append(Problem(file, node.start_mark.line + 1, dotted(path), f"invalid value {node.value!r}: {exc}"))
        return node.value


def parse_yaml(text: str, file: str) -> tuple[Any, Marks]:
    """Parse YAML text; return (data, marks). Raise SpecError on a syntax error or duplicate key."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or str(exc)
        context, where = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and where is not None and where.line + 1 != line:
            what += f" ({context} at line {where.line + 1})"  # where the unclosed construct began
        raise SpecError([Problem(file, line, "", f"YAML syntax error: {what}")]) from None
    marks: Marks = {}
    problems: list[Problem] = []
    data = {} if node is None else _construct(node, (), marks, file, problems)
    if problems:
        raise SpecError(problems)
    return data, marks


_PARSED: dict[tuple[str, str], tuple[Any, Marks]] = {}
"""Parsed files by (name, text): the baseline and a profile are read for every site of a run, parsed once."""


def load_yaml(path: Path, shown_as: str | None = None) -> tuple[Any, Marks]:
    """Load a YAML file; `shown_as` is how the file is named in messages (a repo-relative path). The result is
    the caller's own (a copy): a file with the same name and text is parsed once per process."""
    name = shown_as or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Problem(name, None, "", "file not found")]) from None
    key = (name, text)
    if key not in _PARSED:
        if len(_PARSED) >= 256:
            _PARSED.clear()
        _PARSED[key] = parse_yaml(text, name)
    data, marks = _PARSED[key]
    return copy.deepcopy(data), dict(marks)
