"""The capacity ledger (stacks/catalog/ledger/<region>.yaml): imported from OCI CLI output (fixtures in
tests/fixtures/ledger/, built from the documented shapes of LimitValueSummary, ResourceAvailability and
ComputeCapacityReservation[Summary]); a site whose GPU pools need more than their availability domain offers is
refused at the pool's line, naming the shortfall per AD; what the ledger does not know is said, never refused."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from sitekit import ROOT
from sitekit.cli.main import app
from sitekit.errors import SpecError
from sitekit.spec.catalog import load_capacity, load_catalog
from sitekit.spec.ledger import Demand, check_pools, ledger_file, load_ledger
from sitekit.spec.ledger_import import Limit, build
from sitekit.spec.loader import load_site
from sitekit.spec.sources import load_json

FIXTURES = Path(__file__).parent / "fixtures" / "ledger"
AD1, AD2 = "Uocm:US-ASHBURN-AD-1", "Uocm:US-ASHBURN-AD-2"
DAY = datetime.date(2026, 12, 7)
STACK = "stacks/Pulumi.us-ashburn.yaml"
FRONTIER = "ocid1.capacityreservation.oc1.iad.aaaaaaaaexamplefrontier"


def import_args(*, quota: bool = True) -> list[str]:
    args = ["capacity", "import", "--region", "us-ashburn-1", "--date", "2026-12-07",
            "--limits", str(FIXTURES / "limits.json"),
            "--availability", f"gpu-h100-count@{AD2}={FIXTURES / 'availability-h100-ad2.json'}",
            "--reservations", str(FIXTURES / "reservations-list.json"),
            "--reservations", str(FIXTURES / "reservation-get.json")]
    if quota:
        args += ["--availability", f"gpu-h100-count@{AD1}={FIXTURES / 'availability-h100-ad1.json'}"]
    return args


def run(project: Path, monkeypatch, *args: str):
    monkeypatch.chdir(project)
    return CliRunner().invoke(app, list(args))


def imported(project: Path, monkeypatch, *, quota: bool = True) -> Path:
    result = run(project, monkeypatch, *import_args(quota=quota), "--write")
    assert result.exit_code == 0, result.output
    return project / ledger_file("us-ashburn-1")


def edit_stack(project: Path, old: str, new: str) -> None:
    path = project / STACK
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def problems(project: Path) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load_site(project, "us-ashburn")
    return [str(p) for p in exc.value.problems]


def line_of(project: Path, text: str) -> int:
    return (project / STACK).read_text().splitlines().index(text) + 1


# ------------------------------------------------------------------------------------------------ the import
def test_import_reads_the_cli_outputs_into_instances_per_ad():
    catalog, capacity = load_catalog(ROOT), load_capacity(ROOT)
    table = {s: Limit(s, lim.name, lim.unit, catalog.shapes[s].gpus) for s, lim in capacity.limits.items()}
    out = build("us-ashburn-1", DAY, table, set(catalog.shapes),
                ("limits.json", load_json(FIXTURES / "limits.json")),
                [("gpu-h100-count", AD1, "a1.json", load_json(FIXTURES / "availability-h100-ad1.json")),
                 ("gpu-h100-count", AD2, "a2.json", load_json(FIXTURES / "availability-h100-ad2.json"))],
                [("list.json", load_json(FIXTURES / "reservations-list.json")),
                 ("get.json", load_json(FIXTURES / "reservation-get.json"))])
    assert not out.problems
    ads = out.data["availabilityDomains"]
    fact = lambda value, source: {"value": value, "source": source, "date": DAY}  # noqa: E731
    # GPUs become instances: 16,384 H100 GPUs are 2,048 hosts; a quota of 16,376 GPUs holds 2,047 whole hosts
    assert ads[AD1]["BM.GPU.H100.8"] == {"limit": fact(2048, "limits"), "used": fact(0, "availability"),
                                         "quota": fact(2047, "availability")}
    # no quota policy: effective-quota-value null is recorded as none set (known), 64 GPUs in use are 8 hosts
    assert ads[AD2]["BM.GPU.H100.8"] == {"limit": fact(4096, "limits"), "used": fact(8, "availability"),
                                         "quota": fact(None, "availability")}
    assert ads[AD1]["BM.GPU.GB200.4"] == {"limit": fact(36, "limits")}  # 144 GPUs of 4 per host
    assert "Uocm:US-ASHBURN-AD-3" in ads and "standard-e4-core-count" not in str(ads)
    # the list summary says no shape; the `get` of the same reservation does, and wins; a DELETED one is left out
    assert out.data["reservations"] == [
        {"id": FRONTIER, "displayName": "frontier-racks", "availabilityDomain": AD1, "shape": "BM.GPU.GB200.4",
         "reserved": 18, "used": 0, "source": "reservations", "date": DAY}]
    assert any("DELETED: left out" in n for n in out.notes)
    assert any("2 limit(s) that count no GPU shape" in n for n in out.notes)


def test_import_writes_only_when_told_and_never_over_a_ledger_without_force(project, monkeypatch):
    printed = run(project, monkeypatch, *import_args())
    assert printed.exit_code == 0, printed.output
    assert not (project / ledger_file("us-ashburn-1")).exists()
    path = imported(project, monkeypatch)
    assert yaml.safe_load(path.read_text()) == yaml.safe_load(printed.stdout)
    assert load_ledger(project, "us-ashburn-1", load_catalog(project).shapes).region == "us-ashburn-1"
    again = run(project, monkeypatch, *import_args(), "--write")
    assert again.exit_code == 2
    assert f"{ledger_file('us-ashburn-1')}: file exists; pass --force to overwrite it" in again.output
    forced = run(project, monkeypatch, *import_args(quota=False), "--write", "--force")
    assert forced.exit_code == 0, forced.output
    assert "quota" not in yaml.safe_load(path.read_text())["availabilityDomains"][AD1]["BM.GPU.H100.8"]


def test_bad_cli_output_is_refused_with_every_problem(project, monkeypatch, tmp_path):
    bad = tmp_path / "bad-limits.json"
    bad.write_text('{"data": [{"name": "gpu-h100-count", "scope-type": "AD", "availability-domain": "AD-9", '
                   '"value": 8}, {"name": "gpu-h200-count", "scope-type": "AD", "availability-domain": '
                   f'"{AD1}", "value": "lots"}}]}}')
    listing = tmp_path / "not-cli.json"
    listing.write_text("[1, 2]")
    result = run(project, monkeypatch, "capacity", "import", "-r", "us-ashburn-1", "--limits", str(bad),
                 "--reservations", str(listing), "--availability", f"gpu-h999-count@{AD1}={FIXTURES / 'limits.json'}")
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert f"{bad}: data[0].availability-domain: 'AD-9' is not an availability domain name (…-AD-1 to -AD-3)" in lines
    assert f"{bad}: data[1].value: expected a number of 0 or more, got 'lots'" in lines
    assert f"{listing}: not OCI CLI output: expected an object with 'data'" in lines
    assert any(line.startswith(f"{FIXTURES / 'limits.json'}: limit 'gpu-h999-count' counts no GPU shape") for line in lines)
    assert run(project, monkeypatch, "capacity", "import", "-r", "us-ashburn-9").exit_code == 2
    assert "not LIMIT@AD=FILE" in run(project, monkeypatch, "capacity", "import", "-r", "us-ashburn-1",
                                      "--availability", "x.json").output


def test_a_ledger_file_is_checked_at_its_lines(project, monkeypatch):
    path = imported(project, monkeypatch)
    text = path.read_text().replace("BM.GPU.H200.8:", "BM.GPU.H20.8:").replace("source: limits, date: 2026-12-07}\n"
                                                                                  "    BM.GPU.GB200.4",
                                                                                  "source: limit, date: 2026-12-07}\n"
                                                                                  "    BM.GPU.GB200.4")
    path.write_text(text)
    lines = text.splitlines()
    shape = next(i for i, line in enumerate(lines, 1) if "BM.GPU.H20.8:" in line)
    found = problems(project)
    assert f"{ledger_file('us-ashburn-1')}:{shape}: availabilityDomains.{AD1}.BM.GPU.H20.8: unknown GPU shape " \
           "'BM.GPU.H20.8'; did you mean 'BM.GPU.H200.8'?" in found
    assert any(f"availabilityDomains.{AD1}.BM.GPU.H20.8.limit.source: unknown source 'limit'; did you mean " \
               "'limits'?" in p for p in found)


# ------------------------------------------------------------------------------------------------ pools against it
def test_a_pool_short_by_one_node_is_refused_at_its_line_naming_each_ad(project, monkeypatch):
    """The AD-1 quota holds 2,047 H100 hosts; train needs 2,048: refused at its nodes line, the quota named as
    what binds, and what AD-2 and AD-3 offer."""
    imported(project, monkeypatch)
    (problem,) = problems(project)
    assert problem == (
        f"{STACK}:{line_of(project, '      nodes: 2048')}: compute.pools.train.nodes: 2048 BM.GPU.H100.8 nodes at "
        "peak in AD-1 exceed what us-ashburn-1 offers there: 2047 (the quota binds: limit 2048 (2026-12-07), quota "
        "2047, 0 in use); short by 1 in AD-1; AD-2 offers 4088 (fits); AD-3 offers 0 (short)")


def test_a_pool_at_exactly_its_limit_fits_and_the_plan_says_so(project, monkeypatch):
    imported(project, monkeypatch, quota=False)
    site = load_site(project, "us-ashburn")
    from sitekit.region.ai_region import capacity  # heavy: deferred (pulumi_oci)
    verdicts = {v["pool"]: v for v in capacity(site)}
    assert verdicts["train"]["status"] == "fits" and "2048 offered" in verdicts["train"]["detail"]
    assert "use and quota not recorded: assumed none" in verdicts["train"]["detail"]
    assert verdicts["serve"]["status"] == "fits"  # 512 at peak (autoscale max) against a limit of 512
    assert verdicts["frontier"]["status"] == "fits"  # the declared reservation's 36 against a limit of 36


def test_a_pool_that_fits_in_another_ad_fits_when_moved_there(project, monkeypatch):
    imported(project, monkeypatch)
    edit_stack(project, "      nodes: 2048\n", "      nodes: 2048\n      availabilityDomain: 2\n")
    site = load_site(project, "us-ashburn")
    (train,) = [v for v in check_pools(load_ledger(project, "us-ashburn-1", site.catalog.shapes), "us-ashburn-1",
                                       [Demand("train", "BM.GPU.H100.8", 2, 2048)])]
    assert train.status == "fits" and "4088 offered" in train.detail
    edit_stack(project, "      availabilityDomain: 2\n", "      availabilityDomain: 3\n")
    (problem,) = problems(project)
    assert "compute.pools.train.nodes: 2048 BM.GPU.H100.8 nodes at peak in AD-3 exceed what us-ashburn-1 offers " \
           "there: 0 (the limit binds" in problem and "AD-1 offers 2047 (short); AD-2 offers 4088 (fits)" in problem


def test_pools_of_a_shape_in_one_ad_are_summed(project, monkeypatch):
    imported(project, monkeypatch, quota=False)
    edit_stack(project, "      nodes: 2048\n      hall: hall-a\n",
               "      nodes: 2000\n      hall: hall-a\n    - name: extra\n      role: training\n"
               "      shape: BM.GPU.H100.8\n      nodes: 49\n      hall: hall-a\n")
    found = problems(project)
    assert len(found) == 2 and all("short by 1 in AD-1" in p for p in found)
    assert any("compute.pools.extra.nodes: 49 BM.GPU.H100.8 nodes at peak in AD-1 (2049 with pool train)" in p
               for p in found)


def test_a_named_reservation_binds_its_pools(project, monkeypatch):
    """frontier (36 GB200 hosts) naming the 18-host reservation is short by 18; at 18 hosts it fits; named in
    the wrong AD it is refused; a reservation the ledger does not hold is unknown, not refused."""
    imported(project, monkeypatch)
    edit_stack(project, "      nodes: 2048\n", "      nodes: 2000\n")
    edit_stack(project, "capacityReservation: declare", f"capacityReservation: {FRONTIER}")
    (problem,) = problems(project)
    assert problem.startswith(f"{STACK}:{line_of(project, '      nodes: 36                       # two NVL72 racks: a compute cluster and GPU memory cluster each')}: "
                              f"compute.pools.frontier.nodes: 36 BM.GPU.GB200.4 nodes at peak from reservation {FRONTIER} "
                              "exceed what it holds free: 18 of 18 (0 in use, 2026-12-07); short by 18 in AD-1")
    edit_stack(project, "      nodes: 36 ", "      nodes: 18 ")
    site = load_site(project, "us-ashburn")
    edit_stack(project, "      nodes: 18 ", "      nodes: 18\n      availabilityDomain: 2\n     ")
    (problem,) = problems(project)
    assert f"it is in {AD1}, the pool in AD-2" in problem
    unknown = FRONTIER.replace("frontier", "elsewhere")
    (verdict,) = check_pools(load_ledger(project, "us-ashburn-1", site.catalog.shapes), "us-ashburn-1",
                             [Demand("frontier", "BM.GPU.GB200.4", 1, 18, unknown)])
    assert verdict.status == "unknown" and "the reservation is unknown (the ledger of us-ashburn-1)" in verdict.detail


def test_no_ledger_is_unknown_and_said_never_refused(shipped_sites):
    """The shipped regions have no ledger: every pool is said to be of unknown capacity (the plan and SK-CMP-007),
    and every site still loads."""
    from sitekit.region.ai_region import capacity  # heavy: deferred (pulumi_oci)
    for name, site in shipped_sites.items():
        verdicts = capacity(site)
        assert verdicts and {v["status"] for v in verdicts} == {"unknown"}, name
        assert all(f"no capacity ledger for {site.spec.site.region}" in v["detail"] for v in verdicts)


# ------------------------------------------------------------------------------------------------ sites sharing a region
def test_sites_of_one_tenancy_in_one_region_are_checked_together(project, monkeypatch):
    """Limits, quotas and reservations are the tenancy's per region: without a quota AD-1 offers us-ashburn-1's 2048
    H100 nodes, which us-ashburn's train takes whole. A second site of the same tenancy there with H100 nodes in
    AD-1 loads (alone it fits), but `fleet --capacity` checks the two together: the shortfall at both sites' pool
    lines, the region's verdicts in the report, exit 2."""
    imported(project, monkeypatch, quota=False)
    made = run(project, monkeypatch, "new-site", "us-second", "-j", "us", "-r", "us-ashburn-1", "--power-mw", "2",
               "--pools", "train=BM.GPU.H100.8", "--tenancy-id", "ocid1.tenancy.oc1..aaaaaaaaexampletenancy")
    assert made.exit_code == 0, made.output
    second = load_site(project, "us-second").spec
    h100 = {p.name: p.autoscale.max if p.autoscale else p.nodes for p in second.compute.pools
            if p.shape == "BM.GPU.H100.8"}
    nodes = sum(h100.values())
    assert h100.get("train", 0) > 0
    result = run(project, monkeypatch, "fleet", "--capacity", "--format", "json")
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    (shared,) = report["sharedRegions"]
    assert shared["region"] == "us-ashburn-1" and shared["sites"] == ["us-ashburn", "us-second"]
    short = {v["pool"]: v for v in shared["pools"] if v["status"] == "short"}
    assert set(short) == {"us-ashburn/train", *(f"us-second/{name}" for name in h100)}
    assert all(f"short by {nodes} in AD-1" in v["detail"] for v in short.values())
    errors = result.stderr.splitlines()
    assert any(e.startswith(f"{STACK}:{line_of(project, '      nodes: 2048')}: compute.pools.train.nodes: with the "
                            "other sites of its tenancy in us-ashburn-1 (us-second): ") for e in errors), errors
    assert any(e.startswith("stacks/Pulumi.us-second.yaml:") and ": compute.pools.train.nodes: with the other sites "
               "of its tenancy in us-ashburn-1 (us-ashburn): " in e for e in errors), errors
    # another tenancy's site in the same region draws on other limits: nothing shared
    path = project / "stacks/Pulumi.us-second.yaml"
    path.write_text(path.read_text().replace("ocid1.tenancy.oc1..aaaaaaaaexampletenancy",
                                             "ocid1.tenancy.oc1..aaaaaaaaothertenancy"))
    result = run(project, monkeypatch, "fleet", "--capacity", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sharedRegions"] == []
