"""The content-hash cache of plans, policy results and review snapshots, outside the work tree.

Where: $SITEKIT_CACHE_DIR, else $XDG_CACHE_HOME/sitekit, else ~/.cache/sitekit; created private (0700), refused
when another user owns it (whoever can write there could plant entries), narrowed to 0700 when it is ours and
open wider (`private_dir`). One JSON file per entry, named by the content hash of everything the value depends on
(`SideKeys`: the site's stack file and profile, its peers' stack files, every site's supernet, the baseline,
catalog, templates, policy pack, the tree's sitekit sources, the snapshot driver, and the installed pulumi,
pulumi_oci, pulumi_policy, pydantic, PyYAML and Jinja2 versions).

Checked on read: an entry carries its key, what it was computed from (`inputs`: the site, and for a policy result
the plan's key, the date and the configuration) and a digest of the three with its value. An entry that is not
ours, does not parse, is of another format, is filed under another key, was computed from other inputs, or does
not match its digest is rebuilt and overwritten, never trusted, and said on stderr. The digest catches damage and
edits, not a forger who recomputes it: that is what the private directory is for. Writes are atomic.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from sitekit.atomic import write_atomic
from sitekit.errors import SitekitError, SpecError
from sitekit.git import SiteFacts
from sitekit.run import snapshot as snapshot_module
from sitekit.spec.layout import list_jurisdictions
from sitekit.spec.sources import load_project_yaml
from sitekit.spec.stackfiles import declared_plans


def stack_facts(tree: Path) -> dict[str, SiteFacts]:
    """{site: (jurisdiction code, peers named, supernets declared)} for every stack file in a tree, read
    leniently through the bounded reader (a file sitekit refuses holds none of these here; loading the site
    reports why). What a site's load reads of other sites' files: peers' files whole, every supernet."""

    out = {}
    for path in sorted((tree / "stacks").glob("Pulumi.*.yaml")):
        site = path.name[len("Pulumi."):-len(".yaml")]
        try:
            config = load_project_yaml(tree, f"stacks/{path.name}")[0].get("config")
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


CACHE_FORMAT = 3  # 3: entries carry their inputs and a digest
SHARED_INPUTS = ("Pulumi.yaml", "__main__.py", "stacks/baseline.yaml", "stacks/catalog", "templates", "policies",
                 "sitekit")


def say(text: str) -> None:
    """A note on stderr about the cache (an entry rebuilt, the directory narrowed)."""
    sys.stderr.write(f"sitekit: cache: {text}\n")
    sys.stderr.flush()


def private_dir(folder: Path) -> Path:
    """`folder`, created private (0700) when missing; a SitekitError when it is not a directory of this user's
    (another user could plant entries in it); narrowed to 0700, and said, when it is ours and open wider."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.stat()
    except OSError as exc:
        raise SitekitError(f"cache directory {folder}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise SitekitError(f"cache directory {folder} is not a directory of this user's (owner uid {st.st_uid}): "
                           "refused, as anyone who can write there could plant entries; set SITEKIT_CACHE_DIR to a "
                           "directory of yours, or pass --no-cache")
    if st.st_mode & 0o077:
        os.chmod(folder, 0o700)
        say(f"{folder} was open to other users (mode {stat.S_IMODE(st.st_mode):o}): narrowed to 700")
    return folder


def cache_dir() -> Path:
    """The cache's root, private to this user (`private_dir`)."""
    explicit = os.environ.get("SITEKIT_CACHE_DIR")
    if explicit:
        return private_dir(Path(explicit))
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return private_dir(Path(base) / "sitekit")


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


def tree_digest(tree: Path, *paths: str) -> str:
    """A content hash of files of a tree (folders walked, `__pycache__` left out), by path and content."""
    digest = hashlib.sha256()
    _hash_paths(tree, list(paths), digest)
    return digest.hexdigest()


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
        self.codes = set(list_jurisdictions(tree))
        # every site's load checks its block against every other site's, and that its peers exist
        shared.update(json.dumps(sorted((s, f[2]) for s, f in self.facts.items())).encode())
        self.shared = shared.hexdigest()

    def key(self, site: str) -> str:
        """The site's key: the shared inputs, its stack file and profile, and its peers' stack files (their
        ranges, region, jurisdiction and peers shape its plan and its checks). Files are named from the project's
        listings only, never from what a stack file says: a peer or code that is not listed has no file (its
        name, 300 characters long, is no file name either)."""
        digest = hashlib.sha256(self.shared.encode())
        code, peers, _ = self.facts.get(site, (None, (), ()))
        files = [f"stacks/Pulumi.{s}.yaml" for s in [site] + sorted(set(peers) - {site}) if s in self.facts]
        if code in self.codes:
            files.append(f"stacks/jurisdictions/{code}.yaml")
        _hash_paths(self.tree, files, digest)
        digest.update(site.encode())
        return digest.hexdigest()


def _digest(key: str, inputs: dict[str, Any], value: Any) -> str:
    text = json.dumps({"format": CACHE_FORMAT, "key": key, "inputs": inputs, "value": value}, sort_keys=True,
                      default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class Cache:
    """One kind of entry (`plans`, `results`, `snapshots`, `rendered`, `reviews`, `history`) in a private folder of
    the cache."""

    def __init__(self, folder: Path | None, kind: str):
        self.kind = kind
        self.folder = private_dir(folder / kind) if folder is not None else None

    def get(self, key: str, site: str, inputs: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The value filed under `key` for `site`, computed from `inputs` (default: the site alone), or None:
        missing, or rebuilt (see the module's docstring: every mismatch is said)."""
        if self.folder is None:
            return None
        path = self.folder / f"{key}.json"
        expected = {"site": site} | (inputs or {})
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return self._rebuilt(site, f"cannot be read ({exc.strerror or exc})")
        with os.fdopen(fd, encoding="utf-8") as fh:
            if os.fstat(fd).st_uid != os.getuid():
                return self._rebuilt(site, "belongs to another user")
            try:
                entry = json.loads(fh.read())
            except (OSError, ValueError):
                return self._rebuilt(site, "does not parse")
        why = self._mismatch(entry, key, site, expected)
        return self._rebuilt(site, why) if why else entry["value"]

    @staticmethod
    def _mismatch(entry: Any, key: str, site: str, expected: dict[str, Any]) -> str | None:
        if not isinstance(entry, dict) or entry.get("format") != CACHE_FORMAT:
            return "is of another format"
        if entry.get("key") != key:
            return "is filed under a key it was not computed for"
        if entry.get("inputs") != json.loads(json.dumps(expected, default=str)):
            return f"was computed from other inputs ({entry.get('inputs')!r:.200}, not {expected!r:.200})"
        if entry.get("digest") != _digest(key, entry["inputs"], entry.get("value")):
            return "does not match its digest (edited or damaged)"
        value = entry.get("value")
        if not isinstance(value, dict) or value.get("site") != site:
            return "holds another site"
        return None

    def _rebuilt(self, site: str, why: str) -> None:
        say(f"{self.kind} entry for {site} {why}: rebuilt, not trusted")
        return None

    def put(self, key: str, value: dict[str, Any], inputs: dict[str, Any] | None = None) -> None:
        if self.folder is None:
            return
        entry = json.loads(json.dumps({"key": key, "format": CACHE_FORMAT, "value": value,
                                       "inputs": {"site": value.get("site")} | (inputs or {})}, default=str))
        entry["digest"] = _digest(key, entry["inputs"], entry["value"])
        write_atomic(self.folder / f"{key}.json", json.dumps(entry, sort_keys=True))
