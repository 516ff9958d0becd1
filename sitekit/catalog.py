"""The GPU shape catalog and the OCI region list, loaded from stacks/catalog/ as data."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field

from .errors import Problem, SpecError
from .sources import load_yaml
from .spec import Model


class Shape(Model):
    name: str
    gpus: int = Field(ge=1, description="GPUs per node.")
    gpu_model: str
    node_kw: float = Field(gt=0, description="Nameplate maximum node power in kW.")
    grouping: Literal["cluster-network", "gpu-memory-cluster"] = Field(
        description="How RDMA nodes are grouped: cluster network (8-GPU bare metal) or compute cluster + GPU memory cluster (GB200 class).")
    max_nodes_per_fabric: int | None = Field(None, description="Hosts per GPU memory fabric (NVL72: 18).")
    source: str


class Region(Model):
    country: str
    name: str


class Catalog(Model):
    shapes: dict[str, Shape]
    regions: dict[str, Region]

    def shape(self, name: str) -> Shape:
        return self.shapes[name]


@lru_cache(maxsize=4)
def load_catalog(root: Path) -> Catalog:
    shapes_data, _ = load_yaml(root / "stacks/catalog/shapes.yaml", "stacks/catalog/shapes.yaml")
    regions_data, _ = load_yaml(root / "stacks/catalog/regions.yaml", "stacks/catalog/regions.yaml")
    try:
        return Catalog(
            shapes={s["name"]: Shape.model_validate(s) for s in shapes_data["shapes"]},
            regions={k: Region.model_validate(v) for k, v in regions_data["regions"].items()},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError([Problem("stacks/catalog", None, "", f"invalid catalog: {exc}")]) from None
