"""A region's capacity ledger built from what the OCI CLI prints (its JSON: `{"data": ...}`, kebab-case keys):

- `oci limits value list --service-name compute --compartment-id <tenancy> --all`: LimitValueSummary items
  (`name`, `scope-type` AD | REGION | GLOBAL, `availability-domain`, `value`); the GPU shapes' limits are read by
  the names the capacity catalog gives them (`limits:` in stacks/catalog/capacity.yaml), AD-scoped only;
- `oci limits resource-availability get --service-name compute --limit-name L --availability-domain AD
  --compartment-id C`: one ResourceAvailability (`used`, `available`, `effective-quota-value`,
  `fractional-usage`, `fractional-availability`), which does not say which limit and AD it answers: the caller
  names them (`L@AD=FILE`);
- `oci compute capacity-reservation list --compartment-id C` (ComputeCapacityReservationSummary items: `id`,
  `availability-domain`, `display-name`, `lifecycle-state`, `reserved-instance-count`, `used-instance-count`;
  no shape) or `... capacity-reservation get` (a ComputeCapacityReservation, whose
  `instance-reservation-configs` name each `instance-shape` with its `reserved-count` and `used-count`).

Pure: parsed JSON in, the ledger's data (as the ledger file holds it) and notes out; every problem of the
inputs a `Problem` naming the file and the JSON path. Values in GPUs are converted to instances (whole ones).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date as Date
from typing import Any, Mapping

from sitekit.errors import Problem, clip
from sitekit.spec.ledger import ad_number

_RESERVATION = re.compile(r"ocid1\.capacityreservation\.[a-z0-9-]*\.[a-z0-9-]*\.[A-Za-z0-9._-]+")

ACTIVE = ("ACTIVE", "UPDATING")
"""Lifecycle states of a reservation whose capacity counts (CREATING, MOVING, DELETING, DELETED do not)."""


@dataclass(frozen=True)
class Limit:
    """How the catalog names the limit of a GPU shape: its name, what its value counts, the shape's GPUs."""

    shape: str
    name: str
    unit: str
    gpus: int

    def instances(self, value: float) -> int:
        return int(value // self.gpus) if self.unit == "gpus" else int(value)


@dataclass
class Imported:
    data: dict[str, Any]
    """The ledger file's content."""
    notes: list[str] = field(default_factory=list)
    """What was left out and why (printed, never silent)."""
    problems: list[Problem] = field(default_factory=list)


def _items(doc: Any, file: str, problems: list[Problem], many: bool) -> list[tuple[str, Any]]:
    """(JSON path, item) of the CLI's `data`: a list (list commands) or an object (get commands)."""
    if not isinstance(doc, dict) or "data" not in doc:
        problems.append(Problem(file, None, "", "not OCI CLI output: expected an object with 'data'"))
        return []
    data = doc["data"]
    if isinstance(data, list) and many:
        return [(f"data[{i}]", item) for i, item in enumerate(data)]
    if isinstance(data, dict):
        return [("data", data)]
    problems.append(Problem(file, None, "data", f"expected {'a list or ' if many else ''}an object"))
    return []


def _number(item: Mapping[str, Any], key: str, file: str, path: str, problems: list[Problem],
            optional: bool = False) -> float | None:
    value = item.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        problems.append(Problem(file, None, f"{path}.{key}", f"expected a number of 0 or more, got {clip(repr(value))}"))
        return None
    return value


def _text(item: Mapping[str, Any], key: str, file: str, path: str, problems: list[Problem]) -> str | None:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        problems.append(Problem(file, None, f"{path}.{key}", f"expected text, got {clip(repr(value))}"))
        return None
    return value


def build(region: str, today: Date, limits: Mapping[str, Limit], shapes: set[str],
          limit_doc: tuple[str, Any] | None = None,
          availability: list[tuple[str, str, str, Any]] = (),  # (limit name, AD, file, document)
          reservations: list[tuple[str, Any]] = ()) -> Imported:
    """The ledger of `region` from the CLI outputs given; `limits` maps each GPU shape to its service limit."""
    by_name = {lim.name: lim for lim in limits.values()}
    out = Imported({"region": region, "recorded": today, "sources": {}, "availabilityDomains": {},
                    "reservations": []})
    ads: dict[str, dict[str, dict[str, Any]]] = out.data["availabilityDomains"]

    def fact(value: int | None, source: str) -> dict[str, Any]:
        return {"value": value, "source": source, "date": today}

    if limit_doc is not None:
        file, doc = limit_doc
        out.data["sources"]["limits"] = (f"`oci limits value list --service-name compute` output {file}, "
                                         f"imported {today}")
        skipped = 0
        for path, item in _items(doc, file, out.problems, many=True):
            name = item.get("name") if isinstance(item, dict) else None
            if name not in by_name:
                skipped += 1
                continue
            lim, scope = by_name[name], item.get("scope-type")
            if scope != "AD":
                out.notes.append(f"{file}: {path}: limit {name} has scope {scope}, not AD: left out (the ledger "
                                 "holds per-AD limits)")
                continue
            ad = _text(item, "availability-domain", file, path, out.problems)
            value = _number(item, "value", file, path, out.problems)
            if ad is None or value is None:
                continue
            if ad_number(ad) is None:
                out.problems.append(Problem(file, None, f"{path}.availability-domain",
                                            f"'{clip(ad)}' is not an availability domain name (…-AD-1 to -AD-3)"))
                continue
            ads.setdefault(ad, {}).setdefault(lim.shape, {})["limit"] = fact(lim.instances(value), "limits")
        if skipped:
            out.notes.append(f"{file}: {skipped} limit(s) that count no GPU shape of the catalog left out")
    for name, ad, file, doc in availability:
        if name not in by_name:
            known = ", ".join(sorted(by_name))
            out.problems.append(Problem(file, None, "", f"limit '{clip(name)}' counts no GPU shape of the catalog "
                                                        f"(stacks/catalog/capacity.yaml limits: {known})"))
            continue
        if ad_number(ad) is None:
            out.problems.append(Problem(file, None, "", f"'{clip(ad)}' is not an availability domain name"))
            continue
        lim = by_name[name]
        out.data["sources"]["availability"] = ("`oci limits resource-availability get --service-name compute` "
                                               f"outputs, imported {today}")
        for path, item in _items(doc, file, out.problems, many=False):
            used = _number(item, "used", file, path, out.problems)
            quota = _number(item, "effective-quota-value", file, path, out.problems, optional=True)
            if used is None:
                continue
            facts = ads.setdefault(ad, {}).setdefault(lim.shape, {})
            facts["used"] = fact(lim.instances(used + lim.gpus - 1 if lim.unit == "gpus" else used), "availability")
            facts["quota"] = fact(None if quota is None else lim.instances(quota), "availability")
    for file, doc in reservations:
        out.data["sources"]["reservations"] = f"`oci compute capacity-reservation list|get` outputs, imported {today}"
        for path, item in _items(doc, file, out.problems, many=True):
            out.data["reservations"] += _reservation(item, file, path, shapes, today, out)
    known = {r["id"] for r in out.data["reservations"] if r["shape"] != "unknown"}  # a `get` says what a list does not
    out.data["reservations"] = sorted((r for r in out.data["reservations"] if r["shape"] != "unknown" or r["id"] not in known),
                                      key=lambda r: (r["id"], r["shape"]))
    if not out.data["sources"]:
        out.problems.append(Problem("sitekit", None, "", "nothing to import: give --limits, --availability or "
                                                         "--reservations"))
    return out


def _reservation(item: Any, file: str, path: str, shapes: set[str], today: Date, out: Imported) -> list[dict]:
    if not isinstance(item, dict):
        out.problems.append(Problem(file, None, path, "expected an object"))
        return []
    ocid = _text(item, "id", file, path, out.problems)
    ad = _text(item, "availability-domain", file, path, out.problems)
    if ocid is None or ad is None:
        return []
    if not _RESERVATION.fullmatch(ocid):
        out.problems.append(Problem(file, None, f"{path}.id", f"'{clip(ocid)}' is not the OCID of a capacity reservation"))
        return []
    state = item.get("lifecycle-state")
    if state not in ACTIVE:
        out.notes.append(f"{file}: {path}: reservation {ocid} is {state}: left out")
        return []
    base = {"id": ocid, "displayName": str(item.get("display-name") or ""), "availabilityDomain": ad}
    dated = {"source": "reservations", "date": today}
    configs = item.get("instance-reservation-configs")
    if configs is None:  # a list summary: no shape
        reserved = _number(item, "reserved-instance-count", file, path, out.problems)
        used = _number(item, "used-instance-count", file, path, out.problems)
        if reserved is None or used is None:
            return []
        out.notes.append(f"{file}: {path}: reservation {ocid} does not say its shape (a list summary): recorded as "
                         "unknown; import `oci compute capacity-reservation get` output to record it")
        return [{**base, "shape": "unknown", "reserved": int(reserved), "used": int(used), **dated}]
    if not isinstance(configs, list):
        out.problems.append(Problem(file, None, f"{path}.instance-reservation-configs", "expected a list"))
        return []
    found: dict[str, dict] = {}
    for i, config in enumerate(configs):
        where = f"{path}.instance-reservation-configs[{i}]"
        if not isinstance(config, dict):
            out.problems.append(Problem(file, None, where, "expected an object"))
            continue
        shape = _text(config, "instance-shape", file, where, out.problems)
        reserved = _number(config, "reserved-count", file, where, out.problems)
        used = _number(config, "used-count", file, where, out.problems, optional=True)
        if shape is None or reserved is None or shape not in shapes:
            continue
        entry = found.setdefault(shape, {**base, "shape": shape, "reserved": 0, "used": 0, **dated})
        entry["reserved"] += int(reserved)
        entry["used"] += int(used or 0)
    return list(found.values())
