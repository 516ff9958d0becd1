"""`sitekit rollout run`: the waves of a rollout plan carried out through the pulumi CLI.

For each wave, each site: its pending operations checked (an interrupted update is reported with its remedy,
never cleared), the accepting ends of the peerings it requests checked (deployed, with this site's connection
in their outputs), then `pulumi preview --save-plan` with the policy pack (the plan file is what a person
approves), then `pulumi up --plan` of exactly that file, refused by sitekit when the program's inputs changed
since the preview (a content hash of everything the site's plan depends on) and by the engine when an operation
exceeds the plan. At the first failure no new site starts; running ones finish. Every change of state goes to
the journal, so `--resume` continues without touching the sites already applied.

The same code runs a real deployment (the pulumi on PATH or `make pulumi`'s, the caller's environment and
backend) and the tests (a throwaway Workspace's pulumi, home, stand-in provider and file backend): a `Runner`
is only the pulumi binary, the environment and the working folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from sitekit.engine.workspace import EngineError, Result, find_pulumi
from sitekit.progress import progress
from sitekit.rollout import inputs
from sitekit.rollout.journal import FOLDER, Journal, JournalError, latest
from sitekit.rollout.pending import Pending, pending_operations
from sitekit.rollout.plan import RolloutPlan, from_dict, plan_rollout
from sitekit.rollout.waves import Settings, Wave, Window
from sitekit.run.cache import SideKeys

PLAN_SUFFIX = ".plan.json"
KEY_SUFFIX = ".inputs"  # beside a plan file: the content hash of the program's inputs it was previewed from


@dataclass
class Runner:
    """The pulumi CLI as a rollout uses it: a binary, an environment (backend, home, secrets) and a project."""

    pulumi: Path
    env: dict[str, str]
    cwd: Path
    policy_pack: str | None = "policies"
    timeout: float = 6 * 3600

    @classmethod
    def for_project(cls, root: Path, backend: str | None = None, env: dict[str, str] | None = None,
                    pulumi: Path | None = None) -> "Runner":
        """The project's runner: `env` (default: this process's), its PULUMI_BACKEND_URL replaced by `backend`
        when given (else the backend pulumi is logged in to, or Pulumi.yaml's), the pulumi of `find_pulumi`."""
        env = dict(os.environ if env is None else env)
        if backend:
            env["PULUMI_BACKEND_URL"] = backend
        env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
        found = pulumi or find_pulumi(root)
        if found is None:
            which = shutil.which("pulumi", path=env.get("PATH"))
            found = Path(which) if which else None
        if found is None:
            raise EngineError("rollout: no pulumi CLI: put one on PATH (the pinned version, see README) or run "
                              "`make pulumi`")
        return cls(found, env, root)

    @property
    def backend(self) -> str | None:
        return self.env.get("PULUMI_BACKEND_URL")

    def run(self, *args: str, timeout: float | None = None) -> Result:
        done = subprocess.run([str(self.pulumi), *args], cwd=self.cwd, env=self.env, capture_output=True, text=True,
                              timeout=timeout or self.timeout)
        return Result(list(args), done.returncode, done.stdout, done.stderr)

    def _json(self, *args: str):
        result = self.run(*args, timeout=600)
        if result.returncode != 0:
            raise EngineError(f"pulumi {' '.join(args)} failed: {last_errors(result.output)}")
        return json.loads(result.stdout or "null")

    def stacks(self) -> dict[str, int]:
        """{stack: resource count} of the project's stacks in the backend."""
        return {s["name"].rsplit("/", 1)[-1]: int(s.get("resourceCount") or 0) for s in self._json("stack", "ls", "--json")}

    def export(self, site: str) -> dict:
        return self._json("stack", "export", "-s", site)

    def outputs(self, site: str) -> dict:
        return self._json("stack", "output", "-s", site, "--json") or {}

    def init(self, site: str) -> Result:
        return self.run("stack", "init", site, "--non-interactive", timeout=600)

    def preview(self, site: str, plan_file: Path) -> Result:
        pack = ["--policy-pack", self.policy_pack] if self.policy_pack else []
        return self.run("preview", "-s", site, "--save-plan", str(plan_file), *pack, "--non-interactive",
                        "--color", "never", "--diff")

    def apply(self, site: str, plan_file: Path) -> Result:
        pack = ["--policy-pack", self.policy_pack] if self.policy_pack else []
        return self.run("up", "-s", site, "--plan", str(plan_file), *pack, "--yes", "--skip-preview",
                        "--non-interactive", "--color", "never")


NOISE = ("but none were seen", "Resource monitor has terminated", "update failed", "preview failed")
"""Error lines that follow the one that matters (a plan left incomplete because an operation failed, the
program stopped because the engine did): left out of the journal's line."""


def last_errors(output: str, keep: int = 3) -> str:
    """The engine's error lines (deduplicated, the noise of a stopped update left out), else the last line: one
    line for the journal."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = list(dict.fromkeys(ln for ln in lines if ("error:" in ln or "mandatory" in ln)
                                and not any(n in ln for n in NOISE)))
    chosen = errors[:keep] or lines[-1:] or ["no output"]
    more = f" (and {len(errors) - keep} more)" if len(errors) > keep else ""
    if "currently locked" in output:
        more += (" (another update holds the stack's lock, or a killed one left it: when none is running, "
                 "`pulumi cancel -s <site> --yes`, then look for pending operations)")
    return " | ".join(chosen) + more


class SiteFailed(Exception):
    """A site could not be rolled out; `refused` when it is a refusal (exit 2) rather than a failure (exit 1)."""

    def __init__(self, message: str, refused: bool = False):
        super().__init__(message)
        self.refused = refused


@dataclass
class Options:
    phase: str = "all"  # all | preview | apply
    jobs: int = 4
    plans: Path | None = None  # where plan files are written and read (default: beside the journal)
    waves: set[int] | None = None  # only these waves (CI: one job per wave)
    freezes: dict[str, tuple[Window, ...]] = field(default_factory=dict)
    on_freeze: str = "refuse"
    show_progress: bool = True
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    say: Callable[[str], None] = lambda line: None  # one plain line per event (stderr in the CLI)


@dataclass
class Outcome:
    exit_code: int
    lines: list[str]  # the report: the verdict first
    journal: Path


class Rollout:
    """One run over a plan and its journal."""

    def __init__(self, runner: Runner, plan: RolloutPlan, journal: Journal, after: dict[str, frozenset[str]],
                 options: Options):
        self.runner, self.plan, self.journal, self.after, self.o = runner, plan, journal, after, options
        self.plans = options.plans or journal.path.with_suffix("") / "plans"
        self.stop = threading.Event()
        self.refused: list[str] = []

    # ------------------------------------------------------------------------------------------- the run
    def todo(self, wave: Wave) -> list[str]:
        done = {"applied"} | ({"previewed"} if self.o.phase == "preview" else set())
        return [s for s in wave.names if self.journal.state(s) not in done]

    def waves(self) -> list[Wave]:
        return [w for w in self.plan.waves if self.o.waves is None or w.index in self.o.waves]

    def execute(self) -> Outcome:
        waves = [w for w in self.waves() if self.todo(w)]
        total = sum(len(self.todo(w)) for w in waves)
        self.preflight([s for w in waves for s in self.todo(w)])
        if self.refused:
            return self.finish()
        last_end: datetime | None = None
        # a bar on a terminal; in CI the plain lines of `say` already tell each site's end
        with progress("rollout", total, self.o.show_progress and sys.stderr.isatty()) as bar:
            for wave in waves:
                if self.stop.is_set():
                    break
                self.wait_for(wave, last_end)
                if self.stop.is_set():
                    break
                sites = self.todo(wave)
                self.o.say(f"rollout: wave {wave.index} ({wave.kind}): {', '.join(sites)}")
                jobs = max(1, min(self.o.jobs, wave.max_parallel, len(sites)))
                with ThreadPoolExecutor(jobs) as pool:
                    list(pool.map(lambda s: self.one(wave, s, bar), sites))
                last_end = self.o.clock()
        return self.finish()

    def preflight(self, sites: list[str]) -> None:
        """Before anything starts: every stack of the run free of pending operations (fail closed)."""
        existing = self.runner.stacks()
        for site in sites:
            if site in existing:
                try:
                    self.check_pending(site)
                except SiteFailed:
                    continue

    def check_pending(self, site: str) -> None:
        found: list[Pending] = pending_operations(site, self.runner.export(site))
        if found:
            lines = [p.line() for p in found]
            self.refused += lines
            self.journal.mark(site, "refused", " | ".join(lines))
            self.stop.set()
            for line in lines:
                self.o.say(line)
            raise SiteFailed("\n".join(lines), refused=True)

    def wait_for(self, wave: Wave, last_end: datetime | None) -> None:
        """The bake time after the previous wave, then any freeze of the wave's sites (wait, or refuse)."""
        start = max(wave.not_before, last_end + self.plan.settings.bake if last_end else wave.not_before)
        now = self.o.clock()
        if start > now:
            self.o.say(f"rollout: wave {wave.index} waits until {start.isoformat()} (bake time)")
            self.o.sleep((start - now).total_seconds())
        while True:
            now = self.o.clock()
            frozen = [(p.site, w) for p in wave.sites for w in self.o.freezes.get(p.jurisdiction, ()) if w.covers(now)]
            if not frozen:
                return
            lines = [f"rollout: {s} is frozen from {w.start} to {w.end}: {w.reason}" for s, w in frozen]
            if self.o.on_freeze != "wait":
                self.refused += lines
                for s, _ in frozen:
                    self.journal.mark(s, "refused", lines[0])
                self.stop.set()
                return
            until = max(w.over for _, w in frozen)
            self.o.say(f"{lines[0]} (waiting until {until.isoformat()})")
            self.o.sleep(max(1.0, (until - now).total_seconds()))

    def one(self, wave: Wave, site: str, bar) -> None:
        if self.stop.is_set():
            return
        started = time.monotonic()
        try:
            self.deploy(site)
        except SiteFailed as exc:
            if not exc.refused:
                self.journal.mark(site, "failed", str(exc))
                self.o.say(f"rollout: wave {wave.index}: {site} FAILED: {exc}")
            self.stop.set()
        except (EngineError, subprocess.TimeoutExpired, OSError) as exc:
            self.journal.mark(site, "failed", str(exc))
            self.o.say(f"rollout: wave {wave.index}: {site} FAILED: {exc}")
            self.stop.set()
        else:
            self.o.say(f"rollout: wave {wave.index}: {site} {self.journal.state(site)} "
                       f"({time.monotonic() - started:.0f} s)")
        finally:
            bar.advance(site)

    # ------------------------------------------------------------------------------------------- one site
    def deploy(self, site: str) -> None:
        stacks = self.runner.stacks()
        if site not in stacks:
            created = self.runner.init(site)
            if created.returncode != 0:
                raise SiteFailed(f"pulumi stack init {site}: {last_errors(created.output)}")
        else:
            self.check_pending(site)
        self.check_peers(site, stacks)
        plan_file = self.plans / f"{site}{PLAN_SUFFIX}"
        key_file = plan_file.with_name(plan_file.name + KEY_SUFFIX)
        key = SideKeys(self.runner.cwd).key(site)
        if self.o.phase in ("all", "preview"):
            self.plans.mkdir(parents=True, exist_ok=True)
            result = self.runner.preview(site, plan_file)
            if result.returncode != 0:
                raise SiteFailed(f"preview: {last_errors(result.output)}")
            key_file.write_text(key + "\n")
            self.journal.mark(site, "previewed", planFile=str(plan_file), inputs=key)
        if self.o.phase in ("all", "apply"):
            if not plan_file.exists():
                raise SiteFailed(f"no saved plan {plan_file}: preview it first (--phase preview)", refused=False)
            approved = key_file.read_text().strip() if key_file.exists() else None
            if approved != key:
                raise SiteFailed("the program's inputs changed since the plan was previewed and approved (stack file, "
                                 "profile, baseline, sitekit or policy code): nothing applied; preview it again")
            result = self.runner.apply(site, plan_file)
            if result.returncode != 0:
                raise SiteFailed(f"apply: {last_errors(result.output)}")
            self.journal.mark(site, "applied", planFile=str(plan_file), inputs=key)

    def check_peers(self, site: str, stacks: dict[str, int]) -> None:
        """The accepting ends of the peerings this site requests are deployed, with its connection in their
        outputs; else one line naming the site to deploy first (not the engine's `unknown stack`)."""
        for peer in sorted(self.after.get(site, ())):
            if not stacks.get(peer):
                raise SiteFailed(f"{site} requests the peering of {peer}, whose stack is not deployed yet: deploy "
                                 f"{peer} first (the accepting end of a peering deploys before its requesting end)")
            rpcs = ((self.runner.outputs(peer).get("peering") or {}).get("rpcs")) or {}
            if site not in rpcs:
                raise SiteFailed(f"{site} requests the peering of {peer}, whose deployed stack has no connection for "
                                 f"{site} yet (peering.rpcs.{site}): deploy {peer} first")

    # ------------------------------------------------------------------------------------------- the end
    def finish(self) -> Outcome:
        sites = [s for w in self.waves() for s in w.names]
        states = {s: self.journal.state(s) for s in sites}
        goal = "previewed" if self.o.phase == "preview" else "applied"
        failed = [s for s in sites if states[s] == "failed"]
        done = [s for s in sites if states[s] == goal or states[s] == "applied"]
        waiting = [s for s in sites if s not in done and s not in failed and states[s] != "refused"]
        lines: list[str] = []
        if self.refused:
            code, status = 2, "refused"
            lines.append(f"rollout: REFUSED: nothing further started ({len(done)} of {len(sites)} site(s) {goal})")
            lines += self.refused
        elif failed:
            code, status = 1, "failed"
            lines.append(f"rollout: FAILED at {', '.join(failed)}; no site started after it; {len(done)} of "
                         f"{len(sites)} site(s) {goal}")
        elif waiting:
            code, status = 1, "incomplete"
            lines.append(f"rollout: INCOMPLETE: {len(waiting)} site(s) not {goal}")
        else:
            code, status = 0, "done" if goal == "applied" else "previewed"
            lines.append(f"rollout: {len(done)} site(s) {goal}")
        for w in self.waves():
            for s in w.names:
                error = self.journal.data["sites"][s].get("error")
                state = states[s] if states[s] != "planned" else "not started"
                lines.append(f"  wave {w.index}: {s}: {state}{': ' + error if error and state != goal else ''}")
        lines.append(f"journal: {self.journal.path}" + (" (resume with `sitekit rollout run --resume`)"
                                                         if code else ""))
        self.journal.finish(status)
        return Outcome(code, lines, self.journal.path)


# ----------------------------------------------------------------------------------------------- entry points
def _commit(root: Path) -> str | None:
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def _after(root: Path, plan: RolloutPlan) -> dict[str, frozenset[str]]:
    return {s: n.after for s, n in inputs.nodes(root, {s: "" for s in plan.sites}).items()}


def start_rollout(root: Path, runner: Runner, plan: RolloutPlan, options: Options,
                  journal_path: Path | None = None) -> Outcome:
    """A new rollout of `plan`: its journal started (default `.sitekit/rollouts/<time>-<commit>.json`), then run."""
    commit = _commit(root)
    rollout_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%fZ}-{(commit or 'nogit')[:12]}"
    path = journal_path or root / FOLDER / f"{rollout_id}.json"
    journal = Journal.start(path, rollout_id, plan.to_dict(), commit, runner.backend)
    journal.begin_run(resume=False)
    if not options.freezes:
        options.freezes = inputs.freezes(root, {p.jurisdiction for w in plan.waves for p in w.sites})
    return Rollout(runner, plan, journal, _after(root, plan), options).execute()


