"""`sitekit review`: what a change does to every affected site, as a pull-request comment."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from .cli import app, fail, project_root, refuse_overwrite
from .errors import SitekitError


class ReviewFormat(str, Enum):
    markdown = "markdown"
    json = "json"


@app.command("review")
def review_command(
    sites: Optional[List[str]] = typer.Argument(None, help="Sites to review; default: every site the change affects."),
    base: str = typer.Option("HEAD", "--base", "-b", help="Git revision to compare the working tree with, e.g. origin/main."),
    format: ReviewFormat = typer.Option(ReviewFormat.markdown, "--format", "-f"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report here (refuses to overwrite without --force)."),
    force: bool = typer.Option(False, "--force", help="Overwrite --output if it exists."),
):
    """Per affected site: create / update / replace / delete counts, protected and GPU resources, capacity,
    power and policy results, against a git base. Unchanged sites fold into one line."""
    from .review import render_markdown, review

    try:
        refuse_overwrite(output, force)
        result = review(project_root(), base, list(sites or []))
    except SitekitError as exc:
        fail(exc)
    text = json.dumps(result.to_dict(), indent=2, sort_keys=True, default=str) + "\n" \
        if format is ReviewFormat.json else render_markdown(result)
    if output is None:
        sys.stdout.write(text)
        return
    output.write_text(text, encoding="utf-8")
