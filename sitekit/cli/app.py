"""What every `sitekit` command shares: the Typer app, the consoles, the options written once, bad-input exits.

Each command module (`cli/sites.py`, `policy.py`, `review.py`, `fleet.py`, `stamp.py`) imports this one and
registers its commands on `app`; `cli/main.py` assembles them. Nothing here imports a command module.

Exit codes: 0 ok; 2 bad input (one line per problem, `file:line: dotted.key: what is wrong`); 1 anything else.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, List, Literal, Optional

import typer
from rich.console import Console

from sitekit import ROOT
from sitekit.errors import Problem, SitekitError, SpecError, nearest
from sitekit.formats import Format, Formats
from sitekit.spec.layout import list_sites, stack_file

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Plan, check and stamp standard AI sites on Oracle Cloud.")
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)


# The options several commands take, written once (a command names them as `jobs: Jobs = None`).
Sites = Annotated[Optional[List[str]], typer.Argument(help="Site (stack) names, e.g. us-ashburn.")]
AllSites = Annotated[bool, typer.Option("--all", help="Every site in stacks/.")]
Jobs = Annotated[Optional[int], typer.Option("--jobs", "-j", min=1,
                                             help="Worker processes for several sites (default: the core count).")]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Plan every site again, ignoring the plan cache.")]
NoProgress = Annotated[bool, typer.Option("--no-progress", help="No progress output on stderr.")]
Output = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the report to this file (refuses to "
                                                                        "overwrite one without --force).")]
Force = Annotated[bool, typer.Option("--force", help="Overwrite the file this command writes, if it exists.")]


def format_option(formats: Formats) -> Any:
    """The `--format/-f` option of a report: its choices are the names in the report's registry
    (sitekit/cli/formats.py), its help their lines. A command names it as `format: PolicyFormat = POLICY.default`
    after `PolicyFormat = format_option(POLICY)`; the value is a format's name."""
    return Annotated[Literal[tuple(formats)], typer.Option("--format", "-f", help=formats.help())]


def emit(fmt: Format, data: Any, output: Optional[Path] = None) -> None:
    """A report in the chosen format, on stdout (a console format on the shared console) or into `output`."""
    if fmt.console:
        if output is None:
            fmt.show(data, out)
        else:
            with output.open("w", encoding="utf-8") as fh:
                fmt.show(data, Console(file=fh, width=200, soft_wrap=True))
        return
    text = fmt.render(data)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def project_root() -> Path:
    """The project a command acts on: the nearest folder above the working directory with a Pulumi.yaml
    of project 'sitekit' and a stacks/ folder, else the installed checkout."""
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / "Pulumi.yaml").exists() and (folder / "stacks").is_dir():
            return folder
    return ROOT


def fail(exc: SitekitError) -> None:
    if isinstance(exc, SpecError):
        for problem in exc.problems:
            err.print(str(problem), markup=False, highlight=False)
    else:
        err.print(f"error: {exc}", markup=False, highlight=False)
    raise typer.Exit(exc.exit_code)


def refuse_overwrite(path: Optional[Path], force: bool) -> None:
    """sitekit never overwrites a user's file unless told to (--force)."""
    if path is not None and path.exists() and not force:
        raise SpecError([Problem(str(path), None, "", "file exists; pass --force to overwrite it")])


def chosen_sites(root: Path, sites: Optional[List[str]], all_sites: bool) -> list[str]:
    """The sites a command acts on (`SITE...` or `--all`), each checked to exist; a SpecError when none is named."""
    names = list_sites(root) if all_sites else list(dict.fromkeys(sites or []))
    if not names:
        raise SpecError([Problem("", None, "", "name a site, or use --all")])
    for name in names:
        check_site_name(root, name)
    return names


def check_site_name(root: Path, site: str) -> None:

    sites = list_sites(root)
    if site not in sites:
        raise SpecError([Problem(stack_file(site), None, "", f"no such site; {nearest(site, sites)}")])
