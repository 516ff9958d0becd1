"""Offline review (no Pulumi CLI): two snapshots -> the changes the engine would most likely make.

An approximation of the engine, labelled as such in the report, built from the same facts as the stand-in
provider (`sitekit.oci.replacement`): resources match by URN, or by an alias the head declares; a changed input
replaces when the provider's facts say ForceNew (nested paths included), else updates; `ignore_changes` paths
are left out; and the dependents of a replacement (or of a new resource) are judged again with the ids they
take from it unknown, until nothing more changes, as the engine does in a preview. Known limits are listed in
the README ("Reviewing a change").
"""

from __future__ import annotations

import functools
from typing import Any

from sitekit.oci import fakes
from sitekit.oci.replacement import PropertyChange, diff_inputs, replaces
from sitekit.plan import UNKNOWN
from sitekit.review.model import Change, PropertyDiff


def engine_urns(resources: list[dict[str, Any]], stack: str) -> dict[str, str]:
    """URN -> the URN the engine would give, for snapshots of older code that recorded the mocks' URNs
    (the qualified type is the parent chain's types); engine URNs map to themselves."""
    by_urn = {r["urn"]: r for r in resources}

    @functools.lru_cache(maxsize=None)
    def chain(urn: str) -> str:
        r = by_urn[urn]
        parent = r.get("parent")
        return f"{chain(parent)}${r['type']}" if parent in by_urn else r["type"]

    return {u: u if "::pulumi:pulumi:Stack$" not in u else f"urn:pulumi:{stack}::sitekit::{chain(u)}::{r['name']}"
            for u, r in by_urn.items()}


def indexed(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    records = snapshot["resources"]
    urns = engine_urns(records, snapshot["site"])
    out = {}
    for r in records:
        ref = r.get("provider")
        if ref and "::" in ref:
            urn, _, id_ = ref.rpartition("::")
            r = dict(r, provider=f"{urns.get(urn, urn)}::{id_}")
        out[urns[r["urn"]]] = r
    return out


def _tokens(record: dict[str, Any]) -> set[str]:
    """The values other resources can take from this one: its id and its computed outputs (as the mocks and
    the stand-in provider make them)."""
    values = {f"{record['name']}-id"}
    values |= {v for v in fakes.computed_outputs(record["type"], record["name"]).values() if isinstance(v, str)}
    return values


def _token_list(record: dict[str, Any]) -> list[str]:
    """`_tokens` in a fixed order (the id, then each computed output by name), to pair a rename's old and new."""
    computed = fakes.computed_outputs(record["type"], record["name"])
    return [f"{record['name']}-id"] + [computed[k] for k in sorted(computed)]


def _map_strings(value: Any, fn) -> Any:
    """`value` with `fn` applied to every string in it, at any depth."""
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    return fn(value) if isinstance(value, str) else value


def _renamed(value: Any, renames: dict[str, str]) -> Any:
    """`value` with the ids of aliased resources as they were (an alias keeps the resource, and its id)."""
    def one(text: str) -> str:
        for new, old in renames.items():
            text = text.replace(new, old)
        return text
    return _map_strings(value, one)


def _unknown(value: Any, tokens: frozenset[str]) -> Any:
    """`value` with every string that carries one of `tokens` made unknown (an id not known before the apply)."""
    return _map_strings(value, lambda text: UNKNOWN if any(t in text for t in tokens) else text)


def _provider_urn(record: dict[str, Any]) -> str | None:
    ref = record.get("provider")
    return ref.rsplit("::", 1)[0] if ref else None


def _provider_moves(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
    """Whether switching between these two provider records moves the resource (their region differs)."""
    if before is None or after is None:
        return before is not after
    return (before.get("inputs") or {}).get("region") != (after.get("inputs") or {}).get("region")


def diff_snapshots(base: dict[str, Any], head: dict[str, Any]) -> list[Change]:
    old, new = indexed(base), indexed(head)
    aliased = {a: urn for urn, r in new.items() if urn not in old for a in r.get("aliases") or [] if a in old}
    matched = {urn: urn for urn in new if urn in old} | {urn: a for a, urn in aliased.items()}  # head -> base
    created = [urn for urn in new if urn not in matched]
    deleted = [urn for urn in old if urn not in set(matched.values())]

    # an aliased resource keeps its id: what its dependents take from it is the base's, not a new name's
    renamed = {h: b for urn, base_urn in matched.items() if urn != base_urn
               for h, b in zip(_token_list(new[urn]), _token_list(old[base_urn]))}
    unknown: set[str] = set()
    for urn in created:
        unknown |= _tokens(new[urn])
    judged: dict[str, Change | None] = {}
    while True:
        tokens = frozenset(unknown)
        fresh = {}
        for urn, base_urn in matched.items():
            a, b = old[base_urn], new[urn]
            after = _renamed(b["inputs"], renamed) if renamed else b["inputs"]
            after = _unknown(after, tokens) if tokens else after
            changes = diff_inputs(b["type"], a["inputs"], after, ignore=b.get("ignoreChanges") or [])
            moved = _provider_moves(old.get(_provider_urn(a) or ""), new.get(_provider_urn(b) or ""))
            if _provider_urn(a) != _provider_urn(b) and moved:
                # under a provider of another region: the resource is created anew there (the engine compares
                # the two providers' settings; another provider object with the same region changes nothing)
                changes.append(PropertyChange("__provider", "update", True, _provider_urn(a), _provider_urn(b)))
            fresh[urn] = _change(urn, a, b, after, changes) if changes else None
        replaced = {u for u, c in fresh.items() if c is not None and c.kind == "replace"}
        grown = unknown | {t for u in replaced for t in _tokens(new[u])}
        judged = fresh
        if grown == unknown:
            break
        unknown = grown

    out = [c for c in judged.values() if c is not None]
    out += [Change("create", u, new[u]["type"], new[u]["name"], bool(new[u].get("protect")),
                   after=dict(new[u]["inputs"])) for u in created]
    out += [Change("delete", u, old[u]["type"], old[u]["name"], bool(old[u].get("protect")),
                   before=dict(old[u]["inputs"])) for u in deleted]
    return sorted(out, key=lambda c: (c.urn, c.kind))


def _change(urn: str, a: dict[str, Any], b: dict[str, Any], after: dict[str, Any], changes) -> Change:
    fields = sorted({c.top for c in changes})
    forced = replaces(changes)
    return Change("replace" if forced else "update", urn, b["type"], b["name"],
                  bool(a.get("protect") or b.get("protect")), fields, forced,
                  [PropertyDiff(c.path, c.kind, c.replace) for c in changes],
                  {f: a["inputs"].get(f) for f in fields}, {f: after.get(f) for f in fields})
