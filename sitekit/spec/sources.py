"""Read YAML files keeping, for every value, the line that set it; refuse what is not plain, bounded data.

`load_yaml` returns a file's top-level mapping and a `Marks` map from a path to the line of the value. A path
is a tuple of keys; an item of a list of named mappings (``- name: gpu``) is addressed by its name, any other
list item by its index. This is the only module that parses YAML; `load_json` reads a JSON document (a
`pulumi preview --json` file) within the same bounds.

Everything that can be wrong with a file becomes a `SpecError` naming the file and line, never a traceback:
a file that is missing, a directory, a dangling symlink or a symlink loop, unreadable, not a regular file,
larger than `MAX_BYTES`, binary or not UTF-8; a YAML syntax error; more than one document; a top level that
is not a mapping (an empty file, ``~``, a scalar, a list); a tag other than the plain-data ones (``!!python/...``
is refused, never constructed); a merge key (``<<``); a key that is a mapping or a list, or is not text; a
duplicate key; a scalar its tag cannot hold (``!!int abc``, the date 2023-02-30, an integer of 5,000
digits); nesting deeper than `MAX_DEPTH`; more than `MAX_VALUES` values, counting every value an alias
repeats (an alias bomb stops there, in bounded time and memory); an alias of a node that contains it.
A problem with a whole file is reported at its line 1.

Parsing is libyaml's (`yaml.CSafeLoader`): its event stream is turned into plain values here, in one pass,
with the bounds checked as it goes (no node graph is built, so nothing is expanded before it is counted).
A syntax error is worded as PyYAML's pure-Python parser words it, when the text up to the error is small.

Each file is read and parsed once per process: a cache keyed by path and (mtime, size, inode, ctime) hands
out a fresh copy of the parsed data each time. A file modified within `RACY_NS` of when it was read is
re-read and compared by content, since a second write in the same clock tick can leave mtime and size as
they were (git's "racily clean" case).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat as statmod
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import yaml

from sitekit.errors import Problem, SpecError, clip

PathKey = tuple[Any, ...]
Marks = dict[PathKey, int]

MAX_BYTES = 1 << 20
"""Largest file sitekit reads (1 MiB; the largest shipped file is under 16 KiB)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists in one file (the shipped files nest 7 deep)."""
MAX_VALUES = 10_000
"""Most values (scalars, mappings, lists) one file may hold, counting each value an alias repeats (the
shipped baseline holds about 1,100)."""
RACY_NS = 2_000_000_000
"""A file modified less than this long before it was read is re-checked by content on the next read."""

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_CORE + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_ALLOWED_TAGS = "!!str, !!int, !!float, !!bool, !!null, !!timestamp, !!map, !!seq"
_KINDS = {bool: "a boolean", int: "an integer", float: "a number", type(None): "null"}


def item_key(item: Any, index: int) -> Any:
    """How a list item is addressed in a path: by its ``name`` when it has one, else by index."""
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        return item["name"]
    return index


def dotted(path: PathKey) -> str:
    return ".".join(str(p) for p in path)


def kind_of(value: Any) -> str:
    """A value's kind as messages name it: 'a mapping', 'a list', 'an integer', 'text'..."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    return _KINDS.get(type(value), f"a {type(value).__name__}")


class _Loader(yaml.CSafeLoader):
    """libyaml's parser with PyYAML's safe resolver and scalar constructors; `_Builder` drives it."""


_BAD = object()
"""A key that was refused (its problem is recorded)."""


class _Stop(Exception):
    """A bound was passed: stop reading the file (the problem is already recorded)."""


def _short(tag: str) -> str:
    return "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag


