"""Property tests of the address allocator (planners.allocate) and of a new site's address plan."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitekit.planners import PlanningError, allocate, carve, overlaps
from sitekit.stamp.addresses import address_plan, fit_prefix

BOUNDED = settings(max_examples=80, deadline=None)


@st.composite
def org_and_existing(draw):
    """An organisation space of one or two blocks inside 10.0.0.0/8, and existing ranges anywhere near it."""
    base_prefix = draw(st.integers(8, 20))
    blocks = list(IPv4Network("10.0.0.0/8").subnets(new_prefix=base_prefix)) if base_prefix > 8 else \
        [IPv4Network("10.0.0.0/8")]
    space = sorted(set(draw(st.lists(st.sampled_from(blocks[:64]), min_size=1, max_size=2))),
                   key=lambda n: int(n.network_address))
    existing = []
    for _ in range(draw(st.integers(0, 12))):
        block = draw(st.sampled_from(space))
        prefix = draw(st.integers(block.prefixlen, min(block.prefixlen + 8, 30)))
        subnets = 2 ** (prefix - block.prefixlen)
        index = draw(st.integers(0, subnets - 1))
        existing.append(IPv4Network((int(block.network_address) + index * 2 ** (32 - prefix), prefix)))
    if draw(st.booleans()):  # a range outside the space (another organisation's) must not matter
        existing.append(IPv4Network("192.168.0.0/16"))
    request = draw(st.integers(min(b.prefixlen for b in space), min(b.prefixlen for b in space) + 8))
    return space, existing, request


def free_blocks(space, existing, prefix):
    """Brute force: every block of `prefix` in the space that overlaps nothing."""
    return [c for b in space if prefix >= b.prefixlen for c in b.subnets(new_prefix=prefix)
            if not any(c.overlaps(e) for e in existing)]


@BOUNDED
@given(org_and_existing())
def test_allocate_fits_inside_and_overlaps_nothing_or_says_why(case):
    space, existing, prefix = case
    free = free_blocks(space, existing, prefix)
    if free:
        got = allocate(space, existing, prefix)
        assert got.prefixlen == prefix
        assert any(got.subnet_of(b) for b in space)
        assert not any(got.overlaps(e) for e in existing)
        assert got == free[0]  # the lowest free block: deterministic
        assert allocate(space, list(reversed(existing)), prefix) == got  # whatever the order of the sites
    else:
        with pytest.raises(PlanningError) as exc:
            allocate(space, existing, prefix)
        message = str(exc.value)
        assert f"no free /{prefix} left in the organisation's address space" in message
        assert all(str(b) in message for b in space)


@BOUNDED
@given(st.lists(st.integers(0, 63), max_size=20, unique=True), st.integers(16, 17))
def test_site_plans_stack_without_overlap(taken, supernet_hint):
    """Sites stamped one after another in a /10 never overlap, and each plan's networks nest in its supernet."""
    space = [IPv4Network("10.64.0.0/10")]
    existing = [IPv4Network((int(IPv4Network("10.64.0.0/10").network_address) + i * 2 ** 16, 16)) for i in taken]
    networks = [
        {"name": "gpu", "subnets": [{"name": "nodes", "prefix": 19}]},
        {"name": "rdma", "subnets": [{"name": "fabric", "prefix": 19}]},
        {"name": "services", "subnets": [{"name": "oke-api", "prefix": 28}, {"name": "workers", "prefix": 22},
                                         {"name": "ops", "prefix": 26}]},
        {"name": "storage", "subnets": [{"name": "fss", "prefix": 26}]},
        {"name": "frontend", "subnets": [{"name": "lb", "prefix": 26}]},
    ][: 5 if supernet_hint == 16 else 2]
    plans = []
    for _ in range(3):
        if len(existing) >= 64:
            with pytest.raises(PlanningError, match="no free /16"):
                address_plan(space, networks, existing)
            break
        supernet, nets = address_plan(space, networks, existing)
        assert supernet.subnet_of(space[0])
        assert not any(supernet.overlaps(e) for e in existing)
        assert all(n.subnet_of(supernet) for n in nets.values()) and overlaps(nets) == []
        assert address_plan(space, networks, existing) == (supernet, nets)  # deterministic
        plans.append(supernet)
        existing.append(supernet)
    assert overlaps({str(p): p for p in plans}) == []


