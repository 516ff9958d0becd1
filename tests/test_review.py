"""`sitekit review`: affected sites, engine-style matching, change kinds, report. One real two-sided
review (base planned by the base tree's own code in a subprocess) is shared by the tests that need it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sitekit import ROOT
from sitekit.cli import app
from sitekit.review import (Change, affected_sites, diff_site, engine_urns, leaf_changes, render_markdown,
                            review, updatable_inputs)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def make_repo(path: Path) -> Path:
    """A git repository holding a copy of the project (code included, so the base plans with its own code)."""
    for name in ("Pulumi.yaml", "__main__.py", "pyproject.toml"):
        shutil.copy(ROOT / name, path / name)
    for folder in ("sitekit", "stacks", "templates", "schema", "policies"):
        shutil.copytree(ROOT / folder, path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    git(path, "init", "-q")
    git(path, "add", "-A")
    git(path, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "base")
    return path


@pytest.fixture(scope="module")
def changed(tmp_path_factory):
    """A repo whose working tree grows the us-ashburn train pool, makes US keys SOFTWARE-protected (a
    replacement of protected keys) and deletes br-saopaulo's stack file; reviewed once against HEAD."""
    repo = make_repo(tmp_path_factory.mktemp("review"))
    stack = repo / "stacks/Pulumi.us-ashburn.yaml"
    stack.write_text(stack.read_text().replace("      nodes: 2048", "      nodes: 2304"))
    profile = repo / "stacks/jurisdictions/us.yaml"
    profile.write_text(profile.read_text().replace("keyProtection: HSM", "keyProtection: SOFTWARE"))
    (repo / "stacks/Pulumi.br-saopaulo.yaml").unlink()
    return repo, review(repo, "HEAD")


def test_only_the_sites_a_change_touches_are_affected():
    base = {"us-ashburn": "us", "ar-patagonia": "ar", "br-saopaulo": "br"}
    head = {"us-ashburn": "us", "ar-patagonia": "ar", "de-frankfurt": "de"}
    assert affected_sites(["stacks/Pulumi.us-ashburn.yaml", "README.md", "tests/x.py"], base, head) == ["us-ashburn"]
    assert affected_sites(["stacks/jurisdictions/ar.yaml"], base, head) == ["ar-patagonia"]
    assert affected_sites(["stacks/jurisdictions/br.yaml"], base, head) == ["br-saopaulo"]  # a site being removed
    assert affected_sites(["sitekit/components/network.py"], base, head) == sorted(set(base) | set(head))
    assert affected_sites(["docs/policies.md"], base, head) == []


def test_engine_urns_follow_the_whole_parent_chain():
    records = [{"urn": "a", "type": "sitekit:index:AiRegion", "name": "s", "parent": "stack"},
               {"urn": "b", "type": "sitekit:index:Network", "name": "s-network", "parent": "a"},
               {"urn": "c", "type": "oci:Core/vcn:Vcn", "name": "s-vcn-gpu", "parent": "b"}]
    urns = engine_urns(records, "s")
    assert urns["c"] == "urn:pulumi:s::sitekit::sitekit:index:AiRegion$sitekit:index:Network$oci:Core/vcn:Vcn::s-vcn-gpu"
    assert urns["a"] == "urn:pulumi:s::sitekit::sitekit:index:AiRegion::s"


def test_replacement_is_read_from_pulumi_oci_docs():
    key = updatable_inputs("oci:Kms/key:Key")
    assert "displayName" in key and "definedTags" in key and "protectionMode" not in key
    assert "instancePools" in updatable_inputs("oci:Core/clusterNetwork:ClusterNetwork")
    assert updatable_inputs("sitekit:index:AiRegion") is None


def test_a_reparented_resource_is_a_delete_and_a_create():
    def snap(parent_type):
        return {"site": "s", "outputs": {}, "policy": None, "resources": [
            {"urn": "p", "type": parent_type, "name": "s-x", "parent": None, "inputs": {}, "protect": False},
            {"urn": "v", "type": "oci:Core/vcn:Vcn", "name": "s-vcn", "parent": "p", "inputs": {}, "protect": False}]}
    result = diff_site("s", snap("sitekit:index:Network"), snap("sitekit:index:Other"))
    assert sorted(c.kind for c in result.changes) == ["create", "create", "delete", "delete"]


def test_leaf_changes_name_the_innermost_field():
    before = {"instancePools": [{"size": 2048, "displayName": "p"}]}
    after = {"instancePools": [{"size": 2304, "displayName": "p"}]}
    assert leaf_changes(before, after, "x") == [("x.instancePools[0].size", 2048, 2304)]


def test_review_counts_and_kinds(changed):
    _, result = changed
    by_site = {s.site: s for s in result.sites}
    assert set(by_site) == {"us-ashburn", "br-saopaulo"}
    assert result.unaffected == ["ar-patagonia"]

    us = by_site["us-ashburn"]
    assert us.status == "changed"
    kinds = {c.name: c.kind for c in us.changes}
    assert kinds == {"us-ashburn-cluster-network-train": "update", "us-ashburn-key-storage": "replace",
                     "us-ashburn-key-compute": "replace", "us-ashburn-key-image-signing": "replace"}
    keys = [c for c in us.changes if c.type == "oci:Kms/key:Key"]
    assert all(c.blocked and c.replace_fields == ["protectionMode"] for c in keys)
    assert us.base_outputs["gpus"] == 20552 and us.head_outputs["gpus"] == 20552 + 256 * 8
    assert us.head_policy["mandatoryFailures"] and not us.base_policy["mandatoryFailures"]

    br = by_site["br-saopaulo"]
    assert br.status == "removed" and {c.kind for c in br.changes} == {"delete"}
    assert any(c.blocked and c.type == "oci:Kms/vault:Vault" for c in br.changes)


def test_markdown_report_highlights_what_reviewers_must_see(changed):
    _, result = changed
    text = render_markdown(result)
    assert "Unchanged: ar-patagonia." in text
    assert "| us-ashburn | changed | 0 | 1 | 3 | 0 | ⚠ 3 | 20,552 → 22,600 (+2,048) |" in text
    assert "**Protected resources this change would replace or delete**" in text
    assert "replace `us-ashburn-key-storage` (oci:Kms/key:Key): `protectionMode`: HSM → SOFTWARE (forces replacement)" in text
    assert "`instancePools[0].size`: 2048 → 2304" in text
    assert "| br-saopaulo | removed |" in text
    assert "mixed 16,384 → 18,432 (+2,048)" in text


def test_review_cli_json_and_no_overwrite(tmp_path, monkeypatch):
    repo = make_repo(tmp_path)
    monkeypatch.chdir(repo)
    runner = CliRunner()
    result = runner.invoke(app, ["review", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["sites"] == [] and data["unaffected"] == ["ar-patagonia", "br-saopaulo", "us-ashburn"]
    out = repo / "review.md"
    out.write_text("mine")
    refused = runner.invoke(app, ["review", "--output", str(out)])
    assert refused.exit_code == 2 and out.read_text() == "mine"
    bad = runner.invoke(app, ["review", "--base", "no-such-rev"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    unknown = runner.invoke(app, ["review", "us-ashbrn"])
    assert unknown.exit_code == 2 and "did you mean 'us-ashburn'?" in unknown.output


def test_a_protected_delete_is_blocked_and_an_update_is_not():
    assert Change("delete", "u", "oci:Kms/vault:Vault", "v", True).blocked
    assert not Change("update", "u", "oci:Kms/vault:Vault", "v", True).blocked
