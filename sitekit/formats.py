"""Output formats: one registry per report, as Checkov keeps its output writers. A format is a name, one line
saying what it is for (the CLI's `--help` lists them) and the function that renders the report in it; a new
format is a renderer, a registry line and a test.

A renderer is named by `module:function` and imported only when its format is asked for, so a registry costs
nothing to import: the CLI builds every `--format` option from the registries at start without importing a
renderer (the policy renderers alone pull in the rules and the pack's SDK). A renderer either returns the
report as text (`render(data) -> str`) or, for a rich table, prints it to a console (`show(data, console)`).
The registries themselves are in `sitekit/cli/formats.py`, above every renderer they name.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping


@dataclass(frozen=True)
class Format:
    name: str
    help: str
    """What the format is for, in a few words (shown by `--help`)."""
    renderer: str
    """`module:function`: `function(data) -> str`, or `function(data, console) -> None` when `console`."""
    console: bool = False
    """The renderer prints to a rich console (a table for people) instead of returning text."""

    def load(self) -> Callable[..., Any]:
        module, _, function = self.renderer.partition(":")
        return getattr(importlib.import_module(module), function)

    def render(self, data: Any) -> str:
        """The report as text (only for a format that returns text)."""
        if self.console:
            raise TypeError(f"format '{self.name}' prints to a console; call show()")
        return self.load()(data)

    def show(self, data: Any, console: Any) -> None:
        """The report printed to a rich console (only for a console format)."""
        if not self.console:
            raise TypeError(f"format '{self.name}' returns text; call render()")
        self.load()(data, console)


class Formats(Mapping[str, Format]):
    """The formats of one report, in the order `--help` lists them; the first is the default unless named."""

    def __init__(self, report: str, *formats: Format, default: str | None = None) -> None:
        self.report = report
        self._formats = {f.name: f for f in formats}
        if len(self._formats) != len(formats):
            raise ValueError(f"{report}: a format name is registered twice")
        self.default = default or formats[0].name
        if self.default not in self._formats:
            raise ValueError(f"{report}: the default format '{self.default}' is not registered")

    def __getitem__(self, name: str) -> Format:
        return self._formats[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._formats)

    def __len__(self) -> int:
        return len(self._formats)

    def help(self) -> str:
        """One line for `--help`: every format with what it is for."""
        return "; ".join(f"{f.name}: {f.help}" for f in self._formats.values()) + "."

    def __repr__(self) -> str:
        return f"Formats({self.report!r}: {', '.join(self._formats)})"

