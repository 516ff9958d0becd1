"""The GPU shape catalog and the OCI region list, loaded from stacks/catalog/ as data."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from .errors import Problem, SpecError
from .sources import load_yaml
from .spec import Model


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
    name: str
    gpus: int = Field(ge=1, description="GPUs per node.")
    gpu_model: str
    node_kw: float = Field(gt=0, description="Nameplate maximum node power in kW.")
    grouping: Literal["cluster-network", "gpu-memory-cluster"] = Field(
        description="How RDMA nodes are grouped: cluster network (8-GPU bare metal) or compute cluster + GPU memory cluster (GB200 class).")
    max_nodes_per_fabric: int | None = Field(None, description="Hosts per GPU memory fabric (NVL72: 18).")
    source: str
    secure_boot: SecureBoot


class CpuShape(Model):
    """A shape without GPUs that a rule needs a fact about."""

    name: str
    secure_boot: SecureBoot


class Region(Model):
    country: str
    name: str


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


@lru_cache(maxsize=4)
def load_catalog(root: Path) -> Catalog:
    shapes_data, _ = load_yaml(root / "stacks/catalog/shapes.yaml", "stacks/catalog/shapes.yaml")
    regions_data, _ = load_yaml(root / "stacks/catalog/regions.yaml", "stacks/catalog/regions.yaml")
    try:
        return Catalog(
            shapes={s["name"]: Shape.model_validate(s) for s in shapes_data["shapes"]},
            regions={k: Region.model_validate(v) for k, v in regions_data["regions"].items()},
            cpu_shapes={s["name"]: CpuShape.model_validate(s) for s in shapes_data.get("cpuShapes", [])},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError([Problem("stacks/catalog", None, "", f"invalid catalog: {exc}")]) from None
