"""The GPU shape catalog and the OCI region list, loaded from stacks/catalog/ as data.

Both files are validated like a site spec: every problem at once, each naming the file, line and key (a
shape listed twice, a `regions:` that is empty or null, a node power that is not a number).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, StrictInt, ValidationError, model_validator

from .errors import Problem, SpecError
from .merge import Layer, duplicate_names
from .sources import Marks, load_yaml
from .spec import Model, Number, RegionId

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


class Shape(Model):
    name: str = Field(min_length=1, max_length=64, description="The OCI shape name, e.g. BM.GPU.H100.8.")
    gpus: StrictInt = Field(ge=1, le=64, description="GPUs per node.")
    gpu_model: str
    node_kw: Number = Field(gt=0, le=1000, description="Nameplate maximum node power in kW.")
    grouping: Literal["cluster-network", "gpu-memory-cluster"] = Field(
        description="How RDMA nodes are grouped: cluster network (8-GPU bare metal) or compute cluster + GPU memory cluster (GB200 class).")
    max_nodes_per_fabric: StrictInt | None = Field(None, ge=1, le=1000, description="Hosts per GPU memory fabric (NVL72: 18).")
    source: str
    secure_boot: SecureBoot


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


def _problems(exc: ValidationError, file: str, data: Any, marks: Marks) -> list[Problem]:
    from .loader import validation_problems  # the same wording as a site's problems

    def origin_of(path):
        from .merge import Origin

        while path and path not in marks:
            path = path[:-1]
        return Origin(file, marks.get(path, 1))

    return validation_problems(exc, data, origin_of)


def load_catalog(root: Path) -> Catalog:
    """Both catalog files, validated; a SpecError with every problem of either. Read once per process while
    the files are unchanged (sources.load_yaml)."""
    problems: list[Problem] = []
    shapes: list[Shape] = []
    cpu_shapes: list[CpuShape] = []
    regions: dict[str, Region] = {}
    for file, model in ((SHAPES, ShapesFile), (REGIONS, RegionsFile)):
        try:
            data, marks = load_yaml(root / file, file)
        except SpecError as exc:
            problems += exc.problems
            continue
        problems += duplicate_names(Layer(file, data, marks))
        try:
            parsed = model.model_validate(data)
        except ValidationError as exc:
            problems += _problems(exc, file, data, marks)
            continue
        if isinstance(parsed, ShapesFile):
            shapes, cpu_shapes = parsed.shapes, parsed.cpu_shapes
        else:
            regions = dict(parsed.regions)
    if problems:
        raise SpecError(problems)
    return Catalog(shapes={s.name: s for s in shapes}, regions=regions, cpu_shapes={s.name: s for s in cpu_shapes})
