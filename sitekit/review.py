"""`sitekit review`: what a change does to every affected site, for pull-request review.

Flow: git base tree and working tree -> affected sites -> a snapshot of each side (offline plan, stack
outputs, policy summary) -> per-site changes (create / update / replace / delete) -> a report.

The base side is planned by the base's own code (a subprocess with the base tree first on the path), so a
change to sitekit itself shows up as a change to the sites. Resources are matched the way the engine would:
by a URN rebuilt from the parent chain (a rename or a re-parent is a delete plus a create). Whether a changed
input replaces the resource is read from pulumi_oci's own docs: an input whose docstring is not marked
"(Updatable)" forces replacement. Nothing here talks to OCI or to the Pulumi engine.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from . import snapshot
from .errors import Problem, SitekitError, SpecError
from .snapshot import snapshot_sites

# Files whose change can affect every site; a stack file affects its own site, a profile its sites.
GLOBAL_PATHS = ("stacks/", "sitekit/", "templates/", "policies/", "__main__.py", "Pulumi.yaml", "pyproject.toml")
GPU_TYPES = frozenset({
    "oci:Core/clusterNetwork:ClusterNetwork", "oci:Core/instanceConfiguration:InstanceConfiguration",
    "oci:Core/computeCluster:ComputeCluster", "oci:Core/computeGpuMemoryCluster:ComputeGpuMemoryCluster",
    "oci:ContainerEngine/nodePool:NodePool",
})
COMMENT_LIMIT = 64_000  # what a pull-request comment holds, with room to spare for the notice


# ------------------------------------------------------------------------------------------- snapshots
def engine_urns(resources: list[dict[str, Any]], stack: str) -> dict[str, str]:
    """Mock URN -> the URN the engine would give: the qualified type is the parent chain's types."""
    by_urn = {r["urn"]: r for r in resources}

    @functools.lru_cache(maxsize=None)
    def chain(urn: str) -> str:
        r = by_urn[urn]
        parent = r.get("parent")
        return f"{chain(parent)}${r['type']}" if parent in by_urn else r["type"]

    return {u: f"urn:pulumi:{stack}::sitekit::{chain(u)}::{r['name']}" for u, r in by_urn.items()}


# ------------------------------------------------------------------------------------------- git
def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SpecError([Problem("git", None, "", f"git {' '.join(args)}: {done.stderr.strip() or 'failed'}")])
    return done.stdout


def base_tree(root: Path, rev: str, into: Path) -> str:
    """Extract the tree of `rev` into `into`; return the full commit id."""
    commit = _git(root, "rev-parse", "--verify", f"{rev}^{{commit}}").strip()
    archive = into / "base.tar"
    with archive.open("wb") as fh:
        done = subprocess.run(["git", "-C", str(root), "archive", "--format=tar", commit], stdout=fh)
    if done.returncode != 0:
        raise SitekitError(f"git archive {commit} failed")
    with tarfile.open(archive) as tar:
        tar.extractall(into / "tree", filter="data")
    return commit


def changed_files(root: Path, commit: str) -> list[str]:
    """Files that differ between `commit` and the working tree (untracked files included)."""
    diff = _git(root, "diff", "--name-only", commit, "--", ".").split()
    untracked = _git(root, "ls-files", "--others", "--exclude-standard").split()
    return sorted(set(diff) | set(untracked))


def _sites_in(root: Path) -> dict[str, str | None]:
    """{site: jurisdiction code or None} for every stack file in a tree, read leniently (a file sitekit
    refuses names no jurisdiction here; planning the site reports why)."""
    from .errors import SpecError
    from .sources import load_yaml

    out: dict[str, str | None] = {}
    for path in sorted((root / "stacks").glob("Pulumi.*.yaml")):
        site = path.name[len("Pulumi."):-len(".yaml")]
        try:
            config = load_yaml(path)[0].get("config")
            code = config.get("sitekit:jurisdiction") if isinstance(config, dict) else None
        except SpecError:
            code = None
        out[site] = code if isinstance(code, str) else None
    return out


