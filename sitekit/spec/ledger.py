"""The capacity ledger: per region and availability domain, the tenancy's service limits, quotas and use of each
GPU shape, and its capacity reservations, each fact with its source and date (stacks/catalog/ledger/<region>.yaml,
written by `sitekit capacity import` from the JSON the OCI CLI prints); and the pure check of a site's GPU pools
against it (`check_pools`), which validation and the plan read.

What binds a pool in its availability domain:
- a pool launching into an existing reservation (`capacityReservation: <OCID>`) is bounded by what the
  reservation holds free (reserved less used); a reservation's capacity already counts against the limits;
- every other pool (on-demand, or declaring its own reservation, which OCI creates against the limits) is
  bounded by the service limit and the compartment quota in force, less the instances in use: whichever is
  smaller binds.
A fact the ledger does not hold is unknown: said (an advisory in the plan and the policy report), never
assumed to fit and never refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path
from typing import Any, Iterable

from pydantic import Field, StrictInt, ValidationError

from sitekit.errors import Problem, SpecError, clip, nearest
from sitekit.spec.merge import Layer
from sitekit.spec.models import Model
from sitekit.spec.problems import validation_problems
from sitekit.spec.sources import dotted, load_project_yaml
from sitekit.spec.types import RegionId

LEDGER = "stacks/catalog/ledger"
"""One file per region: `<region>.yaml`."""

_AD = re.compile(r"-AD-([1-3])$")


def ad_number(name: str) -> int | None:
    """The index (1-3) of an availability domain name as OCI prints it ('Uocm:US-ASHBURN-AD-1' -> 1)."""
    m = _AD.search(name)
    return int(m[1]) if m else None


class Fact(Model):
    value: StrictInt | None = Field(ge=0, description="Instances of the shape (null for a quota: none is set).")
    source: str = Field(description="Key of the fact's source under `sources:`.")
    date: Date = Field(description="When the fact was recorded (YYYY-MM-DD).")


class ShapeFacts(Model):
    """What the tenancy may launch of one shape in one availability domain, in instances."""

    limit: Fact | None = Field(None, description="The service limit (`oci limits value list`).")
    quota: Fact | None = Field(None, description="The compartment quota in force, null value when none is set "
                                                 "(`effective-quota-value` of `oci limits resource-availability get`).")
    used: Fact | None = Field(None, description="Instances in use (`used` of the resource availability).")


class Reservation(Model):
    id: str = Field(pattern=r"^ocid1\.capacityreservation\.[a-z0-9-]*\.[a-z0-9-]*\.[A-Za-z0-9._-]+$",
                    description="The reservation's OCID.")
    display_name: str = ""
    availability_domain: str = Field(description="As OCI prints it, e.g. 'Uocm:US-ASHBURN-AD-1'.")
    shape: str = Field(description="The GPU shape it reserves, or 'unknown' (a list summary does not say).")
    reserved: StrictInt = Field(ge=0, description="Instances reserved (reserved-instance-count / reserved-count).")
    used: StrictInt = Field(ge=0, description="Instances using it.")
    source: str
    date: Date


class RegionLedger(Model):
    """One region's ledger file."""

    region: RegionId
    recorded: Date
    sources: dict[str, str] = Field(min_length=1)
    availability_domains: dict[str, dict[str, ShapeFacts]] = Field(default_factory=dict)
    reservations: list[Reservation] = Field(default_factory=list)

    def facts(self, ad: int, shape: str) -> tuple[str | None, ShapeFacts | None]:
        """(the AD's name, the shape's facts there); None where the ledger has none."""
        for name, shapes in self.availability_domains.items():
            if ad_number(name) == ad:
                return name, shapes.get(shape)
        return None, None

    def reservation(self, ocid: str, shape: str) -> Reservation | None:
        """The ledger's entry of reservation `ocid` for `shape` (an entry per shape it reserves), else its entry
        of unknown shape, else any of its entries (whose shape is then not the pool's); None when not recorded."""
        entries = [r for r in self.reservations if r.id == ocid]
        return next((r for r in entries if r.shape == shape), None) or next(
            (r for r in entries if r.shape == "unknown"), None) or (entries[0] if entries else None)


def ledger_file(region: str) -> str:
    return f"{LEDGER}/{region}.yaml"


