"""Many sites at once (`sitekit.run.batch`): `plan --all` and `policy --all` in one process or in worker processes,
results in the order asked, the plan cache and the policy result cache (keyed by the day), progress lines."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import pytest
from fleet5 import ENERGY
from typer.testing import CliRunner

from sitekit import ROOT
from sitekit.cli.main import app
from sitekit.policy.runner import evaluate, result_from_dict, result_to_dict
from sitekit.run import batch
from sitekit.run.batch import plan_to_dict, run_sites
from sitekit.run.cache import SideKeys

runner = CliRunner()


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def counted(shipped_plans, monkeypatch):
    """Planning served from the session's plans, and evaluation counted: {"plan": [...], "evaluate": [...]}."""
    calls: dict[str, list] = {"plan": [], "evaluate": []}

    def plan_site(root, stack, site=None):
        calls["plan"].append(stack)
        return shipped_plans[stack]

    def counted_evaluate(site, plan, today=None, config=None):
        calls["evaluate"].append((site.name, today, json.dumps(config, sort_keys=True)))
        return evaluate(site, plan, today=today, config=config)

    monkeypatch.setattr("sitekit.run.offline.plan_site", plan_site)
    monkeypatch.setattr("sitekit.policy.runner.evaluate", counted_evaluate)
    return calls


def by_urn(plan: dict) -> dict:
    """A plan's JSON with its resources keyed by URN: registration order follows the event loop."""
    return plan | {"resources": {r["urn"]: r for r in plan["resources"]}}