def test_plan_matches_the_shipped_layout():
    """The baseline's networks get the layout the shipped sites use (gpu and rdma /18, services /20...)."""
    networks = [
        {"name": "frontend", "subnets": [{"name": "lb", "prefix": 26}]},
        {"name": "services", "subnets": [{"name": "oke-api", "prefix": 28}, {"name": "workers", "prefix": 22},
                                         {"name": "ops", "prefix": 26}]},
        {"name": "gpu", "subnets": [{"name": "nodes", "prefix": 19}]},
        {"name": "rdma", "subnets": [{"name": "fabric", "prefix": 19}]},
        {"name": "storage", "subnets": [{"name": "fss", "prefix": 26}]},
    ]
    supernet, nets = address_plan([IPv4Network("10.64.0.0/10")], networks, [IPv4Network("10.64.0.0/16")])
    assert str(supernet) == "10.65.0.0/16"
    assert {k: str(v) for k, v in nets.items()} == {
        "gpu": "10.65.0.0/18", "rdma": "10.65.64.0/18", "services": "10.65.128.0/20",
        "frontend": "10.65.144.0/24", "storage": "10.65.145.0/24"}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(16, 28), min_size=1, max_size=8))
def test_fit_prefix_is_the_smallest_block_that_holds(prefixes):
    requests = [(f"n{i}", p) for i, p in enumerate(prefixes)]
    prefix = fit_prefix(requests)
    assert sum(2 ** (32 - p) for p in prefixes) <= 2 ** (32 - prefix)
    assert prefix == 32 - max(0, (sum(2 ** (32 - p) for p in prefixes) - 1).bit_length())


def test_networks_stay_within_the_largest_vcn():
    """An OCI VCN CIDR is at most a /16: grown subnets get a /16 network without headroom, and subnets that
    need more than a /16 are refused with the reason."""
    space, existing = [IPv4Network("10.64.0.0/10")], [IPv4Network("10.64.0.0/16")]
    supernet, nets = address_plan(space, [{"name": "gpu", "subnets": [{"name": "nodes", "prefix": 16}]},
                                          {"name": "ops", "subnets": [{"name": "a", "prefix": 24}]}], existing)
    assert nets["gpu"].prefixlen == 16 and nets["ops"].prefixlen == 23  # headroom below /16
    assert supernet.subnet_of(space[0]) and not supernet.overlaps(existing[0])
    with pytest.raises(PlanningError, match=r"network 'gpu' needs a /15 .* an OCI VCN is at most a /16"):
        address_plan(space, [{"name": "gpu", "subnets": [{"name": "a", "prefix": 16}, {"name": "b", "prefix": 17},
                                                         {"name": "c", "prefix": 17}]}], existing)


@BOUNDED
@given(st.lists(st.lists(st.integers(16, 28), min_size=1, max_size=3), min_size=1, max_size=5),
       st.lists(st.integers(0, 63), max_size=8, unique=True))
def test_any_subnet_sizes_give_vcn_sized_networks_or_a_reason(subnet_prefixes, taken):
    """Whatever subnets the pools need: every network is an OCI-sized VCN (/16 to /24) holding its subnets,
    inside a supernet that overlaps no site, or the plan is refused with the reason."""
    space = [IPv4Network("10.64.0.0/10")]
    existing = [IPv4Network((int(space[0].network_address) + i * 2 ** 16, 16)) for i in taken]
    networks = [{"name": f"n{i}", "subnets": [{"name": f"s{j}", "prefix": p} for j, p in enumerate(prefixes)]}
                for i, prefixes in enumerate(subnet_prefixes)]
    try:
        supernet, nets = address_plan(space, networks, existing)
    except PlanningError as exc:
        assert "an OCI VCN is at most a /16" in str(exc) or "no free /" in str(exc)
        return
    assert supernet.subnet_of(space[0]) and not any(supernet.overlaps(e) for e in existing)
    assert overlaps(nets) == [] and all(n.subnet_of(supernet) for n in nets.values())
    for net in networks:
        cidr = nets[net["name"]]
        assert 16 <= cidr.prefixlen <= 24
        carve(cidr, [(s["name"], s["prefix"]) for s in net["subnets"]])  # the subnets fit


def test_the_organisation_space_holds_far_more_than_55_sites(shipped_sites):
    """The baseline's space is several ranges: 192 sites of a /16 (a /10 alone held 64, 55 once the shipped
    sites and their neighbours were placed); a fleet fills them in order and is refused only past the end."""
    space = next(iter(shipped_sites.values())).spec.organisation.address_space
    assert len(space) >= 2
    taken: list = []
    for _ in range(150):
        taken.append(allocate(space, taken, 16))
    assert len(set(taken)) == 150 and not overlaps({str(n): n for n in taken})
    assert any(n.subnet_of(space[1]) for n in taken)  # the second range is used once the first is full
