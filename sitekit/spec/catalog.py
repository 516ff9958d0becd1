"""The GPU shape catalog, the OCI region list, the capacity catalog and the price catalog, loaded from
stacks/catalog/ as data.

Each file is validated like a site spec: every problem at once, each naming the file, line and key (a shape
listed twice, a `regions:` that is empty or null, a node power that is not a number, a price that is negative,
infinite, not a number or of a shape the catalog does not list, a `recorded` date that is missing or does not
exist).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, Strict, StrictInt, ValidationError, model_validator

from sitekit.errors import Problem, SpecError, clip, nearest
from sitekit.spec.merge import Layer, duplicate_names
from sitekit.spec.models import Model
from sitekit.spec.problems import validation_problems
from sitekit.spec.sources import dotted, load_project_yaml
from sitekit.spec.types import Day, Number, RegionId

SHAPES = "stacks/catalog/shapes.yaml"
REGIONS = "stacks/catalog/regions.yaml"


class SecureBoot(Model):
    """Whether OCI launches the shape as a shielded instance with Secure Boot (CIS OCI 3.2): true, false, or
    `unknown` where no source at hand says (SK-CMP-006 then advises, and the region does not ask for it)."""

    supported: bool | Literal["unknown"]
    platform_type: str | None = Field(None, description="The platform config type that launches the shape with Secure Boot.")
    source: str

    @model_validator(mode="after")
    def _platform_when_supported(self) -> "SecureBoot":
        if self.supported is True and not self.platform_type:
            raise ValueError("a shape that supports Secure Boot needs its platformType")
        return self


class Fabric(Model):
    """The RDMA fabric block a shape's hardware fixes: how a bare-metal pool is split into clusters
    (`planners.fabric_blocks`). `unknown` where no source at hand says; the pool then stays one cluster."""

    hosts_per_block: StrictInt | Literal["unknown"] = Field(
        description="Hosts in one fabric block (GB200 NVL72: 18), or unknown.")
    gpus_per_host: StrictInt = Field(ge=1, le=64, description="GPUs per host (the shape's `gpus`).")
    spans_blocks: bool | Literal["unknown"] = Field(
        description="Whether one cluster network or compute cluster may span blocks; false: a cluster per block.")
    whole_blocks: bool = Field(False, description="A block is built only full (an NVL72 fabric needs its 18 "
                                                  "hosts): a pool is then a whole number of blocks. Defaults to false.")
    source: str = Field(min_length=1)

    @property
    def block(self) -> int | None:
        """Hosts per block where the pool is split into blocks; None where it stays one cluster (the block size or
        whether a cluster spans blocks is unknown, or a cluster spans them)."""
        if isinstance(self.hosts_per_block, int) and self.spans_blocks is False:
            return self.hosts_per_block
        return None


class Shape(Model):
    name: str = Field(min_length=1, max_length=64, description="The OCI shape name, e.g. BM.GPU.H100.8.")
    gpus: StrictInt = Field(ge=1, le=64, description="GPUs per node.")
    gpu_model: str
    node_kw: Number = Field(gt=0, le=1000, description="Nameplate maximum node power in kW.")
    grouping: Literal["cluster-network", "gpu-memory-cluster"] = Field(
        description="How RDMA nodes are grouped: cluster network (8-GPU bare metal) or compute cluster + GPU memory cluster (GB200 class).")
    fabric: Fabric
    source: str
    secure_boot: SecureBoot

    @model_validator(mode="after")
    def _fabric_gpus(self) -> "Shape":
        if self.fabric.gpus_per_host != self.gpus:
            raise ValueError(f"fabric.gpusPerHost ({self.fabric.gpus_per_host}) differs from gpus ({self.gpus})")
        if isinstance(self.fabric.hosts_per_block, int) and not 1 <= self.fabric.hosts_per_block <= 1000:
            raise ValueError(f"fabric.hostsPerBlock ({self.fabric.hosts_per_block}) is outside 1..1000")
        return self


class CpuShape(Model):
    """A shape without GPUs that a rule needs a fact about."""

    name: str = Field(min_length=1, max_length=64)
    secure_boot: SecureBoot


class Region(Model):
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code of the region's country.")
    name: str


class ShapesFile(Model):
    shapes: list[Shape] = Field(min_length=1)
    cpu_shapes: list[CpuShape] = Field(default_factory=list)


class RegionsFile(Model):
    regions: dict[RegionId, Region] = Field(min_length=1)


class Catalog(Model):
    shapes: dict[str, Shape]
    regions: dict[str, Region]
    cpu_shapes: dict[str, CpuShape] = Field(default_factory=dict)

    def shape(self, name: str) -> Shape:
        return self.shapes[name]

    def secure_boot(self) -> dict[str, bool | None]:
        """Shape name -> whether it supports Secure Boot (None: unknown), for every shape the catalog lists."""
        return {n: s.secure_boot.supported if isinstance(s.secure_boot.supported, bool) else None
                for n, s in {**self.cpu_shapes, **self.shapes}.items()}


def load_catalog(root: Path) -> Catalog:
    """Both catalog files, validated; a SpecError with every problem of either. Read once per process while
    the files are unchanged (sources.load_yaml)."""

    problems: list[Problem] = []
    shapes: list[Shape] = []
    cpu_shapes: list[CpuShape] = []
    regions: dict[str, Region] = {}
    for file, model in ((SHAPES, ShapesFile), (REGIONS, RegionsFile)):
        try:
            layer = Layer(file, *load_project_yaml(root, file))
        except SpecError as exc:
            problems += exc.problems
            continue
        problems += duplicate_names(layer)
        try:
            parsed = model.model_validate(layer.data)
        except ValidationError as exc:
            problems += validation_problems(exc, layer.data, layer.origin, root=model)
            continue
        if isinstance(parsed, ShapesFile):
            shapes, cpu_shapes = parsed.shapes, parsed.cpu_shapes
        else:
            regions = dict(parsed.regions)
    if problems:
        raise SpecError(problems)
    return Catalog(shapes={s.name: s for s in shapes}, regions=regions, cpu_shapes={s.name: s for s in cpu_shapes})


# ------------------------------------------------------------------------------------------------ capacity
CAPACITY = "stacks/catalog/capacity.yaml"


class CapacityFact(Model):
    source: str = Field(description="Key of the fact's source under `sources:`.")
    date: Date = Field(description="When the fact was recorded (YYYY-MM-DD).")


class RegionCapacity(Model):
    offers: Literal["unknown"] | dict[str, CapacityFact] = Field(
        description="'unknown', or the GPU shapes confirmed in the region, each with its source and date.")
    not_offered: dict[str, CapacityFact] = Field(default_factory=dict, description="GPU shapes confirmed absent.")
    source: str = Field(description="Key of the source of the entry as a whole (what was checked).")
    date: Date
    note: str = ""


class ShapeNote(Model):
    note: str
    source: str
    date: Date


class LimitName(Model):
    """The OCI service limit that counts a GPU shape (service `compute`), read by `sitekit capacity import`."""

    name: str = Field(min_length=1, max_length=128, description="The limit's name, e.g. gpu-h100-count.")
    unit: Literal["gpus", "instances"] = Field(description="What the limit's value counts.")
    verified: bool = Field(description="Whether the name was checked against OCI's limit definitions.")
    source: str = Field(description="Key of the source under `sources:`.")


class Capacity(Model):
    """Which GPU shapes each region is known to offer (stacks/catalog/capacity.yaml), and the service limit that
    counts each GPU shape."""

    recorded: Date
    sources: dict[str, str]
    regions: dict[str, RegionCapacity]
    dedicated: RegionCapacity = Field(description="Any Dedicated Region without an entry of its own.")
    shapes: dict[str, ShapeNote] = Field(default_factory=dict)
    limits: dict[str, LimitName] = Field(default_factory=dict, description="GPU shape -> its service limit.")

    def entry(self, region: str, region_kind: str = "public") -> tuple[str, RegionCapacity | None]:
        """(what the entry is called, the entry) for a region; None when the catalog has none."""
        if region in self.regions:
            return region, self.regions[region]
        if region_kind == "dedicated":
            return "dedicated", self.dedicated
        return region, None

    def status(self, region: str, shape: str, region_kind: str = "public") -> "ShapeStatus":
        """What the catalog knows of `shape` in `region`: offered, not-offered or unknown, and why."""
        key, entry = self.entry(region, region_kind)
        if entry is None:
            return ShapeStatus("unknown", f"{CAPACITY} has no entry for {region}", None)
        for status, facts in (("offered", entry.offers), ("not-offered", entry.not_offered)):
            if isinstance(facts, dict) and shape in facts:
                fact = facts[shape]
                return ShapeStatus(status, self.sources.get(fact.source, fact.source), fact.date)
        what = "offers: unknown" if entry.offers == "unknown" else "does not list it"
        return ShapeStatus("unknown", f"{CAPACITY}: {key} {what}", entry.date)

    def offered_in(self, shape: str) -> list[str]:
        """Regions known to offer `shape`."""
        return sorted(r for r, e in self.regions.items() if isinstance(e.offers, dict) and shape in e.offers)


@dataclass(frozen=True)
class ShapeStatus:
    status: Literal["offered", "not-offered", "unknown"]
    why: str
    date: Date | None


def capacity_problems(capacity: Capacity, layer: Layer, catalog: Catalog) -> list[Problem]:
    """References the capacity catalog makes: sources by key, shapes and regions of the other catalogs."""
    problems: list[Problem] = []

    def add(path: tuple, message: str) -> None:
        problems.append(Problem(layer.file, layer.origin(path).line, dotted(path), message))

    def check_fact(path: tuple, fact: CapacityFact | ShapeNote | RegionCapacity | LimitName) -> None:
        if fact.source not in capacity.sources:
            add(path + ("source",), f"unknown source '{clip(fact.source)}'; {nearest(fact.source, capacity.sources)}")

    entries = [(("regions", r), e) for r, e in capacity.regions.items()] + [(("dedicated",), capacity.dedicated)]
    for path, entry in entries:
        if path[0] == "regions" and path[1] not in catalog.regions:
            add(path, f"unknown OCI region '{clip(path[1])}'; {nearest(path[1], catalog.regions)}")
        check_fact(path, entry)
        for key, facts in (("offers", entry.offers), ("notOffered", entry.not_offered)):
            for shape, fact in (facts.items() if isinstance(facts, dict) else ()):
                if shape not in catalog.shapes:
                    add(path + (key, shape), f"unknown GPU shape '{clip(shape)}'; {nearest(shape, catalog.shapes)}")
                check_fact(path + (key, shape), fact)
    for key, facts in (("shapes", capacity.shapes), ("limits", capacity.limits)):
        for shape, note in facts.items():
            if shape not in catalog.shapes:
                add((key, shape), f"unknown GPU shape '{clip(shape)}'; {nearest(shape, catalog.shapes)}")
            check_fact((key, shape), note)
    return problems


_UNKNOWN_BRANCH, _FACTS_BRANCH = "literal['unknown']", "dict[str,CapacityFact]"


def _capacity_errors(exc: ValidationError, layer: Layer) -> list[Problem]:
    """Pydantic's errors as `file:line: key: problem`; the two branches of `offers` read as one rule."""
    problems, unions = [], {}
    for error in exc.errors():
        loc = tuple(error["loc"])
        branch = next((i for i, p in enumerate(loc) if p in (_UNKNOWN_BRANCH, _FACTS_BRANCH)), None)
        if branch is not None:
            unions.setdefault(loc[:branch], []).append((loc[branch], loc[branch + 1:], error["msg"]))
            continue
        problems.append((loc, error["msg"]))
    for path, errors in unions.items():
        deeper = [(path + rest, msg) for kind, rest, msg in errors if kind == _FACTS_BRANCH and rest]
        problems += deeper or [(path, "must be 'unknown' or a mapping of GPU shapes to {source, date}")]
    return [Problem(layer.file, layer.origin(path).line, dotted(path), msg) for path, msg in problems]