def load_ledger(root: Path, region: str, shapes: Iterable[str]) -> RegionLedger | None:
    """The ledger of `region`, validated (its shapes against the shape catalog, its facts' sources, its ADs);
    None when the region has none. A SpecError with every problem, each at its line. Read once per process while
    the file is unchanged (sources.load_yaml)."""
    file = ledger_file(region)
    if not (root / file).is_file():
        return None
    layer = Layer(file, *load_project_yaml(root, file))
    try:
        ledger = RegionLedger.model_validate(layer.data)
    except ValidationError as exc:
        raise SpecError(validation_problems(exc, layer.data, layer.origin, root=RegionLedger)) from None
    problems = _references(ledger, layer, region, set(shapes))
    if problems:
        raise SpecError(problems)
    return ledger


def _references(ledger: RegionLedger, layer: Layer, region: str, shapes: set[str]) -> list[Problem]:
    problems: list[Problem] = []

    def add(path: tuple, message: str) -> None:
        problems.append(Problem(layer.file, layer.origin(path).line, dotted(path), message))

    def source(path: tuple, key: str) -> None:
        if key not in ledger.sources:
            add(path + ("source",), f"unknown source '{clip(key)}'; {nearest(key, ledger.sources)}")

    if ledger.region != region:
        add(("region",), f"'{clip(ledger.region)}' in the ledger file of {region}")
    for ad, by_shape in ledger.availability_domains.items():
        if ad_number(ad) is None:
            add(("availabilityDomains", ad), f"'{clip(ad)}' is not an availability domain name (…-AD-1 to -AD-3)")
        for shape, facts in by_shape.items():
            path = ("availabilityDomains", ad, shape)
            if shape not in shapes:
                add(path, f"unknown GPU shape '{clip(shape)}'; {nearest(shape, shapes)}")
            for name in ("limit", "quota", "used"):
                fact = getattr(facts, name)
                if fact is not None:
                    source(path + (name,), fact.source)
                    if fact.value is None and name != "quota":
                        add(path + (name, "value"), f"a {name} is a number of instances (only a quota may be null)")
    for i, r in enumerate(ledger.reservations):
        path = ("reservations", i)
        if ad_number(r.availability_domain) is None:
            add(path + ("availabilityDomain",), f"'{clip(r.availability_domain)}' is not an availability domain name")
        if r.shape != "unknown" and r.shape not in shapes:
            add(path + ("shape",), f"unknown GPU shape '{clip(r.shape)}'; {nearest(r.shape, shapes)}")
        source(path, r.source)
    return problems


# ------------------------------------------------------------------------------------------------ the check
@dataclass(frozen=True)
class Demand:
    """A GPU pool's claim on its region: peak nodes of a shape in an AD, on-demand or from a reservation."""

    pool: str
    shape: str
    ad: int
    nodes: int
    reservation: str | None = None
    """The OCID of the existing reservation it launches into; None (on-demand, or a reservation it declares)."""


@dataclass(frozen=True)
class Verdict:
    """What the ledger says of one pool: `short` (it does not fit: refused), `unknown` (a fact is missing: said)
    or neither (it fits); `detail` is the sentence to print."""

    pool: str
    shape: str
    ad: int
    nodes: int
    status: str  # fits | short | unknown
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"pool": self.pool, "shape": self.shape, "availabilityDomain": self.ad, "nodes": self.nodes,
                "status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class Offer:
    nodes: int | None
    """What the AD offers the shape on demand; None when unknown."""
    why: str


def offer(ledger: RegionLedger | None, region: str, ad: int, shape: str) -> Offer:
    """What `region` offers of `shape` on demand in AD `ad`: the smaller of the limit and the quota, less what is
    in use, naming the fact that binds; None with the reason when the ledger cannot say."""
    if ledger is None:
        return Offer(None, f"no capacity ledger for {region} ({ledger_file(region)}; `sitekit capacity import`)")
    name, facts = ledger.facts(ad, shape)
    if facts is None or facts.limit is None or facts.limit.value is None:
        return Offer(None, f"the ledger of {region} records no service limit of {shape} in AD-{ad}")
    used = facts.used.value if facts.used is not None and facts.used.value is not None else 0
    bounds = [("the limit", facts.limit.value)]
    if facts.quota is not None and facts.quota.value is not None:
        bounds.append(("the quota", facts.quota.value))
    binds, bound = min(bounds, key=lambda b: b[1])
    parts = [f"limit {facts.limit.value} ({facts.limit.date})"]
    if facts.quota is None:
        parts.append("quota not recorded")
    elif facts.quota.value is not None:
        parts.append(f"quota {facts.quota.value}")
    parts.append(f"{used} in use" if facts.used is not None else "use not recorded")
    unknown = " (use and quota not recorded: assumed none)" if facts.used is None and facts.quota is None else ""
    return Offer(max(0, bound - used), f"{binds} binds: {', '.join(parts)}{unknown}")


