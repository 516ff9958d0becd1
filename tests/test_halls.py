"""Power by rack and hall (issue 22): racks per shape from stacks/catalog/racks.yaml, halls from site.power.halls;
a pool that does not fit its hall is refused at its line naming the shortfall; `sitekit sites` and the fleet report
show MW per hall and racks per pool."""

from __future__ import annotations

import json
from math import ceil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from sitekit import ROOT
from sitekit.cli.main import app
from sitekit.errors import SpecError
from sitekit.fleet.collect import collect
from sitekit.fleet.history import History
from sitekit.fleet.html import render
from sitekit.spec.catalog import load_capacity, load_catalog
from sitekit.spec.halls import hall_usage, pool_racks
from sitekit.spec.loader import load_site
from sitekit.spec.racks import load_racks

US = "stacks/Pulumi.us-ashburn.yaml"
def edit(project: Path, old: str, new: str, file: str = US) -> None:
    path = project / file
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def problems(project: Path, site: str = "us-ashburn") -> list[str]:
    with pytest.raises(SpecError) as exc:
        load_site(project, site)
    return [str(p) for p in exc.value.problems]


def line_of(project: Path, needle: str, file: str = US) -> int:
    return next(i for i, ln in enumerate((project / file).read_text().splitlines(), 1) if needle in ln)


# ------------------------------------------------------------------------------------------------ the catalog
def test_every_gpu_shape_has_a_rack_at_least_its_nodes_nameplate():
    catalog = load_catalog(ROOT)
    racks = load_racks(ROOT, catalog)
    assert set(racks) == set(catalog.shapes)
    for shape, rack in racks.items():
        assert rack.rack_kw >= rack.nodes_per_rack * catalog.shapes[shape].node_kw and rack.source
    nvl72 = racks["BM.GPU.GB200.4"]
    assert (nvl72.nodes_per_rack, nvl72.cooling) == (18, "liquid") and 120 <= nvl72.rack_kw <= 132
    assert racks["BM.GPU.H100.8"].cooling == "air"


def test_a_bad_rack_catalog_names_each_problem_at_its_line(project):
    edit(project, "  - shape: BM.GPU4.8\n", "  - shape: BM.GPU4.88\n", "stacks/catalog/racks.yaml")
    edit(project, "    rackKw: 132.0\n", "    rackKw: 100\n", "stacks/catalog/racks.yaml")
    found = problems(project)
    file = "stacks/catalog/racks.yaml"
    assert (f"{file}:{line_of(project, 'BM.GPU4.88', file)}: racks.1.shape: unknown GPU shape 'BM.GPU4.88'; "
            "did you mean 'BM.GPU4.8'?") in found
    assert any(p.endswith("racks.5.rackKw: 100 kW is less than 18 x 7 kW, the nameplate of the rack's nodes "
                          "(shapes.yaml)") for p in found)
    assert any(p.endswith("racks: no rack for GPU shape BM.GPU4.8 (shapes.yaml lists it)") for p in found)


# ------------------------------------------------------------------------------------------------ the planner
@given(nodes=st.integers(0, 100_000), per_rack=st.integers(1, 72))
def test_racks_are_peak_nodes_over_nodes_per_rack_rounded_up(nodes, per_rack):
    racks = ceil(nodes / per_rack)
    assert (racks - 1) * per_rack < nodes <= racks * per_rack or nodes == racks == 0