def load_capacity(root: Path) -> Capacity:
    """The capacity catalog of the project at `root`, validated against its shape and region catalogs.
    Kept apart from `load_catalog`, which every site load needs: a tree without this file still loads. Like
    it, read once per process while the files are unchanged (sources.load_yaml)."""
    layer = Layer(CAPACITY, *load_project_yaml(root, CAPACITY))
    try:
        capacity = Capacity.model_validate(layer.data)
    except ValidationError as exc:
        raise SpecError(_capacity_errors(exc, layer)) from None
    problems = capacity_problems(capacity, layer, load_catalog(root))
    if problems:
        raise SpecError(problems)
    return capacity


# ------------------------------------------------------------------------------------------------ prices
PRICES = "stacks/catalog/prices.yaml"

MAX_PRICE = 100_000
"""Largest figure a price may be (USD per unit): a bound against typos, far above any list price, that keeps a
fleet's cost finite (a node-hour at 1e300 would make it infinity, which JSON cannot hold)."""

Price = Annotated[float, Strict(), Field(ge=0, le=MAX_PRICE)]
"""A price in USD: a finite number, 0 or more (never text, a boolean, infinity or NaN)."""


class GpuPrice(Model):
    per_hour: Price | None = Field(description="USD per node (all GPUs of the host) per hour; null: no public list "
                                                "price (nodes are counted, not priced).")
    source: str = Field(min_length=1, description="Where the figure comes from.")


