"""Writing files sitekit generates: whole or not at all, and never over an existing file unless asked."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str, *, overwrite: bool = True) -> None:
    """Write `text` to `path` through a temporary file in the same folder; without `overwrite`, refuse (raise
    FileExistsError) when `path` exists, even if it appears while writing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # atomic and fails if the target exists
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
