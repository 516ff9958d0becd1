"""Stamping a jurisdiction profile skeleton: `sitekit new-jurisdiction` -> stacks/jurisdictions/<code>.yaml,
rendered from templates/jurisdiction.yaml.j2 and validated like every profile."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import ValidationError

from sitekit.atomic import write_atomic
from sitekit.errors import Problem, SpecError, clip, nearest
from sitekit.region.bootstrap import environment
from sitekit.spec.catalog import load_catalog
from sitekit.spec.layout import BASELINE, JURISDICTIONS
from sitekit.spec.merge import Layer
from sitekit.spec.models import Compute, Jurisdiction
from sitekit.spec.problems import section_problems
from sitekit.spec.schema import JURISDICTION_SCHEMA, modeline
from sitekit.spec.sources import load_project_yaml, parse_yaml

# --------------------------------------------------------------------------------------------- jurisdictions
JURISDICTION_TEMPLATE = "jurisdiction.yaml.j2"


JURISDICTION_CODE = re.compile(r"^[a-z]{2}(-[a-z0-9]+)?$")
"""An ISO 3166-1 alpha-2 code, optionally with a suffix for a sub-regime (e.g. ae-difc)."""


def write_jurisdiction(root: Path, code: str, name: str | None, regions: list[str], *,
                       force: bool = False) -> Path:
    """Render a profile skeleton to stacks/jurisdictions/<code>.yaml (never over a file without `force`)."""

    root = root.resolve()
    cmd = "sitekit new-jurisdiction"
    file = f"{JURISDICTIONS}/{code}.yaml"
    problems = []
    if not JURISDICTION_CODE.fullmatch(code):
        problems.append(Problem(cmd, None, "CODE", f"invalid code '{clip(code)}': an ISO 3166-1 alpha-2 code in lower case, "
                                                   "optionally with a suffix (e.g. de, ae-difc)"))
    elif (root / file).exists() and not force:  # a code checked before it names a file
        problems.append(Problem(file, None, "", "the profile exists; pass --force to overwrite it"))
    catalog = load_catalog(root)
    for region in regions:
        if region not in catalog.regions:
            problems.append(Problem(cmd, None, "--regions", f"unknown OCI public region '{clip(region)}'; "
                                                            f"{nearest(region, catalog.regions)}"))
    if problems:
        raise SpecError(problems)
    baseline, marks = load_project_yaml(root, BASELINE)
    bad = section_problems(baseline, Layer(BASELINE, baseline, marks).origin, {"compute": Compute})
    if bad:
        raise SpecError(bad)
    shapes = sorted({p["shape"] for p in baseline["compute"].get("pools") or []} & set(catalog.shapes))
    text = environment(root / "templates").get_template(JURISDICTION_TEMPLATE).render(
        modeline=modeline(JURISDICTION_SCHEMA, JURISDICTIONS), code=code, name=name or code.upper(),
        regions=regions, applicable_law=code.upper(), shapes=shapes)
    data, _ = parse_yaml(text, file)
    try:
        Jurisdiction.model_validate(data["jurisdiction"])
    except ValidationError as exc:  # the template and the model disagree: a bug, reported as bad input
        raise SpecError([Problem(f"templates/{JURISDICTION_TEMPLATE}", None, ".".join(map(str, e["loc"])), e["msg"])
                         for e in exc.errors()]) from None
    try:
        write_atomic(root / file, text, overwrite=force)
    except FileExistsError:
        raise SpecError([Problem(file, None, "", "the profile appeared while writing; pass --force")]) from None
    return root / file