def test_shipped_sites_fit_their_halls(shipped_sites):
    us = shipped_sites["us-ashburn"]
    racks = load_racks(ROOT, us.catalog)
    halls = {h.name: h for h in hall_usage(us.spec, us.catalog, racks)}
    assert {n: (h.it_mw, h.pools) for n, h in halls.items()} == {"hall-a": (40, ("train", "serve")),
                                                                "hall-b": (8, ("frontier",))}
    pools = {p.pool: p for p in pool_racks(us.spec, us.catalog, racks)}
    assert (pools["train"].racks, pools["serve"].racks, pools["frontier"].racks) == (2048 // 4, 512 // 4, 36 // 18)
    assert halls["hall-a"].used_mw == pytest.approx((2048 + 512) * 10.2 / 1000) and halls["hall-a"].fits
    for name in ("ar-patagonia", "br-saopaulo"):  # no halls declared: one hall, 'main', of the envelope
        site = shipped_sites[name]
        [main] = hall_usage(site.spec, site.catalog, racks)
        power = site.spec.site.power
        assert main.name == "main" and main.it_mw == round(power.envelope_mw / power.pue, 3)
        assert main.pools == tuple(p.name for p in site.spec.compute.pools)


# ------------------------------------------------------------------------------------------------ refusals
def test_a_pool_one_rack_over_its_hall_is_refused_at_its_line(project):
    # hall-a holds train (2048 H100) and serve (512 H200 at peak): 26.112 MW; 26.1 MW leaves it 12 kW short
    edit(project, "{name: hall-a, itMw: 40,", "{name: hall-a, itMw: 26.1,")
    found = problems(project)
    train = line_of(project, "nodes: 2048")
    assert found == [
        f"{US}:{train}: compute.pools.train.nodes: hall 'hall-a' delivers 26.1 MW of IT power; its pools (train, "
        "serve) draw 26.11 MW at peak, this one 20.89 MW (0.01 MW short)",
        f"{US}:{line_of(project, 'nodes: 64')}: compute.pools.serve.nodes: hall 'hall-a' delivers 26.1 MW of IT "
        "power; its pools (train, serve) draw 26.11 MW at peak, this one 5.22 MW (0.01 MW short)"]
    edit(project, "{name: hall-a, itMw: 26.1,", "{name: hall-a, itMw: 26.112,")  # exactly enough: it fits
    load_site(project, "us-ashburn")


def test_cooling_and_rack_density_are_named(project):
    edit(project, "{name: hall-b, itMw: 8, cooling: [liquid, air], maxRackKw: 140}",
         "{name: hall-b, itMw: 8, cooling: [air], maxRackKw: 100}")
    found = problems(project)
    hall = line_of(project, "hall: hall-b")
    assert f"{US}:{hall}: compute.pools.frontier.hall: BM.GPU.GB200.4 racks are liquid-cooled; hall 'hall-b' " \
           "offers air cooling only" in found
    assert f"{US}:{hall}: compute.pools.frontier.hall: a BM.GPU.GB200.4 rack draws 132 kW; hall 'hall-b' takes at " \
           "most 100 kW per rack (32.0 kW short)" in found


def test_unknown_hall_and_an_unnamed_hall_among_several(project):
    edit(project, "      hall: hall-b\n", "      hall: hall-c\n")
    edit(project, "      nodes: 2048\n      hall: hall-a\n", "      nodes: 2048\n")
    found = problems(project)
    assert f"{US}:{line_of(project, 'hall: hall-c')}: compute.pools.frontier.hall: unknown hall 'hall-c'; did you " \
           "mean 'hall-b'?" in found
    assert any(p.endswith("compute.pools.train.hall: the site has 2 halls (hall-a, hall-b); name the hall this "
                          "pool's racks stand in") for p in found)


def test_halls_beyond_the_envelope_are_refused(project):
    edit(project, "{name: hall-a, itMw: 40,", "{name: hall-a, itMw: 45,")
    found = problems(project)
    assert found == [f"{US}:{line_of(project, 'halls:')}: site.power.halls: the halls deliver 53 MW of IT power, "
                     "63.60 MW at the facility (PUE 1.2), over the envelope of 60 MW"]


def test_an_over_envelope_site_without_halls_is_told_once(project):
    """The default hall is the envelope itself: a site over it hears the envelope's problem, not the hall's too."""
    edit(project, "    envelopeMw: 40\n", "    envelopeMw: 10\n", "stacks/Pulumi.br-saopaulo.yaml")
    found = problems(project, "br-saopaulo")
    assert len(found) == 1 and "site.power.envelopeMw: facility load 15.28 MW" in found[0]


# ------------------------------------------------------------------------------------------------ reports
def test_sites_shows_mw_per_hall_and_racks_per_pool(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, ["sites", "--format", "json"])
    assert result.exit_code == 0, result.output
    us = next(r for r in json.loads(result.stdout) if r["site"] == "us-ashburn")
    assert [(h["name"], h["itMw"], h["racks"]) for h in us["halls"]] == [("hall-a", 40, 640), ("hall-b", 8, 2)]
    assert {p["pool"]: (p["hall"], p["racks"]) for p in us["pools"]} == {
        "train": ("hall-a", 512), "serve": ("hall-a", 128), "frontier": ("hall-b", 2)}
    table = CliRunner().invoke(app, ["sites"], env={"COLUMNS": "300"})
    assert "hall-a 26.11/40.00 MW, hall-b 0.25/8.00 MW" in table.stdout
    for cell in ("train 512 (hall-a),", "serve 128 (hall-a),", "frontier 2 (hall-b)"):  # the cell may wrap
        assert cell in table.stdout


def test_the_fleet_report_shows_halls_and_racks(shipped_plans, monkeypatch):
    fleet = collect(ROOT, plans=shipped_plans)
    us = next(r for r in fleet.rows if r.site == "us-ashburn").to_dict()
    assert [(h["name"], h["usedMw"]) for h in us["halls"]] == [("hall-a", 26.112), ("hall-b", 0.252)]
    assert {p["pool"]: p["racks"] for p in us["racks"]} == {"train": 512, "serve": 128, "frontier": 2}
    page = render(fleet, History(note="none"), load_capacity(ROOT))
    assert "<h3>Power by hall and rack</h3>" in page
    assert "<td>hall-b</td><td class=\"num\">0.25 of 8.00</td><td>liquid+air</td>" in page
    assert "frontier 2 x 132 kW liquid" in page
    monkeypatch.setattr("sitekit.run.offline.plan_site", lambda root, name, site=None: shipped_plans[name])
    monkeypatch.chdir(ROOT)
    text = CliRunner().invoke(app, ["fleet", "--no-progress", "--no-cache"], env={"COLUMNS": "250"})
    assert text.exit_code == 0, text.output
    assert "power by hall and rack" in text.stdout and "train 512 x 40.8 kW air" in text.stdout
