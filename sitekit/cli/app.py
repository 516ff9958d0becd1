"""What every `sitekit` command shares: the Typer app, the consoles, the options written once, bad-input exits.

Each command module (`cli/sites.py`, `policy.py`, `review.py`, `fleet.py`, `stamp.py`) imports this one and
registers its commands on `app`; `cli/main.py` assembles them. Nothing here imports a command module.

Exit codes: 0 ok; 2 bad input (one line per problem, `file:line: dotted.key: what is wrong`); 1 anything else.

The consoles never convert emoji codes (`:100:` in `file:100:` stays a position) and text a user wrote (a value,
a name, a path) is printed with `markup=False` or as `rich.text.Text`: it is never read as console markup.
Gates fail closed (review, policy, fleet; a rollout command, when it comes, must too): whatever could not be
evaluated is a non-zero exit (2 when the input is at fault, else 1), and a report that is written says so first.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
from pathlib import Path
from typing import Annotated, Any, List, Literal, Optional

import typer
from rich.console import Console

from sitekit import ROOT
from sitekit.errors import Problem, SitekitError, SpecError, clip, nearest
from sitekit.formats import Format, Formats
from sitekit.spec.layout import list_sites, stack_file

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Plan, check and stamp standard AI sites on Oracle Cloud.")
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200, emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False)


# The options several commands take, written once (a command names them as `jobs: Jobs = None`).
Sites = Annotated[Optional[List[str]], typer.Argument(help="Site (stack) names, e.g. us-ashburn.")]
AllSites = Annotated[bool, typer.Option("--all", help="Every site in stacks/.")]
Jobs = Annotated[Optional[int], typer.Option("--jobs", "-j", min=1,
                                             help="Worker processes for several sites (default: the core count).")]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Plan every site again, ignoring the plan cache.")]
NoProgress = Annotated[bool, typer.Option("--no-progress", help="No progress output on stderr.")]
Output = Annotated[Optional[str], typer.Option("--output", "-o", help="Write the report to this file (refuses to "
                                                                       "overwrite one without --force).")]
Force = Annotated[bool, typer.Option("--force", help="Overwrite the file this command writes, if it exists.")]


def format_option(formats: Formats) -> Any:
    """The `--format/-f` option of a report: its choices are the names in the report's registry
    (sitekit/cli/formats.py), its help their lines. A command names it as `format: PolicyFormat = POLICY.default`
    after `PolicyFormat = format_option(POLICY)`; the value is a format's name."""
    return Annotated[Literal[tuple(formats)], typer.Option("--format", "-f", help=formats.help())]


def emit(fmt: Format, data: Any, output: Optional[Path] = None) -> None:
    """A report in the chosen format, on stdout (a console format on the shared console) or into `output`, a
    path `output_file` checked before any work (what the system still refuses is bad input, `write_report`)."""
    if fmt.console and output is None:
        fmt.show(data, out)
        return
    if fmt.console:
        buffer = io.StringIO()
        fmt.show(data, Console(file=buffer, width=200, soft_wrap=True, emoji=False))
        text = buffer.getvalue()
    else:
        text = fmt.render(data)
    if output is None:
        sys.stdout.write(text)
    else:
        write_report(output, text)


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


def _refuse(path: Path | str, option: str, message: str) -> SpecError:
    return SpecError([Problem(str(path) or "sitekit", None, option, message)])


def _status(path: Path, option: str) -> os.stat_result | None:
    """What `path` names, links followed; None when nothing is there. A dangling link, a link loop or a path the
    system cannot take (a name too long, a file where a folder belongs) is refused, naming the path."""
    try:
        return path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise _refuse(path, option, f"a symbolic link to '{clip(os.readlink(path), 200)}', which does not exist; "
                                        "sitekit does not write through a link to nothing") from None
        return None
    except NotADirectoryError:
        parent = next((p for p in path.parents if p.exists() and not p.is_dir()), path.parent)
        raise _refuse(path, option, f"'{clip(str(parent), 200)}' is a file, not a folder") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refuse(path, option, "a symbolic link loop (the link leads back to itself)") from None
        raise _refuse(path, option, f"cannot use this path: {exc.strerror or exc}") from None


_NOT_REGULAR = "not a regular file (a device, pipe or socket); sitekit writes reports to files"


def output_file(text: str | None, option: str, force: bool) -> Path | None:
    """The file a report is written to, checked before any work: not empty, not a folder, a device or a pipe,
    not a link to nothing, in a folder that exists; an existing file only with --force (sitekit never overwrites
    a user's file unless told to). None when no path was given."""
    if text is None:
        return None
    if not text:
        raise _refuse("", option, "an empty path; name the file to write")
    path = Path(text)
    st = _status(path, option)
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise _refuse(path, option, "a folder, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(path, option, _NOT_REGULAR)
        if not force:
            raise _refuse(path, option, "file exists; pass --force to overwrite it")
        return path
    parent = _status(path.parent, option)
    if parent is None:
        raise _refuse(path, option, f"cannot write the report: folder '{clip(str(path.parent), 200)}' does not exist")
    if not stat.S_ISDIR(parent.st_mode):
        raise _refuse(path, option, f"cannot write the report: '{clip(str(path.parent), 200)}' is a file, not a folder")
    return path


def output_folder(text: str, option: str, force: bool, file: str = "index.html") -> Path:
    """The folder a report's `file` is written to, checked before any work: not empty (write `.` for this
    folder), a folder or nothing yet (it is made) below a folder, not a link to nothing; `file` in it as
    `output_file` takes it."""
    path = _folder(text, option, missing_ok=True)
    output_file(str(path / file), option, force)
    return path


def input_folder(text: str, option: str) -> Path:
    """A folder a command reads (a folder of preview files), checked before any work."""
    return _folder(text, option, missing_ok=False)


def _folder(text: str, option: str, missing_ok: bool) -> Path:
    if not text:
        raise _refuse("", option, "an empty folder name; name the folder (`.` for this one)")
    path = Path(text)
    st = _status(path, option)
    if st is None:
        if not missing_ok:
            raise _refuse(path, option, "no such folder")
        above = next((p for p in path.parents if _status(p, option) is not None), Path("."))
        if not above.is_dir():
            raise _refuse(path, option, f"'{clip(str(above), 200)}' is a file, not a folder")
    elif stat.S_ISREG(st.st_mode):
        raise _refuse(path, option, "a file, not a folder")
    elif not stat.S_ISDIR(st.st_mode):
        raise _refuse(path, option, "not a folder (a device, pipe or socket)")
    return path


def write_report(path: Path, text: str) -> None:
    """Write a report `output_file` checked; what the system still refuses (a full disk) is bad input too."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _refuse(path, "--output", f"cannot write the report: {exc.strerror or exc}") from None


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
