"""Capacity over time from git: GPUs and MW per site at each of the last N commits (HEAD's first parents).

For each commit, that commit's stack files, profiles, baseline and catalog are read from git (`git ls-tree`,
`git cat-file --batch`; the work tree and the index are never touched) into a scratch folder and loaded by
today's loader, so the numbers are today's arithmetic over that day's data. A site that does not load there
(a file an older sitekit wrote in another format, a broken commit) is skipped at that commit, with its first
three problems kept as the reason. A site is loaded once per distinct content (its stack file and the files
every site shares) and the result is kept in the plan cache folder under the hash of that content and of
sitekit's own sources, so an unchanged site costs nothing on the next run. Uncommitted changes are not
history: the rest of the report shows the work tree.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitekit.errors import SitekitError, SpecError
from sitekit.run.cache import Cache, cache_dir
from sitekit.spec.loader import load_site
from sitekit.spec.validate import site_power

SHARED = ("stacks/baseline.yaml", "stacks/jurisdictions/", "stacks/catalog/")
STACK = re.compile(r"stacks/Pulumi\.(.+)\.yaml")
HISTORY_FORMAT = 1


@dataclass(frozen=True)
class Commit:
    sha: str
    short: str
    date: str
    subject: str


@dataclass(frozen=True)
class Point:
    gpus: int
    it_mw: float
    facility_mw: float
    envelope_mw: float

    def to_dict(self) -> dict[str, Any]:
        return {"gpus": self.gpus, "itMw": self.it_mw, "facilityMw": self.facility_mw, "envelopeMw": self.envelope_mw}


@dataclass
class History:
    commits: list[Commit] = field(default_factory=list)
    """Oldest first."""
    points: dict[str, list[Point | None]] = field(default_factory=dict)
    """Site -> one value per commit; None where the site is absent or does not load."""
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    """(site, short commit, why it did not load there)."""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"commits": [{"sha": c.sha, "date": c.date, "subject": c.subject} for c in self.commits],
                "sites": {s: [p.to_dict() if p else None for p in pts] for s, pts in sorted(self.points.items())},
                "skipped": [{"site": s, "commit": c, "reason": r} for s, c, r in self.skipped], "note": self.note}


def _git(root: Path, *args: str, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(["git", "-C", str(root), *args], input=stdin, capture_output=True)
    if done.returncode != 0:
        raise SitekitError(f"git {' '.join(args)}: {done.stderr.decode(errors='replace').strip() or 'failed'}")
    return done.stdout


def last_commits(root: Path, n: int) -> list[Commit]:
    out = _git(root, "log", "--first-parent", f"-n{n}", "--format=%H%x1f%h%x1f%cs%x1f%s%x1e", "HEAD")
    commits = []
    for record in out.decode(errors="replace").split("\x1e"):
        parts = record.strip("\n").split("\x1f")
        if len(parts) == 4:
            commits.append(Commit(*parts))
    return commits[::-1]


def tree_files(root: Path, commit: str, prefix: str) -> dict[str, str]:
    """{path below the project: blob id} of the commit's stacks/ folder."""
    out = _git(root, "ls-tree", "-r", "-z", "--full-tree", commit, "--", f"{prefix}stacks")
    files = {}
    for entry in out.decode(errors="replace").split("\0"):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob" and path.startswith(prefix):
            files[path[len(prefix):]] = parts[2]
    return files


def read_blobs(root: Path, blobs: list[str]) -> dict[str, bytes]:
    """The content of each blob, in one `git cat-file --batch`."""
    if not blobs:
        return {}
    out = _git(root, "cat-file", "--batch", stdin="".join(f"{b}\n" for b in blobs).encode())
    found, pos = {}, 0
    for blob in blobs:
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        if len(header) != 3:
            raise SitekitError(f"git cat-file: unexpected answer for {blob}: {out[pos:end]!r}")
        size = int(header[2])
        found[blob] = out[end + 1:end + 1 + size]
        pos = end + 1 + size + 1
    return found


