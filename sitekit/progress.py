"""Progress of long runs on stderr: a bar (done / total, elapsed) on a terminal, plain lines elsewhere (CI)."""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bar


class Progress:
    def __init__(self, label: str, total: int, enabled: bool = True):
        self.label, self.total, self.done = label, total, 0
        self.start = time.monotonic()
        self.enabled = enabled and total > 0
        self._lock = threading.Lock()
        self._bar = None
        self._task = None
        if self.enabled and sys.stderr.isatty():

            self._bar = Bar(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            transient=True, console=None)
            self._bar.start()
            self._task = self._bar.add_task(label, total=total)

    def advance(self, what: str = "") -> None:
        with self._lock:
            self.done += 1
            if not self.enabled:
                return
            if self._bar is not None:
                self._bar.update(self._task, advance=1, description=f"{self.label} {what}".rstrip())
            else:
                sys.stderr.write(f"sitekit: {self.label}: {self.done}/{self.total}"
                                 f"{' ' + what if what else ''} ({time.monotonic() - self.start:.1f} s)\n")
                sys.stderr.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


@contextmanager
def progress(label: str, total: int, enabled: bool = True) -> Iterator[Progress]:
    bar = Progress(label, total, enabled)
    try:
        yield bar
    finally:
        bar.close()
