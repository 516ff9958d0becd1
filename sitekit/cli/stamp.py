"""`sitekit new-site`, `new-jurisdiction`, `schema`, `bootstrap` (issue 4) and `kueue` (issue 22): stamping sites and their files."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from sitekit.cli.app import app, check_site_name, err, fail, out, project_root
from sitekit.errors import Problem, SitekitError, SpecError, clip, nearest
from sitekit.region.bootstrap import user_data_in_plan
from sitekit.spec.layout import JURISDICTIONS
from sitekit.spec.loader import load_site
from sitekit.spec.schema import SCHEMAS, stale
from sitekit.spec.schema import write as write_schemas
from sitekit.stamp.jurisdiction import write_jurisdiction
from sitekit.stamp.kueue import manifests as kueue_manifests
from sitekit.stamp.kueue import render as kueue_render
from sitekit.stamp.kueue import write as kueue_write
from sitekit.stamp.pools import summary
from sitekit.stamp.request import Request, parse_pools, pending_bases
from sitekit.stamp.site import write_site


class RegionKind(str, Enum):
    public = "public"
    dedicated = "dedicated"


@app.command("new-site")
def new_site(
    name: str = typer.Argument(..., help="Site (stack) name, e.g. de-frankfurt."),
    jurisdiction: str = typer.Option(..., "--jurisdiction", "-j", help="Jurisdiction code (stacks/jurisdictions/<code>.yaml)."),
    region: str = typer.Option(..., "--region", "-r", help="OCI region, e.g. eu-frankfurt-1 (for a Dedicated Region, its assigned id)."),
    region_kind: RegionKind = typer.Option(RegionKind.public, "--region-kind", help="public or dedicated."),
    home_region: Optional[str] = typer.Option(None, "--home-region", help="The tenancy's home region. Default: the region (public regions)."),
    power_mw: float = typer.Option(20.0, "--power-mw", help="Power envelope in MW."),
    pue: float = typer.Option(1.2, "--pue", help="Power usage effectiveness (facility load = IT load x PUE)."),
    commissioned: Optional[datetime] = typer.Option(
        None, "--commissioned", formats=["%Y-%m-%d"],
        help="The day the site begins operating (YYYY-MM-DD); required where the jurisdiction sets energy limits."),
    energy_reuse: Optional[float] = typer.Option(
        None, "--energy-reuse", help="Share of the site's energy reused (0.1 is 10%); where a limit asks one."),
    pools: Optional[str] = typer.Option(
        None, "--pools", help="Comma-separated NAME[=SHAPE][:PERCENT], e.g. 'train=BM.GPU.H200.8:85,serve:15'. "
                              "Baseline pools keep their role; new names are bare-metal 'mixed' pools. Pools without "
                              "a share split the rest (fixed pools 9 parts, autoscaled pools 1)."),
    transfer_mechanism: Optional[str] = typer.Option(None, "--transfer-mechanism", help="For a region outside the jurisdiction's residency regions: a mechanism it accepts."),
    transfer_reference: Optional[str] = typer.Option(None, "--transfer-reference", help="Where the signed transfer instrument is kept."),
    tenancy_id: Optional[str] = typer.Option(None, "--tenancy-id", help="Tenancy OCID (else a marked placeholder)."),
    parent_compartment_id: Optional[str] = typer.Option(None, "--parent-compartment-id", help="Parent compartment OCID (else a placeholder)."),
    gpu_image_id: Optional[str] = typer.Option(None, "--gpu-image-id", help="GPU node image OCID (else a placeholder)."),
    oke_image_id: Optional[str] = typer.Option(None, "--oke-image-id", help="OKE node image OCID (else a placeholder)."),
    availability_domain: int = typer.Option(1, "--availability-domain", help="AD (1-3) holding the GPU capacity."),
    operator_cidr: Optional[list[str]] = typer.Option(
        None, "--operator-cidr", help="A public range operators open bastion sessions from (repeat for more; each "
                                      "at most a /16). Else a documentation range that admits nobody, marked."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing stack file."),
):
    """Stamp stacks/Pulumi.<NAME>.yaml: address plan allocated, pools sized to the power envelope, validated."""

    root = project_root()
    try:
        asked, problems = parse_pools(pools)
        if problems:
            raise SpecError(problems)
        req = Request(name=name, jurisdiction=jurisdiction, region=region, region_kind=region_kind.value,
                      home_region=home_region, power_mw=power_mw, pue=pue, pools=tuple(asked),
                      commissioned=commissioned.date() if commissioned else None, energy_reuse=energy_reuse,
                      transfer_mechanism=transfer_mechanism, transfer_reference=transfer_reference,
                      tenancy_id=tenancy_id, parent_compartment_id=parent_compartment_id,
                      gpu_image_id=gpu_image_id, oke_image_id=oke_image_id, availability_domain=availability_domain,
                      operator_cidrs=tuple(operator_cidr or ()))
        path, stamp, loaded = write_site(root, req, force=force)
    except SitekitError as exc:
        fail(exc)
    rel = path.relative_to(root)
    out.print(f"wrote {rel} (validated): {stamp.jurisdiction.name}, {region}, supernet {stamp.supernet}",
              highlight=False, markup=False)
    nets = Table(title="address plan", title_justify="left")
    nets.add_column("network")
    nets.add_column("CIDR")
    for net, cidr in stamp.networks.items():
        nets.add_row(Text(net), str(cidr))
    out.print(nets)
    catalog = loaded.catalog
    p = summary(stamp.pools, catalog, pue, power_mw)
    table = Table(title="GPU pools (peak: autoscaled pools at max)", title_justify="left")
    for col in ("pool", "shape", "nodes", "peak nodes", "GPUs", "IT MW", "facility MW"):
        table.add_column(col, justify="left" if col in ("pool", "shape") else "right")
    for load in p.pools:
        table.add_row(Text(load.name), Text(load.shape), f"{load.nodes:,}", f"{load.peak_nodes:,}", f"{load.gpus:,}",
                      f"{load.it_kw / 1000:.2f}", f"{load.it_kw / 1000 * pue:.2f}")
    table.add_row("total", "", "", "", f"{p.gpus:,}", f"{p.it_mw:.2f}", f"{p.facility_mw:.2f} of {power_mw:g}")
    out.print(table)
    for pool in stamp.pools:
        if pool.note:
            out.print(f"note: pool {pool.name}: {pool.note}", highlight=False, markup=False)
    pending = pending_bases(stamp.jurisdiction)
    if pending:
        out.print(f"warning: {JURISDICTIONS}/{jurisdiction}.yaml: the basis of {', '.join(pending)} is still TODO; "
                  "complete the profile before `pulumi up`", highlight=False, markup=False)
    if stamp.placeholders:
        keys = ", ".join(f"sitekit:{k}" for k in stamp.placeholders)
        out.print(f"PLACEHOLDERS to replace before `pulumi up`: {keys} (edit the file, or pass --tenancy-id, "
                  "--parent-compartment-id, --gpu-image-id, --oke-image-id, --operator-cidr with --force)",
                  highlight=False, markup=False)
    out.print("next:", highlight=False, markup=False)
    for cmd in (f"sitekit plan {name}", f"sitekit policy {name}", f"pulumi stack init {name}",
                f"pulumi up -s {name}"):
        out.print(f"  {cmd}", highlight=False, markup=False)


@app.command("new-jurisdiction")
def new_jurisdiction(
    code: str = typer.Argument(..., help="ISO 3166-1 alpha-2 code in lower case (e.g. se), optionally suffixed (ae-difc)."),
    name: Optional[str] = typer.Option(None, "--name", help="Display name, e.g. Sweden."),
    regions: Optional[str] = typer.Option(None, "--regions", help="Comma-separated residency regions, e.g. eu-stockholm-1."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing profile."),
):
    """Stamp a jurisdiction profile skeleton: every rule with a TODO basis to complete."""

    root = project_root()
    try:
        path = write_jurisdiction(root, code, name, [r.strip() for r in (regions or "").split(",") if r.strip()],
                                  force=force)
    except SitekitError as exc:
        fail(exc)
    out.print(f"wrote {path.relative_to(root)}: complete every basis marked TODO, then "
              f"`sitekit new-site <name> --jurisdiction {code} --region <region>`", highlight=False, markup=False)


@app.command("schema")
def schema(write: bool = typer.Option(False, "--write", help="Regenerate the files instead of checking them.")):
    """Check (or --write) the JSON schemas in schema/ exported from the spec models; exit 1 when stale."""

    root = project_root()
    if write:
        changed = write_schemas(root)
        out.print(f"wrote {', '.join(changed)}" if changed else "schemas are up to date", highlight=False)
        return
    old = stale(root)
    if old:
        err.print(f"stale: {', '.join(old)}; run `sitekit schema --write` (or `make schema`)", highlight=False)
        raise typer.Exit(1)
    out.print(f"up to date: {', '.join(SCHEMAS)}", highlight=False)


@app.command("bootstrap")
def bootstrap(site: str = typer.Argument(..., help="Site (stack) name."),
              pool: Optional[str] = typer.Option(None, "--pool", help="Only this pool.")):
    """Print, decoded, the cloud-init user data each GPU pool's nodes get, exactly as the plan records it."""
    from sitekit.run.offline import plan_site  # heavy: deferred

    root = project_root()
    try:
        check_site_name(root, site)
        texts = user_data_in_plan(plan_site(root, site))
    except SitekitError as exc:
        fail(exc)
    if pool is not None and pool not in texts:
        fail(SpecError([Problem("sitekit bootstrap", None, "--pool",
                                f"no pool '{clip(pool)}' in {site}; {nearest(pool, texts)}")]))
    for name, text in texts.items():
        if pool is None or name == pool:
            sys.stdout.write(f"# ---- pool {name} ({len(text.encode())} bytes)\n{text}")


@app.command()
def kueue(site: str = typer.Argument(..., help="Site (stack) name."),
          out_dir: Optional[Path] = typer.Option(None, "--out", help="Folder to write the manifests into (one file "
                                                 "per object); without it, print them as one YAML stream."),
          force: bool = typer.Option(False, "--force", help="Overwrite manifests that exist in --out.")):
    """Kueue Topology (OCI's RDMA locality labels) and a ResourceFlavor per OKE GPU pool, for topology-aware
    scheduling (Kueue v0.17.0, kueue.x-k8s.io/v1beta2)."""

    root = project_root()
    try:
        check_site_name(root, site)
        spec = load_site(root, site).spec
        if out_dir is None:
            docs = [kueue_render(site, obj) for obj in kueue_manifests(spec).values()]
            out.print("---\n".join(docs), end="", markup=False, highlight=False, soft_wrap=True)
            return
        written = kueue_write(spec, out_dir, force=force)
    except SitekitError as exc:
        fail(exc)
    for path in written:
        out.print(f"wrote {path}", markup=False, highlight=False)
