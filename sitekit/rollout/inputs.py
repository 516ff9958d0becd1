"""What the rollout planner needs, read from the project and git: the sites a change affects (review's rule) and
why, each site's jurisdiction and the peerings it requests (from its stack file as written), the freezes of
each jurisdiction's profile; and the check that the base is the default branch's tip."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sitekit.errors import Problem, SpecError
from sitekit.git import affected_causes, changed_files, export_tree, resolve
from sitekit.rollout.waves import Node, RolloutRefused, Window
from sitekit.run.cache import stack_facts
from sitekit.spec.layout import list_sites
from sitekit.spec.loader import load_profile
from sitekit.spec.peering import requests
from sitekit.spec.stackfiles import read_stack_values


@dataclass
class Scope:
    """The sites of a rollout and why each is in it; removed sites are named, never destroyed by a rollout."""

    causes: dict[str, str]
    base: str | None = None  # the base commit (None with --all)
    removed: list[str] = field(default_factory=list)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)


def default_branch(root: Path) -> str:
    """The default branch's ref: what origin/HEAD points at, else origin/main, else main."""
    done = _git(root, "symbolic-ref", "--short", "refs/remotes/origin/HEAD")
    if done.returncode == 0 and done.stdout.strip():
        return done.stdout.strip()
    for ref in ("origin/main", "main"):
        if _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0:
            return ref
    return "main"


def check_base(root: Path, base: str | None, branch: str | None, any_base: bool) -> str:
    """The base commit: `base` (default: the default branch's tip), refused when it is not that tip unless
    `any_base` (a rollout compares the tree with what is deployed: the default branch's tip)."""
    branch = branch or default_branch(root)
    tip = resolve(root, branch)
    commit = resolve(root, base) if base else tip
    if commit != tip and not any_base:
        raise RolloutRefused([f"rollout: --base {base} is {commit[:12]}, not the tip of the default branch {branch} "
                              f"({tip[:12]}): a rollout compares with what is deployed; pass --any-base to compare "
                              "with another revision (or --default-branch to name the branch)"])
    return commit


def scope(root: Path, base: str | None = None, every: bool = False, *, branch: str | None = None,
          any_base: bool = False) -> Scope:
    """The sites to roll out: every site (`every`), else those the change from the base to the working tree
    affects, by review's rule."""
    if every:
        return Scope({s: "every site (--all)" for s in list_sites(root)})
    commit = check_base(root, base, branch, any_base)
    with tempfile.TemporaryDirectory(prefix="sitekit-rollout-") as tmp:
        base_sites = stack_facts(export_tree(root, commit, Path(tmp)))
    head_sites = stack_facts(root)
    causes = affected_causes(changed_files(root, commit), base_sites, head_sites)
    removed = sorted(s for s in causes if s not in head_sites)
    return Scope({s: c for s, c in causes.items() if s in head_sites}, commit, removed)


def nodes(root: Path, causes: dict[str, str]) -> dict[str, Node]:
    """{site: Node} for the sites of the rollout: jurisdiction and the accepting ends it waits for, read from
    the stack files as written (the peering's own checks run when the site is planned)."""
    out = {}
    problems: list[Problem] = []
    for site, cause in causes.items():
        try:
            values, _, _ = read_stack_values(root, site)
        except SpecError as exc:
            problems += exc.problems
            continue
        peers = values.get("peers") if isinstance(values.get("peers"), list) else []
        names = {p["site"] for p in peers if isinstance(p, dict) and isinstance(p.get("site"), str)}
        out[site] = Node(site, str(values.get("jurisdiction") or "?"),
                         frozenset(p for p in names if requests(site, p)), cause)
    if problems:
        raise SpecError(problems)
    return out


def freezes(root: Path, codes: set[str]) -> dict[str, tuple[Window, ...]]:
    """{jurisdiction: its freeze windows}, from each profile (validated: a bad entry is bad input)."""
    out = {}
    for code in sorted(codes):
        _, profile = load_profile(root, code)
        out[code] = tuple(Window(f.start, f.end, f.reason) for f in profile.freezes)
    return out