def _code_hash() -> str:
    """Sitekit's own sources: a cached value is only reused by the code that computed it."""
    digest = hashlib.sha256(f"history={HISTORY_FORMAT}".encode())
    package = Path(__file__).resolve().parent.parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def load_point(tree: Path, site: str) -> Point | str:
    """The site's capacity as today's loader reads the tree, or why it does not load."""

    try:
        loaded = load_site(tree, site)
    except SpecError as exc:
        more = f"; and {len(exc.problems) - 3} more" if len(exc.problems) > 3 else ""
        return "; ".join(str(p) for p in exc.problems[:3]) + more if exc.problems else "does not load"
    except Exception as exc:  # noqa: BLE001 - an old commit may hold anything; it is skipped, with the reason
        return f"does not load: {exc!r}"
    power = site_power(loaded.spec, loaded.catalog)
    return Point(power.gpus, power.it_mw, power.facility_mw, power.envelope_mw)


def _keys(code: str, files: dict[str, str]) -> dict[str, str]:
    """{content key: site} of a commit's sites: sitekit's code, the files every site shares, the stack file. A
    point is the site's own GPUs and MW, which no other site's file changes; a skip reason naming a peer or an
    overlap may be an earlier commit's for the same site file."""
    shared = hashlib.sha256(json.dumps(sorted((p, b) for p, b in files.items() if p.startswith(SHARED)))
                            .encode()).hexdigest()
    return {hashlib.sha256(f"{code}\0{shared}\0{m.group(1)}\0{blob}".encode()).hexdigest(): m.group(1)
            for p, blob in files.items() if (m := STACK.fullmatch(p))}


def capacity_history(root: Path, n: int = 20, use_cache: bool = True, now: dict[str, Point] | None = None) -> History:
    """GPUs and MW per site at each of the last `n` commits of the repository holding `root`. `now` holds the
    work tree's values ({site: Point}, computed by the caller anyway); when stacks/ has no uncommitted change
    they are HEAD's, and every older version equal to HEAD's is taken from them instead of loaded again."""

    root = root.resolve()
    try:
        prefix = _git(root, "rev-parse", "--show-prefix").decode().strip()
        commits = last_commits(root, n)
    except SitekitError:
        return History(note="not a git repository with commits: no history")
    cache = Cache(cache_dir() if use_cache else None, "history")
    code = _code_hash()
    history = History(commits=commits)
    known: dict[str, Point | str] = {}
    contents: dict[str, bytes] = {}
    if now and commits and not _git(root, "status", "--porcelain", "--", "stacks").strip():
        for key, site in _keys(code, tree_files(root, commits[-1].sha, prefix)).items():
            if site in now:
                known[key] = now[site]
    with tempfile.TemporaryDirectory(prefix="sitekit-history-") as scratch:
        for i, commit in enumerate(commits):
            files = tree_files(root, commit.sha, prefix)
            keys = {site: key for key, site in _keys(code, files).items()}
            for site, key in keys.items():
                if key not in known and (hit := cache.get(key, site)) is not None:
                    known[key] = Point(**hit["point"]) if "point" in hit else hit["skipped"]
            todo = [site for site, key in keys.items() if key not in known]
            if todo:
                tree = Path(scratch) / commit.sha
                contents.update(read_blobs(root, sorted({b for b in files.values() if b not in contents})))
                for path, blob in files.items():
                    target = tree / path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(contents[blob])
                for site in todo:
                    value = load_point(tree, site)
                    known[keys[site]] = value
                    cache.put(keys[site], {"site": site, **({"point": value.__dict__} if isinstance(value, Point)
                                                            else {"skipped": value})})
            for site, key in keys.items():
                value = known[key]
                row = history.points.setdefault(site, [None] * len(commits))
                if isinstance(value, Point):
                    row[i] = value
                else:
                    history.skipped.append((site, commit.short, value))
    return history
