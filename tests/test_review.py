"""`sitekit review` without the Pulumi CLI (offline mode; the engine's verdicts are checked in tests/engine):
affected sites, the merge base, each side planned only by its own code, the facts-based judgement with
dependents and aliases, cost, deterministic JSON, the comment cut by layers, `--preview-json`, the cache,
and bad input (exit 2)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from review_cases import BR, US, commit, edit, git, make_repo, reset
from typer.testing import CliRunner

from sitekit.cli.main import app
from sitekit.review import (
    Change,
    affected_sites,
    diff_snapshots,
    dumps,
    engine_urns,
    render_markdown,
    review,
)
from sitekit.review.model import Review, Side, SiteReview
from sitekit.review.sides import snapshot_side
from sitekit.run.cache import Cache, SideKeys

US_PROFILE = "stacks/jurisdictions/us.yaml"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return make_repo(tmp_path_factory.mktemp("review-repo"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("review-cache")


@pytest.fixture(scope="module")
def changed(repo, cache):
    """The working tree grows and re-shapes the us-ashburn train pool, renames `frontier` with an alias, makes
    US keys SOFTWARE-protected (protected keys replaced) and deletes br-saopaulo; reviewed once, offline."""
    reset(repo)
    edit(repo, US, "nodes: 2048", "nodes: 2304")
    edit(repo, US, "shape: BM.GPU.H100.8", "shape: BM.GPU.B200.8")
    edit(repo, US, "- name: frontier", "- name: gb200\n      formerNames: [frontier]")
    edit(repo, US_PROFILE, "keyProtection: HSM", "keyProtection: SOFTWARE")
    (repo / BR).unlink()
    edit(repo, US, "    - site: br-saopaulo\n", "")  # a site removed leaves its peers' lists too
    import os
    os.environ["SITEKIT_CACHE_DIR"] = str(cache)
    try:
        result = review(repo, "HEAD", mode="offline", show_progress=False)
    finally:
        del os.environ["SITEKIT_CACHE_DIR"]
        reset(repo)
    return result


def test_only_the_sites_a_change_touches_are_affected():
    base = {"us-ashburn": "us", "ar-patagonia": "ar", "br-saopaulo": "br"}
    head = {"us-ashburn": "us", "ar-patagonia": "ar", "de-frankfurt": "de"}
    assert affected_sites(["stacks/Pulumi.us-ashburn.yaml", "README.md", "tests/x.py"], base, head) == ["us-ashburn"]
    assert affected_sites(["stacks/jurisdictions/ar.yaml"], base, head) == ["ar-patagonia"]
    assert affected_sites(["stacks/jurisdictions/br.yaml"], base, head) == ["br-saopaulo"]  # a site being removed
    assert affected_sites(["sitekit/region/network.py"], base, head) == sorted(set(base) | set(head))
    assert affected_sites(["docs/policies.md"], base, head) == []


def test_older_snapshots_with_mock_urns_get_the_engines_urns():
    records = [{"urn": "urn:pulumi:s::sitekit::pulumi:pulumi:Stack$sitekit:index:AiRegion::s", "type": "sitekit:index:AiRegion",
                "name": "s", "parent": "stack"},
               {"urn": "urn:pulumi:s::sitekit::pulumi:pulumi:Stack$oci:Core/vcn:Vcn::s-vcn-gpu", "type": "oci:Core/vcn:Vcn",
                "name": "s-vcn-gpu", "parent": "urn:pulumi:s::sitekit::pulumi:pulumi:Stack$sitekit:index:AiRegion::s"}]
    urns = engine_urns(records, "s")
    assert urns[records[1]["urn"]] == "urn:pulumi:s::sitekit::sitekit:index:AiRegion$oci:Core/vcn:Vcn::s-vcn-gpu"
    engine = "urn:pulumi:s::sitekit::sitekit:index:AiRegion::s"
    assert engine_urns([{"urn": engine, "type": "t", "name": "s", "parent": None}], "s") == {engine: engine}


def _snap(*records):
    return {"site": "s", "outputs": {}, "policy": None, "resources": list(records)}


def _res(name, type_, inputs, parent=None, **extra):
    return {"urn": f"urn:pulumi:s::sitekit::{type_}::{name}", "type": type_, "name": name, "parent": parent,
            "inputs": inputs, "protect": False, **extra}


def test_a_replacement_re_judges_its_dependents_until_nothing_more_changes():
    vault_t, key_t, bucket_t = "oci:Kms/vault:Vault", "oci:Kms/key:Key", "oci:ObjectStorage/bucket:Bucket"
    endpoint = "https://s-vault-management.kms.example"
    base = _snap(_res("s-vault", vault_t, {"vaultType": "VIRTUAL_PRIVATE", "compartmentId": "c"}),
                 _res("s-key", key_t, {"managementEndpoint": endpoint, "displayName": "k"}),
                 _res("s-bucket", bucket_t, {"kmsKeyId": "s-key-id", "name": "b"}))
    head = _snap(_res("s-vault", vault_t, {"vaultType": "DEFAULT", "compartmentId": "c"}),
                 _res("s-key", key_t, {"managementEndpoint": endpoint, "displayName": "k"}),
                 _res("s-bucket", bucket_t, {"kmsKeyId": "s-key-id", "name": "b"}))
    kinds = {c.name: c.kind for c in diff_snapshots(base, head)}
    # a new vault has a new endpoint (ForceNew on the key); the new key's id reaches the bucket (an update)
    assert kinds == {"s-vault": "replace", "s-key": "replace", "s-bucket": "update"}


def test_aliases_and_ignore_changes_are_honoured():
    pool_t = "oci:ContainerEngine/nodePool:NodePool"
    base = _snap(_res("s-node-pool-old", pool_t, {"nodeConfigDetails": {"size": 2}, "name": "old"}))
    renamed = _res("s-node-pool-new", pool_t, {"nodeConfigDetails": {"size": 9}, "name": "old"},
                   aliases=["urn:pulumi:s::sitekit::oci:ContainerEngine/nodePool:NodePool::s-node-pool-old"],
                   ignoreChanges=["nodeConfigDetails.size"])
    assert diff_snapshots(base, _snap(renamed)) == []
    unaliased = dict(renamed, aliases=[])
    assert sorted(c.kind for c in diff_snapshots(base, _snap(unaliased))) == ["create", "delete"]


def test_a_reparented_resource_is_a_delete_and_a_create():
    def snap(parent_type):
        return _snap({"urn": f"urn:pulumi:s::sitekit::{parent_type}$oci:Core/vcn:Vcn::s-vcn", "type": "oci:Core/vcn:Vcn",
                      "name": "s-vcn", "parent": None, "inputs": {}, "protect": False})
    assert sorted(c.kind for c in diff_snapshots(snap("sitekit:index:Network"), snap("sitekit:index:Other"))) == \
        ["create", "delete"]


def test_review_of_a_change_offline(changed):
    by_site = {s.site: s for s in changed.sites}
    assert set(by_site) == {"us-ashburn", "br-saopaulo"} and changed.unaffected == ["ar-patagonia"]
    assert changed.mode == "offline" and changed.merge_base and len(changed.head_commit) == 40
    us = by_site["us-ashburn"]
    kinds = {c.name: c.kind for c in us.changes}
    assert kinds["us-ashburn-oke"] == kinds["us-ashburn-node-pool-serve"] == "replace"  # a new key's dependents
    assert kinds["us-ashburn-bucket-datasets"] == "update"
    # the shape replaces the instance configuration (ForceNew), whose new id updates its cluster network
    assert kinds["us-ashburn-instance-config-train"] == "replace"
    assert kinds["us-ashburn-cluster-network-train"] == "update"
    network = next(c for c in us.changes if c.name == "us-ashburn-cluster-network-train")
    assert {p.path for p in network.detail} == {"instancePools[0].size", "instancePools[0].instanceConfigurationId"}
    # renamed with an alias: no delete, no create; keys: protected and replaced (protectionMode is ForceNew)
    gone = {c.name for c in us.changes if c.kind in ("create", "delete")}
    assert gone == {"us-ashburn-rpc-br-saopaulo", "us-ashburn-rpc-attachment-br-saopaulo"} | {
        n for n in gone if n.startswith("us-ashburn-nsg-") and "-peer-br-saopaulo-" in n}  # br is no peer now
    assert len(gone) == 6
    keys = [c for c in us.changes if c.type == "oci:Kms/key:Key"]
    assert len(keys) == 3 and all(c.kind == "replace" and c.blocked and c.replace_fields == ["protectionMode"]
                                  for c in keys)
    assert us.base.outputs["gpus"] == 20552 and us.head.outputs["gpus"] == 20552 + 256 * 8
    # list prices: 2048 H100 nodes at $80/h become 2304 B200 nodes at $128/h; GB200 nodes have no list price
    assert us.base.cost["byShape"]["BM.GPU.H100.8"] == pytest.approx(2048 * (80 * 730 + 512 * 0.0255))
    assert us.head.cost["byShape"]["BM.GPU.B200.8"] == pytest.approx(2304 * (128 * 730 + 512 * 0.0255))
    assert us.head.cost["unpriced"] == {"BM.GPU.GB200.4": 18}
    assert us.head.policy["mandatoryFailures"] and not us.base.policy["mandatoryFailures"]
    br = by_site["br-saopaulo"]
    assert br.status == "removed" and {c.kind for c in br.changes} == {"delete"}
    assert any(c.blocked and c.type == "oci:Kms/vault:Vault" for c in br.changes)


def test_markdown_shows_what_reviewers_must_see(changed):
    text = render_markdown(changed)
    assert text.startswith("<!-- sitekit-review -->")
    assert "offline approximation" in text and "Unchanged: ar-patagonia." in text
    row = next(line for line in text.splitlines() if line.startswith("| us-ashburn |"))
    # the new compute key replaces the OKE cluster (kmsKeyId is ForceNew), and with it its node pool and add-on;
    # the quota follows the pools (issue 21: B200 now runs, H100 no longer does), an update
    assert "| changed | 0 | 12 | 8 | 6 | ⚠ 3 | 20,552 → 22,600 (+2,048) |" in row
    us = next(s for s in changed.sites if s.site == "us-ashburn")
    before, after = us.base.cost["monthlyUsd"], us.head.cost["monthlyUsd"]
    assert f"${before:,.0f} → ${after:,.0f} (+${after - before:,.0f})" in row
    assert "### Warnings" in text
    assert "replace `us-ashburn-key-storage` (oci:Kms/key:Key): replaced because `protectionMode` — **protected**" in text
    assert "| br-saopaulo | removed |" in text
    assert "-    \"shape\": \"BM.GPU.H100.8\"," in text and "+    \"shape\": \"BM.GPU.B200.8\"," in text
    # cloud-init user data is diffed as decoded text, never as base64
    assert "#cloud-config" in text or "user_data" not in text
    assert text.count("<details>") == text.count("</details>")


def test_json_is_deterministic_and_complete(changed):
    first, second = dumps(changed), dumps(changed)
    assert first == second
    data = json.loads(first)
    assert data["schemaVersion"] == 2 and data["head"]["dirty"] in (True, False)
    assert [s["site"] for s in data["sites"]] == ["br-saopaulo", "us-ashburn"]
    us = next(s for s in data["sites"] if s["site"] == "us-ashburn")
    urns = [c["urn"] for c in us["changes"]]
    assert urns == sorted(urns)
    config = next(c for c in us["changes"] if c["name"] == "us-ashburn-instance-config-train")
    before = config["before"]["instanceDetails"]["launchDetails"]["metadata"]["user_data"]
    assert len(before) > 1000  # whole values, never cut


def _synthetic(sites: int, changes: int) -> Review:
    out = []
    for i in range(sites):
        s = SiteReview(f"site-{i:02d}", "changed", base=Side(outputs={"gpus": 8}), head=Side(outputs={"gpus": 16}))
        s.changes = [Change("update", f"urn:x::n{j}", "oci:Core/vcn:Vcn", f"n{j}", False, ["displayName"],
                            before={"displayName": "a" * 300}, after={"displayName": "b" * 300}) for j in range(changes)]
        s.changes.append(Change("delete", f"urn:x::vault-{i}", "oci:Kms/vault:Vault", f"vault-{i}", True))
        out.append(s)
    return Review("main", "a" * 40, True, "b" * 40, False, "offline", None, out, [])


def test_a_cut_comment_keeps_every_warning_and_closes_every_details():
    text = render_markdown(_synthetic(sites=30, changes=60), limit=20_000)
    assert len(text) <= 20_000
    for i in range(30):
        assert f"delete `vault-{i}` (oci:Kms/vault:Vault) — **protected**" in text  # never folded away
    assert text.count("<details>") == text.count("</details>")
    assert "_Folded to fit a pull-request comment:" in text


def test_preview_json_files_are_rendered_with_sitekit_overlays(repo, tmp_path, cache, monkeypatch):
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(cache))
    reset(repo)
    edit(repo, US, "nodes: 2048", "nodes: 1024")
    bucket = "urn:pulumi:us-ashburn::sitekit::sitekit:index:AiRegion$sitekit:index:Storage$oci:ObjectStorage/bucket:Bucket::us-ashburn-bucket-datasets"
    network = "urn:pulumi:us-ashburn::sitekit::sitekit:index:AiRegion$sitekit:index:Compute$oci:Core/clusterNetwork:ClusterNetwork::us-ashburn-cluster-network-train"
    doc = {"steps": [
        {"op": "replace", "urn": bucket, "diffReasons": ["name"], "replaceReasons": ["name"],
         "detailedDiff": {"name": {"kind": "update-replace"}},
         "oldState": {"type": "oci:ObjectStorage/bucket:Bucket", "protect": True, "inputs": {"name": "datasets"}},
         "newState": {"type": "oci:ObjectStorage/bucket:Bucket", "inputs": {"name": "datasets-2"}}},
        {"op": "update", "urn": network, "diffReasons": ["instancePools"],
         "detailedDiff": {"instancePools[0].size": {"kind": "update"}},
         "oldState": {"type": "oci:Core/clusterNetwork:ClusterNetwork", "inputs": {"instancePools": [{"size": 2048}]}},
         "newState": {"type": "oci:Core/clusterNetwork:ClusterNetwork", "inputs": {"instancePools": [{"size": 1024}]}}},
        {"op": "same", "urn": "urn:pulumi:us-ashburn::sitekit::pulumi:pulumi:Stack::sitekit-us-ashburn"}],
        "diagnostics": [{"severity": "error", "message": "error: drift: bucket datasets was changed outside Pulumi"}]}
    previews = tmp_path / "previews"
    previews.mkdir()
    (previews / "us-ashburn.json").write_text(json.dumps(doc))
    try:
        result = review(repo, "HEAD", mode="auto", preview_json=previews, show_progress=False)
    finally:
        reset(repo)
    (us,) = result.sites
    assert result.mode == "preview-json"
    assert [(c.kind, c.name, c.blocked) for c in us.changes] == [
        ("update", "us-ashburn-cluster-network-train", False), ("replace", "us-ashburn-bucket-datasets", True)]
    assert us.refusals == ["error: drift: bucket datasets was changed outside Pulumi"]
    assert us.head.outputs["gpus"] == us.base.outputs["gpus"] - 1024 * 8  # overlays from the head's plan
    assert us.head.cost["monthlyUsd"] < us.base.cost["monthlyUsd"]
    text = render_markdown(result)
    assert "files your CI produced" in text and "⚠ 2" in text and "**stateful**" in text


def test_the_merge_base_not_the_tip_unless_asked(tmp_path, cache, monkeypatch):
    """A branch made before main moved: main's later change is not shown reversed (unless --base-tip)."""
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(cache))
    (tmp_path / "r").mkdir()
    repo = make_repo(tmp_path / "r")
    git(repo, "checkout", "-q", "-b", "feature")
    edit(repo, US, "nodes: 2048", "nodes: 1024")
    commit(repo, "feature: smaller train pool")
    git(repo, "checkout", "-q", "main")
    edit(repo, "stacks/Pulumi.ar-patagonia.yaml", "envelopeMw:", "envelopeMw: 40 #")
    commit(repo, "main: ar envelope")
    git(repo, "checkout", "-q", "feature")
    merged = review(repo, "main", mode="offline", show_progress=False)
    assert [s.site for s in merged.sites] == ["us-ashburn"] and merged.merge_base
    tip = review(repo, "main", mode="offline", base_tip=True, show_progress=False)
    assert [s.site for s in tip.sites] == ["ar-patagonia", "us-ashburn"] and not tip.merge_base