def affected_sites(files: Iterable[str], base: dict[str, str | None], head: dict[str, str | None]) -> list[str]:
    """Sites a change touches: its stack file, its jurisdiction's profile, or anything every site uses."""
    sites: set[str] = set()
    everything = set(base) | set(head)
    for f in files:
        m = re.fullmatch(r"stacks/Pulumi\.(.+)\.yaml", f)
        j = re.fullmatch(r"stacks/jurisdictions/(.+)\.yaml", f)
        if m:
            sites.add(m.group(1))
        elif j:
            sites |= {s for side in (base, head) for s, code in side.items() if code == j.group(1)}
        elif f.startswith(GLOBAL_PATHS):
            sites |= everything
    return sorted(sites)


# ------------------------------------------------------------------------------------------- diff
@dataclass
class Change:
    kind: str  # create | update | replace | delete
    urn: str
    type: str
    name: str
    protect: bool
    fields: list[str] = field(default_factory=list)
    replace_fields: list[str] = field(default_factory=list)
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)

    @property
    def gpu(self) -> bool:
        return self.type in GPU_TYPES

    @property
    def blocked(self) -> bool:
        """Pulumi refuses to delete (or replace) a protected resource."""
        return self.protect and self.kind in ("delete", "replace")


@dataclass
class SiteReview:
    site: str
    status: str  # added | removed | changed | unchanged | error
    changes: list[Change] = field(default_factory=list)
    base_outputs: dict[str, Any] = field(default_factory=dict)
    head_outputs: dict[str, Any] = field(default_factory=dict)
    base_policy: dict[str, Any] | None = None
    head_policy: dict[str, Any] | None = None
    error: str | None = None

    def count(self, kind: str) -> int:
        return sum(c.kind == kind for c in self.changes)


@functools.lru_cache(maxsize=None)
def updatable_inputs(type_: str) -> frozenset[str] | None:
    """Engine names of a pulumi_oci resource's inputs marked "(Updatable)" in its docs; None if unknown."""
    m = re.fullmatch(r"oci:([A-Za-z]+)/[A-Za-z0-9]+:([A-Za-z0-9]+)", type_)
    if not m:
        return None
    try:
        args = getattr(importlib.import_module(f"pulumi_oci.{m.group(1).lower()}"), f"{m.group(2)}Args")
    except (ImportError, AttributeError):
        return None
    names = re.findall(r":param [^\n]*? (\w+): \(Updatable\)", args.__init__.__doc__ or "")
    return frozenset(_camel(n) for n in names)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def diff_site(site: str, base: dict[str, Any] | None, head: dict[str, Any] | None) -> SiteReview:
    if head is not None and head.get("error"):
        return SiteReview(site, "error", error=head["error"])
    if base is None or base.get("error") and head is not None:
        review = SiteReview(site, "added" if base is None else "changed", head_outputs=head["outputs"],
                            head_policy=head.get("policy"),
                            error=(f"base could not be planned: {base['error']}" if base else None))
        review.changes = [Change("create", u, r["type"], r["name"], r["protect"], after=r["inputs"])
                          for u, r in _indexed(head).items()]
        return review
    if head is None:
        review = SiteReview(site, "removed", base_outputs=base["outputs"], base_policy=base.get("policy"))
        review.changes = [Change("delete", u, r["type"], r["name"], r["protect"], before=r["inputs"])
                          for u, r in _indexed(base).items()]
        return review
    old, new = _indexed(base), _indexed(head)
    changes = []
    for urn in sorted(set(old) | set(new)):
        a, b = old.get(urn), new.get(urn)
        if a is None:
            changes.append(Change("create", urn, b["type"], b["name"], b["protect"], after=b["inputs"]))
        elif b is None:
            changes.append(Change("delete", urn, a["type"], a["name"], a["protect"], before=a["inputs"]))
        else:
            fields = sorted(k for k in set(a["inputs"]) | set(b["inputs"]) if a["inputs"].get(k) != b["inputs"].get(k))
            if not fields and a["protect"] == b["protect"]:
                continue
            updatable = updatable_inputs(b["type"])
            replace = [f for f in fields if updatable is not None and f not in updatable]
            changes.append(Change("replace" if replace else "update", urn, b["type"], b["name"],
                                  a["protect"] or b["protect"], fields, replace,
                                  {f: a["inputs"].get(f) for f in fields}, {f: b["inputs"].get(f) for f in fields}))
    policies = base.get("policy"), head.get("policy")
    policy_moved = None not in policies and policies[0] != policies[1]
    status = "changed" if changes or base["outputs"] != head["outputs"] or policy_moved else "unchanged"
    return SiteReview(site, status, changes, base["outputs"], head["outputs"], base.get("policy"), head.get("policy"))


