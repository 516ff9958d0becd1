"""What "the cloud" now holds, for the stand-in OCI provider (tests only): changes made behind Pulumi's back.

A test writes `<PULUMI_HOME>/sitekit-cloud.json` of its throwaway home (`change`, `remove`); the stand-in's Read
then answers with those values (a property changed) or with no resource (gone), as the real provider would after
someone edited the site in the console. A Create or Update through the provider is the cloud taking the
program's values again, so it forgets the resource's entry (`applied`). The file lives only in a throwaway home
the stand-in is installed in; nothing is read from the environment beyond the home the engine gives its plugins.

The file: `{"resources": {"<logical name>": {"set": {"<dotted.path>": value, ...}} | {"gone": true}}}`; a path's
parts are property names, or list indexes written as numbers (`ingressSecurityRules.0.source`); a mapping set
on a mapping is merged into it, so a key holding dots (a defined tag) is set as
`{"definedTags": {"ns.cost-centre": "x"}}`.
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

FILE = "sitekit-cloud.json"


def _file(home: Path | str | None = None) -> Path | None:
    home = home if home is not None else os.environ.get("PULUMI_HOME")
    return Path(home) / FILE if home else None


@contextmanager
def _locked(path: Path) -> Iterator[dict]:
    """The file's contents under an exclusive lock (several provider processes share one home); written back
    when the block changes them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(path.read_text()) if path.is_file() else {"resources": {}}
        before = copy.deepcopy(data)
        yield data
        if data != before:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
            os.replace(tmp, path)


def change(home: Path, name: str, values: dict[str, Any]) -> None:
    """The cloud now holds `values` ({dotted path: value}) for the resource of logical name `name`."""
    with _locked(_file(home)) as data:
        entry = data["resources"].setdefault(name, {})
        entry.pop("gone", None)
        entry.setdefault("set", {}).update(values)


def remove(home: Path, name: str) -> None:
    """The resource of logical name `name` was deleted outside Pulumi."""
    with _locked(_file(home)) as data:
        data["resources"][name] = {"gone": True}


def _entry(name: str) -> dict | None:
    path = _file()
    if path is None or not path.is_file():
        return None
    with _locked(path) as data:
        return data["resources"].get(name)


def applied(name: str) -> None:
    """The provider created or updated the resource: the cloud holds the program's values again."""
    path = _file()
    if path is None or not path.is_file():
        return
    with _locked(path) as data:
        data["resources"].pop(name, None)


def _set(target: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    node: Any = target
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    last = int(parts[-1]) if isinstance(node, list) else parts[-1]
    if isinstance(value, dict) and isinstance(node[last] if isinstance(node, list) else node.get(last), dict):
        node[last] = {**node[last], **value}
    else:
        node[last] = value


def read(name: str, properties: dict, inputs: dict) -> tuple[dict, dict] | None:
    """(properties, inputs) as the cloud holds them now: the state's, with the changes made behind Pulumi's
    back applied (an input path only where the inputs hold that property); None when the resource is gone."""
    entry = _entry(name)
    if entry is None:
        return properties, inputs
    if entry.get("gone"):
        return None
    properties, inputs = copy.deepcopy(properties), copy.deepcopy(inputs)
    for path, value in entry.get("set", {}).items():
        _set(properties, path, value)
        if path.split(".")[0] in inputs:
            _set(inputs, path, value)
    return properties, inputs