class _Builder:
    """Turns libyaml's events for one document into plain values, recording marks and problems."""

    def __init__(self, loader: _Loader, file: str):
        self.loader = loader
        self.file = file
        self.log: list[tuple[PathKey, int]] = []  # (path, line) in order; later entries win
        self.problems: list[Problem] = []
        self.values = 0
        self.anchors: dict[str, tuple[Any, list[tuple[PathKey, int]], int] | None] = {}  # None: still open

    def problem(self, line: int, path: PathKey, message: str) -> None:
        self.problems.append(Problem(self.file, line, dotted(path), message))

    def count(self, n: int, line: int, path: PathKey, via: str = "") -> None:
        self.values += n
        if self.values > MAX_VALUES:
            self.problem(line, path, f"more than {MAX_VALUES:,} values in one file{via}; sitekit refuses larger "
                                     "inputs (split the data, or write repeated values out)")
            raise _Stop

    # -------------------------------------------------------------------------------------------- values
    def value(self, path: PathKey, depth: int) -> Any:
        event = self.loader.get_event()
        line = event.start_mark.line + 1
        self.log.append((path, line))
        if isinstance(event, yaml.AliasEvent):
            return self.alias(event.anchor, path, line)
        anchor = getattr(event, "anchor", None)
        start = len(self.log) - 1
        if anchor is not None:
            self.anchors[anchor] = None
        if isinstance(event, yaml.ScalarEvent):
            self.count(1, line, path)
            value = self.scalar(event, path, line)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if depth >= MAX_DEPTH:
                self.problem(line, path[:1], f"nesting deeper than {MAX_DEPTH} levels; sitekit refuses deeper inputs")
                raise _Stop
            self.count(1, line, path)
            self.collection_tag(event, path, line)
            value = (self.mapping(path, depth + 1) if isinstance(event, yaml.MappingStartEvent)
                     else self.sequence(path, depth + 1))
        else:  # pragma: no cover - libyaml emits only these inside a document
            raise yaml.YAMLError(f"unexpected {type(event).__name__}")
        if anchor is not None:
            n = len(path)
            self.anchors[anchor] = (value, [(p[n:], ln) for p, ln in self.log[start:]], _size(value))
        return value

    def alias(self, anchor: str, path: PathKey, line: int) -> Any:
        if anchor not in self.anchors:
            self.problem(line, path, f"alias *{clip(anchor)} names no anchor (&{clip(anchor)}) before it")
            return None
        target = self.anchors[anchor]
        if target is None:
            self.problem(line, path, f"alias *{clip(anchor)} is inside the value it names (a recursive alias)")
            raise _Stop
        value, rel, size = target
        self.count(size, line, path, via=f" (counting what alias *{clip(anchor)} repeats)")
        self.log.extend((path + p, ln) for p, ln in rel[1:])
        return copy_tree(value)

    def scalar(self, event: yaml.ScalarEvent, path: PathKey, line: int) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _CORE + "str":
            return event.value
        if tag == _CORE + "merge":
            self.problem(line, path, "YAML merge keys (<<) are not supported; write the keys out, so each value "
                                     "has one line that sets it")
            return None
        if tag not in _SCALAR_TAGS:
            self.problem(line, path, f"YAML tag '{clip(_short(tag))}' is not allowed; sitekit reads plain data "
                                     f"(allowed: {_ALLOWED_TAGS})")
            return None
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            return self.loader.yaml_constructors[tag](self.loader, node)
        except (ValueError, KeyError, AttributeError, TypeError, OverflowError) as exc:
            if "digits" in str(exc):
                why = f" (an integer of {len(event.value):,} digits)"
            else:
                why = f": {exc}" if tag == _CORE + "timestamp" and isinstance(exc, ValueError) else ""
            self.problem(line, path, f"'{clip(event.value)}' is not a valid {_short(tag)}{why}")
            return None

    def collection_tag(self, event: Any, path: PathKey, line: int) -> None:
        tag = event.tag
        want = _CORE + ("map" if isinstance(event, yaml.MappingStartEvent) else "seq")
        if tag not in (None, "!", want):
            self.problem(line, path, f"YAML tag '{clip(_short(tag))}' is not allowed; sitekit reads plain data "
                                     f"(allowed: {_ALLOWED_TAGS})")

    def mapping(self, path: PathKey, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        while not self.loader.check_event(yaml.MappingEndEvent):
            key_line = self.loader.peek_event().start_mark.line + 1
            key = self.key(path, depth, key_line)
            if key is not _BAD and key in out:
                self.problem(key_line, path + (key,), "duplicate key")
                key = _BAD
            if key is _BAD:  # read the value (for its problems and bounds) and drop it
                mark = len(self.log)
                self.value(path, depth)
                del self.log[mark:]
                continue
            out[key] = self.value(path + (key,), depth)
            self.log.append((path + (key,), key_line))  # the key's line, not where a block value starts
        self.loader.get_event()
        return out

    def key(self, path: PathKey, depth: int, line: int) -> Any:
        """A mapping key: text, or _BAD after recording why not."""
        event = self.loader.peek_event()
        mark, problems = len(self.log), len(self.problems)
        key = self.value(path, depth)  # tags, aliases and merge keys are judged as for any value
        del self.log[mark:]  # a key's own marks are not paths of the data
        if len(self.problems) > problems:
            return _BAD
        if isinstance(key, str):
            return key
        if isinstance(key, (dict, list)):
            self.problem(line, path, f"a key must be a single value, not {kind_of(key)}")
        else:
            raw = event.value if isinstance(event, yaml.ScalarEvent) else str(key)
            self.problem(line, path, f"key '{clip(raw)}' is read as {kind_of(key)}; keys are text "
                                     f"(quote it: '{clip(raw)}')")
        return _BAD

    def sequence(self, path: PathKey, depth: int) -> list[Any]:
        items: list[Any] = []
        n = len(path)
        while not self.loader.check_event(yaml.SequenceEndEvent):
            i = len(items)
            start = len(self.log)
            item = self.value(path + (i,), depth)
            name = item_key(item, i)
            if name != i:  # address a named item by its name, so paths survive reordering
                self.log[start:] = [(p[:n] + (name,) + p[n + 1:], ln) for p, ln in self.log[start:]]
            items.append(item)
        self.loader.get_event()
        return items


def _size(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(_size(v) for v in value.values()) + len(value)
    if isinstance(value, list):
        return 1 + sum(_size(v) for v in value)
    return 1


def copy_tree(value: Any) -> Any:
    """A copy of parsed data: new mappings and lists, the same (immutable) scalars."""
    if isinstance(value, dict):
        return {k: copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_tree(v) for v in value]
    return value


# ------------------------------------------------------------------------------------------------ syntax errors
_PY_FALLBACK_CHARS = 16 * 1024


def _syntax_problem(exc: yaml.YAMLError, text: str, file: str) -> Problem:
    """A libyaml error as one problem; worded by PyYAML's parser where it agrees on the place (the text up to
    the error is parsed again, only when it is small)."""
    line = _error_line(exc, text)
    if "maximum nesting depth" in str(getattr(exc, "problem", "")):  # libyaml's own bound (1000), met while scanning ahead
        return Problem(file, line or 1, "", f"nesting deeper than {MAX_DEPTH} levels; sitekit refuses deeper inputs")
    if line is not None:
        cut = _line_end(text, line + 1)
        if cut <= _PY_FALLBACK_CHARS:
            try:
                for _ in yaml.parse(text[:cut], Loader=yaml.SafeLoader):
                    pass
            except yaml.YAMLError as py:
                py_line = _error_line(py, text)
                if py_line is not None and abs(py_line - line) <= 1:
                    exc, line = py, py_line
    return Problem(file, line or 1, "", f"YAML syntax error: {_error_text(exc, text, line)}")


def _line_end(text: str, line: int) -> int:
    pos = -1
    for _ in range(line):
        pos = text.find("\n", pos + 1)
        if pos < 0:
            return len(text)
    return pos + 1


def _error_line(exc: yaml.YAMLError, text: str) -> int | None:
    if isinstance(exc, yaml.reader.ReaderError):
        return text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def _error_text(exc: yaml.YAMLError, text: str, line: int | None) -> str:
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character
        code = ord(char) if isinstance(char, str) else char
        return f"character U+{code:04X} is not allowed in YAML ({exc.reason})" if isinstance(code, int) else exc.reason
    what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context, where = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and where is not None and where.line + 1 != line:
        what += f" ({context} at line {where.line + 1})"  # where the unclosed construct began
    return what


# ------------------------------------------------------------------------------------------------ parsing
def _parse(text: str, file: str) -> tuple[dict[str, Any], Marks]:
    nul = text.find("\x00")
    if nul >= 0:
        raise SpecError([Problem(file, text.count("\n", 0, nul) + 1, "",
                                 "a NUL byte: this is a binary file, not YAML text")])
    loader = _Loader(text)
    builder = _Builder(loader, file)
    data: Any = None
    empty = True
    try:
        loader.get_event()  # stream start
        if not loader.check_event(yaml.StreamEndEvent):
            empty = False
            start = loader.get_event()  # document start
            data = builder.value((), 0)
            loader.get_event()  # document end
            if not loader.check_event(yaml.StreamEndEvent):
                extra = loader.peek_event()
                raise SpecError([Problem(file, extra.start_mark.line + 1, "",
                                         "a second YAML document ('---'); a file holds one document "
                                         f"(the first starts at line {start.start_mark.line + 1})")])
    except _Stop:
        pass
    except yaml.YAMLError as exc:
        raise SpecError([_syntax_problem(exc, text, file)]) from None
    finally:
        loader.dispose()
    if builder.problems:
        raise SpecError(builder.problems)
    if not isinstance(data, dict):
        what = "is empty" if empty else f"holds {kind_of(data)}" + (" (~)" if data is None else "")
        raise SpecError([Problem(file, 1, "", f"the file {what}; it must be a mapping of keys to values")])
    marks = dict(builder.log)
    marks[()] = 1
    return data, marks


_PARSED: OrderedDict[tuple[str, bytes], tuple[dict[str, Any], Marks] | tuple[Problem, ...]] = OrderedDict()
_PARSED_MAX = 512
"""Parses kept (least recently used first out). Above the largest fleet's files: 192 sites fill the organisation's
address space, and every site's load reads every other site's stack file (its block checked against theirs), in
the same order each time, so a cache smaller than the fleet missed on every read (at 128, a load of 192 sites
parsed each stack file once per site: 0.11 s a load, against 0.02 s)."""


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _remember(file: str, digest: bytes, result: Any) -> None:
    _PARSED[(file, digest)] = result
    if len(_PARSED) > _PARSED_MAX:
        _PARSED.popitem(last=False)


def _hand_out(file: str, digest: bytes, hit: Any) -> tuple[dict[str, Any], Marks]:
    _PARSED.move_to_end((file, digest))
    if isinstance(hit[0], Problem):
        raise SpecError(hit)
    data, marks = hit
    return copy_tree(data), dict(marks)


def _parsed(text: str, file: str, digest: bytes) -> tuple[dict[str, Any], Marks]:
    hit = _PARSED.get((file, digest))
    if hit is None:
        try:
            hit = _parse(text, file)
        except SpecError as exc:
            hit = tuple(exc.problems)
        _remember(file, digest, hit)
    return _hand_out(file, digest, hit)


def parse_yaml(text: str, file: str) -> tuple[dict[str, Any], Marks]:
    """Parse YAML text whose top level is a mapping; return (data, marks). Raise SpecError with every
    problem (see the module docstring)."""
    return _parsed(text, file, _digest(text.encode("utf-8", "surrogatepass")))


# ------------------------------------------------------------------------------------------------ files
_FILES: dict[tuple[str, str], tuple[tuple[int, ...], int, bytes]] = {}
"""(path, name) -> (stat signature, when it was read (ns), digest of its bytes)."""


def _refuse(file: str, message: str) -> SpecError:
    return SpecError([Problem(file, 1, "", message)])


def _stat(path: Path, name: str, most: int = MAX_BYTES) -> os.stat_result:
    """The file's status, or a SpecError saying why it cannot be read as a file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise _refuse(name, f"a symbolic link to '{clip(os.readlink(path), 200)}', which does not exist") from None
        parent = next((p for p in path.parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise _refuse(name, f"cannot read the file: '{parent}' is a file, not a folder") from None
        raise _refuse(name, "file not found") from None
    except NotADirectoryError:
        parent = next((p for p in path.parents if p.exists() and not p.is_dir()), path.parent)
        raise _refuse(name, f"cannot read the file: '{parent}' is a file, not a folder") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refuse(name, "a symbolic link loop (the link leads back to itself)") from None
        raise _refuse(name, f"cannot read the file: {exc.strerror or exc}") from None
    if statmod.S_ISDIR(st.st_mode):
        raise _refuse(name, "a folder, not a file")
    if not statmod.S_ISREG(st.st_mode):
        raise _refuse(name, "not a regular file (a pipe, socket or device); sitekit reads only files")
    if st.st_size > most:
        raise _refuse(name, f"the file is {st.st_size:,} bytes; sitekit reads files of at most {most:,} bytes")
    return st


def _read(path: Path, name: str, most: int = MAX_BYTES) -> bytes:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(most + 1)
    except PermissionError:
        raise _refuse(name, "permission denied: sitekit may not read this file") from None
    except OSError as exc:
        raise _refuse(name, f"cannot read the file: {exc.strerror or exc}") from None
    if len(raw) > most:
        raise _refuse(name, f"the file is over {most:,} bytes; sitekit reads files of at most {most:,} bytes")
    return raw


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _refuse(name, "UTF-16 text; save the file as UTF-8")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        nul = raw.find(b"\x00")
        if 0 <= nul:
            line = raw.count(b"\n", 0, nul) + 1
            raise SpecError([Problem(name, line, "", "a NUL byte: this is a binary file, not YAML text")]) from None
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SpecError([Problem(name, line, "", f"not UTF-8 text (byte 0x{raw[exc.start]:02x} cannot start or "
                                                 "continue a character); save the file as UTF-8")]) from None


def load_yaml(path: Path, shown_as: str | None = None) -> tuple[dict[str, Any], Marks]:
    """Load a YAML file whose top level is a mapping; `shown_as` is how the file is named in messages (a
    repo-relative path). Read and parsed once per process while the file is unchanged; each call gets its
    own copy of the data."""
    name = shown_as or str(path)
    st = _stat(path, name)
    signature = (st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev, st.st_ctime_ns, st.st_mode)
    known = _FILES.get((str(path), name))
    if known is not None and known[0] == signature and st.st_mtime_ns < known[1] - RACY_NS:
        hit = _PARSED.get((name, known[2]))
        if hit is not None:
            return _hand_out(name, known[2], hit)
    read_at = time.time_ns()
    raw = _read(path, name)
    digest = _digest(raw)
    _FILES[(str(path), name)] = (signature, read_at, digest)
    hit = _PARSED.get((name, digest))
    if hit is None:
        try:
            text = _decode(raw, name)
        except SpecError as exc:
            _remember(name, digest, tuple(exc.problems))
            raise
        return _parsed(text, name, digest)
    return _hand_out(name, digest, hit)


MAX_JSON_BYTES = 64 << 20
"""Largest JSON document sitekit reads (64 MiB: a `pulumi preview --json --diff` of a large site is a few MiB)."""


def load_json(path: Path, shown_as: str | None = None, *, what: str = "JSON", most: int = MAX_JSON_BYTES) -> Any:
    """A JSON file read as bounded, plain data: refused as `load_yaml` refuses a file that is not one (a folder, a
    dangling link, a pipe, too large, not UTF-8), and when it is not JSON, nests deeper than `MAX_DEPTH`, or holds
    NaN or Infinity (which JSON does not allow). `what` names the document in the refusal of a syntax error."""
    name = shown_as or str(path)
    _stat(path, name, most)
    text = _decode(_read(path, name, most), name)
    deep = f"nesting deeper than {MAX_DEPTH} levels; sitekit refuses deeper inputs"
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except _NotJson as exc:
        raise _refuse(name, str(exc)) from None
    except RecursionError:  # deeper than Python's own bound (about 1,000 levels)
        raise _refuse(name, deep) from None
    except ValueError as exc:
        line = getattr(exc, "lineno", None) or 1
        raise SpecError([Problem(name, line, "", f"not {what}: {clip(getattr(exc, 'msg', str(exc)), 200)}")]) from None
    if _depth(data) > MAX_DEPTH:
        raise _refuse(name, deep)
    return data


def _depth(value: Any) -> int:
    """How deep mappings and lists nest in parsed JSON (walked without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, depth)
            stack.extend((v, depth + 1) for v in (node.values() if isinstance(node, dict) else node))
    return deepest


class _NotJson(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _NotJson(f"not JSON: {name} is not a number JSON allows")


def load_project_yaml(root: Path, file: str) -> tuple[dict[str, Any], Marks]:
    """A file of the project at `root` (`file` relative to it, as messages name it), read by `load_yaml`; refused
    when it, or a folder on its way, is a symbolic link leading out of the project: a stack file, profile,
    baseline or catalog is the project's own (what a review compares, what a commit holds), never a file from
    elsewhere on the machine."""
    path = root / file
    try:
        inside = path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a loop: load_yaml names it
        inside = True
    if not inside:
        target = os.readlink(path) if path.is_symlink() else str(path.resolve())
        raise _refuse(file, f"a symbolic link to '{clip(target, 200)}', outside the project; sitekit reads only the "
                            "project's own files")
    return load_yaml(path, file)


def clear_cache() -> None:
    """Forget every file read (tests that rewrite a file within one clock tick do not need this)."""
    _FILES.clear()
    _PARSED.clear()