def test_each_side_is_planned_by_its_own_code_only(repo, tmp_path):
    """A base tree without a module the head has must fail to plan, not borrow the head's (editable) copy."""
    tree = tmp_path / "tree"
    shutil.copytree(repo, tree, ignore=shutil.ignore_patterns(".git"))
    (tree / "sitekit/oci/fakes.py").unlink()
    out = snapshot_side(tree, ["ar-patagonia"], 1, Cache(None, "snapshots"))
    error = out["ar-patagonia"]["error"]
    assert "cannot import name 'fakes' from 'sitekit.oci'" in error and str(tree / "sitekit") in error, error


def _tree_before_the_move(dest: Path) -> Path:
    """The project as it was just before its package moved into folders (issue 16), from this clone's history."""
    from sitekit import ROOT

    moved = git(ROOT, "rev-list", "-1", "HEAD", "--", "sitekit/loader.py").strip()
    assert moved, "this test needs the clone's history (the commit that moved sitekit/loader.py); not a shallow clone"
    dest.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", f"{moved}^"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    assert (dest / "sitekit" / "loader.py").is_file() and not (dest / "sitekit" / "spec").exists()
    return dest


def test_a_base_from_before_the_move_is_planned_by_its_own_code_with_its_policy(repo, tmp_path):
    """The flat layout (sitekit/offline.py, sitekit/loader.py) is still planned by its own code, and its policy
    column is filled: the plan it registers is the one the folders register, and so are its policy results."""
    reset(repo)
    old = _tree_before_the_move(tmp_path / "flat")
    before = snapshot_side(old, ["ar-patagonia"], 1, Cache(None, "snapshots"))["ar-patagonia"]
    after = snapshot_side(repo, ["ar-patagonia"], 1, Cache(None, "snapshots"))["ar-patagonia"]
    assert before["error"] is None, before["error"]
    assert before["policy"] and "error" not in before["policy"], before["policy"]
    # the plan since then adds the guardrails of issue 21 (a component of its own) and confines the site policy's
    # grants to the allowed regions; the rest is the same plan
    added = [r for r in after["resources"] if "Guardrails" in r["urn"]]
    assert added and all("Guardrails" not in r["urn"] for r in before["resources"])
    same = lambda rs: [r for r in rs if r not in added and not r["name"].endswith("-policy")]  # noqa: E731
    assert before["resources"] and same(before["resources"]) == same(after["resources"])
    assert before["policy"] == after["policy"] and before["outputs"] == after["outputs"]