def test_plan_all_equals_each_site_planned_alone_with_a_line_per_site(shipped_plans, fresh_cache, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, ["plan", "--all", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [p["site"] for p in data["sites"]] == sorted(shipped_plans)
    for planned in data["sites"]:
        alone = json.loads(json.dumps(shipped_plans[planned["site"]].to_dict()))
        assert by_urn(planned) == by_urn(alone), planned["site"]
    # stderr is not a terminal here: plain progress lines, one per site, in the order finished
    lines = result.stderr.splitlines()
    assert len(lines) == len(shipped_plans)
    for n, line in enumerate(lines, 1):
        assert line.startswith(f"sitekit: planning: {n}/{len(shipped_plans)}") and line.endswith(" s)"), line


def test_workers_return_what_one_process_does_in_the_order_asked(project, shipped_plans, shipped_sites,
                                                                 fresh_cache, monkeypatch):
    """Four sites (enough to start workers): the three shipped ones and a stamped fourth, asked in an order that
    is not sorted; the workers' plans equal the in-process plans and their results equal `evaluate`'s."""
    monkeypatch.chdir(project)
    made = runner.invoke(app, ["new-site", "de-frankfurt", "-j", "de", "-r", "eu-frankfurt-1", "--power-mw", "20",
                               "--commissioned", "2027-01-01", "--energy-reuse", "0.2"])
    assert made.exit_code == 0, made.stderr
    asked = ["us-ashburn", "de-frankfurt", "br-saopaulo", "ar-patagonia"]
    assert len(asked) >= batch.MIN_PARALLEL
    done: list[str] = []
    outcomes = run_sites(project, asked, "both", jobs=2, use_cache=False, on_done=done.append)
    assert list(outcomes) == asked and sorted(done) == sorted(asked)
    assert all(kind == "both" for kind, _ in outcomes.values()), outcomes
    for site in shipped_plans:
        plan, result, spec = outcomes[site][1]
        assert by_urn(plan_to_dict(plan)) == by_urn(plan_to_dict(shipped_plans[site])), site
        expected = evaluate(shipped_sites[site], shipped_plans[site], today=result.today)
        assert result_to_dict(result) == result_to_dict(expected), site
        assert spec == shipped_sites[site].spec
    plan, result, spec = outcomes["de-frankfurt"][1]
    assert plan.site == "de-frankfurt" and spec.jurisdiction.code == "de" and result.jurisdiction == "de"
    assert any(r.type == "oci:Core/vcn:Vcn" for r in plan.resources)


def test_a_cached_plan_is_reused_and_a_damaged_one_planned_again(counted, shipped_plans, fresh_cache):
    first = run_sites(ROOT, ["us-ashburn"], "plan")
    assert counted["plan"] == ["us-ashburn"]
    again = run_sites(ROOT, ["us-ashburn"], "plan")
    assert counted["plan"] == ["us-ashburn"]  # served from the cache
    assert plan_to_dict(again["us-ashburn"][1]) == plan_to_dict(first["us-ashburn"][1]) \
        == plan_to_dict(shipped_plans["us-ashburn"])
    (entry,) = (fresh_cache / "plans").glob("*.json")
    entry.write_text("{not json")
    run_sites(ROOT, ["us-ashburn"], "plan")
    assert counted["plan"] == ["us-ashburn"] * 2  # never trusted: planned again
    run_sites(ROOT, ["us-ashburn"], "plan", use_cache=False)
    assert counted["plan"] == ["us-ashburn"] * 3  # --no-cache plans even with a good entry


def test_policy_results_are_cached_for_the_day_and_the_configuration(counted, shipped_plans, fresh_cache, project,
                                                                     monkeypatch):
    site = "ar-patagonia"
    stack = project / "stacks" / f"Pulumi.{site}.yaml"  # a waiver: its expiry is judged against the day
    stack.write_text(stack.read_text() + "  sitekit:policy:\n    waivers:\n      - rule: SK-NET-001\n"
                     "        reason: accepted for the pilot by the CISO\n        expires: 2027-01-31\n")
    first = run_sites(project, [site], "policy")[site]
    assert first[0] == "result" and len(counted["evaluate"]) == 1 and counted["plan"] == [site]
    again = run_sites(project, [site], "policy")[site]
    assert len(counted["evaluate"]) == 1 and counted["plan"] == [site]  # neither planned nor evaluated again
    assert result_to_dict(again[1]) == result_to_dict(first[1])
    assert result_from_dict(result_to_dict(first[1])) == first[1]
    assert first[1].waivers, "the test needs a site with waivers"

    config = {"all": "advisory"}
    advisory = run_sites(project, [site], "policy", config=config)[site][1]
    assert len(counted["evaluate"]) == 2 and counted["plan"] == [site]  # another configuration, the cached plan
    assert {level for level in advisory.levels.values()} <= {"advisory", "disabled"}

    class Tomorrow(datetime.date):
        @classmethod
        def today(cls):
            return datetime.date(2026, 12, 2) + datetime.timedelta(days=4000)

    monkeypatch.setattr(batch, "datetime", type("m", (), {"date": Tomorrow}))
    later = run_sites(project, [site], "policy")[site][1]
    assert len(counted["evaluate"]) == 3 and counted["evaluate"][-1][1] == Tomorrow.today()
    assert later.today == Tomorrow.today()
    assert any(w.expired(later.today) for w in later.waivers)  # a cached result would have hidden this

    for entry in (fresh_cache / "results").glob("*.json"):  # damaged entries: evaluated again
        data = json.loads(entry.read_text())
        data["value"] = {"site": site}
        entry.write_text(json.dumps(data))
    run_sites(project, [site], "policy")
    assert len(counted["evaluate"]) == 4
    run_sites(project, [site], "policy", use_cache=False)
    assert len(counted["evaluate"]) == 5  # --no-cache evaluates even with a good entry


def test_the_installed_code_is_a_cache_input_for_a_project_without_it(project, tmp_path, monkeypatch):
    """A project that uses the installed sitekit has no sitekit/ of its own: the package's source is hashed."""
    import shutil

    import sitekit
    import sitekit.run.cache

    package = tmp_path / "installed" / "sitekit"
    shutil.copytree(Path(sitekit.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(sitekit.run.cache, "__file__", str(package / "run" / "cache.py"))
    assert not (project / "sitekit").exists()
    before = SideKeys(project).key("us-ashburn")
    assert before == SideKeys(project).key("us-ashburn") != SideKeys(project).key("br-saopaulo")
    (package / "run" / "batch.py").write_text((package / "run" / "batch.py").read_text() + "\n# changed\n")
    assert SideKeys(project).key("us-ashburn") != before
    assert SideKeys(ROOT).key("us-ashburn") == SideKeys(ROOT).key("us-ashburn")  # ROOT hashes its own sitekit/


def test_bad_input_in_several_sites_is_reported_together(project, monkeypatch, fresh_cache):
    for site, old, new in (("br-saopaulo", "envelopeMw: 40", "envelopeMw: 4"),
                           ("ar-patagonia", "sitekit:jurisdiction: ar", "sitekit:jurisdiction: zz")):
        stack = project / "stacks" / f"Pulumi.{site}.yaml"
        assert old in stack.read_text(), (site, old)
        stack.write_text(stack.read_text().replace(old, new))
    monkeypatch.chdir(project)
    for command in ("plan", "policy"):
        result = runner.invoke(app, [command, "--all", "--no-progress"])
        assert result.exit_code == 2, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        files = {line.split(":", 1)[0] for line in result.stderr.splitlines() if line.startswith("stacks/")}
        assert files == {"stacks/Pulumi.br-saopaulo.yaml", "stacks/Pulumi.ar-patagonia.yaml"}, result.stderr


def test_offline_planning_sends_empty_stack_traces_and_gives_the_sdk_back(shipped_plans):
    """Nothing reads a registration's stack trace under mocks: the offline planner skips capturing it (the
    costliest step of a registration in a deep program) and restores the SDK's own function, even on failure."""
    from pulumi.runtime import resource
    from pulumi.runtime.proto import source_pb2

    from sitekit.run.offline import without_stack_traces

    real = resource._get_stack_trace
    with pytest.raises(RuntimeError), without_stack_traces():
        assert resource._get_stack_trace() == source_pb2.StackTrace()
        raise RuntimeError
    assert resource._get_stack_trace is real


def test_policy_converts_each_resource_once_when_rules_run_rule_by_rule(shipped_plans, monkeypatch):
    """`sitekit policy` runs the rules one by one over the plan: a resource's props are converted to plain data
    once for all the rules, resource and stack rules alike, not once per rule."""
    from collections import Counter

    from sitekit.policy import pack, runner
    from sitekit.spec.loader import load_site

    made = {}
    real_resources = runner.policy_resources

    def policy_resources(plan):
        resources, providers = real_resources(plan)
        made.update({id(r.props): r.name for r in resources})
        return resources, providers

    converted: Counter = Counter()
    real_plain = pack.plain

    def plain(value):
        if id(value) in made:
            converted[made[id(value)]] += 1
        return real_plain(value)

    monkeypatch.setattr(runner, "policy_resources", policy_resources)
    monkeypatch.setattr(pack, "plain", plain)
    evaluate(load_site(ROOT, "us-ashburn"), shipped_plans["us-ashburn"])
    assert len(converted) > 100
    assert max(converted.values()) == 1, converted.most_common(3)  # props and providers alike


def test_a_sites_cache_key_follows_what_its_load_reads_of_other_sites(project):
    """A site's plan and checks read its peers' stack files and every site's supernet: a change there is a
    change for the site; another site's pool is not."""
    keys = SideKeys(project)
    before = {site: keys.key(site) for site in ("us-ashburn", "ar-patagonia", "br-saopaulo")}

    def after_edit(site: str, old: str, new: str) -> dict[str, str]:
        stack = project / "stacks" / f"Pulumi.{site}.yaml"
        text = stack.read_text()
        assert old in text
        stack.write_text(text.replace(old, new, 1))
        fresh = SideKeys(project)
        changed = {s for s, k in before.items() if fresh.key(s) != k}
        stack.write_text(text)
        return changed

    edited = after_edit("br-saopaulo", "sitekit:power:", "sitekit:power:\n    # a comment\n")
    assert edited == {"br-saopaulo", "us-ashburn"}  # the hub names br-saopaulo as a peer; ar-patagonia does not
    supernet = (project / "stacks" / "Pulumi.br-saopaulo.yaml").read_text().split("supernet: ", 1)[1].split()[0]
    moved = after_edit("br-saopaulo", f"supernet: {supernet}", "supernet: 10.200.0.0/16")
    assert moved == set(before)  # every site checks its block against this one


def test_every_gate_fails_closed_on_a_policy_it_cannot_evaluate(project, monkeypatch, fresh_cache):
    """A waiver naming an unknown rule (issue 17): `policy` exits 2 and writes no report; `fleet` reports the other
    sites, names this one first (table and JSON) and exits 2. (`review` is in tests/test_review.py.)"""
    stack = project / "stacks" / "Pulumi.ar-patagonia.yaml"
    stack.write_text(stack.read_text() + "  sitekit:policy:\n    waivers:\n      - rule: SK-NET-999\n"
                     "        reason: accepted for the pilot by the CISO\n        expires: 2027-01-31\n")
    monkeypatch.chdir(project)
    policy = runner.invoke(app, ["policy", "--all", "--no-progress", "--format", "json"])
    assert policy.exit_code == 2 and policy.stdout == "" and "SK-NET-999" in policy.stderr
    table = runner.invoke(app, ["fleet", "--no-progress"])
    assert table.exit_code == 2, table.output
    assert table.stdout.splitlines()[0].startswith("NOT EVALUATED (bad input, exit 2): ar-patagonia did not load")
    assert "SK-NET-999" in table.stderr
    data = json.loads(runner.invoke(app, ["fleet", "--no-progress", "--format", "json"]).stdout)
    (item,) = data["notEvaluated"]
    assert item["site"] == "ar-patagonia" and any("SK-NET-999" in p for p in item["problems"])
    assert sorted(r["site"] for r in data["sites"]) == ["br-saopaulo", "us-ashburn"]


def test_a_forged_policy_result_cannot_turn_a_failure_into_a_pass(project, monkeypatch, fresh_cache):
    """Issue 17: a forged entry in the cache directory turned a failing `sitekit policy` into a pass. An entry is
    checked against its digest and what it was computed from (the plan, the day, the configuration): a mismatch is
    evaluated again and said."""
    from sitekit.run.cache import _digest

    stack = project / "stacks" / "Pulumi.ar-patagonia.yaml"  # an expired waiver: SK-GOV-006 fails
    stack.write_text(stack.read_text() + "  sitekit:policy:\n    waivers:\n      - rule: SK-NET-001\n"
                     "        reason: accepted for the pilot by the CISO\n        expires: 2026-01-31\n")
    monkeypatch.chdir(project)
    args = ["policy", "ar-patagonia", "--format", "json"]
    assert runner.invoke(app, args).exit_code == 1
    (entry,) = (fresh_cache / "results").glob("*.json")
    good = json.loads(entry.read_text())
    assert set(good["inputs"]) == {"site", "plan", "date", "config"}
    assert good["inputs"]["date"] == datetime.date.today().isoformat()
    passing = dict(good["value"], findings=[])
    yesterday = dict(good["inputs"], date="2026-01-30")
    for forged, why in ((dict(good, value=passing), "does not match its digest"),
                        (dict(good, value=passing, inputs=yesterday, digest=_digest(good["key"], yesterday, passing)),
                         "was computed from other inputs")):
        entry.write_text(json.dumps(forged))
        again = runner.invoke(app, args)
        assert again.exit_code == 1 and f"results entry for ar-patagonia {why}" in again.stderr, again.stderr
        assert json.loads(entry.read_text()) == good  # evaluated again and overwritten


def five_sites(project: Path, monkeypatch) -> list[str]:
    """The shipped sites and two stamped ones: enough to start workers, with more than one batch each."""
    monkeypatch.chdir(project)
    for name, code, region in (("de-frankfurt", "de", "eu-frankfurt-1"), ("us-phoenix", "us", "us-phoenix-1")):
        made = runner.invoke(app, ["new-site", name, "-j", code, "-r", region, "--power-mw", "20",
                                   *ENERGY.get(code, [])])
        assert made.exit_code == 0, made.stderr
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (project / "stacks").glob("Pulumi.*.yaml"))


def test_jobs_2_prints_byte_for_byte_what_jobs_1_prints(project, monkeypatch, fresh_cache):
    """`plan --all` and `policy --all`, every format that a machine reads, cold: the same bytes from one process
    as from two workers (a plan lists its resources by URN, whatever order the event loop registered them in)."""
    sites = five_sites(project, monkeypatch)
    assert len(sites) >= batch.MIN_PARALLEL
    for command in (["plan", "--all", "--format", "json"], ["policy", "--all", "--format", "json"],
                    ["policy", "--all", "--format", "sarif"]):
        outs = []
        for jobs in ("1", "2"):
            result = runner.invoke(app, [*command, "--jobs", jobs, "--no-cache", "--no-progress"])
            assert result.exit_code in (0, 1), (command, jobs, result.stderr)
            outs.append(result.stdout)
        assert outs[0] == outs[1], command
    assert [p["site"] for p in json.loads(runner.invoke(app, ["plan", "--all", "--format", "json", "--no-cache",
                                                               "--no-progress"]).stdout)["sites"]] == sites


def test_workers_are_forked_after_the_parent_loaded_every_site_and_take_contiguous_batches(
        project, monkeypatch, fresh_cache, shipped_plans, tmp_path):
    """The parent imports, loads and validates every site; at most `jobs` workers forked from it plan (never
    loading a site again), each a run of neighbouring sites at a time."""
    sites = five_sites(project, monkeypatch)
    log = tmp_path / "who.log"
    loads: list[tuple[int, str]] = []
    real_load = batch.load_site

    def load_site(root, stack, values=None):
        loads.append((os.getpid(), stack))
        return real_load(root, stack, values)

    def plan_site(root, stack, site=None):
        assert site is not None and site.name == stack  # handed the parent's loaded site
        with log.open("a") as fh:
            fh.write(f"{os.getpid()} {stack}\n")
        return shipped_plans.get(stack) or shipped_plans["us-ashburn"]

    monkeypatch.setattr(batch, "load_site", load_site)
    monkeypatch.setattr("sitekit.run.offline.plan_site", plan_site)
    outcomes = run_sites(project, sites, "plan", jobs=2, use_cache=False)
    assert list(outcomes) == sites
    assert sorted(s for _, s in loads) == sites and {p for p, _ in loads} == {os.getpid()}  # loaded once, here
    planned = [line.split() for line in log.read_text().splitlines()]
    pids = {pid for pid, _ in planned}
    assert sorted(s for _, s in planned) == sites and str(os.getpid()) not in pids and 1 <= len(pids) <= 2
    for pid in pids:  # each worker's sites come in runs of neighbours, in order
        mine = [sites.index(s) for p, s in planned if p == pid]
        assert mine == sorted(mine)
    assert [list(b) for b in batch.batches(len(sites), 2)] == [[0], [1], [2], [3], [4]]


@pytest.mark.parametrize("count,workers", [(1, 2), (5, 2), (10, 2), (50, 2), (192, 2), (7, 3), (3, 8)])
def test_batches_are_contiguous_even_and_cover_every_site_once(count, workers):
    parts = batch.batches(count, workers)
    assert [i for part in parts for i in part] == list(range(count))
    assert len(parts) <= min(count, workers * batch.BATCHES_PER_WORKER)
    sizes = {len(p) for p in parts}
    assert max(sizes) - min(sizes) <= 1


def test_the_services_loaded_up_front_are_those_planning_loads():
    """`sitekit.region.services.SERVICES` names exactly the pulumi_oci service modules planning a site loads
    (a fresh interpreter: this one's other tests may have loaded others), so the workers forked after `load()`
    load none of their own."""
    import subprocess
    import sys

    code = ("import sys, types\nfrom pathlib import Path\nfrom sitekit.run.offline import plan_site\n"
            "plan_site(Path(sys.argv[1]), 'us-ashburn')\n"
            "print(' '.join(sorted(n.split('.')[1] for n, m in sys.modules.items() if n.count('.') == 1 and "
            "n.startswith('pulumi_oci.') and type(m) is types.ModuleType and hasattr(m, '__path__'))))")
    out = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    from sitekit.region.services import SERVICES

    assert out.stdout.split() == sorted(SERVICES), "update SERVICES in sitekit/region/services.py"


def test_warm_plan_all_json_is_served_from_kept_renderings_and_only_a_changed_site_is_rendered(
        counted, project, monkeypatch, fresh_cache):
    """`plan --all --format json` keeps each site's rendered part under its plan's key and the renderer's version:
    warm, nothing is planned, read back as a plan or rendered, and the bytes are the cold run's; after one site's
    stack file changes, that site and its peer (whose plan reads it) alone are planned and rendered again."""
    from sitekit.run import report

    monkeypatch.chdir(project)
    rendered: list[str] = []
    real = report.site_json
    monkeypatch.setattr("sitekit.cli.sites.site_json", lambda plan: rendered.append(plan.site) or real(plan))
    cold = runner.invoke(app, ["plan", "--all", "--format", "json", "--no-progress"])
    assert cold.exit_code == 0, cold.stderr
    sites = sorted(counted["plan"])
    assert sorted(rendered) == sites and len(sites) == 3
    assert cold.stdout == json.dumps(json.loads(cold.stdout), indent=2, sort_keys=True) + "\n"
    monkeypatch.setattr(batch, "plan_from_dict", lambda data: pytest.fail("a plan was read back"))
    warm = runner.invoke(app, ["plan", "--all", "--format", "json", "--no-progress"])
    assert warm.exit_code == 0, warm.stderr
    assert warm.stdout == cold.stdout and sorted(counted["plan"]) == sites and len(rendered) == 3
    stack = project / "stacks/Pulumi.br-saopaulo.yaml"
    stack.write_text(stack.read_text().replace("envelopeMw: 40", "envelopeMw: 41"))
    again = runner.invoke(app, ["plan", "--all", "--format", "json", "--no-progress"])
    assert again.exit_code == 0, again.stderr
    assert sorted(counted["plan"][3:]) == sorted(rendered[3:]) == ["br-saopaulo", "us-ashburn"]
    assert [p["site"] for p in json.loads(again.stdout)["sites"]] == sites


def test_loading_every_site_reads_each_stack_file_once(project, monkeypatch):
    """Issue 20: each site's load checks its supernet against every other site's and reads its peers' files; those
    facts are read once per process and shared (`stackfiles.shared_facts`), so loading N sites (as the parent does
    before its workers fork) parses each stack file once and reads its values twice (its own load, and the facts
    every other site shares), not once per site."""
    from collections import Counter, OrderedDict

    from sitekit.spec import loader, peering, sources, stackfiles

    sites = five_sites(project, monkeypatch)
    past = datetime.datetime.now().timestamp() - 3600  # files last changed an hour ago, as a fleet's are
    for path in (project / "stacks").glob("Pulumi.*.yaml"):
        os.utime(path, (past, past))
    monkeypatch.setattr(sources, "_PARSED", OrderedDict())  # parsed by earlier tests: parse them again here
    monkeypatch.setattr(sources, "_FILES", {})
    monkeypatch.setattr(stackfiles, "_SHARED", {})
    monkeypatch.setattr(stackfiles, "READS", Counter())
    parses, reads = Counter(), Counter()
    real_parse, real_read = sources._parse, stackfiles.read_stack_values
    monkeypatch.setattr(sources, "_parse", lambda text, file: parses.update([file]) or real_parse(text, file))

    def read(root, stack):
        reads[stack] += 1
        return real_read(root, stack)

    for module in (loader, peering, stackfiles):
        monkeypatch.setattr(module, "read_stack_values", read, raising=False)
    loaded = batch.load_all(project, sites, lambda site, exc: pytest.fail(f"{site}: {exc}"))
    assert sorted(loaded) == sites and len(sites) == 5
    assert any(site.peers for site in loaded.values())  # peers are read too
    files = {f"stacks/Pulumi.{s}.yaml" for s in sites}
    assert {f: n for f, n in parses.items() if f in files} == dict.fromkeys(files, 1)
    assert dict(reads) == dict.fromkeys(sites, 2)
    assert dict(stackfiles.READS) == {(str(project), s): 1 for s in sites}
