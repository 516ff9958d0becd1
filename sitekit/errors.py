"""One error base class for sitekit, and the problem records that bad input produces.

A `SpecError` carries every problem found in a spec at once; the CLI prints one line per problem,
``file:line: dotted.key: what is wrong``, and exits 2. Anything else that goes wrong is a `SitekitError`
(exit 1).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterable


class SitekitError(Exception):
    """Base class of every error sitekit raises on purpose."""

    exit_code = 1


def clip(text: str, most: int = 60) -> str:
    """`text`, cut to `most` characters with "..." when longer (for quoting a value in a message)."""
    return text if len(text) <= most else text[: most - 3] + "..."


MAX_LINE = 1_000
"""The longest line a problem prints as. Messages quote values clipped (`clip`); a file name, key or message
past its share of this (a 100,000-character key, a path given on the command line) is clipped too."""


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input: where it is (file, line, dotted key) and what is wrong."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        file = clip(_printable(self.file), 200)
        where = f"{file}:{self.line}" if self.line else file
        key = f" {clip(_printable(self.key), 200)}:" if self.key else ""
        return f"{where}:{key} {clip(_printable(self.message), MAX_LINE - len(where) - len(key) - 2)}"


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _printable(text: str) -> str:
    """One line, whatever the input held: control characters (a newline in a quoted key) are escaped."""
    return _CONTROL.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


class SpecError(SitekitError):
    """Bad input: one or more problems, reported together (exit code 2)."""

    exit_code = 2

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.key, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


def nearest(word: str, choices: Iterable[str]) -> str:
    """A hint naming the closest allowed value, or listing the allowed values when none is close."""
    choices = sorted(set(choices))
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    shown = ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
    return f"allowed: {shown}"