class StoragePrice(Model):
    per_gb_month: Price = Field(description="USD per gigabyte per month.")
    source: str = Field(min_length=1)


class StoragePrices(Model):
    block_volume: StoragePrice
    file_storage: StoragePrice
    object_storage: StoragePrice


class LoadBalancerPrice(Model):
    per_hour: Price = Field(description="USD per load balancer per hour.")
    per_mbps_hour: Price = Field(description="USD per Mbps of maximum bandwidth per hour.")
    source: str = Field(min_length=1)


class PriceCatalog(Model):
    """OCI list prices (stacks/catalog/prices.yaml), read by the review and fleet reports."""

    currency: Literal["USD"] = Field(description="The reports print dollars: USD only.")
    hours_per_month: Number = Field(gt=0, le=744, description="Hours billed in a month (730; at most 31 x 24).")
    recorded: Day = Field(description="When the figures were recorded (YYYY-MM-DD), quoted by the reports.")
    gpu_shapes: dict[str, GpuPrice] = Field(description="Per GPU shape of shapes.yaml.")
    storage: StoragePrices
    load_balancer: LoadBalancerPrice


def load_price_catalog(root: Path) -> PriceCatalog:
    """The price catalog of the project at `root`, validated (its GPU shapes against shapes.yaml); a SpecError with
    every problem, each at its line. Kept apart from `load_catalog` (planning needs no prices): fleet and review
    read it before any planning. Read once per process while the file is unchanged (sources.load_yaml)."""
    layer = Layer(PRICES, *load_project_yaml(root, PRICES))
    problems = duplicate_names(layer)
    try:
        prices = PriceCatalog.model_validate(layer.data)
    except ValidationError as exc:
        problems += validation_problems(exc, layer.data, layer.origin, root=PriceCatalog)
        prices = None
    shapes = load_catalog(root).shapes
    given = layer.data.get("gpuShapes")
    for shape in given if isinstance(given, dict) else ():
        if shape not in shapes:
            path = ("gpuShapes", shape)
            problems.append(Problem(PRICES, layer.origin(path).line, dotted(path),
                                    f"unknown GPU shape '{clip(shape)}'; {nearest(shape, shapes)}"))
    if problems or prices is None:
        raise SpecError(problems)
    return prices