def pool_demands(spec: Any, shapes: Iterable[str]) -> list[Demand]:
    """The GPU pools of a site as demands on its region: peak nodes (an autoscaled pool at its maximum), in the
    pool's availability domain (else the site's), from the existing reservation it names, if any."""
    known = set(shapes)
    return [Demand(p.name, p.shape, p.availability_domain or spec.site.availability_domain,
                   p.autoscale.max if p.autoscale else p.nodes,
                   p.capacity_reservation if p.capacity_reservation not in (None, "declare") else None)
            for p in spec.compute.pools if p.shape in known]


def check_pools(ledger: RegionLedger | None, region: str, demands: list[Demand]) -> list[Verdict]:
    """A verdict per pool: on-demand pools summed per AD and shape against `offer`, pools of one reservation
    against what it holds free (and its AD and shape against theirs)."""
    verdicts: list[Verdict] = []
    groups: dict[tuple, list[Demand]] = {}
    for d in demands:
        if d.nodes > 0:
            groups.setdefault(("reservation", d.reservation) if d.reservation else ("ad", d.ad, d.shape), []).append(d)
    for key, group in groups.items():
        need = sum(d.nodes for d in group)
        check = _on_demand if key[0] == "ad" else _reserved
        verdicts += [check(ledger, region, d, need, _together(d, group, need)) for d in group]
    return verdicts


def _together(d: Demand, group: list[Demand], need: int) -> str:
    others = [o.pool for o in group if o.pool != d.pool]
    return f" ({need} with pool{'s' * (len(others) > 1)} {', '.join(others)})" if others else ""


def _on_demand(ledger: RegionLedger | None, region: str, d: Demand, need: int, together: str) -> Verdict:
    here = offer(ledger, region, d.ad, d.shape)
    what = f"{d.nodes} {d.shape} nodes at peak in AD-{d.ad}{together}"
    if here.nodes is None:
        return Verdict(d.pool, d.shape, d.ad, d.nodes, "unknown", f"{what}: capacity unknown ({here.why})")
    if need <= here.nodes:
        return Verdict(d.pool, d.shape, d.ad, d.nodes, "fits", f"{what}: fits ({here.nodes} offered; {here.why})")
    elsewhere = []
    for ad in (1, 2, 3):
        if ad != d.ad:
            o = offer(ledger, region, ad, d.shape)
            elsewhere.append(f"AD-{ad} " + ("unknown" if o.nodes is None else
                                             f"offers {o.nodes} ({'fits' if need <= o.nodes else 'short'})"))
    return Verdict(d.pool, d.shape, d.ad, d.nodes, "short",
                   f"{what} exceed what {region} offers there: {here.nodes} ({here.why}); short by "
                   f"{need - here.nodes} in AD-{d.ad}; {'; '.join(elsewhere)}")


def _reserved(ledger: RegionLedger | None, region: str, d: Demand, need: int, together: str) -> Verdict:
    what = f"{d.nodes} {d.shape} nodes at peak from reservation {d.reservation}{together}"
    r = ledger.reservation(d.reservation, d.shape) if ledger is not None else None
    if r is None:
        where = f"the ledger of {region}" if ledger is not None else f"no capacity ledger for {region}"
        return Verdict(d.pool, d.shape, d.ad, d.nodes, "unknown", f"{what}: the reservation is unknown ({where})")
    wrong = []
    if ad_number(r.availability_domain) != d.ad:
        wrong.append(f"it is in {r.availability_domain}, the pool in AD-{d.ad}")
    if r.shape not in ("unknown", d.shape):
        wrong.append(f"it reserves {r.shape}")
    if wrong:
        return Verdict(d.pool, d.shape, d.ad, d.nodes, "short", f"{what}: {'; '.join(wrong)}")
    free = max(0, r.reserved - r.used)
    shape_note = " (its shape is not recorded: `oci compute capacity-reservation get`)" if r.shape == "unknown" else ""
    if need <= free:
        return Verdict(d.pool, d.shape, d.ad, d.nodes, "unknown" if shape_note else "fits",
                       f"{what}: fits ({free} free of {r.reserved}, {r.date}){shape_note}")
    return Verdict(d.pool, d.shape, d.ad, d.nodes, "short",
                   f"{what} exceed what it holds free: {free} of {r.reserved} ({r.used} in use, {r.date}); short by "
                   f"{need - free} in AD-{d.ad}")
