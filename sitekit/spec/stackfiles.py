"""A stack file's `sitekit:` config values: read with their lines, checked, and turned into the site layer.

Also the other sites' address plans as their stack files declare them (`declared_plans`, `site_supernets`),
read leniently: a file that cannot be read is that site's own problem, reported when it is loaded.
"""

from __future__ import annotations

import difflib
import os
import time
from collections import Counter
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from sitekit.errors import Problem, SpecError, clip, nearest
from sitekit.spec.layout import list_sites, stack_file
from sitekit.spec.merge import Layer, Origin, _merge
from sitekit.spec.problems import described
from sitekit.spec.sources import (
    MAX_DEPTH,
    MAX_VALUES,
    RACY_NS,
    Marks,
    PathKey,
    load_project_yaml,
)
from sitekit.spec.stackconfig import (
    BY_NAME,
    NAMESPACE,
    from_engine,
    integer_from_config,
    place,
)

SECRET = "[secret]"


CONFIG_LINE = ""  # the key of `config:`'s own line in read_stack_values' key marks (no config key is empty)


def read_stack_values(root: Path, stack: str) -> tuple[dict[str, Any], dict[str, Marks], list[Problem]]:
    """The `sitekit:` config values of a stack file, each key's marks (relative to the value), problems.

    `key_marks[CONFIG_LINE]` holds the line of `config:` itself, where a missing key would be added."""
    file = stack_file(stack)
    data, marks = load_project_yaml(root, file)
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
                                        f"unknown namespace '{clip(ns)}'; did you mean '{NAMESPACE}'? (sitekit reads "
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
        elif key == "overrides":
            if not isinstance(value, dict):  # null too: an empty `sitekit:overrides:` overrides nothing by accident
                problems.append(Problem(file, line, f"config.{NAMESPACE}:{key}",
                                        f"expected a mapping of spec keys (e.g. {{bootstrap: {{timezone: UTC}}}}), "
                                        f"got {described(value)}"))
                continue
            bad = [k for k, v in value.items() if k == "site" and not isinstance(v, dict)]
            for k in bad:
                problems.append(Problem(file, key_marks.get(key, {}).get((k,), line), k,
                                        f"expected a mapping, got {described(value[k])}"))
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


@dataclass
class StackFacts:
    """What other sites' loads read of a site's stack file: its values and their marks (None when the file
    cannot be read: that site's own problem), and the supernets it declares."""

    values: dict[str, Any] | None
    key_marks: dict[str, Marks]
    supernets: list[tuple[IPv4Network, Origin]]


_SHARED: dict[tuple[str, str], tuple[tuple[int, ...], int, StackFacts]] = {}
"""(root, site) -> (stat signature of its stack file, when it was read (ns), its facts)."""
READS = Counter()
"""How many times each (root, site)'s facts were read from its stack file in this process (`shared_facts`)."""


def shared_facts(root: Path, name: str) -> StackFacts:
    """A site's facts as other sites' loads need them (its peers, every site checking supernets): read once per
    process while its stack file is unchanged (same status, last changed before the racy window of the read, as
    `load_yaml` trusts a file), shared, not copied: callers only read them. A process that loads every site (the
    parent of the workers, `sitekit.run.batch`) so reads each stack file's facts once, not once per site."""
    path = root / stack_file(name)
    try:
        st = os.stat(path)
        signature: tuple[int, ...] = (st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev, st.st_ctime_ns, st.st_mode)
    except OSError:
        signature = ()
    known = _SHARED.get((str(root), name))
    if known is not None and signature and known[0] == signature and st.st_mtime_ns < known[1] - RACY_NS:
        return known[2]
    read_at = time.time_ns()
    READS[(str(root), name)] += 1
    try:
        values, key_marks, _ = read_stack_values(root, name)
    except SpecError:
        facts = StackFacts(None, {}, [])
    else:
        supernets = []
        for where, plan in declared_plans(values).items():
            key, inner = PLAN_PLACES[where]
            try:
                supernet = IPv4Network(plan["supernet"]) if isinstance(plan, dict) and isinstance(plan.get("supernet"), str) else None
            except ValueError:
                continue
            if supernet is not None:
                supernets.append((supernet, Origin(stack_file(name), key_marks.get(key, {}).get(inner + ("supernet",)))))
        facts = StackFacts(values, key_marks, supernets)
    if signature:
        _SHARED[(str(root), name)] = (signature, read_at, facts)
    return facts


def site_supernets(root: Path, skip: str) -> list[tuple[str, IPv4Network, Origin]]:
    """Every other site's supernets (from both places a plan can be), read leniently from its stack file
    (`shared_facts`: once per process): a file that cannot be read, or a supernet that is not a network, is that
    site's own problem, reported when it is loaded."""
    return [(name, supernet, where) for name in list_sites(root) if name != skip
            for supernet, where in shared_facts(root, name).supernets]
