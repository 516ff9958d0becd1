"""`sitekit review`: what a change does to every affected site, as a pull-request comment.

Exit codes: 2 on bad input (an invalid head spec, a site that no longer loads, a head policy that cannot be
evaluated because its input is wrong, e.g. a waiver naming an unknown rule); 1 when anything else of the head side
could not be evaluated, or, with --check, a mandatory failure or an unapproved protected change; else 0. The
report is written first and its first lines say what was not evaluated.
"""

from __future__ import annotations

from enum import Enum
from typing import List, Optional

import typer

from sitekit.cli.app import (
    Force,
    Jobs,
    NoProgress,
    app,
    emit,
    err,
    fail,
    format_option,
    input_folder,
    output_file,
    project_root,
)
from sitekit.cli.formats import REVIEW
from sitekit.errors import SitekitError

ReviewFormat = format_option(REVIEW)


class Mode(str, Enum):
    auto = "auto"
    engine = "engine"
    offline = "offline"


@app.command("review")
def review_command(
    sites: Optional[List[str]] = typer.Argument(None, help="Sites to review; default: every site the change affects."),
    base: str = typer.Option("HEAD", "--base", "-b", help="Git revision to compare with, e.g. origin/main; the "
                             "merge base of it and HEAD is used unless --base-tip."),
    base_tip: bool = typer.Option(False, "--base-tip", help="Compare with the tip of --base, not the merge base."),
    mode: Mode = typer.Option(Mode.auto, "--mode", help="engine (needs a pulumi CLI), offline (an approximation), "
                              "or auto: engine when a pulumi CLI is found."),
    preview_json: Optional[str] = typer.Option(None, "--preview-json", help="Folder of `pulumi preview --json` "
                                                "files (<site>.json) produced against real state, to render."),
    jobs: Jobs = None,
    no_cache: bool = typer.Option(False, "--no-cache", help="Plan and deploy every base again."),
    format: ReviewFormat = REVIEW.default,
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Write the report here (refuses to overwrite "
                                          "without --force)."),
    force: Force = False,
    check: bool = typer.Option(False, "--check", help="After writing the report, exit 1 when a site fails a "
                               "mandatory policy or a protected resource would be replaced or deleted."),
    allow_protected: bool = typer.Option(False, "--allow-protected", help="With --check: protected replacements "
                                         "and deletions are approved (e.g. a pull-request label)."),
    no_progress: NoProgress = False,
):
    """Per affected site: create / update / replace / delete counts (the engine's when a pulumi CLI is found),
    protected, stateful and GPU resources, capacity, power, monthly cost and policy, against a git base."""
    from sitekit.review import review  # heavy: deferred

    try:
        path = output_file(output, "--output", force)  # every path before any work
        previews = input_folder(preview_json, "--preview-json") if preview_json is not None else None
        result = review(project_root(), base, list(sites or []), mode=mode.value, jobs=jobs, preview_json=previews,
                        base_tip=base_tip, use_cache=not no_cache, show_progress=not no_progress)
        emit(REVIEW[format], result, path)
    except SitekitError as exc:
        fail(exc)
    gate = result.exit_code()  # fails closed: what could not be evaluated is 2 (bad input) or 1, with or without --check
    for item in result.not_evaluated:
        err.print(f"review: {item}", markup=False, highlight=False)
    if check:
        failing = [s.site for s in result.sites if s.head.policy and s.head.policy.get("mandatoryFailures")]
        at_risk = [s.site for s in result.sites if any(c.blocked for c in s.changes) or s.refusals]
        if failing:
            err.print(f"review: mandatory policy failures in {', '.join(failing)}", markup=False)
        if at_risk and not allow_protected:
            err.print(f"review: protected resources would be replaced or deleted in {', '.join(at_risk)} "
                      "(approve with --allow-protected)", markup=False)
        if failing or (at_risk and not allow_protected):
            raise typer.Exit(max(1, gate))
    if gate:
        raise typer.Exit(gate)
