"""The fleet, and where GPU shapes could move, for a terminal (rich tables) and for machines (deterministic JSON).
The registries naming them are `FLEET` and `CAPACITY` in sitekit/cli/formats.py.

What the data says (names, notes, regions) is printed as written: table cells are `Text` and lines are printed
with markup and emoji off, so a `[bold]` or a `:100:` in a value is never read as console markup.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sitekit.fleet.capacity import CapacityReport
from sitekit.fleet.model import HALL_COLUMNS, WAIVER_HORIZON_DAYS, Fleet, SiteRow, Totals, edges, hall_rows


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def short_shape(shape: str) -> str:
    """BM.GPU.H100.8 -> H100.8 (the GPU part people say)."""
    return shape.removeprefix("BM.GPU.").removeprefix("BM.")


def gpus_text(by: dict[str, int], shorten: bool = False) -> str:
    return ", ".join(f"{short_shape(k) if shorten else k} {v:,}" for k, v in by.items()) or "-"


def money(usd: float) -> str:
    if usd >= 1e6:
        return f"${usd / 1e6:,.1f}M"
    if usd >= 1e3:
        return f"${usd / 1e3:,.1f}k"
    return f"${usd:,.0f}"


def policy_text(row: SiteRow) -> str:
    if row.mandatory_failures:
        return "FAILED " + ", ".join(row.mandatory_failures)
    extra = [f"{len(row.advisory)} advisory"] if row.advisory else []
    extra += [f"{row.waived} waived"] if row.waived else []
    return "passed" + (f" ({', '.join(extra)})" if extra else "")


def waivers_text(row: SiteRow) -> str:
    parts = [f"{w.rule} {w.expires.isoformat()} ({w.days_left} d)" for w in row.waivers_due]
    parts += [f"{w.rule} EXPIRED {w.expires.isoformat()}" for w in row.waivers_expired]
    return ", ".join(parts) or "-"


def cost_text(row: SiteRow | Totals, unpriced: dict[str, int] | None = None) -> str:
    text = f"{money(row.monthly_usd)} planned, {money(row.monthly_peak_usd)} at peak"
    if row.monthly_peak_usd == row.monthly_usd:
        text = money(row.monthly_usd)
    if unpriced:
        text += " + " + ", ".join(f"{n:,} {short_shape(s)} unpriced" for s, n in unpriced.items())
    return text


def print_table(fleet: Fleet, console: Console) -> None:
    if fleet.not_evaluated:  # first: a site left out is unknown, not a pass
        console.print(f"NOT EVALUATED (bad input, exit 2): {', '.join(sorted(fleet.not_evaluated))} did not load, so "
                      "they are not in this report; their problems follow on stderr.", highlight=False, markup=False)
    table = Table(title=f"sitekit fleet: {len(fleet.rows)} sites ({fleet.generated.isoformat()})")
    columns = ("site", "jurisdiction", "region", "GPUs by shape", "GPUs by role", "IT MW", "facility / envelope MW",
               "cost / month (list)", "mandatory policy", f"waivers due <= {WAIVER_HORIZON_DAYS} d", "peerings", "drift")
    for col in columns:
        table.add_column(col, justify="right" if "MW" in col else "left", overflow="fold")
    for r in fleet.rows:
        region = f"{r.region} ({r.country}" + (", dedicated)" if r.region_kind == "dedicated" else ")")
        table.add_row(*map(Text, (r.site, r.jurisdiction, region, gpus_text(r.gpus_by_shape, True),
                                  gpus_text(r.gpus_by_role), f"{r.it_mw:.2f}", f"{r.facility_mw:.2f} / {r.envelope_mw:g}",
                                  cost_text(r, r.unpriced), policy_text(r), waivers_text(r), ", ".join(r.peerings) or "-",
                                  fleet.drift_text(r.site))))
    t = fleet.total
    table.add_section()
    table.add_row(*map(Text, ("fleet", f"{len(fleet.countries)} countries", "", f"{t.gpus:,} GPUs",
                              gpus_text(t.gpus_by_role), f"{t.it_mw:.2f}", f"{t.facility_mw:.2f} / {t.envelope_mw:g}",
                              cost_text(t), f"{t.failing} failing" if t.failing else "all passed", "",
                              str(len(edges(fleet.rows))))))
    console.print(table)
    print_halls(fleet, console)
    unpriced = {s for r in fleet.rows for s in r.unpriced}
    if unpriced:
        _line(console, f"Cost at list price (stacks/catalog/prices.yaml, recorded {fleet.prices_recorded}); "
                       f"no list price for {', '.join(sorted(unpriced))}: those nodes are counted, not priced.")
    if not edges(fleet.rows):
        _line(console, "Peerings: none declared (a site names its peers under sitekit:peers).")


def print_halls(fleet: Fleet, console: Console) -> None:
    """Power by hall and rack: per site, each hall's IT MW drawn at peak of what it delivers, its cooling and rack
    limit, and the racks each pool fills there."""
    table = Table(title="power by hall and rack (IT MW at peak of what each hall delivers)")
    for col in HALL_COLUMNS:
        table.add_column(col, justify="right" if col in ("IT MW", "racks", "kW per rack") else "left", overflow="fold")
    for site, hall, used, delivered, cooling, limit, racks, pools in hall_rows(fleet.rows):
        table.add_row(*map(Text, (site, hall, f"{used:.2f} / {delivered:.2f}", cooling, limit, f"{racks:,}", pools)))
    console.print(table)


def _line(console: Console, text: str) -> None:
    """A line of plain text: what it quotes of the data is neither markup nor emoji codes."""
    console.print(text, markup=False, emoji=False, highlight=False)


def fleet_json(fleet: Fleet) -> str:
    return dumps(fleet.to_dict())


# ------------------------------------------------------------------------------------------------ capacity
def print_capacity(report: CapacityReport, console: Console) -> None:
    views = report.views
    if not report.detail:
        table = Table(title="sitekit fleet --capacity: GPU shapes, where they are known to be offered, who uses them")
        for col in ("shape", "GPUs in fleet", "sites", "known to offer it", "approved by"):
            table.add_column(col, justify="right" if col == "GPUs in fleet" else "left", overflow="fold")
        for v in views:
            offered = ", ".join(v.offered_in) or f"none known ({v.unknown_in} regions unknown)"
            table.add_row(*map(Text, (v.shape, f"{v.gpus:,}", ", ".join(u.site for u in v.uses) or "-", offered,
                                      ", ".join(v.approved_by) or "-")))
        console.print(table)
        _line(console, "`sitekit fleet --capacity SHAPE` shows where each site using it could move it.")
        _print_shared(report, console)
        return
    for v in views:
        console.print(Text.assemble((v.shape, "bold"), f" ({v.gpu_model})"), highlight=False)
        for note in v.notes:
            _line(console, f"  note: {note}")
        _line(console, f"  known to be offered in: {', '.join(v.offered_in) or 'no region'}"
                       f"{'; known absent in: ' + ', '.join(v.not_offered_in) if v.not_offered_in else ''}"
                       f" ({v.unknown_in} regions unknown; stacks/catalog/capacity.yaml)")
        _line(console, f"  approved by jurisdictions: {', '.join(v.approved_by) or 'none'}")
        if not v.uses:
            _line(console, "  no site uses it")
        for u in v.uses:
            approved = "" if u.approved else f" [not approved in {u.jurisdiction}]"
            _line(console, f"  {u.site} ({u.jurisdiction}, {u.region}, capacity {u.status}): {u.nodes:,} nodes, "
                           f"{u.gpus:,} GPUs{approved}")
            resident = [o for o in u.options if o.residency == "resident"]
            crossing = [o for o in u.options if o.residency == "cross-border"]
            transfer = [o for o in u.options if o.residency == "transfer"]
            _line(console, "    resident: " + (", ".join(f"{o.region} ({o.status})" for o in resident) or "no other region"))
            if crossing:
                _line(console, f"    cross-border, {crossing[0].how}: " + ", ".join(f"{o.region} ({o.status})" for o in crossing))
            if transfer:
                _line(console, f"    {transfer[0].how}: " + ", ".join(f"{o.region} ({o.status})" for o in transfer))
            else:
                _line(console, f"    elsewhere: not allowed ({u.jurisdiction} accepts no transfer mechanism"
                      + (" and lets its data cross to no other jurisdiction's regions)" if not crossing else ")"))


    _print_shared(report, console)


def _print_shared(report: CapacityReport, console: Console) -> None:
    for shared in report.shared:
        _line(console, f"{shared.region}, shared by {', '.join(shared.sites)} (one tenancy: their GPU pools draw on the "
                       "same limits, quotas and reservations):")
        for v in shared.verdicts:
            _line(console, f"  {v.status}: {v.pool}: {v.detail}")


def capacity_json(report: CapacityReport) -> str:
    return dumps({"schemaVersion": 1, "capacityRecorded": report.recorded,
                  "shapes": [v.to_dict() for v in report.views],
                  "sharedRegions": [s.to_dict() for s in report.shared]})
