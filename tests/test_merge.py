"""The one merge rule (baseline < jurisdiction < site), provenance, and locked keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitekit.errors import SpecError
from sitekit.spec.loader import load_site
from sitekit.spec.merge import Layer, Origin, merge_layers
from sitekit.spec.sources import load_yaml, parse_yaml

BASE = """\
site:
  name: x
  pue: 1.5
  envelope: 10
pools:
  - name: train
    shape: H100
    nodes: 4
  - name: serve
    shape: H100
    nodes: 2
regions: [a, b, c]
security:
  vault: {type: DEFAULT, keyProtection: HSM}
"""

JUR = """\
site:
  pue: 1.3
jurisdiction:
  vault:
    type: VIRTUAL_PRIVATE
    keyProtection: HSM
  retention: {auditDays: 365}
  locked:
    - key: jurisdiction.vault.type
      basis: "Law 1 art. 2"
"""


def layer(file: str, text: str, site: bool = False) -> Layer:
    data, marks = parse_yaml(text, file)
    return Layer(file, data, marks, is_site=site)


def merge(*texts: str):
    """Merge baseline, jurisdiction, site texts (the last one is the site layer)."""
    files = ["base.yaml", "jur.yaml", "site.yaml"][: len(texts)]
    layers = [layer(f, t, site=(i == len(texts) - 1 and len(texts) == 3)) for i, (f, t) in enumerate(zip(files, texts))]
    return merge_layers(layers)


# ----------------------------------------------------------------------------------------------- order
def test_site_wins_over_jurisdiction_wins_over_baseline():
    data, prov, problems = merge(BASE, JUR, "site:\n  pue: 1.1\n")
    assert problems == []
    assert data["site"]["pue"] == 1.1
    assert prov[("site", "pue")] == Origin("site.yaml", 2)
    data, prov, _ = merge(BASE, JUR)
    assert data["site"]["pue"] == 1.3
    assert prov[("site", "pue")] == Origin("jur.yaml", 2)


def test_maps_merge_key_by_key_keeping_earlier_keys_and_their_origin():
    data, prov, _ = merge(BASE, JUR, "site:\n  envelope: 20\n  extra: yes\n")
    assert data["site"] == {"name": "x", "pue": 1.3, "envelope": 20, "extra": True}
    assert prov[("site", "name")] == Origin("base.yaml", 2)
    assert prov[("site", "pue")] == Origin("jur.yaml", 2)
    assert prov[("site", "envelope")] == Origin("site.yaml", 2)
    assert prov[("site", "extra")] == Origin("site.yaml", 3)
    assert data["security"] == {"vault": {"type": "DEFAULT", "keyProtection": "HSM"}}  # untouched subtree kept


def test_named_lists_merge_by_name_keep_order_and_append_new_names():
    site = "pools:\n  - name: serve\n    nodes: 8\n  - name: frontier\n    shape: GB200\n    nodes: 18\n"
    data, prov, _ = merge(BASE, JUR, site)
    assert [p["name"] for p in data["pools"]] == ["train", "serve", "frontier"]
    assert data["pools"][1] == {"name": "serve", "shape": "H100", "nodes": 8}
    assert data["pools"][0] == {"name": "train", "shape": "H100", "nodes": 4}
    assert prov[("pools", "serve", "nodes")] == Origin("site.yaml", 3)
    assert prov[("pools", "serve", "shape")] == Origin("base.yaml", 10)
    assert prov[("pools", "frontier", "shape")] == Origin("site.yaml", 5)
    assert prov[("pools", "train", "nodes")] == Origin("base.yaml", 8)


def test_plain_lists_are_replaced_whole_and_old_item_origins_dropped():
    data, prov, _ = merge(BASE, JUR, "regions: [z]\n")
    assert data["regions"] == ["z"]
    assert prov[("regions",)] == Origin("site.yaml", 1)
    assert prov[("regions", 0)] == Origin("site.yaml", 1)
    assert ("regions", 1) not in prov and ("regions", 2) not in prov


def test_a_scalar_replaces_a_mapping_and_its_origins():
    data, prov, _ = merge(BASE, "security: none\n")
    assert data["security"] == "none"
    assert not [p for p in prov if p[:1] == ("security",) and len(p) > 1]


def test_layers_are_not_mutated():
    base, jur, site = layer("b", BASE), layer("j", JUR), layer("s", "site:\n  pue: 1.0\n", site=True)
    before = (repr(base.data), repr(jur.data), repr(site.data))
    merge_layers([base, jur, site])
    assert (repr(base.data), repr(jur.data), repr(site.data)) == before


def test_block_values_are_marked_at_their_key_line():
    _, marks = parse_yaml("a:\n  b:\n    c: 1\n  d: [1, 2]\n", "f.yaml")
    assert marks[("a",)] == 1 and marks[("a", "b")] == 2 and marks[("a", "b", "c")] == 3
    assert marks[("a", "d")] == 4


def test_duplicate_keys_are_refused_with_their_line():
    with pytest.raises(SpecError) as info:
        parse_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert [str(p) for p in info.value.problems] == ["f.yaml:3: a: duplicate key"]


def test_a_file_is_parsed_once_and_each_caller_gets_its_own_copy(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a:\n  b: [1]\n")
    first, marks = load_yaml(path, "x.yaml")
    first["a"]["b"].append(2)
    marks[("a",)] = 99
    assert load_yaml(path, "x.yaml") == ({"a": {"b": [1]}}, {(): 1, ("a",): 1, ("a", "b"): 2, ("a", "b", 0): 2})
    path.write_text("a:\n  b: [3]\n")  # same size, maybe the same mtime: the text decides
    assert load_yaml(path, "x.yaml")[0] == {"a": {"b": [3]}}


def test_a_value_yaml_cannot_build_is_a_problem_not_a_crash():
    """`expires: 2027-13-01` resolves as a date and fails to build; it is bad input with its line."""
    with pytest.raises(SpecError) as info:
        parse_yaml("w:\n  - expires: 2027-13-01\n", "f.yaml")
    assert [str(p) for p in info.value.problems] == [
        "f.yaml:2: w.0.expires: '2027-13-01' is not a valid !!timestamp: month must be in 1..12"]


# ----------------------------------------------------------------------------------------------- locks
def test_locked_key_is_refused_naming_the_jurisdiction_file_and_basis():
    data, _, problems = merge(BASE, JUR, "x: 1\njurisdiction:\n  vault:\n    type: DEFAULT\n")
    assert [str(p) for p in problems] == [
        "site.yaml:4: jurisdiction.vault.type: 'jurisdiction.vault.type' is locked by jur.yaml:9 (Law 1 art. 2); "
        "a site may not override it"]
    assert data["jurisdiction"]["vault"]["type"] == "VIRTUAL_PRIVATE"  # the refused value is left out


def test_override_of_a_parent_of_a_locked_key_is_refused():
    _, _, problems = merge(BASE, JUR, "jurisdiction:\n  vault: DEFAULT\n")
    assert [(p.line, p.key) for p in problems] == [(2, "jurisdiction.vault")]
    _, _, problems = merge(BASE, JUR, "jurisdiction: null\n")
    assert [(p.line, p.key) for p in problems] == [(1, "jurisdiction")]


def test_sibling_of_a_locked_key_is_not_refused():
    data, prov, problems = merge(BASE, JUR, "jurisdiction:\n  vault:\n    keyProtection: SOFTWARE\n")
    assert problems == []
    assert data["jurisdiction"]["vault"] == {"type": "VIRTUAL_PRIVATE", "keyProtection": "SOFTWARE"}
    assert prov[("jurisdiction", "vault", "keyProtection")] == Origin("site.yaml", 3)
    assert prov[("jurisdiction", "vault", "type")] == Origin("jur.yaml", 5)


def test_key_with_a_locked_prefix_in_its_name_is_not_refused():
    jur = JUR.replace("jurisdiction.vault.type", "jurisdiction.vault")
    _, _, problems = merge(BASE, jur, "jurisdiction:\n  vaultNotes: free text\n")
    assert problems == []


def test_locked_named_item_is_refused_and_the_list_still_merges_by_name():
    jur = JUR.replace("jurisdiction.vault.type", "pools.train")
    site = "pools:\n  - name: train\n    nodes: 64\n  - name: extra\n    shape: H100\n    nodes: 1\n"
    data, _, problems = merge(BASE, jur, site)
    assert [(p.line, p.key) for p in problems] == [(3, "pools.train.nodes")]  # `name` only addresses the item
    assert data["pools"] == [{"name": "train", "shape": "H100", "nodes": 4}, {"name": "serve", "shape": "H100", "nodes": 2},
                             {"name": "extra", "shape": "H100", "nodes": 1}]
    data, _, problems = merge(BASE, jur, "pools:\n  - name: train\n    nodes: 64\n")
    assert [p["name"] for p in data["pools"]] == ["train", "serve"] and data["pools"][0]["nodes"] == 4


def test_locks_bind_sites_only():
    """A jurisdiction sets what it locks; only the site layer is refused."""
    base = BASE + "jurisdiction:\n  vault:\n    type: DEFAULT\n"
    data, _, problems = merge(base, JUR)
    assert problems == [] and data["jurisdiction"]["vault"]["type"] == "VIRTUAL_PRIVATE"


def test_locked_key_in_a_real_project_names_the_jurisdiction_file(project):
    stack = (project / "stacks" / "Pulumi.ar-patagonia.yaml")
    stack.write_text(stack.read_text() + "  sitekit:overrides:\n    jurisdiction:\n      residency:\n"
                     "        regions: [sa-saopaulo-1]\n")
    with pytest.raises(SpecError) as info:
        load_site(project, "ar-patagonia")
    (problem,) = info.value.problems
    assert problem.file == "stacks/Pulumi.ar-patagonia.yaml"
    assert problem.key == "jurisdiction.residency.regions"
    assert "locked by stacks/jurisdictions/ar.yaml:" in problem.message and "Ley 25.326 art. 12" in problem.message


# ----------------------------------------------------------------------------------------------- provenance of shipped sites
def line_of(path: Path, text: str, after: str | None = None) -> int:
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and text in line) + 1


def test_shipped_provenance_points_at_each_layer(shipped_sites, root):
    site = shipped_sites["us-ashburn"]
    stack, base, jur = (root / "stacks" / f for f in ("Pulumi.us-ashburn.yaml", "baseline.yaml", "jurisdictions/us.yaml"))
    assert site.origin(("compute", "pools", "train", "nodes")) == Origin(
        "stacks/Pulumi.us-ashburn.yaml", line_of(stack, "nodes: 2048"))
    assert site.origin(("compute", "pools", "train", "role")) == Origin(
        "stacks/baseline.yaml", line_of(base, "name: train"))
    assert site.origin(("jurisdiction", "vault", "type")) == Origin(
        "stacks/jurisdictions/us.yaml", line_of(jur, "type: VIRTUAL_PRIVATE"))
    assert site.origin(("site", "addressPlan", "networks", "gpu")) == Origin(
        "stacks/Pulumi.us-ashburn.yaml", line_of(stack, "gpu: 10.64.0.0/18"))
    assert site.origin(("network", "networks", "gpu", "subnets", "nodes", "prefix")) == Origin(
        "stacks/baseline.yaml", line_of(base, "{name: nodes, prefix: 19}"))
    # a pool only the site declares (frontier) is appended after the baseline's, by name
    assert [p.name for p in site.spec.compute.pools] == ["train", "serve", "frontier"]


# ----------------------------------------------------------------------------------------------- properties
KEYS = st.sampled_from(["a", "b", "c", "d"])
SCALARS = st.one_of(st.integers(0, 9), st.sampled_from(["x", "y"]), st.lists(st.integers(0, 3), max_size=2))
TREES = st.recursive(SCALARS, lambda inner: st.dictionaries(KEYS, inner, max_size=3), max_leaves=8)
MAPS = st.dictionaries(KEYS, TREES, max_size=4)


def _merged(*datas):
    return merge_layers([Layer(f"l{i}", d) for i, d in enumerate(datas)])


def _leaf_paths(value, path=()):
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from _leaf_paths(v, path + (k,))
    else:
        yield path


def _get(data, path):
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return KeyError
        data = data[part]
    return data


def _typed(depth: int):
    """Maps whose keys keep one kind in every layer ('m', 'n' hold maps; 'x', 'y', 'z' values), as
    schema-valid layers do."""
    values = st.dictionaries(st.sampled_from(["x", "y", "z"]), SCALARS, max_size=3)
    if depth == 0:
        return values
    maps = st.dictionaries(st.sampled_from(["m", "n"]), _typed(depth - 1), max_size=2)
    return st.builds(lambda v, m: {**v, **m}, values, maps)


@settings(max_examples=150, deadline=None)
@given(_typed(3), _typed(3), _typed(3))
def test_merging_maps_is_associative(a, b, c):
    """(a < b) < c == a < (b < c) when a key keeps its kind across layers. (A scalar replacing a map is
    not associative.)"""
    left = _merged(_merged(a, b)[0], c)[0]
    right = _merged(a, _merged(b, c)[0])[0]
    assert left == right == _merged(a, b, c)[0]


@settings(max_examples=150, deadline=None)
@given(st.lists(MAPS, min_size=1, max_size=4))
def test_provenance_points_at_the_last_layer_that_set_the_value(datas):
    data, prov, _ = _merged(*datas)
    for path in _leaf_paths(data):
        if not path:
            continue
        setter = int(prov[path].file[1:])
        assert _get(datas[setter], path) == _get(data, path)
        for later in datas[setter + 1:]:  # no later layer set this value or replaced a map above it
            assert all(_get(later, path[:n]) is KeyError or isinstance(_get(later, path[:n]), dict)
                       for n in range(1, len(path)))
            mine = _get(later, path)  # an empty map merged into an empty map sets nothing
            assert mine is KeyError or (mine == {} and _get(data, path) == {})