def _indexed(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    records = snapshot["resources"]
    urns = engine_urns(records, snapshot["site"])
    return {urns[r["urn"]]: r for r in records}


# ------------------------------------------------------------------------------------------- driver
@dataclass
class Review:
    base: str
    sites: list[SiteReview]
    unaffected: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base, "unaffected": self.unaffected,
                "sites": [asdict(s) | {"counts": {k: s.count(k) for k in ("create", "update", "replace", "delete")}}
                          for s in self.sites]}


def review(root: Path, base_rev: str = "HEAD", only: list[str] | None = None) -> Review:
    """Compare the working tree of the project at `root` with `base_rev`, site by site."""
    root = root.resolve()
    with tempfile.TemporaryDirectory(prefix="sitekit-review-") as tmp:
        commit = base_tree(root, base_rev, Path(tmp))
        base_root = Path(tmp) / "tree"
        base_sites, head_sites = _sites_in(base_root), _sites_in(root)
        if only:
            unknown = [s for s in only if s not in base_sites and s not in head_sites]
            if unknown:
                from .errors import nearest
                known = sorted(set(base_sites) | set(head_sites))
                raise SpecError([Problem(f"stacks/Pulumi.{s}.yaml", None, "", f"no such site; {nearest(s, known)}")
                                 for s in unknown])
            sites = sorted(only)
        else:
            sites = affected_sites(changed_files(root, commit), base_sites, head_sites)
        base_snap = _snapshot_subprocess(base_root, [s for s in sites if s in base_sites])
        head_snap = {s["site"]: s for s in snapshot_sites(root, [s for s in sites if s in head_sites])}
    reviews = [diff_site(s, base_snap.get(s), head_snap.get(s)) for s in sites]
    unaffected = sorted((set(base_sites) | set(head_sites)) - set(sites))
    return Review(commit[:12], reviews, unaffected)


