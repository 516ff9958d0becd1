"""The rack catalog (stacks/catalog/racks.yaml): per GPU shape, nodes per rack, the most one rack draws (kW) and
its cooling, each with its source; loaded and validated like the other catalogs (every problem at its line).

Kept apart from `catalog.load_catalog`: only the hall fit (`halls.py`) and the reports that show racks read it.
Read once per process while the file is unchanged (sources.load_yaml).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, StrictInt, ValidationError

from sitekit.errors import Problem, SpecError, clip, nearest
from sitekit.spec.catalog import Catalog
from sitekit.spec.merge import Layer
from sitekit.spec.models import Cooling, Model
from sitekit.spec.problems import validation_problems
from sitekit.spec.sources import dotted, load_project_yaml
from sitekit.spec.types import Number

RACKS = "stacks/catalog/racks.yaml"


class Rack(Model):
    shape: str = Field(min_length=1, max_length=64, description="A GPU shape of shapes.yaml.")
    nodes_per_rack: StrictInt = Field(ge=1, le=128, description="Nodes (hosts) one rack holds.")
    rack_kw: Number = Field(gt=0, le=1000, description="The most one full rack draws (kW): at least nodesPerRack x the shape's nodeKw.")
    cooling: Cooling = Field(description="How the rack is cooled: air, or liquid to the chips.")
    source: str = Field(min_length=1)


class RacksFile(Model):
    racks: list[Rack] = Field(min_length=1)


def load_racks(root: Path, catalog: Catalog) -> dict[str, Rack]:
    """Shape -> its rack, validated against the shape catalog: a shape it does not list, a shape listed twice,
    a GPU shape with no rack, a rack that draws less than its nodes' nameplate. A SpecError with every problem."""
    layer = Layer(RACKS, *load_project_yaml(root, RACKS))
    try:
        parsed = RacksFile.model_validate(layer.data)
    except ValidationError as exc:
        raise SpecError(validation_problems(exc, layer.data, layer.origin, root=RacksFile)) from None
    problems: list[Problem] = []
    racks: dict[str, Rack] = {}
    for i, rack in enumerate(parsed.racks):
        path = ("racks", i)

        def add(key: str, message: str) -> None:
            problems.append(Problem(RACKS, layer.origin(path + (key,)).line, dotted(path + (key,)), message))

        shape = catalog.shapes.get(rack.shape)
        if shape is None:
            add("shape", f"unknown GPU shape '{clip(rack.shape)}'; {nearest(rack.shape, catalog.shapes)}")
        elif rack.shape in racks:
            add("shape", f"{rack.shape} is listed twice")
        elif rack.rack_kw + 1e-9 < rack.nodes_per_rack * shape.node_kw:
            add("rackKw", f"{rack.rack_kw:g} kW is less than {rack.nodes_per_rack} x {shape.node_kw:g} kW, the "
                          f"nameplate of the rack's nodes (shapes.yaml)")
        racks.setdefault(rack.shape, rack)
    for name in catalog.shapes:
        if name not in racks:
            problems.append(Problem(RACKS, layer.origin(("racks",)).line, "racks",
                                    f"no rack for GPU shape {name} (shapes.yaml lists it)"))
    if problems:
        raise SpecError(problems)
    return racks
