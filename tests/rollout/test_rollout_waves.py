"""The rollout planner (`sitekit.rollout.waves`), plain data in, waves out: properties over random fleets
(Hypothesis, bounded), and the refusals (a cycle, a freeze) with their exact messages."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitekit.rollout.waves import PER_JURISDICTION, Node, RolloutRefused, Settings, Window, find_cycle, plan_waves

NOW = datetime(2025, 12, 10, 9, 0, tzinfo=timezone.utc)
NAMES = [f"s{i:02d}" for i in range(12)]


@st.composite
def fleets(draw):
    """Sites s00.. with a jurisdiction each; a site may wait only for sites named after it (as a requesting end
    waits for its accepting end), so there is never a cycle."""
    n = draw(st.integers(1, len(NAMES)))
    names = NAMES[:n]
    nodes = {}
    for i, name in enumerate(names):
        after = draw(st.sets(st.sampled_from(names[i + 1:]), max_size=3)) if i + 1 < n else set()
        nodes[name] = Node(name, draw(st.sampled_from(["us", "br", "de"])), frozenset(after))
    return nodes


def wave_of(waves):
    return {p.site: w.index for w in waves for p in w.sites}


@settings(max_examples=200, deadline=None)
@given(fleets(), st.one_of(st.none(), st.just(PER_JURISDICTION), st.sampled_from(NAMES)), st.integers(1, 5))
def test_every_site_once_after_what_it_waits_for_canary_first(nodes, canary, max_parallel):
    waves = plan_waves(nodes, Settings(canary=canary, max_parallel=max_parallel, now=NOW))
    at = wave_of(waves)
    assert sorted(at) == sorted(nodes) and sum(len(w.sites) for w in waves) == len(nodes)
    for site, node in nodes.items():
        for dep in node.after:
            assert at[dep] < at[site], (site, dep)
    last_canary = max((w.index for w in waves if w.kind == "canary"), default=0)
    assert all(w.index < last_canary for w in waves if w.kind == "before-canary")  # only what a canary waits for
    assert all(w.index > last_canary for w in waves if w.kind == "rest")  # nothing of the rest before a canary
    if canary == PER_JURISDICTION:
        canaries = [p for w in waves for p in w.sites if "the canary of jurisdiction" in p.reason]
        assert sorted(p.jurisdiction for p in canaries) == sorted({n.jurisdiction for n in nodes.values()})
    for w in waves:
        assert 1 <= w.max_parallel <= max_parallel and w.sites and all(p.reason for p in w.sites)
        if w.kind == "rest" and w.index > last_canary + 1:  # as early as it can be: it waits for the wave before
            assert all(any(at[d] == w.index - 1 for d in nodes[p.site].after) for p in w.sites)


@settings(max_examples=100, deadline=None)
@given(fleets(), st.integers(0, 120))
def test_waves_start_a_bake_time_apart(nodes, minutes):
    waves = plan_waves(nodes, Settings(bake=timedelta(minutes=minutes), now=NOW))
    assert [w.not_before for w in waves] == [NOW + i * timedelta(minutes=minutes) for i in range(len(waves))]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(NAMES[:6]), min_size=2, max_size=6, unique=True))
def test_a_cycle_is_refused_naming_it(ring):
    nodes = {s: Node(s, "us", frozenset({ring[(i + 1) % len(ring)]})) for i, s in enumerate(ring)}
    cycle = find_cycle({s: n.after for s, n in nodes.items()})
    assert cycle[0] == cycle[-1] and set(cycle) == set(ring)
    with pytest.raises(RolloutRefused, match="wait for each other in a cycle"):
        plan_waves(nodes)


def test_the_canary_waits_for_the_accepting_end_of_its_own_peering():
    nodes = {"us-ashburn": Node("us-ashburn", "us", frozenset({"us-phoenix"})), "us-phoenix": Node("us-phoenix", "us"),
             "br-saopaulo": Node("br-saopaulo", "br", frozenset({"us-ashburn"}))}
    waves = plan_waves(nodes, Settings(canary="us-ashburn", now=NOW))
    assert [(w.kind, w.names) for w in waves] == [("before-canary", ["us-phoenix"]), ("canary", ["us-ashburn"]),
                                                  ("rest", ["br-saopaulo"])]
    assert waves[0].sites[0].reason == ("deployed before the canary: it accepts the peering that us-ashburn (wave 2) "
                                        "requests, and an accepting end deploys before its requesting end")
    assert waves[2].sites[0].reason == ("after the canary; requests the peering of us-ashburn (wave 2): after the "
                                        "accepting end")


FREEZE = Window(date(2025, 12, 8), date(2025, 12, 12), "year-end trading freeze, approved by the CAB (CHG-1)")


def test_a_frozen_site_refuses_the_plan_with_the_reason():
    nodes = {"br-x": Node("br-x", "br"), "us-x": Node("us-x", "us")}
    with pytest.raises(RolloutRefused) as exc:
        plan_waves(nodes, Settings(freezes={"us": (FREEZE,)}, now=NOW))
    assert exc.value.lines == [
        "rollout: us-x (jurisdiction us) is frozen from 2025-12-08 to 2025-12-12: year-end trading freeze, approved "
        "by the CAB (CHG-1)",
        "rollout: refused during a freeze (--on-freeze wait plans the waves after it)"]


def test_a_frozen_site_waits_for_the_end_of_the_freeze_and_later_waves_after_it():
    nodes = {"br-x": Node("br-x", "br", frozenset({"us-x"})), "us-x": Node("us-x", "us")}
    waves = plan_waves(nodes, Settings(freezes={"us": (FREEZE,)}, on_freeze="wait", bake=timedelta(hours=2), now=NOW))
    assert [w.not_before for w in waves] == [datetime(2025, 12, 13, tzinfo=timezone.utc),
                                             datetime(2025, 12, 13, 2, tzinfo=timezone.utc)]
    assert waves[0].waits and "year-end trading freeze" in waves[0].waits[0]
    # a freeze that is over or not begun does not hold anything
    assert plan_waves(nodes, Settings(freezes={"us": (FREEZE,)}, now=NOW + timedelta(days=3)))[0].not_before \
        == NOW + timedelta(days=3)