def _snapshot_subprocess(tree: Path, sites: list[str]) -> dict[str, dict[str, Any]]:
    """Snapshot sites of the base tree with the base's own sitekit (this module's snapshot code)."""
    if not sites:
        return {}
    script = "import runpy, sys; runpy.run_path(sys.argv.pop(1), run_name='__main__')"
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin", "HOME": str(tree)}
    done = subprocess.run([sys.executable, "-c", script, str(Path(snapshot.__file__)), str(tree), *sites],
                          cwd=tree, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {s: {"site": s, "resources": [], "outputs": {}, "policy": None, "error": last} for s in sites}
    return {s["site"]: s for s in json.loads(done.stdout)}


# ------------------------------------------------------------------------------------------- report
def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "–" if value is None else str(value)


def _delta(before: Any, after: Any) -> str:
    if before == after or before is None or after is None:
        return _num(after if after is not None else before)
    sign = "+" if after > before else ""
    diff = after - before
    return f"{_num(before)} → {_num(after)} ({sign}{_num(round(diff, 4) if isinstance(diff, float) else diff)})"


def _policy_cell(before: dict | None, after: dict | None) -> str:
    def n(p: dict | None) -> Any:
        return None if not p or "error" in p else len(p["mandatoryFailures"])
    return _delta(n(before), n(after)) if after or before else "–"


def render_markdown(result: Review) -> str:
    lines = [f"## sitekit review against `{result.base}`", ""]
    shown = [s for s in result.sites if s.status != "unchanged"]
    if shown:
        lines += ["| site | status | create | update | replace | delete | protected at risk | GPUs | IT MW | "
                  "facility MW | envelope MW | mandatory policy failures |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for s in shown:
            b, h = s.base_outputs, s.head_outputs
            at_risk = sum(c.blocked for c in s.changes)
            lines.append(
                f"| {s.site} | {s.status} | {s.count('create')} | {s.count('update')} | {s.count('replace')} | "
                f"{s.count('delete')} | {('⚠ ' + str(at_risk)) if at_risk else 0} | {_delta(b.get('gpus'), h.get('gpus'))} | "
                f"{_delta(b.get('itMw'), h.get('itMw'))} | {_delta(b.get('facilityMw'), h.get('facilityMw'))} | "
                f"{_delta(b.get('envelopeMw'), h.get('envelopeMw'))} | {_policy_cell(s.base_policy, s.head_policy)} |")
        lines.append("")
    quiet = [s.site for s in result.sites if s.status == "unchanged"] + result.unaffected
    if quiet:
        lines += [f"Unchanged: {', '.join(sorted(quiet))}.", ""]
    for s in shown:
        lines += [f"### {s.site}", ""]
        if s.error:
            lines += [f"> {s.error}", ""]
        blocked = [c for c in s.changes if c.blocked]
        if blocked:
            lines += ["**Protected resources this change would replace or delete** (Pulumi will refuse until "
                      "`protect` is lifted on purpose):", ""]
            lines += [f"- {c.kind} `{c.name}` ({c.type}){_why(c)}" for c in blocked] + [""]
        gpu = [c for c in s.changes if c.gpu and not c.blocked]
        if gpu:
            lines += ["**GPU capacity:**", ""] + [f"- {c.kind} `{c.name}` ({c.type}){_why(c)}" for c in gpu] + [""]
        roles_b, roles_h = s.base_outputs.get("gpusByRole") or {}, s.head_outputs.get("gpusByRole") or {}
        if roles_b != roles_h:
            lines += ["GPUs by role: " + ", ".join(f"{r} {_delta(roles_b.get(r), roles_h.get(r))}"
                                                    for r in sorted(set(roles_b) | set(roles_h))), ""]
        pol = s.head_policy
        if pol and "error" not in pol:
            failing = ", ".join(pol["mandatoryFailures"]) or "none"
            lines += [f"Policy: mandatory failures: {failing}; advisory findings: {len(pol['advisory'])}; "
                      f"waivers: {pol['waivers']} ({pol['waived']} findings waived).", ""]
        elif pol:
            lines += [f"Policy: could not evaluate: {pol['error']}", ""]
        rest = [c for c in s.changes if not c.blocked and not c.gpu]
        if rest:
            lines += ["<details><summary>All other changes "
                      f"({len(rest)})</summary>", ""]
            lines += [f"- {c.kind} `{c.name}` ({c.type}){_why(c)}" for c in rest]
            lines += ["", "</details>", ""]
    text = "\n".join(lines).rstrip() + "\n"
    if len(text) > COMMENT_LIMIT:
        cut = text[:COMMENT_LIMIT].rsplit("\n", 1)[0]
        text = cut + "\n\n… report cut to fit a pull-request comment; run `sitekit review --format json` for all.\n"
    return text


def leaf_changes(before: Any, after: Any, path: str) -> list[tuple[str, Any, Any]]:
    """The innermost places where two input values differ, as (path, before, after)."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [d for k in sorted(set(before) | set(after))
                for d in leaf_changes(before.get(k), after.get(k), f"{path}.{k}") if before.get(k) != after.get(k)]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [d for i, (a, b) in enumerate(zip(before, after)) for d in leaf_changes(a, b, f"{path}[{i}]") if a != b]
    return [(path, before, after)] if before != after else []


def _why(c: Change) -> str:
    if not c.fields:
        return ""
    parts = []
    for f in c.fields:
        mark = " (forces replacement)" if f in c.replace_fields else ""
        parts += [f"`{p}`: {_short(a)} → {_short(b)}{mark}" for p, a, b in leaf_changes(c.before.get(f), c.after.get(f), f)]
    more = f"; and {len(parts) - 6} more" if len(parts) > 6 else ""
    return ": " + "; ".join(parts[:6]) + more


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"
