"""Capacity history from git: each commit's stack files, profiles and catalog, loaded by today's loader; a site
that does not load at a commit is skipped with its reason; results are reused from the cache; the work tree is
never touched."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from sitekit.fleet import history as history_module
from sitekit.fleet.history import Point, capacity_history


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                          check=True, capture_output=True, text=True).stdout


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)


@pytest.fixture(scope="module")
def repo(make_project, tmp_path_factory) -> Path:
    """A project in a subfolder of a repository with four commits: shipped; us-ashburn's train pool halved;
    br-saopaulo broken (an unknown key) and a README change; a new site, a copy of us-ashburn."""
    top = tmp_path_factory.mktemp("history-repo")
    project = top / "infra"
    project.mkdir()
    make_project(project)
    git(top, "init", "-q", "-b", "main")
    commit(top, "shipped sites")
    stack = project / "stacks/Pulumi.us-ashburn.yaml"
    stack.write_text(stack.read_text().replace("nodes: 2048", "nodes: 1024"))
    commit(top, "halve the train pool")
    broken = project / "stacks/Pulumi.br-saopaulo.yaml"
    broken.write_text(broken.read_text().replace("sitekit:power:", "sitekit:powr:"))
    (top / "README.md").write_text("notes\n")
    commit(top, "break br-saopaulo")
    copy = stack.read_text().replace("10.64.", "10.90.")  # its own block of the address space
    start, end = copy.index("  sitekit:peers:\n"), copy.index("  sitekit:pools:\n")
    (project / "stacks/Pulumi.us-copy.yaml").write_text(copy[:start] + copy[end:])  # and no peers
    commit(top, "a new site")
    return project


def test_history_per_commit(repo, monkeypatch, tmp_path):
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(tmp_path / "cache"))
    before = git(repo, "status", "--porcelain")
    past = capacity_history(repo, 10)
    assert [c.subject for c in past.commits] == ["shipped sites", "halve the train pool", "break br-saopaulo",
                                                 "a new site"]
    gpus = {site: [p.gpus if p else None for p in points] for site, points in past.points.items()}
    assert gpus["us-ashburn"] == [20624, 12432, 12432, 12432]  # 1024 fewer H100.8 nodes: 8192 fewer GPUs
    assert gpus["ar-patagonia"] == [34816] * 4
    assert gpus["br-saopaulo"] == [9216, 9216, None, None]
    assert gpus["us-copy"] == [None, None, None, 12432]
    facility = [p.facility_mw for p in past.points["us-ashburn"]]
    assert facility[0] == 31.6368 and facility[1] < facility[0]
    skipped = [(site, reason) for site, _, reason in past.skipped]
    assert len(skipped) == 2 and {s for s, _ in skipped} == {"br-saopaulo"}
    assert re.search(r"stacks/Pulumi\.br-saopaulo\.yaml:\d+: config\.sitekit:powr: unknown config key; "
                     r"did you mean 'power'\?", skipped[0][1])
    assert git(repo, "status", "--porcelain") == before  # the work tree and index are untouched


def test_history_is_read_from_the_cache_the_second_time(repo, monkeypatch, tmp_path):
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(tmp_path / "cache"))
    first = capacity_history(repo, 10)
    monkeypatch.setattr(history_module, "load_point", lambda tree, site: pytest.fail(f"{site} loaded again"))
    assert capacity_history(repo, 10).points == first.points
    assert capacity_history(repo, 2).commits == first.commits[-2:]


def test_the_work_trees_values_stand_for_head_when_stacks_are_committed(repo, monkeypatch, tmp_path):
    """The report computed the work tree's values already: with stacks/ committed they are HEAD's, and every
    older version with the same content takes them too; a change in stacks/ makes them the work tree's only."""
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(tmp_path / "cache"))
    marker = Point(1, 0.01, 0.012, 60.0)  # not what a load would give: shows where each value came from
    past = capacity_history(repo, 10, now={"ar-patagonia": marker})
    assert past.points["ar-patagonia"] == [marker] * 4  # unchanged since the first commit: never loaded
    assert past.points["us-ashburn"][-1].gpus == 12432
    stack = repo / "stacks/Pulumi.ar-patagonia.yaml"
    original = stack.read_text()
    stack.write_text(original + "\n")
    try:
        past = capacity_history(repo, 10, now={"ar-patagonia": marker})
    finally:
        stack.write_text(original)
    assert past.points["ar-patagonia"] == [Point(34816, 61.184, 70.3616, 100.0)] * 4


def test_no_git_no_history(make_project, tmp_path):
    project = make_project(tmp_path)
    past = capacity_history(project, 5, use_cache=False)
    assert past.commits == [] and "not a git repository" in past.note
