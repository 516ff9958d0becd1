"""Fabric sizing (issue 22): a bare-metal pool split into the blocks its shape's hardware fixes
(`planners.fabric_blocks`), sizes that cannot be built refused with the nearest that can; the shape catalog's
fabric facts; the 20-host GB200 pool refused; the plan's blocks (tests/test_components.py checks the resources)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitekit import ROOT
from sitekit.errors import SpecError
from sitekit.planners import PlanningError, buildable_sizes, fabric_blocks
from sitekit.spec.catalog import load_catalog
from sitekit.spec.loader import load_site

FAST = settings(max_examples=200, deadline=None)
GB200 = "BM.GPU.GB200.4"


@pytest.mark.parametrize("nodes, blocks", [(17, (17,)), (18, (18,)), (19, (18, 1)), (36, (18, 18)),
                                           (40, (18, 18, 4)), (0, ())])
def test_blocks_under_at_and_over_one_block_where_partial_blocks_build(nodes, blocks):
    assert fabric_blocks(nodes, 18, whole=False) == blocks


@pytest.mark.parametrize("nodes, blocks", [(18, (18,)), (36, (18, 18)), (54, (18, 18, 18)), (0, ())])
def test_whole_blocks_at_one_block_and_more(nodes, blocks):
    assert fabric_blocks(nodes, 18, whole=True) == blocks


@pytest.mark.parametrize("nodes, nearest", [(17, "18"), (19, "18 or 36"), (20, "18 or 36"), (1, "18"),
                                            (35, "18 or 36"), (37, "36 or 54")])
def test_whole_blocks_under_and_over_are_refused_with_the_nearest_sizes(nodes, nearest):
    with pytest.raises(PlanningError) as exc:
        fabric_blocks(nodes, 18, whole=True)
    assert str(exc.value) == (f"{nodes} hosts: blocks hold 18 and are built only whole; nearest buildable sizes "
                              f"{nearest}")


def test_a_pool_whose_block_is_unknown_or_spanned_stays_one_cluster():
    assert fabric_blocks(2048, None, whole=False) == (2048,)


@FAST
@given(st.integers(0, 100_000), st.integers(1, 1000), st.booleans())
def test_blocks_add_up_none_over_a_block_and_only_the_last_partial(nodes, block, whole):
    try:
        blocks = fabric_blocks(nodes, block, whole)
    except PlanningError:
        assert whole and nodes % block
        below, *above = buildable_sizes(nodes, block)
        assert all(size % block == 0 and size > 0 for size in (below, *above))
        assert abs(below - nodes) < block and all(abs(a - nodes) < block for a in above)
        return
    assert sum(blocks) == nodes and all(0 < b <= block for b in blocks)
    assert all(b == block for b in blocks[:-1]) and (not whole or all(b == block for b in blocks))


def test_the_catalog_says_each_gpu_shapes_fabric_with_its_source():
    shapes = load_catalog(ROOT).shapes
    gb200 = shapes[GB200].fabric
    assert (gb200.hosts_per_block, gb200.gpus_per_host, gb200.spans_blocks, gb200.whole_blocks) == (18, 4, False, True)
    assert gb200.block == 18 and "NVL72" in gb200.source
    for name, shape in shapes.items():
        assert shape.fabric.gpus_per_host == shape.gpus and shape.fabric.source
        if shape.grouping == "cluster-network":  # not verified: the pool stays one cluster network, as before
            assert shape.fabric.hosts_per_block == "unknown" and shape.fabric.block is None, name
            assert shape.fabric.source.startswith("not verified"), name


def test_a_gb200_pool_of_20_hosts_is_refused_naming_18_or_36(project):
    stack = project / "stacks/Pulumi.us-ashburn.yaml"
    text = stack.read_text()
    stack.write_text(text.replace("      nodes: 36 ", "      nodes: 20 "))
    with pytest.raises(SpecError) as exc:
        load_site(project, "us-ashburn")
    line = stack.read_text().splitlines().index(next(x for x in stack.read_text().splitlines()
                                                     if x.startswith("      nodes: 20 "))) + 1
    assert [str(p) for p in exc.value.problems] == [
        f"stacks/Pulumi.us-ashburn.yaml:{line}: compute.pools.frontier.nodes: {GB200}: 20 hosts: blocks hold 18 and "
        "are built only whole; nearest buildable sizes 18 or 36 (stacks/catalog/shapes.yaml: its fabric)"]


def test_a_pool_named_as_another_pools_block_is_refused(project):
    stack = project / "stacks/Pulumi.us-ashburn.yaml"
    stack.write_text(stack.read_text().replace(
        "  sitekit:pools:\n", "  sitekit:pools:\n    - name: frontier-block-2\n      role: training\n"
                              "      shape: BM.GPU.H100.8\n      nodes: 1\n      hall: hall-a\n", 1))
    with pytest.raises(SpecError) as exc:
        load_site(project, "us-ashburn")
    line = stack.read_text().splitlines().index("    - name: frontier-block-2") + 1
    assert [str(p) for p in exc.value.problems] == [
        f"stacks/Pulumi.us-ashburn.yaml:{line}: compute.pools.frontier-block-2: 'frontier-block-2' is the name of a fabric "
        "block of pool 'frontier' (<pool>-block-<n>); rename the pool"]
