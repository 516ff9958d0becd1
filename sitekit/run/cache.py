"""The content-hash cache of plans and review snapshots, outside the work tree.

Where: $SITEKIT_CACHE_DIR, else $XDG_CACHE_HOME/sitekit, else ~/.cache/sitekit. One JSON file per entry, named by
the content hash of everything the value depends on (`SideKeys`: the site's stack file and profile, its peers'
stack files, every site's supernet, the baseline, catalog, templates, policy pack, the tree's sitekit sources, the snapshot driver, and the installed
pulumi, pulumi_oci, pulumi_policy, pydantic, PyYAML and Jinja2 versions). An entry whose key, format or site
does not match, or that does not parse, is rebuilt and overwritten, never trusted. Writes are atomic.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from sitekit.atomic import write_atomic
from sitekit.errors import SpecError
from sitekit.git import SiteFacts
from sitekit.run import snapshot as snapshot_module
from sitekit.spec.sources import load_yaml
from sitekit.spec.stackfiles import declared_plans


def stack_facts(tree: Path) -> dict[str, SiteFacts]:
    """{site: (jurisdiction code, peers named, supernets declared)} for every stack file in a tree, read
    leniently through the bounded reader (a file sitekit refuses holds none of these here; loading the site
    reports why). What a site's load reads of other sites' files: peers' files whole, every supernet."""

    out = {}
    for path in sorted((tree / "stacks").glob("Pulumi.*.yaml")):
        site = path.name[len("Pulumi."):-len(".yaml")]
        try:
            config = load_yaml(path)[0].get("config")
        except SpecError:
            config = None
        values = {k.removeprefix("sitekit:"): v for k, v in config.items()} if isinstance(config, dict) else {}
        code = values.get("jurisdiction")
        peers = values.get("peers") if isinstance(values.get("peers"), list) else []
        out[site] = (code if isinstance(code, str) else None,
                     tuple(str(p.get("site")) for p in peers if isinstance(p, dict)),
                     tuple(str(plan.get("supernet")) for plan in declared_plans(values).values()
                           if isinstance(plan, dict)))
    return out


CACHE_FORMAT = 2
SHARED_INPUTS = ("Pulumi.yaml", "__main__.py", "stacks/baseline.yaml", "stacks/catalog", "templates", "policies",
                 "sitekit")


def cache_dir() -> Path:
    explicit = os.environ.get("SITEKIT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sitekit"


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
        if not (tree / "sitekit").is_dir():  # a project using the installed sitekit: its code is an input too
            _hash_paths(Path(__file__).resolve().parents[2], ["sitekit"], shared)
        self.facts = stack_facts(tree)
        # every site's load checks its block against every other site's, and that its peers exist
        shared.update(json.dumps(sorted((s, f[2]) for s, f in self.facts.items())).encode())
        self.shared = shared.hexdigest()

    def key(self, site: str) -> str:
        """The site's key: the shared inputs, its stack file and profile, and its peers' stack files (their
        ranges, region, jurisdiction and peers shape its plan and its checks)."""
        digest = hashlib.sha256(self.shared.encode())
        code, peers, _ = self.facts.get(site, (None, (), ()))
        files = [f"stacks/Pulumi.{site}.yaml"] + [f"stacks/Pulumi.{p}.yaml" for p in sorted(set(peers))]
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
        write_atomic(self.folder / f"{key}.json",
                     json.dumps({"key": key, "format": CACHE_FORMAT, "value": value}, sort_keys=True, default=str))


