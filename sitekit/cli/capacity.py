"""`sitekit capacity import`: a region's capacity ledger (stacks/catalog/ledger/<region>.yaml) from the JSON the
OCI CLI prints for the tenancy's limits, resource availability and capacity reservations."""

from __future__ import annotations

import datetime
import io
import sys
from pathlib import Path
from typing import List, Optional

import typer
import yaml
from pydantic import ValidationError

from sitekit.cli.app import Force, app, err, fail, project_root
from sitekit.errors import Problem, SitekitError, SpecError, clip, nearest
from sitekit.spec.catalog import load_capacity, load_catalog
from sitekit.spec.ledger import RegionLedger, ledger_file
from sitekit.spec.ledger_import import Limit, build
from sitekit.spec.sources import load_json

capacity_app = typer.Typer(no_args_is_help=True, help="The capacity ledger: GPU limits, quotas and reservations.")
app.add_typer(capacity_app, name="capacity")

HEADER = """\
# Capacity ledger of {region}: the tenancy's service limits, quotas, use and capacity reservations of each GPU
# shape per availability domain, in instances, each fact with its source and date. Written by
# `sitekit capacity import` from OCI CLI output; review the diff before committing it. Read by validation (a pool
# that needs more than its AD offers is refused), the plan and SK-CMP-007 (what is not recorded is unknown).
"""


def _availability(spec: str) -> tuple[str, str, Path]:
    """`LIMIT@AD=FILE` as (limit name, AD, file)."""
    head, eq, file = spec.partition("=")
    name, at, ad = head.partition("@")
    if not (eq and at and name and ad and file):
        raise SpecError([Problem("--availability", None, "", f"'{clip(spec)}' is not LIMIT@AD=FILE (e.g. "
                                                             "gpu-h100-count@Uocm:US-ASHBURN-AD-1=avail-ad1.json)")])
    return name, ad, Path(file)


@capacity_app.command("import")
def import_(
    region: str = typer.Option(..., "--region", "-r", help="The OCI region the outputs were taken in."),
    limits: Optional[Path] = typer.Option(
        None, "--limits", help="`oci limits value list --service-name compute --compartment-id <tenancy> --all` output."),
    availability: Optional[List[str]] = typer.Option(
        None, "--availability", help="LIMIT@AD=FILE: `oci limits resource-availability get --service-name compute "
                                     "--limit-name LIMIT --availability-domain AD` output (repeat per limit and AD)."),
    reservations: Optional[List[Path]] = typer.Option(
        None, "--reservations", help="`oci compute capacity-reservation list` or `... get` output (repeatable)."),
    write: bool = typer.Option(False, "--write", help=f"Write {ledger_file('<region>')} (else print it)."),
    force: Force = False,
    date: Optional[str] = typer.Option(None, "--date", help="The day the outputs were taken (YYYY-MM-DD; default today)."),
):
    """Build a region's capacity ledger from OCI CLI JSON; print it, or --write it (an existing ledger only with
    --force). Every problem of the inputs is reported together (exit 2); what is left out is said."""
    root = project_root()
    try:
        catalog, capacity = load_catalog(root), load_capacity(root)
        if region not in catalog.regions:
            raise SpecError([Problem("--region", None, "", f"unknown OCI region '{clip(region)}'; "
                                                           f"{nearest(region, catalog.regions)}")])
        try:
            today = datetime.date.fromisoformat(date) if date else datetime.date.today()
        except ValueError:
            raise SpecError([Problem("--date", None, "", f"'{clip(date or '')}' is not a day (YYYY-MM-DD)")]) from None
        target = root / ledger_file(region)
        if write and target.exists() and not force:
            raise SpecError([Problem(ledger_file(region), None, "", "file exists; pass --force to overwrite it")])
        table = {s: Limit(s, lim.name, lim.unit, catalog.shapes[s].gpus) for s, lim in capacity.limits.items()}
        problems: list[Problem] = []

        def read(path: Path):
            try:
                return load_json(path, str(path), what="OCI CLI JSON")
            except SpecError as exc:
                problems.extend(exc.problems)
                return None

        limit_doc = (str(limits), read(limits)) if limits else None
        avail = []
        for spec in availability or ():
            name, ad, path = _availability(spec)
            avail.append((name, ad, str(path), read(path)))
        res = [(str(p), read(p)) for p in reservations or ()]
        if problems:
            raise SpecError(problems)
        result = build(region, today, table, set(catalog.shapes), limit_doc, avail, res)
        if result.problems:
            raise SpecError(result.problems)
        try:
            RegionLedger.model_validate(result.data)  # what is written loads
        except ValidationError as exc:
            raise SpecError([Problem(ledger_file(region), None, ".".join(map(str, e["loc"])), e["msg"])
                             for e in exc.errors()]) from None
    except SitekitError as exc:
        fail(exc)
    text = HEADER.format(region=region) + _dump(result.data)
    if write:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    for note in result.notes:
        err.print(f"note: {note}", markup=False, highlight=False)
    if write:
        err.print(f"wrote {ledger_file(region)}", markup=False, highlight=False)


class _Plain(yaml.SafeDumper):
    """Every value written out where it is (no anchors and aliases for repeated dates)."""

    def ignore_aliases(self, data) -> bool:
        return True


class _Fact(dict):
    """A fact (it has a source): written on one line."""


_Plain.add_representer(_Fact, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))


def _facts_inline(value):
    if isinstance(value, dict):
        inner = {k: _facts_inline(v) for k, v in value.items()}
        return _Fact(inner) if "source" in value else inner
    if isinstance(value, list):
        return [_facts_inline(v) for v in value]
    return value


def _dump(data: dict) -> str:
    buffer = io.StringIO()
    yaml.dump(_facts_inline(data), buffer, Dumper=_Plain, sort_keys=False, default_flow_style=False, width=200)
    return buffer.getvalue()
