"""`sitekit rollout run` under the real Pulumi CLI, on the five-site fleet of tests/fleet5.py (a file backend and
the stand-in provider in a throwaway home; faults injected through that home only).

One scenario, in order (each step starts from the state the previous one left, as a team running the fleet
would meet it):
1. the requesting end of a peering whose accepting end is not deployed fails with one line naming it;
2. a failure injected in the second wave (the canary) stops the rollout: exit 1, the third wave untouched, the
   journal says where and why;
3. `--resume`, killed mid-update (the whole process group, CLI included): pending operations are left, reported
   before any new update (exit 2, each with its remedy), recovered as documented;
4. `--resume` completes it without touching the sites already applied; nothing protected is lost; a preview of
   every site shows only `same`;
5. a saved plan that no longer matches the program refuses to apply (sitekit's inputs check, then the engine's).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import new_workspace, sitekit_json
from fleet5 import SITES, WAVES, stamp_fleet

from sitekit.engine.workspace import PACKAGE_ROOT

CANARY = ["--all", "--canary", "us-ashburn"]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, pulumi_cli):
    return new_workspace(tmp_path_factory, pulumi_cli, "rollout-fleet", stacks=SITES, prepare=stamp_fleet)


def env(ws) -> dict[str, str]:
    return dict(ws.env(), PYTHONPATH=str(PACKAGE_ROOT))


def command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from sitekit.cli.main import app; app()", "rollout", *args]


def rollout(ws, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(command(*args), cwd=ws.project, env=env(ws), capture_output=True, text=True, timeout=1800)


def journal(ws) -> dict:
    return json.loads(sorted((ws.project / ".sitekit/rollouts").glob("*.json"))[-1].read_text())


def states(ws) -> dict[str, str]:
    return {s: e["state"] for s, e in journal(ws)["sites"].items()}


def resource_counts(ws) -> dict[str, int]:
    return {s["name"]: s["resourceCount"] for s in ws.run(["stack", "ls", "--json"], check=True).json()}


def updates(ws, site: str) -> int:
    return len(ws.run(["stack", "history", "-s", site, "--json"], check=True).json())


def test_1_a_requesting_end_before_its_accepting_end_fails_with_one_line(fleet):
    done = rollout(fleet, "run", "us-ashburn", "--all", "--canary", "none", "--no-progress")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines()[0].startswith("rollout: FAILED at us-ashburn")
    assert ("us-ashburn: failed: us-ashburn requests the peering of us-phoenix, whose stack is not deployed yet: "
            "deploy us-phoenix first") in done.stdout
    assert "Traceback" not in done.stdout + done.stderr and "unknown stack" not in done.stdout + done.stderr
    assert set(resource_counts(fleet).values()) == {0}


def test_2_a_failure_in_the_second_wave_leaves_the_third_untouched(fleet):
    plan = json.loads(rollout(fleet, "plan", *CANARY, "--format", "json").stdout)
    assert [[p["site"] for p in w["sites"]] for w in plan["waves"]] == WAVES
    fleet.inject([{"name": "us-ashburn-rpc-us-phoenix", "op": "create", "fail": "injected: OCI refused the RPC"}])
    done = rollout(fleet, "run", *CANARY, "--jobs", "2", "--no-progress")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.splitlines()[0].startswith("rollout: FAILED at us-ashburn; no site started after it; 1 of 5")
    got = journal(fleet)
    assert states(fleet) == {"us-phoenix": "applied", "us-ashburn": "failed", "ar-patagonia": "planned",
                             "br-saopaulo": "planned", "de-frankfurt": "planned"}
    assert "injected: OCI refused the RPC" in got["sites"]["us-ashburn"]["error"]
    assert got["status"] == "failed"
    counts = resource_counts(fleet)
    assert [counts[s] for s in WAVES[2]] == [0, 0, 0]  # the third wave never started
    assert counts["us-phoenix"] > 100


def test_3_killed_mid_update_leaves_pending_operations_reported_before_the_next_update(fleet):
    fleet.inject([{"name": "ar-patagonia-rpc-us-ashburn", "op": "create", "hang": 600}])
    proc = subprocess.Popen(command("run", "--resume", "--jobs", "1", "--no-progress"), cwd=fleet.project,
                            env=env(fleet), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    hit = Path(f"{fleet.faults_file}.hit")
    deadline = time.monotonic() + 900
    while not hit.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(1)
    assert hit.exists(), proc.communicate()
    time.sleep(2)  # the engine has written the pending create
    os.killpg(proc.pid, signal.SIGKILL)  # the rollout, the pulumi CLI, its language host and provider
    proc.wait()
    fleet.inject([])
    assert states(fleet)["us-ashburn"] == "applied"  # the resumed run did the canary before being killed
    before = {s: updates(fleet, s) for s in SITES if resource_counts(fleet)[s]}

    done = rollout(fleet, "run", "--resume", "--no-progress")
    assert done.returncode == 2, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert done.stdout.splitlines()[0].startswith("rollout: REFUSED: nothing further started")
    line = next(ln for ln in done.stdout.splitlines() if "ar-patagonia-rpc-us-ashburn was left creating" in ln)
    assert "`pulumi cancel -s ar-patagonia --yes`" in line
    assert "pulumi refresh -s ar-patagonia --yes --clear-pending-creates" in line
    assert "--import-pending-creates" in line and "sitekit rollout run --resume" in line
    assert "Traceback" not in out
    assert {s: updates(fleet, s) for s in before} == before  # nothing was updated
    assert states(fleet)["ar-patagonia"] == "refused"

    # the remedy, as the line says (the stand-in keeps nothing: the connection does not exist)
    cancel = fleet.run(["cancel", "-s", "ar-patagonia", "--yes"])  # the lock the killed CLI left in the file backend
    assert cancel.returncode == 0, cancel.output
    fixed = fleet.run(["refresh", "-s", "ar-patagonia", "--yes", "--clear-pending-creates", "--non-interactive"])
    assert fixed.returncode == 0, cancel.output + fixed.output
    export = fleet.run(["stack", "export", "-s", "ar-patagonia"], check=True).json()
    assert not export["deployment"].get("pending_operations")


def test_4_resume_completes_the_rollout_without_touching_what_was_applied(fleet):
    before = {s: updates(fleet, s) for s in ("us-phoenix", "us-ashburn")}
    done = rollout(fleet, "run", "--resume", "--jobs", "2", "--no-progress")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0] == "rollout: 5 site(s) applied"
    assert set(states(fleet).values()) == {"applied"} and journal(fleet)["status"] == "done"
    assert {s: updates(fleet, s) for s in before} == before  # us-phoenix and us-ashburn were not touched again
    for site in SITES:
        plan = sitekit_json("plan", site, cwd=fleet.project)
        protected = {r["urn"] for r in plan["resources"] if r.get("protect")}
        state = fleet.run(["stack", "export", "-s", site], check=True).json()["deployment"]["resources"]
        assert protected <= {r["urn"] for r in state if r.get("protect")}, site  # nothing protected lost
        preview = fleet.preview_events(site)
        assert preview.returncode == 0, preview.text()[-2000:]
        assert {s["op"] for s in preview.steps} <= {"same", "read"}, site


def test_5_a_plan_that_no_longer_matches_the_program_refuses_to_apply(fleet):
    plans = fleet.project / "approved"
    args = ["br-saopaulo", "--all", "--canary", "none", "--plans", str(plans), "--no-progress"]
    done = rollout(fleet, "run", *args, "--phase", "preview")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (plans / "br-saopaulo.plan.json").exists()
    path = fleet.project / "stacks/Pulumi.br-saopaulo.yaml"
    original = path.read_text()
    path.write_text(original.replace("nodes: 1024", "nodes: 1000", 1))
    history = updates(fleet, "br-saopaulo")
    try:
        done = rollout(fleet, "run", *args, "--phase", "apply")
        assert done.returncode == 1
        assert "the program's inputs changed since the plan was previewed and approved" in done.stdout
        assert updates(fleet, "br-saopaulo") == history  # sitekit refused before pulumi ran
        # past sitekit's check (as if the inputs hash matched), the engine itself refuses what exceeds the plan
        from sitekit.run.cache import SideKeys

        (plans / "br-saopaulo.plan.json.inputs").write_text(SideKeys(fleet.project).key("br-saopaulo") + "\n")
        done = rollout(fleet, "run", *args, "--phase", "apply")
        assert done.returncode == 1
        assert "resource violates plan" in done.stdout
    finally:
        path.write_text(original)