def resume_rollout(root: Path, runner: Runner, options: Options, journal_path: Path | None = None) -> Outcome:
    """Continue the rollout of a journal (default: the latest under the project): the sites already applied
    are not touched; refused when the tree's commit or the backend is not the journal's."""
    path = journal_path or latest(root)
    if path is None:
        raise JournalError(f"rollout: no journal to resume under {root / FOLDER} (pass --journal)")
    journal = Journal.load(path)
    commit, recorded = _commit(root), journal.data.get("commit")
    if recorded and commit != recorded:
        raise JournalError(f"rollout: the journal {path.name} rolls out commit {recorded[:12]}, HEAD is "
                           f"{(commit or 'no commit')[:12]}: start a new rollout for another commit")
    if journal.data.get("backend") != runner.backend:
        raise JournalError(f"rollout: the journal {path.name} ran against backend {journal.data.get('backend')}, "
                           f"not {runner.backend}: resume with the same backend (--backend)")
    plan = from_dict(journal.data["plan"])
    journal.begin_run(resume=True)
    if not options.freezes:
        options.freezes = inputs.freezes(root, {p.jurisdiction for w in plan.waves for p in w.sites})
    return Rollout(runner, plan, journal, _after(root, plan), options).execute()


def run_rollout(root: Path, *, backend: str | None = None, env: dict[str, str] | None = None,
                pulumi: Path | None = None, every: bool = True, canary: str | None = None, jobs: int = 2,
                resume: bool = False, journal: Path | None = None, phase: str = "all") -> Outcome:
    """A whole rollout in one call (every site by default), against `backend` with `env`: what a test or a
    script needs (two rollouts racing on one backend are two calls)."""
    runner = Runner.for_project(root, backend, env, pulumi)
    options = Options(phase=phase, jobs=jobs, show_progress=False)
    if resume:
        return resume_rollout(root, runner, options, journal)
    plan = plan_rollout(root, every=every, settings=Settings(canary=canary, max_parallel=jobs))
    return start_rollout(root, runner, plan, options, journal)