def test_a_base_whose_policy_cannot_load_says_so_in_the_policy_column(repo, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(repo, tree, ignore=shutil.ignore_patterns(".git"))
    shutil.rmtree(tree / "sitekit" / "policy")
    (tree / "sitekit" / "policy").mkdir()
    (tree / "sitekit" / "policy" / "__init__.py").write_text("")
    snap = snapshot_side(tree, ["ar-patagonia"], 1, Cache(None, "snapshots"))["ar-patagonia"]
    assert snap["error"] is None and "sitekit.policy.runner" in snap["policy"]["error"]
    side = Side(outputs=snap["outputs"], policy=snap["policy"], cost=None)
    site = SiteReview("ar-patagonia", "changed", [], base=side, head=Side(outputs=snap["outputs"], policy={
        "mandatoryFailures": [], "advisory": [], "waived": 0, "waivers": 0}, cost=None))
    review = Review(base_rev="main", base_commit="0" * 40, merge_base=True, head_commit="1" * 40, dirty=False,
                    mode="offline", engine=None, sites=[site], unaffected=[])
    assert "| 0 (base not evaluated) |" in render_markdown(review)


def test_cache_entries_are_reused_and_never_trusted_when_corrupt_or_foreign(repo, tmp_path):
    reset(repo)
    cache = Cache(tmp_path, "snapshots")
    key = SideKeys(repo).key("ar-patagonia")
    first = snapshot_side(repo, ["ar-patagonia"], 1, cache)["ar-patagonia"]
    entry = tmp_path / "snapshots" / f"{key}.json"
    assert json.loads(entry.read_text())["value"] == first
    assert cache.get(key, "ar-patagonia") == first
    entry.write_text("{not json")
    assert cache.get(key, "ar-patagonia") is None
    foreign = {"key": "0" * 64, "format": 2, "value": dict(first, outputs={"gpus": -1})}
    entry.write_text(json.dumps(foreign))
    assert cache.get(key, "ar-patagonia") is None
    again = snapshot_side(repo, ["ar-patagonia"], 1, cache)["ar-patagonia"]
    assert again == first and json.loads(entry.read_text())["key"] == key  # rebuilt and overwritten
    edit(repo, "stacks/Pulumi.ar-patagonia.yaml", "config:\n", "config:\n  # edited\n")
    try:
        assert SideKeys(repo).key("ar-patagonia") != key  # any change to an input is another entry
    finally:
        reset(repo)


def test_bad_input_exits_2_with_the_lines_sitekit_prints(repo, cache, monkeypatch):
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(cache))
    monkeypatch.chdir(repo)
    runner = CliRunner()
    edit(repo, US, "storage: 10.64.144.0/24", "storage: 10.64.144.0/33")
    try:
        bad = runner.invoke(app, ["review", "--mode", "offline", "--no-progress"])
    finally:
        reset(repo)
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert re.search(r"stacks/Pulumi\.us-ashburn\.yaml:\d+: site\.addressPlan\.networks\.storage: ", bad.output)
    out = repo / "review.md"
    out.write_text("mine")
    try:
        refused = runner.invoke(app, ["review", "--output", str(out), "--mode", "offline"])
        assert refused.exit_code == 2 and out.read_text() == "mine"
    finally:
        out.unlink()
    assert runner.invoke(app, ["review", "--base", "no-such-rev"]).exit_code == 2
    unknown = runner.invoke(app, ["review", "us-ashbrn", "--mode", "offline"])
    assert unknown.exit_code == 2 and "did you mean 'us-ashburn'?" in unknown.output


def test_workflows_pass_actionlint_and_a_broken_one_does_not(tmp_path):
    import subprocess
    import sys

    from sitekit import ROOT

    actionlint = str(Path(sys.executable).parent / "actionlint")
    workflows = sorted((ROOT / ".github/workflows").glob("*.yml"))
    assert {w.name for w in workflows} >= {"review.yml", "deploy.yml"}
    done = subprocess.run([actionlint, *map(str, workflows)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    review_yml = (ROOT / ".github/workflows/review.yml").read_text()
    deploy_yml = (ROOT / ".github/workflows/deploy.yml").read_text()
    assert "pull_request" in review_yml and "pull_request" not in deploy_yml.split("on:", 1)[1].split("jobs:")[0]
    assert "fail-fast: false" in deploy_yml and "canary" in deploy_yml and "sitekit sites --format json" in deploy_yml
    broken = tmp_path / "broken.yml"
    broken.write_text(review_yml.replace("steps.review.outcome", "steps.reveiw.outcome"))
    assert subprocess.run([actionlint, str(broken)], capture_output=True).returncode != 0
