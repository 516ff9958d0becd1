"""Drift, the run: for each site, `pulumi stack export` (the state's pending operations) and `pulumi refresh
--preview-only --json` (what the cloud reports against the state, the state left as it is), `jobs` sites at a time.

One code path for every backend: a `Runner` is a pulumi binary, an environment and a working folder. A real
run takes the pulumi sitekit finds and the caller's environment (the team's backend, `PULUMI_BACKEND_URL` or the
project's login, read-only cloud credentials); the engine tests run the same command with a throwaway
Workspace's environment (a file backend and the stand-in provider in a throwaway PULUMI_HOME).
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from sitekit.drift.model import DriftReport, SiteDrift, differences, pending_operations
from sitekit.errors import SitekitError

TIMEOUT = 1800  # seconds per command: a refresh of a large site against a throttling API is slow, not stuck
NOT_DEPLOYED = ("no stack named", "not found")
"""What pulumi says when the backend holds no such stack (a site never deployed: bad input)."""
DROPPED_ENV = ("PULUMI_SKIP_CONFIRMATIONS",)
"""Variables that would turn a preview into a run (`--yes` refuses `--preview-only`)."""


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Runner:
    """How to run pulumi: the binary, the environment, the project folder (its Pulumi.yaml and stacks/)."""

    pulumi: Path
    env: Mapping[str, str]
    cwd: Path

    @classmethod
    def here(cls, root: Path) -> "Runner":
        """The pulumi sitekit would use for `root`, the caller's environment, the project at `root`."""
        from sitekit.engine.workspace import find_pulumi  # heavy: deferred (the engine module loads Pulumi's SDK)

        pulumi = find_pulumi(root)
        if pulumi is None:
            raise SitekitError("no pulumi CLI: put pulumi >= 3.221 on PATH, or set SITEKIT_PULUMI")
        return cls(pulumi, dict(os.environ), root)

    def run(self, args: Sequence[str]) -> subprocess.CompletedProcess:
        env = {k: v for k, v in self.env.items() if k not in DROPPED_ENV}
        return subprocess.run([str(self.pulumi), *args], cwd=self.cwd, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT)


class NotDeployed(SitekitError):
    exit_code = 2


def _last_error(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.lower().startswith("error:")]
    return (errors or lines or ["(no output)"])[-1][:500]


def site_drift(runner: Runner, site: str) -> SiteDrift:
    """One site's drift; a site whose stack is not in the backend raises NotDeployed."""
    started = time.monotonic()
    result = SiteDrift(site=site, checked=now())
    export = runner.run(["stack", "export", "-s", site, "--non-interactive"])
    if export.returncode != 0:
        message = _last_error(export.stderr + export.stdout)
        if any(s in message.lower() for s in NOT_DEPLOYED):
            raise NotDeployed(f"{site}: no deployed stack in the backend ({message})")
        result.error = f"pulumi stack export: {message}"
        return result
    state = json.loads(export.stdout or "{}")
    result.pending = pending_operations(state)
    result.resources = sum(1 for r in (state.get("deployment") or {}).get("resources") or []
                           if not str(r.get("type", "")).startswith("pulumi:"))
    refresh = runner.run(["refresh", "--preview-only", "--json", "--non-interactive", "--color", "never",
                          "--skip-pending-creates", "-s", site])
    try:
        steps = json.loads(refresh.stdout).get("steps") or []
    except ValueError:
        steps = None
    if refresh.returncode != 0 or steps is None:
        result.error = f"pulumi refresh --preview-only: {_last_error(refresh.stderr + refresh.stdout)}"
    else:
        result.differences = differences(site, steps)
    result.seconds = time.monotonic() - started
    return result


def drift(runner: Runner, sites: Sequence[str], jobs: int = 1, fail_on: str = "any",
          on_done: Callable[[str], None] = lambda s: None) -> tuple[DriftReport, list[str]]:
    """(the report of every site that has a stack, the messages of those that have none). Each site is two
    pulumi commands; `jobs` sites run at once (threads waiting on pulumi processes)."""
    run = now()

    def one(site: str) -> SiteDrift | NotDeployed:
        try:
            return site_drift(runner, site)
        except NotDeployed as exc:
            return exc
        finally:
            on_done(site)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(one, sites))
    report = DriftReport(run=run, sites=[r for r in results if isinstance(r, SiteDrift)], fail_on=fail_on)
    return report, [str(r) for r in results if isinstance(r, NotDeployed)]
