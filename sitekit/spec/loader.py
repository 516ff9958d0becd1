"""YAML layers -> merged tree -> validated `SiteSpec`, with provenance. Nothing here declares resources.

`load_site(root, stack)` reads `stacks/baseline.yaml`, the jurisdiction the stack names and the stack file
itself; `load_site(root, stack, values=...)` takes the site's config values from elsewhere (the Pulumi
program passes what `pulumi.Config` holds) and still uses the stack file, when present, for line numbers.
Every problem found is raised together in one `SpecError`, each at a file and line.

The loader orchestrates the rest of `spec/` and nothing there imports it: files are found by `layout`, read by
`sources` and `stackfiles`, joined by `merge`, validated by `models` (errors worded by `problems`), `validate`
and `peering`, the result a `loaded.LoadedSite`. Besides those, the loader refuses what only it can see: a config key under a misspelt namespace or none, `sitekit:overrides` that is not a mapping, a site that
sets `jurisdiction.code` or `jurisdiction.locked`, a profile whose `code` is not its file name, a lock on a key
the spec does not have, and a supernet that overlaps another site's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sitekit.errors import Problem, SpecError, clip, nearest
from sitekit.spec.catalog import load_catalog
from sitekit.spec.keys import spec_key_problem
from sitekit.spec.layout import BASELINE, JURISDICTIONS, list_jurisdictions, stack_file
from sitekit.spec.loaded import LoadedSite, origin_in
from sitekit.spec.merge import Layer, Origin, merge_layers
from sitekit.spec.models import Jurisdiction, SiteSpec
from sitekit.spec.peering import peer_links
from sitekit.spec.problems import validation_problems
from sitekit.spec.sources import dotted, load_project_yaml
from sitekit.spec.stackconfig import BY_NAME, NAMESPACE
from sitekit.spec.stackfiles import (
    check_values,
    read_stack_values,
    site_layer,
    site_supernets,
)
from sitekit.spec.validate import check_site

SITE_MAY_NOT_SET = {
    ("jurisdiction", "code"): "a site chooses its jurisdiction with sitekit:jurisdiction; the profile's code is "
                              "its file name",
    ("jurisdiction", "locked"): "locks are the jurisdiction's own; a site may not add, change or remove them",
}
"""Keys no site may set, whatever its jurisdiction locks."""


def _refuse_site_keys(site: Layer) -> list[Problem]:
    problems = []
    section = site.data.get("jurisdiction")
    for path, why in SITE_MAY_NOT_SET.items():
        if isinstance(section, dict) and path[1] in section:
            problems.append(Problem(site.file, site.origin(path).line, dotted(path), why))
            del section[path[1]]
            if not section:  # nothing else set under it: as if the site never wrote the section
                del site.data["jurisdiction"]
    return problems


def _layer(root: Path, file: str, problems: list[Problem]) -> Layer | None:
    try:
        return Layer(file, *load_project_yaml(root, file))
    except SpecError as exc:
        problems += exc.problems
        return None


def load_profile(root: Path, code: str) -> tuple[Layer, Jurisdiction]:
    """A jurisdiction profile on its own (no site, no baseline): its layer and its `jurisdiction:` section,
    validated. Raises SpecError with every problem of the file, each at its line."""
    file = f"{JURISDICTIONS}/{code}.yaml"
    layer = Layer(file, *load_project_yaml(root, file))
    try:
        return layer, Jurisdiction.model_validate(layer.data.get("jurisdiction"))
    except ValidationError as exc:
        raise SpecError(validation_problems(exc, layer.data, layer.origin, prefix=("jurisdiction",))) from None


def crossing_regions(root: Path, jurisdiction: Jurisdiction) -> dict[str, str]:
    """Public region -> jurisdiction code: the regions of the jurisdictions whose border the profile lets its data
    class cross (`Residency.crossing`, the one meaning), outside its own residency regions. A profile that does not
    load opens nothing (the fleet's own load reports it)."""
    residency, found = jurisdiction.residency, {}
    for code in residency.cross_border.to if residency.cross_border else ():
        if residency.crossing(jurisdiction.tags.data_classification, code) is None:
            continue
        try:
            other = load_profile(root, code)[1]
        except SpecError:
            continue
        found.update({r: code for r in other.residency.regions if r not in residency.regions and r not in found})
    return found


def _profile_code(layer: Layer, code: str) -> list[Problem]:
    """A profile's `code` is its file name: sites name it by file, messages and tags by code."""
    section = layer.data.get("jurisdiction")
    written = section.get("code") if isinstance(section, dict) else None
    if written is None or written == code:
        return []
    return [Problem(layer.file, layer.origin(("jurisdiction", "code")).line, "jurisdiction.code",
                    f"'{clip(str(written))}' differs from the profile's file name; write code: {code} (or rename "
                    f"the file to {clip(str(written))}.yaml)")]


def _bad_locks(layer: Layer) -> list[Problem]:
    """A lock names a key of the spec: a misspelt one would lock nothing, and one below a value would refuse the
    value itself. Each bad lock is a problem, and is left out of the merge."""
    section = layer.data.get("jurisdiction")
    locked = section.get("locked") if isinstance(section, dict) else None
    if not isinstance(locked, list):
        return []
    problems, kept = [], []
    for i, entry in enumerate(locked):
        why = spec_key_problem(entry["key"]) if isinstance(entry, dict) and isinstance(entry.get("key"), str) else None
        if why:
            path = ("jurisdiction", "locked", i, "key")
            problems.append(Problem(layer.file, layer.origin(path).line, dotted(path), f"lock on '{clip(entry['key'])}': {why}"))
        else:
            kept.append(entry)
    section["locked"] = kept
    return problems


def _overlapping_sites(loaded: LoadedSite) -> list[Problem]:
    mine = loaded.spec.site.address_plan.supernet
    path = ("site", "addressPlan", "supernet")
    origin = loaded.origin(path) or Origin(stack_file(loaded.name), 1)
    return [Problem(origin.file, origin.line, dotted(path),
                    f"{mine} overlaps site '{name}' ({theirs}, {where}); each site needs its own block of the "
                    "organisation's address space")
            for name, theirs, where in site_supernets(loaded.root, loaded.name) if mine.overlaps(theirs)]


def load_site(root: Path, stack: str, values: dict[str, Any] | None = None) -> LoadedSite:
    """Load, merge and validate one site. Raises SpecError with every problem found."""

    root = root.resolve()
    problems: list[Problem] = []
    file = stack_file(stack)
    if values is None:
        values, key_marks, problems = read_stack_values(root, stack)
    else:
        key_marks = {}
        if (root / file).is_file():
            try:
                _, key_marks, _ = read_stack_values(root, stack)
            except SpecError:
                key_marks = {}
    values, value_problems = check_values(stack, values, key_marks)
    problems += value_problems
    site = site_layer(stack, values, key_marks)
    problems += _refuse_site_keys(site)

    baseline = _layer(root, BASELINE, problems)
    if baseline is not None:
        problems += _bad_locks(baseline)
    layers = [baseline] if baseline is not None else []
    code = values.get("jurisdiction")
    known = list_jurisdictions(root)
    if not isinstance(code, str) or code not in known:
        line = site.origin(("site", "jurisdiction")).line or 1  # where it is, or `config:`, where it belongs
        what = "is missing" if code is None else f"unknown jurisdiction '{clip(str(code))}'; {nearest(str(code), known)}"
        problems.append(Problem(file, line, "site.jurisdiction", what))
        profile = None
    else:
        profile = _layer(root, f"{JURISDICTIONS}/{code}.yaml", problems)
        if profile is not None:
            problems += _profile_code(profile, code) + _bad_locks(profile)
            layers.append(profile)
    try:
        catalog = load_catalog(root)
    except SpecError as exc:
        problems += exc.problems
        catalog = None
    if baseline is None or profile is None or catalog is None:
        # a missing layer or catalog: validating the rest would only echo that problem
        raise SpecError(problems)
    layers.append(site)

    data, prov, merge_problems = merge_layers(layers)
    problems += merge_problems
    loaded_origin = lambda path: origin_in(prov, path)  # noqa: E731
    try:
        spec = SiteSpec.model_validate(data)
    except ValidationError as exc:
        # A config key already refused above is not reported again as missing.
        refused = {dotted(BY_NAME[p.key.partition(":")[2]].target) for p in problems
                   if p.key.startswith(f"config.{NAMESPACE}:") and p.key.partition(":")[2] in BY_NAME}
        raise SpecError(problems + [p for p in validation_problems(exc, data, loaded_origin)
                                    if not (p.key in refused and p.message == "required key is missing")]) from None
    loaded = LoadedSite(spec, data, prov, catalog, root, crossing=crossing_regions(root, spec.jurisdiction))
    problems += check_site(loaded)
    problems += _overlapping_sites(loaded)

    loaded.peers, peer_problems = peer_links(loaded)
    problems += peer_problems
    if problems:
        raise SpecError(problems)
    return loaded
