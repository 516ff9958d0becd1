"""Pure planners (no Pulumi): CIDR carving, overlaps, allocation, power arithmetic; Hypothesis-bounded."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitekit.planners import PlanningError, allocate, carve, fit_nodes, overlaps, power

FAST = settings(max_examples=120, deadline=None)

networks = st.builds(lambda addr, prefix: IPv4Network((addr, prefix), strict=False),
                     st.integers(0, 2**32 - 1), st.integers(8, 24))
names = st.text("abcdefgh", min_size=1, max_size=4)


@st.composite
def carve_requests(draw):
    cidr = draw(networks)
    requests = draw(st.dictionaries(names, st.integers(cidr.prefixlen, min(cidr.prefixlen + 8, 30)), max_size=8))
    return cidr, sorted(requests.items())


# ----------------------------------------------------------------------------------------------- carve
@FAST
@given(carve_requests(), st.randoms(use_true_random=False))
def test_carve_fits_without_overlap_and_ignores_order(case, rnd):
    cidr, requests = case
    try:
        out = carve(cidr, requests)
    except PlanningError:
        assert sum(2 ** (32 - p) for _, p in requests) > cidr.num_addresses
        return
    assert set(out) == {n for n, _ in requests}
    for name, prefix in requests:
        assert out[name].prefixlen == prefix and out[name].subnet_of(cidr)
    assert overlaps(out) == []
    shuffled = list(requests)
    rnd.shuffle(shuffled)
    assert carve(cidr, shuffled) == out


@FAST
@given(carve_requests())
def test_carve_fails_only_when_the_blocks_cannot_fit(case):
    """Aligned power-of-two blocks placed largest first always fit when their sizes add up."""
    cidr, requests = case
    total = sum(2 ** (32 - p) for _, p in requests)
    if total <= cidr.num_addresses:
        carve(cidr, requests)
    else:
        with pytest.raises(PlanningError):
            carve(cidr, requests)


def test_carve_examples():
    out = carve(IPv4Network("10.64.128.0/20"), [("ops", 26), ("oke-api", 28), ("workers", 22)])
    assert out == {"workers": IPv4Network("10.64.128.0/22"), "ops": IPv4Network("10.64.132.0/26"),
                   "oke-api": IPv4Network("10.64.132.64/28")}
    with pytest.raises(PlanningError, match="larger than"):
        carve(IPv4Network("10.0.0.0/24"), [("big", 23)])
    with pytest.raises(PlanningError, match="no room for /25 'c'"):
        carve(IPv4Network("10.0.0.0/24"), [("a", 25), ("b", 25), ("c", 25)])


# ----------------------------------------------------------------------------------------------- overlaps
@FAST
@given(st.dictionaries(names, networks, max_size=6))
def test_overlaps_lists_exactly_the_overlapping_pairs_once(named):
    pairs = overlaps(named)
    expected = {(a, b) for a in named for b in named if a < b and named[a].overlaps(named[b])}
    assert set(pairs) == expected and len(pairs) == len(expected)
    assert all(a < b for a, b in pairs)


# ----------------------------------------------------------------------------------------------- allocate
@FAST
@given(st.lists(st.integers(12, 20), max_size=12), st.integers(12, 20))
def test_allocate_returns_the_lowest_free_block_inside_the_space(existing_prefixes, prefix):
    space = [IPv4Network("10.64.0.0/10")]
    used: list[IPv4Network] = []
    for p in existing_prefixes:
        try:
            used.append(allocate(space, used, p))
        except PlanningError:
            pass
    try:
        block = allocate(space, used, prefix)
    except PlanningError as exc:
        assert "no free /" in str(exc)
        assert all(any(c.overlaps(u) for u in used) for c in space[0].subnets(new_prefix=prefix))
        return
    assert block.subnet_of(space[0]) and block.prefixlen == prefix
    assert not any(block.overlaps(u) for u in used)
    lower = [c for c in space[0].subnets(new_prefix=prefix) if c < block]
    assert all(any(c.overlaps(u) for u in used) for c in lower)


# ----------------------------------------------------------------------------------------------- power
shapes = {"H100": (8, 10.2), "GB200": (4, 7.0), "B200": (8, 14.3)}
pools = st.lists(st.tuples(names, st.sampled_from(["training", "inference", "mixed"]), st.sampled_from(sorted(shapes)),
                           st.integers(0, 5000), st.integers(0, 3000)), max_size=5)


@FAST
@given(pools, st.floats(1.0, 3.0), st.floats(0.1, 500))
def test_power_adds_up(raw, pue, envelope):
    specs = [(n, role, shape, nodes, max(nodes, peak)) for n, role, shape, nodes, peak in raw]
    summary = power(specs, shapes, pue, envelope)
    assert summary.gpus == sum(peak * shapes[s][0] for _, _, s, _, peak in specs) == sum(summary.gpus_by_role.values())
    it_kw = sum(peak * shapes[s][1] for _, _, s, _, peak in specs)
    assert summary.it_mw == pytest.approx(it_kw / 1000, abs=1e-3)
    assert summary.facility_mw == pytest.approx(summary.it_mw * pue, abs=1e-3)
    assert summary.facility_mw >= summary.it_mw
    exact_kw, envelope_kw = it_kw * pue, envelope * 1000
    if abs(exact_kw - envelope_kw) > 1e-6 * envelope_kw:  # fits is judged unrounded, away from float noise
        assert summary.fits == (exact_kw <= envelope_kw)


def test_power_of_the_reference_site():
    """us-ashburn at peak: 2048 H100 nodes, 512 H200 (autoscale max), 18 GB200 trays; PUE 1.2."""
    summary = power([("train", "mixed", "H100", 2048, 2048), ("serve", "inference", "H100", 64, 512),
                     ("frontier", "training", "GB200", 18, 18)], shapes, 1.2, 60)
    assert summary.gpus == 20552
    assert summary.gpus_by_role == {"training": 72, "inference": 4096, "mixed": 16384}
    assert summary.it_mw == 26.238 and summary.facility_mw == 31.4856 and summary.fits


@settings(max_examples=300, deadline=None)
@given(st.floats(0.5, 500), st.floats(1.0, 3.0), st.sampled_from([6.5, 7.0, 10.2, 14.3]), st.floats(0, 1))
def test_fit_nodes_is_the_most_that_fits(envelope, pue, node_kw, reserved_share):
    reserved = envelope * reserved_share
    left_kw = (envelope - reserved) * 1000
    n = fit_nodes(envelope, pue, node_kw, reserved)
    assert n >= 0
    assert n * node_kw * pue <= left_kw * (1 + 1e-9)
    assert (n + 1) * node_kw * pue > left_kw * (1 - 1e-9)
    # and the validator's own arithmetic (rounded MW) agrees that n nodes fit
    assert power([("p", "mixed", "X", n, n)], {"X": (8, node_kw)}, pue, envelope - reserved).fits


def test_fit_nodes_examples():
    assert fit_nodes(60, 1.2, 10.2) == 4901
    assert fit_nodes(60, 1.2, 10.2, reserved_mw=60) == 0
    assert fit_nodes(1, 1.0, 10.2, reserved_mw=2) == 0


_word = st.from_regex(r"[a-z][a-z0-9]{0,7}(-[a-z0-9]{1,5}){0,2}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(site=_word, kind=_word, key=_word)
def test_key_of_reverses_logical(site, kind, key):
    """naming.key_of reads back the data key a logical name was built from, and nothing from another kind."""
    from sitekit.naming import key_of, logical

    assert key_of(site, kind, logical(site, kind, key)) == key
    assert key_of(site, kind, logical(site, kind)) is None
    assert key_of(site, kind + "x", logical(site, kind, key)) is None
    assert key_of(site + "x", kind, logical(site, kind, key)) is None
