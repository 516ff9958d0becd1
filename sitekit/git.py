"""Git for review: the base commit (the merge base by default), a copy of its tree, what changed since, and
which sites that touches. Nothing here writes to the user's repository or working tree."""

from __future__ import annotations

import re
import subprocess
import tarfile
from ipaddress import IPv4Network
from pathlib import Path
from typing import Iterable, Mapping

from sitekit.errors import Problem, SitekitError, SpecError

# Files whose change can affect every site; a stack file affects its own site, a profile its sites.
GLOBAL_PATHS = ("stacks/", "sitekit/", "templates/", "policies/", "__main__.py", "Pulumi.yaml", "pyproject.toml")
PINNED = ("pulumi", "pulumi-oci", "pulumi-policy")
SiteFacts = tuple[str | None, tuple[str, ...], tuple[str, ...]]
"""What a site's stack file says that other sites read: (jurisdiction code, peers named, supernets declared)."""


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SpecError([Problem("git", None, "", f"git {' '.join(args)}: {done.stderr.strip() or 'failed'}")])
    return done.stdout


def resolve(root: Path, rev: str) -> str:
    return _git(root, "rev-parse", "--verify", f"{rev}^{{commit}}").strip()


def merge_base(root: Path, rev: str) -> str:
    """The commit the current branch forked from `rev`: what a pull request is compared against, so a stale
    branch does not show other people's later changes as reversed."""
    return _git(root, "merge-base", resolve(root, rev), "HEAD").strip()


def head_commit(root: Path) -> str:
    return resolve(root, "HEAD")


def is_dirty(root: Path) -> bool:
    return bool(_git(root, "status", "--porcelain", "--untracked-files=normal").strip())


def _as_committed(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
    """tarfile's `data` filter, except that a symbolic link is written as committed, wherever it points
    (absolute, out of the tree, dangling): the `data` filter refuses those, and one in the base would stop
    every review. Safe: the link itself must land inside `dest` (`tar_filter`'s check), and every other member
    still passes the `data` filter, whose check follows links already written, so nothing is written through
    one (git trees hold nothing beneath a link anyway)."""
    if member.issym():
        return tarfile.tar_filter(member, dest).replace(uid=None, gid=None, uname=None, gname=None, deep=False)
    return tarfile.data_filter(member, dest)


def export_tree(root: Path, commit: str, into: Path) -> Path:
    """The tree of `commit`, written by git into `into/tree` (git archive; the work tree is not touched),
    symbolic links included as committed."""
    archive = into / "base.tar"
    with archive.open("wb") as fh:
        done = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", commit], stdout=fh)
    if done.returncode != 0:
        raise SitekitError(f"git archive {commit} failed")
    with tarfile.open(archive) as tar:
        tar.extractall(into / "tree", filter=_as_committed)
    archive.unlink()
    return into / "tree"


def changed_files(root: Path, commit: str) -> list[str]:
    """Files that differ between `commit` and the working tree (untracked files included)."""
    diff = _git(root, "diff", "--name-only", commit, "--", ".").split()
    untracked = _git(root, "ls-files", "--others", "--exclude-standard").split()
    return sorted(set(diff) | set(untracked))


def _supernets(facts: SiteFacts | None) -> list[IPv4Network]:
    out = []
    for text in facts[2] if facts else ():
        try:
            out.append(IPv4Network(text))
        except ValueError:
            continue  # the site's own load reports it; no other site reads it (`site_supernets` skips it)
    return out


def affected_sites(files: Iterable[str], base: Mapping[str, SiteFacts], head: Mapping[str, SiteFacts]) -> list[str]:
    """Sites a change touches (see `affected_causes`)."""
    return sorted(affected_causes(files, base, head))


def affected_causes(files: Iterable[str], base: Mapping[str, SiteFacts],
                    head: Mapping[str, SiteFacts]) -> dict[str, str]:
    """{site: why the change touches it}: its stack file, its jurisdiction's profile, anything every site uses,
    and what a site's load reads of other sites. That is, on either side: the stack file of each site it names as
    a peer (their ranges, region, jurisdiction and peers shape its routes, rules and checks; a peer deleted or
    added too), and the supernet of every other site, checked against its own: a site is affected by another's
    stack file when their supernets (either side's) overlap, the only case in which that check's verdict can
    change. The first cause in that order is the one given."""
    stack: dict[str, str] = {}  # sites whose stack file is added, edited or removed
    profile: dict[str, str] = {}
    shared: str | None = None
    everything = set(base) | set(head)
    for f in files:
        m = re.fullmatch(r"stacks/Pulumi\.(.+)\.yaml", f)
        j = re.fullmatch(r"stacks/jurisdictions/(.+)\.yaml", f)
        if m:
            stack.setdefault(m.group(1), f"its stack file changed ({f})")
        elif j:
            for site in {s for side in (base, head) for s, facts in side.items() if facts[0] == j.group(1)}:
                profile.setdefault(site, f"its jurisdiction's profile changed ({f})")
        elif f.startswith(GLOBAL_PATHS) and shared is None:
            shared = f"a file every site uses changed ({f})"
    others: dict[str, str] = {}
    moved = [(s, net) for s in stack for side in (base, head) for net in _supernets(side.get(s))]
    for side in (base, head):
        for site, facts in side.items():
            peers = sorted(set(stack) & set(facts[1]))
            overlaps = sorted({s for s, b in moved if s != site and any(a.overlaps(b) for a in _supernets(facts))})
            if peers:
                others.setdefault(site, f"the stack file of its peer {', '.join(peers)} changed")
            elif overlaps:
                others.setdefault(site, f"its supernet overlaps that of {', '.join(overlaps)}, whose stack file changed")
    causes = {s: shared for s in everything} if shared else {}
    return dict(sorted({**causes, **others, **profile, **stack}.items()))


def pinned_versions(tree: Path) -> dict[str, str]:
    """The versions pyproject.toml pins for the Pulumi SDK, the OCI provider SDK and the policy SDK."""
    path = tree / "pyproject.toml"
    if not path.exists():
        return {}
    out = {}
    for name in PINNED:
        m = re.search(rf'"{re.escape(name)}\s*([=<>!~]=?[^"]+)"', path.read_text())
        if m:
            out[name] = m.group(1).strip()
    return out
