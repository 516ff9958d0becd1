"""Snapshots of sites on one side of a review, each planned only by that side's code, in parallel, cached.

A side's sites are planned by `sitekit/snapshot.py` in fresh interpreters started with `python -S`: the path is
the tree first, then the installed libraries' folders, and no `.pth` file is read, so the editable install of
the working tree cannot lend the base a module it lacks. Sites are split over `jobs` worker processes.

The cache (outside the work tree: $SITEKIT_CACHE_DIR, else $XDG_CACHE_HOME/sitekit, else ~/.cache/sitekit) keeps
one snapshot per content hash of everything it depends on: the site's stack file and profile, the baseline,
catalog, templates, policy pack, the tree's sitekit sources, the snapshot driver, and the installed pulumi,
pulumi_oci and pulumi_policy versions. An entry whose key, format or site does not match, or that does not
parse, is rebuilt and overwritten, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import site as site_module
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from .. import snapshot as snapshot_module
from .git import sites_in

CACHE_FORMAT = 2
SHARED_INPUTS = ("Pulumi.yaml", "__main__.py", "stacks/baseline.yaml", "stacks/catalog", "templates", "policies",
                 "sitekit")
_BOOT = ("import runpy, sys; tree, driver = sys.argv[1], sys.argv[2]; "
         "sys.path[:0] = [tree]; sys.path.extend({libs!r}); del sys.argv[1:3]; "
         "runpy.run_path(driver, run_name='__main__')")


def cache_dir() -> Path:
    explicit = os.environ.get("SITEKIT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sitekit"


def _libraries() -> list[str]:
    """The installed libraries' folders, without the tree of any editable install."""
    return [p for p in site_module.getsitepackages() if Path(p).is_dir()]


def _versions() -> str:
    parts = [sys.version.split()[0]]
    for name in ("pulumi", "pulumi_oci", "pulumi_policy", "pydantic", "PyYAML", "Jinja2"):
        try:
            parts.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name}=none")
    return ";".join(parts)


def _hash_paths(tree: Path, paths: list[str], digest) -> None:
    for rel in paths:
        path = tree / rel
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts) \
            if path.is_dir() else ([path] if path.is_file() else [])
        for f in files:
            digest.update(str(f.relative_to(tree)).encode() + b"\0")
            digest.update(hashlib.sha256(f.read_bytes()).digest())


class SideKeys:
    """Cache keys of a tree's sites: the shared inputs are hashed once per tree."""

    def __init__(self, tree: Path):
        self.tree = tree
        shared = hashlib.sha256()
        shared.update(f"format={CACHE_FORMAT};{_versions()}".encode())
        shared.update(Path(snapshot_module.__file__).read_bytes())  # the driver that writes the snapshot
        _hash_paths(tree, list(SHARED_INPUTS), shared)
        self.shared = shared.hexdigest()
        self.codes = sites_in(tree)

    def key(self, site: str) -> str:
        digest = hashlib.sha256(self.shared.encode())
        files = [f"stacks/Pulumi.{site}.yaml"]
        code = self.codes.get(site)
        if code:
            files.append(f"stacks/jurisdictions/{code}.yaml")
        _hash_paths(self.tree, files, digest)
        digest.update(site.encode())
        return digest.hexdigest()


class Cache:
    def __init__(self, folder: Path | None, kind: str):
        self.folder = folder / kind if folder is not None else None

    def get(self, key: str, site: str) -> dict[str, Any] | None:
        if self.folder is None:
            return None
        path = self.folder / f"{key}.json"
        try:
            entry = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or entry.get("format") != CACHE_FORMAT:
            return None
        value = entry.get("value")
        if not isinstance(value, dict) or value.get("site") != site:
            return None
        return value

    def put(self, key: str, value: dict[str, Any]) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump({"key": key, "format": CACHE_FORMAT, "value": value}, fh, sort_keys=True, default=str)
        os.replace(tmp, self.folder / f"{key}.json")


def _run_chunk(tree: Path, sites: list[str], on_done: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    boot = _BOOT.format(libs=_libraries())
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", str(tree)),
           "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
    proc = subprocess.Popen([sys.executable, "-S", "-c", boot, str(tree), snapshot_module.__file__, str(tree), *sites],
                            cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    errors: list[str] = []

    def read_stderr():
        for line in proc.stderr:
            if line.startswith("done "):
                on_done(line[5:].strip())
            else:
                errors.append(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    out = {}
    for line in proc.stdout:
        if line.strip():
            snap = json.loads(line)
            out[snap["site"]] = snap
    proc.wait()
    reader.join()
    if proc.returncode != 0 or set(out) != set(sites):
        last = "".join(errors).strip().splitlines()[-1:] or ["no output"]
        for s in sites:
            out.setdefault(s, {"site": s, "resources": [], "outputs": {}, "policy": None,
                               "error": f"could not be planned by this tree's code: {last[0]}", "errorKind": "other"})
    return out


def snapshot_side(tree: Path, sites: list[str], jobs: int, cache: Cache,
                  on_done: Callable[[str], None] = lambda s: None) -> dict[str, dict[str, Any]]:
    """{site: snapshot} for `sites` of `tree`, from the cache where it holds them, else planned in parallel."""
    if not sites:
        return {}
    keys = SideKeys(tree)
    out: dict[str, dict[str, Any]] = {}
    todo = []
    for site in sites:
        hit = cache.get(keys.key(site), site)
        if hit is not None:
            out[site] = hit
            on_done(site)
        else:
            todo.append(site)
    if todo:
        jobs = max(1, min(jobs, len(todo)))
        chunks = [todo[i::jobs] for i in range(jobs)]
        with ThreadPoolExecutor(jobs) as pool:
            for result in pool.map(lambda chunk: _run_chunk(tree, chunk, on_done), chunks):
                for site, snap in result.items():
                    out[site] = snap
                    if not snap.get("error"):
                        cache.put(keys.key(site), snap)
    return out
