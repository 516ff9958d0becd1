"""The rollout runner over a scripted pulumi (no engine): the order it follows, stop at the first failure,
the journal, --resume, pending operations and undeployed accepting ends refused, the inputs check, the exit
codes. The same runs under the real CLI in tests/engine/test_rollout_engine.py."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from fleet5 import WAVES, stamp_fleet

from sitekit.engine.workspace import Result
from sitekit.rollout.journal import Journal
from sitekit.rollout.plan import plan_rollout
from sitekit.rollout.runner import Options, resume_rollout, start_rollout
from sitekit.rollout.waves import Settings

CREATING = {"resource": {"urn": "urn:pulumi:de-frankfurt::sitekit::oci:Identity/tag:Tag::de-frankfurt-tag-site"},
            "type": "creating"}


@dataclass
class ScriptedPulumi:
    """What a Runner answers, scripted: stacks deployed in memory, failures and pending operations on demand."""

    cwd: Path
    backend: str | None = "file:///state"
    deployed: dict[str, int] = field(default_factory=dict)
    fail: dict[str, str] = field(default_factory=dict)  # site -> error line of its `up`
    pending: dict[str, list] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stacks(self):
        return dict(self.deployed)

    def export(self, site):
        return {"deployment": {"pending_operations": self.pending.get(site, [])}}

    def outputs(self, site):
        peers = [s for s, n in self.requests.items() if site in n]
        return {"peering": {"rpcs": {p: f"{site}-rpc-{p}" for p in peers}}} if self.deployed.get(site) else {}

    def init(self, site):
        self.deployed.setdefault(site, 0)
        return Result([], 0, "", "")

    def preview(self, site, plan_file):
        with self.lock:
            self.calls.append(("preview", site))
        plan_file.write_text("{}")
        return Result([], 0, "", "")

    def apply(self, site, plan_file):
        with self.lock:
            self.calls.append(("up", site))
        if site in self.fail:
            return Result([], 255, "", f"    error: {self.fail[site]}\n    error: update failed\n")
        self.deployed[site] = 150
        return Result([], 0, "", "")


@pytest.fixture
def fleet(make_project, tmp_path):
    return stamp_fleet(make_project(tmp_path))


def scripted(project: Path) -> ScriptedPulumi:
    pulumi = ScriptedPulumi(project)
    pulumi.requests = {"us-ashburn": {"us-phoenix"}, "ar-patagonia": {"us-ashburn"}, "br-saopaulo": {"us-ashburn"}}
    return pulumi


def plan(project: Path):
    return plan_rollout(project, every=True, settings=Settings(canary="us-ashburn", max_parallel=2))


def run(project, pulumi, **kw):
    return start_rollout(project, pulumi, plan(project), Options(jobs=2, show_progress=False, **kw),
                         project / "journal.json")


def ups(pulumi) -> list[str]:
    return [s for op, s in pulumi.calls if op == "up"]


def test_a_whole_rollout_follows_the_waves(fleet):
    pulumi = scripted(fleet)
    outcome = run(fleet, pulumi)
    assert outcome.exit_code == 0 and outcome.lines[0] == "rollout: 5 site(s) applied"
    order = ups(pulumi)
    assert order[:2] == ["us-phoenix", "us-ashburn"] and sorted(order[2:]) == WAVES[2]
    assert [op for op, s in pulumi.calls if s == "us-ashburn"] == ["preview", "up"]  # previewed, then applied
    journal = Journal.load(fleet / "journal.json")
    assert set(journal.sites_in("applied")) == set(pulumi.deployed) and journal.data["status"] == "done"


def test_the_first_failure_stops_the_next_waves_and_resume_finishes_without_touching_the_rest(fleet):
    pulumi = scripted(fleet)
    pulumi.fail["us-ashburn"] = "injected: OCI said no"
    outcome = run(fleet, pulumi)
    assert outcome.exit_code == 1
    assert outcome.lines[0] == "rollout: FAILED at us-ashburn; no site started after it; 1 of 5 site(s) applied"
    assert "  wave 2: us-ashburn: failed: apply: error: injected: OCI said no" in outcome.lines
    assert "  wave 3: de-frankfurt: not started" in outcome.lines
    assert ups(pulumi) == ["us-phoenix", "us-ashburn"]
    del pulumi.fail["us-ashburn"]
    pulumi.calls.clear()
    again = resume_rollout(fleet, pulumi, Options(jobs=2, show_progress=False), fleet / "journal.json")
    assert again.exit_code == 0
    assert "us-phoenix" not in {s for _, s in pulumi.calls}  # applied before: not touched
    assert ups(pulumi)[0] == "us-ashburn" and sorted(ups(pulumi)[1:]) == WAVES[2]
    journal = Journal.load(fleet / "journal.json")
    assert [r["resume"] for r in journal.data["runs"]] == [False, True]
    assert [h["state"] for h in journal.data["sites"]["us-ashburn"]["history"]] == [
        "planned", "previewed", "failed", "previewed", "applied"]


def test_pending_operations_refuse_before_anything_starts(fleet):
    pulumi = scripted(fleet)
    pulumi.deployed["de-frankfurt"] = 14
    pulumi.pending["de-frankfurt"] = [CREATING]
    outcome = run(fleet, pulumi)
    assert outcome.exit_code == 2 and outcome.lines[0].startswith("rollout: REFUSED: nothing further started")
    line = next(ln for ln in outcome.lines if "de-frankfurt-tag-site was left creating" in ln)
    assert "`pulumi cancel -s de-frankfurt --yes`" in line and "--clear-pending-creates" in line
    assert pulumi.calls == []  # no preview, no update anywhere
    assert Journal.load(fleet / "journal.json").state("de-frankfurt") == "refused"


def test_a_requesting_end_whose_accepting_end_is_not_deployed_fails_in_one_line(fleet):
    pulumi = scripted(fleet)
    p = plan_rollout(fleet, every=True, only=["us-ashburn"], settings=Settings(canary=None))
    outcome = start_rollout(fleet, pulumi, p, Options(show_progress=False), fleet / "journal.json")
    assert outcome.exit_code == 1
    assert outcome.lines[1] == ("  wave 1: us-ashburn: failed: us-ashburn requests the peering of us-phoenix, whose "
                                "stack is not deployed yet: deploy us-phoenix first (the accepting end of a peering "
                                "deploys before its requesting end)")
    assert pulumi.calls == []


def test_an_apply_whose_inputs_changed_since_the_preview_is_refused(fleet):
    pulumi = scripted(fleet)
    p = plan_rollout(fleet, every=True, only=["de-frankfurt"], settings=Settings(canary=None))
    assert start_rollout(fleet, pulumi, p, Options(phase="preview", plans=fleet / "plans", show_progress=False),
                         fleet / "j1.json").exit_code == 0
    path = fleet / "stacks/Pulumi.de-frankfurt.yaml"
    path.write_text(path.read_text().replace("nodes: 20", "nodes: 21", 1))
    outcome = start_rollout(fleet, pulumi, p, Options(phase="apply", plans=fleet / "plans", show_progress=False),
                            fleet / "j2.json")
    assert outcome.exit_code == 1 and "the program's inputs changed since the plan was previewed" in outcome.lines[1]
    assert ups(pulumi) == []


def test_waves_wait_the_bake_time(fleet):
    pulumi = scripted(fleet)
    p = plan_rollout(fleet, every=True, settings=Settings(canary="us-ashburn", bake=timedelta(minutes=10)))
    now = [p.settings.now]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += timedelta(seconds=seconds)

    outcome = start_rollout(fleet, pulumi, p, Options(show_progress=False, sleep=sleep, clock=lambda: now[0]),
                            fleet / "j.json")
    assert outcome.exit_code == 0 and slept == [600.0, 600.0]  # three waves, ten minutes between each
