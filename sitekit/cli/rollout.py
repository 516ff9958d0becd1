"""`sitekit rollout plan` and `sitekit rollout run`: a change carried out across the fleet, wave by wave.

Exit codes: 0 every site applied (plan: the plan printed); 1 a site failed (the journal says where and why, the
sites after it were not started); 2 refused or bad input (a cycle, a freeze, a base that is not the default
branch's tip, pending operations, a journal that does not match, a spec problem), nothing started. Anything
not evaluated is non-zero and said first.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from sitekit.cli.app import NoProgress, app, emit, err, fail, format_option, out, project_root
from sitekit.cli.formats import ROLLOUT
from sitekit.errors import SitekitError
from sitekit.rollout.plan import from_dict, narrowed, plan_rollout
from sitekit.rollout.waves import PER_JURISDICTION, RolloutRefused, Settings

RolloutFormat = format_option(ROLLOUT)

rollout = typer.Typer(no_args_is_help=True, help="Carry a change out across the fleet, wave by wave.")
app.add_typer(rollout, name="rollout")


class OnFreeze(str, Enum):
    refuse = "refuse"
    wait = "wait"


def refused(exc: RolloutRefused) -> None:
    for line in exc.lines:
        err.print(line, markup=False, highlight=False)
    raise typer.Exit(2)


def settings(canary: str, max_parallel: int, bake_minutes: float, on_freeze: OnFreeze,
             now: Optional[str] = None) -> Settings:
    when = datetime.fromisoformat(now) if now else datetime.now(timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return Settings(canary=None if canary == "none" else canary, max_parallel=max_parallel,
                    bake=timedelta(minutes=bake_minutes), on_freeze=on_freeze.value, now=when)


CANARY_HELP = (f"The canary wave: a site name, '{PER_JURISDICTION}' (one per jurisdiction), or 'none'. "
               "Default: $SITEKIT_CANARY, else per-jurisdiction.")


@rollout.command("plan")
def plan_command(
    sites: Optional[List[str]] = typer.Argument(None, help="Only these sites of the change (default: all of them)."),
    base: Optional[str] = typer.Option(None, "--base", "-b", help="The deployed revision to compare the tree with "
                                       "(default: the default branch's tip; another is refused without --any-base)."),
    every: bool = typer.Option(False, "--all", help="Every site, whatever changed."),
    any_base: bool = typer.Option(False, "--any-base", help="Accept a --base that is not the default branch's tip."),
    default_branch: Optional[str] = typer.Option(None, "--default-branch", help="The default branch (default: what "
                                                 "origin/HEAD points at, else origin/main, else main)."),
    canary: str = typer.Option(PER_JURISDICTION, "--canary", envvar="SITEKIT_CANARY", help=CANARY_HELP),
    max_parallel: int = typer.Option(4, "--max-parallel", min=1, help="Sites at once in a wave."),
    bake: float = typer.Option(0, "--bake", min=0, help="Minutes between the end of a wave and the next."),
    on_freeze: OnFreeze = typer.Option(OnFreeze.refuse, "--on-freeze", help="A site inside its jurisdiction's "
                                       "freeze: refuse the rollout, or wait for the end of the freeze."),
    now: Optional[str] = typer.Option(None, "--now", help="Plan as if at this time (ISO 8601; default: now)."),
    format: RolloutFormat = ROLLOUT.default,
):
    """The sites a change affects, in waves: the canary first, then dependency order (an accepting end of a
    peering before its requesting end), each site with the reason for its wave; freezes and bake time honoured."""
    try:
        plan = plan_rollout(project_root(), base=base, every=every, branch=default_branch, any_base=any_base,
                            settings=settings(canary, max_parallel, bake, on_freeze, now), only=list(sites or []))
    except RolloutRefused as exc:
        refused(exc)
    except SitekitError as exc:
        fail(exc)
    emit(ROLLOUT[format], plan)


class Phase(str, Enum):
    all = "all"
    preview = "preview"
    apply = "apply"


@rollout.command("run")
def run_command(
    sites: Optional[List[str]] = typer.Argument(None, help="Only these sites of the change (default: all of them)."),
    base: Optional[str] = typer.Option(None, "--base", "-b", help="As for `rollout plan`."),
    every: bool = typer.Option(False, "--all", help="Every site, whatever changed."),
    any_base: bool = typer.Option(False, "--any-base", help="Accept a --base that is not the default branch's tip."),
    default_branch: Optional[str] = typer.Option(None, "--default-branch", help="As for `rollout plan`."),
    canary: str = typer.Option(PER_JURISDICTION, "--canary", envvar="SITEKIT_CANARY", help=CANARY_HELP),
    max_parallel: int = typer.Option(4, "--max-parallel", min=1, help="Sites at once in a wave (the plan's bound)."),
    bake: float = typer.Option(0, "--bake", min=0, help="Minutes between the end of a wave and the next."),
    on_freeze: OnFreeze = typer.Option(OnFreeze.refuse, "--on-freeze", help="A site inside a freeze: refuse, or wait."),
    from_plan: Optional[Path] = typer.Option(None, "--from-plan", help="Run this `rollout plan --format json` "
                                             "output instead of planning again (CI: every wave job runs one plan)."),
    jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="Sites updated at once (never above the wave's bound)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the journal's rollout (--journal, else the latest): "
                                "sites already applied are not touched."),
    journal: Optional[Path] = typer.Option(None, "--journal", help="The journal file (default: "
                                           ".sitekit/rollouts/<time>-<commit>.json in the project)."),
    phase: Phase = typer.Option(Phase.all, "--phase", help="preview: save each site's plan (to approve); apply: apply "
                                "the saved plans exactly; all: both, site by site."),
    wave: Optional[List[int]] = typer.Option(None, "--wave", help="Only this wave (repeatable; CI: one job per wave)."),
    plans: Optional[Path] = typer.Option(None, "--plans", help="Folder of the saved plan files (default: beside the "
                                         "journal)."),
    backend: Optional[str] = typer.Option(None, "--backend", help="State backend URL (default: $PULUMI_BACKEND_URL, "
                                          "else the one pulumi is logged in to)."),
    no_progress: NoProgress = False,
):
    """Preview each site of each wave with the policy pack and save the plan; apply exactly that plan. Stops
    starting sites at the first failure; the journal records every site, and --resume continues."""
    from sitekit.rollout.runner import Options, Runner, resume_rollout, start_rollout  # heavy: deferred

    root = project_root()
    say = (lambda line: err.print(line, markup=False, highlight=False)) if not no_progress else (lambda line: None)
    options = Options(phase=phase.value, jobs=jobs, plans=plans, waves=set(wave) if wave else None,
                      on_freeze=on_freeze.value, show_progress=not no_progress, say=say)
    try:
        runner = Runner.for_project(root, backend)
        if resume:
            outcome = resume_rollout(root, runner, options, journal)
        else:
            if from_plan is not None:
                plan = from_dict(json.loads(from_plan.read_text(encoding="utf-8")))
                plan = narrowed(plan, list(sites)) if sites else plan
            else:
                plan = plan_rollout(root, base=base, every=every, branch=default_branch, any_base=any_base,
                                    settings=settings(canary, max_parallel, bake, on_freeze), only=list(sites or []))
            outcome = start_rollout(root, runner, plan, options, journal)
    except RolloutRefused as exc:
        refused(exc)
    except SitekitError as exc:
        fail(exc)
    for line in outcome.lines:
        out.print(line, markup=False, highlight=False)
    raise typer.Exit(outcome.exit_code)


__all__ = ["rollout"]
