"""`sitekit review` without the Pulumi CLI (offline mode; the engine's verdicts are checked in tests/engine):
affected sites, the merge base, each side planned only by its own code, the facts-based judgement with
dependents and aliases, cost, deterministic JSON, the comment cut by layers, `--preview-json`, the cache,
and bad input (exit 2)."""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from review_cases import BR, US, append, commit, edit, git, make_repo, reset
from typer.testing import CliRunner

from sitekit.cli.main import app
from sitekit.git import export_tree, resolve
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
from sitekit.run.cache import Cache, SideKeys, _digest
from sitekit.run.cost import load_prices

US_PROFILE = "stacks/jurisdictions/us.yaml"
AR = "stacks/Pulumi.ar-patagonia.yaml"
UNKNOWN_RULE_WAIVER = ("  sitekit:policy:\n    waivers:\n      - rule: SK-NET-999\n"
                       "        reason: accepted for the pilot by the CISO\n        expires: 2027-01-31\n")


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
    os.environ["SITEKIT_CACHE_DIR"] = str(cache)
    try:
        result = review(repo, "HEAD", mode="offline", show_progress=False)
    finally:
        del os.environ["SITEKIT_CACHE_DIR"]
        reset(repo)
    return result


def test_only_the_sites_a_change_touches_are_affected():
    base = {"us-ashburn": ("us", (), ("10.64.0.0/16",)), "ar-patagonia": ("ar", (), ("10.65.0.0/16",)),
            "br-saopaulo": ("br", (), ("10.66.0.0/16",))}
    head = {"us-ashburn": ("us", (), ("10.64.0.0/16",)), "ar-patagonia": ("ar", (), ("10.65.0.0/16",)),
            "de-frankfurt": ("de", (), ("10.67.0.0/16",))}
    assert affected_sites(["stacks/Pulumi.us-ashburn.yaml", "README.md", "tests/x.py"], base, head) == ["us-ashburn"]
    assert affected_sites(["stacks/jurisdictions/ar.yaml"], base, head) == ["ar-patagonia"]
    assert affected_sites(["stacks/jurisdictions/br.yaml"], base, head) == ["br-saopaulo"]  # a site being removed
    assert affected_sites(["sitekit/region/network.py"], base, head) == sorted(set(base) | set(head))
    assert affected_sites(["docs/policies.md"], base, head) == []


def test_a_site_is_affected_by_what_its_load_reads_of_other_sites():
    """Peers, named on either side, and supernets that overlap (issue 17: the hub's storage CIDR changed, its
    spokes were called unaffected; a deleted peer left the site naming it "unchanged")."""
    hub = ("us", ("ar-patagonia", "br-saopaulo"), ("10.64.0.0/16",))
    base = {"us-ashburn": hub, "ar-patagonia": ("ar", ("us-ashburn",), ("10.65.0.0/16",)),
            "br-saopaulo": ("br", ("us-ashburn",), ("10.66.0.0/16",)), "cl-santiago": ("cl", (), ("10.68.0.0/16",))}
    assert affected_sites(["stacks/Pulumi.us-ashburn.yaml"], base, base) == ["ar-patagonia", "br-saopaulo", "us-ashburn"]
    assert affected_sites(["stacks/Pulumi.br-saopaulo.yaml"], base, base) == ["br-saopaulo", "us-ashburn"]
    deleted = {s: f for s, f in base.items() if s != "br-saopaulo"}
    assert affected_sites(["stacks/Pulumi.br-saopaulo.yaml"], base, deleted) == ["br-saopaulo", "us-ashburn"]
    unnamed = dict(base, **{"us-ashburn": ("us", ("ar-patagonia",), ("10.64.0.0/16",))})  # the head names br no more
    assert affected_sites(["stacks/Pulumi.br-saopaulo.yaml"], base, unnamed) == ["br-saopaulo", "us-ashburn"]
    added = dict(base, **{"de-frankfurt": ("de", ("us-ashburn",), ("10.68.0.0/15",))})  # overlaps cl-santiago's
    assert affected_sites(["stacks/Pulumi.de-frankfurt.yaml"], base, added) == ["cl-santiago", "de-frankfurt"]
    moved = dict(base, **{"cl-santiago": ("cl", (), ("10.64.0.0/15",))})  # moved onto the hub's and ar's blocks
    assert affected_sites(["stacks/Pulumi.cl-santiago.yaml"], base, moved) == \
        ["ar-patagonia", "cl-santiago", "us-ashburn"]


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


def test_a_reservation_moved_to_another_ad_is_a_protected_replacement_its_pools_follow():
    """availabilityDomain is ForceNew on a capacity reservation (the provider's facts): a new AD replaces it, which
    a protected reservation blocks; the reserved count updates in place; the new reservation's id reaches the
    instance configuration launching into it (capacityReservationId is ForceNew there: replaced too)."""
    res_t, config_t = "oci:Core/computeCapacityReservation:ComputeCapacityReservation", \
        "oci:Core/instanceConfiguration:InstanceConfiguration"

    def snap(ad, count):
        reservation = _res("s-capacity-reservation-x", res_t, {
            "availabilityDomain": ad, "compartmentId": "c",
            "instanceReservationConfigs": [{"instanceShape": "BM.GPU.GB200.4", "reservedCount": count}]}, protect=True)
        config = _res("s-instance-config-x", config_t, {"compartmentId": "c", "instanceDetails": {
            "instanceType": "compute", "launchDetails": {"capacityReservationId": "s-capacity-reservation-x-id"}}})
        return _snap(reservation, config)

    grown = diff_snapshots(snap("AD-1", "18"), snap("AD-1", "36"))
    assert [(c.name, c.kind) for c in grown] == [("s-capacity-reservation-x", "update")]
    moved = {c.name: c for c in diff_snapshots(snap("AD-1", "18"), snap("AD-2", "18"))}
    reservation = moved["s-capacity-reservation-x"]
    assert reservation.kind == "replace" and reservation.blocked and reservation.replace_fields == ["availabilityDomain"]
    assert moved["s-instance-config-x"].kind == "replace"


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
    # ar-patagonia names the hub as a peer: reviewed, and unchanged (none of the hub's peered ranges moved)
    assert set(by_site) == {"us-ashburn", "br-saopaulo", "ar-patagonia"} and changed.unaffected == []
    assert by_site["ar-patagonia"].status == "unchanged" and not by_site["ar-patagonia"].changes
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
    assert us.base.outputs["gpus"] == 20624 and us.head.outputs["gpus"] == 20624 + 256 * 8
    # list prices: 2048 H100 nodes at $80/h become 2304 B200 nodes at $128/h; GB200 nodes have no list price
    assert us.base.cost["byShape"]["BM.GPU.H100.8"] == pytest.approx(2048 * (80 * 730 + 512 * 0.0255))
    assert us.head.cost["byShape"]["BM.GPU.B200.8"] == pytest.approx(2304 * (128 * 730 + 512 * 0.0255))
    assert us.head.cost["unpriced"] == {"BM.GPU.GB200.4": 36}
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
    # the quota follows the pools (issue 21: B200 now runs, H100 no longer does), an update; frontier's second
    # NVL72 block (its configuration replaced with the key, its cluster and fabric renamed) and its reservation
    # (renamed) follow the pool
    assert "| changed | 0 | 15 | 9 | 6 | ⚠ 3 | 20,624 → 22,672 (+2,048) |" in row
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
    assert data["schemaVersion"] == 3 and data["head"]["dirty"] in (True, False) and data["notEvaluated"] == []
    assert [s["site"] for s in data["sites"]] == ["ar-patagonia", "br-saopaulo", "us-ashburn"]
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


def test_a_value_cannot_close_its_fence_or_mention_anyone():
    """A committed value holding a line of backticks, shown as context of a diff, stays in code (issue 17: 97
    images and 97 mentions rendered outside code); `@mentions` in values notify no one."""
    from markdown_it import MarkdownIt

    lines = [f"line {i}" for i in range(3)] + ["```", "![pwned](https://example.com/x.png) @octocat", "````", "end"]
    value = "\n".join(lines * 3)
    s = SiteReview("site-00", "changed", base=Side(outputs={"gpus": 8}), head=Side(
        outputs={"gpus": 8}, policy={"error": "stacks/Pulumi.site-00.yaml:9: policy.waivers[0].rule: unknown rule "
                                              "'```\n![x](https://example.com/y.png) @octocat'"}))
    s.changes = [Change("update", "urn:x::n", "oci:Core/vcn:Vcn", "n", False, ["freeformTags"],
                        before={"freeformTags": {"note": value}}, after={"freeformTags": {"note": value + "!"}})]
    text = render_markdown(Review("main", "a" * 40, True, "b" * 40, False, "offline", None, [s], []))
    assert "@octocat" not in text and "@\u200boctocat" in text
    tokens = MarkdownIt("commonmark").parse(text)
    inline = [t for t in tokens if t.type == "inline"]
    assert not [c for t in inline for c in t.children or [] if c.type == "image"]
    assert not [t.content for t in inline if "octocat" in t.content or "pwned" in t.content]
    fences = [t for t in tokens if t.type == "fence"]
    assert any(t.info == "diff" and t.markup == "`````" and "![pwned]" in t.content for t in fences)
    assert any("unknown rule" in t.content and t.markup == "````" for t in fences)


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
    us = next(s for s in result.sites if s.site == "us-ashburn")
    assert result.mode == "preview-json" and {s.status for s in result.sites if s is not us} == {"unchanged"}
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
    assert [s.site for s in merged.sites if s.status != "unchanged"] == ["us-ashburn"] and merged.merge_base
    tip = review(repo, "main", mode="offline", base_tip=True, show_progress=False)
    assert [s.site for s in tip.sites if s.status != "unchanged"] == ["ar-patagonia", "us-ashburn"]
    assert not tip.merge_base


def test_each_side_is_planned_by_its_own_code_only(repo, tmp_path):
    """A base tree without a module the head has must fail to plan, not borrow the head's (editable) copy."""
    tree = tmp_path / "tree"
    shutil.copytree(repo, tree, ignore=shutil.ignore_patterns(".git"))
    (tree / "sitekit/oci/fakes.py").unlink()
    out = snapshot_side(tree, ["ar-patagonia"], 1, Cache(None, "snapshots"))
    error = out["ar-patagonia"]["error"]
    assert "cannot import name 'fakes' from 'sitekit.oci'" in error and str(tree / "sitekit") in error, error


LINKS = {"links/absolute-file": "/etc/passwd", "links/absolute-dir": "/usr", "links/absolute-dangling": "/no/such/path",
         "links/relative": "../Pulumi.yaml", "links/dangling": "no-such-file", "links/outside": "../../../outside",
         "sitekit/absolute-link": "/etc/passwd"}


def test_a_base_with_symbolic_links_of_every_kind_is_exported_as_committed_and_reviewed(tmp_path, cache,
                                                                                       monkeypatch):
    """Absolute, relative, dangling and out-of-tree links in the base commit (issue 17): the base tree keeps each
    as committed and is planned; the `data` extraction filter refused the absolute ones with a traceback."""
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(cache))
    (tmp_path / "r").mkdir()
    repo = make_repo(tmp_path / "r")
    for rel, target in LINKS.items():
        (repo / rel).parent.mkdir(exist_ok=True)
        (repo / rel).symlink_to(target)
    commit(repo, "links of every kind")
    tree = export_tree(repo, resolve(repo, "HEAD"), tmp_path)
    assert {rel: str((tree / rel).readlink()) for rel in LINKS} == LINKS
    assert (tree / "links/relative").read_text() == (repo / "Pulumi.yaml").read_text()
    edit(repo, "stacks/Pulumi.ar-patagonia.yaml", "nodes: 4096", "nodes: 2048")
    result = review(repo, "HEAD", ["ar-patagonia"], mode="offline", jobs=1, show_progress=False)
    (site,) = result.sites
    assert site.base.error is None and site.head.error is None and site.status == "changed"


def _tree_before_the_move(dest: Path, after: bool = False) -> Path:
    """The project as it was just before its package moved into folders (issue 16), from this clone's history;
    with `after`, as the move left it (the same data, in folders)."""
    from sitekit import ROOT

    moved = git(ROOT, "rev-list", "-1", "HEAD", "--", "sitekit/loader.py").strip()
    assert moved, "this test needs the clone's history (the commit that moved sitekit/loader.py); not a shallow clone"
    dest.mkdir()
    commit = moved if after else f"{moved}^"
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    assert (dest / "sitekit" / "loader.py").is_file() is not after and (dest / "sitekit" / "spec").exists() is after
    return dest


def test_a_base_from_before_the_move_is_planned_by_its_own_code_with_its_policy(repo, tmp_path):
    """The flat layout (sitekit/offline.py, sitekit/loader.py) is still planned by its own code, and its policy
    column is filled: the plan it registers is the one the folders register, and so are its policy results."""
    reset(repo)
    old = _tree_before_the_move(tmp_path / "flat")
    before = snapshot_side(old, ["ar-patagonia"], 1, Cache(None, "snapshots"))["ar-patagonia"]
    # compared with the move itself, not with today's tree, whose plan later issues change on purpose
    moved = _tree_before_the_move(tmp_path / "folders", after=True)
    after = snapshot_side(moved, ["ar-patagonia"], 1, Cache(None, "snapshots"))["ar-patagonia"]
    assert before["error"] is None, before["error"]
    assert before["policy"] and "error" not in before["policy"], before["policy"]
    assert before["resources"] and before["resources"] == after["resources"]
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


def test_cache_entries_are_reused_and_rebuilt_and_said_when_corrupt_forged_or_foreign(repo, tmp_path, capsys):
    """An entry is checked on read against its key, what it was computed from and its own digest (issue 17: a
    forged entry turned a failing verdict into a pass); every mismatch is rebuilt and said on stderr."""
    reset(repo)
    cache = Cache(tmp_path, "snapshots")
    key = SideKeys(repo).key("ar-patagonia")
    first = snapshot_side(repo, ["ar-patagonia"], 1, cache)["ar-patagonia"]
    entry = tmp_path / "snapshots" / f"{key}.json"
    good = json.loads(entry.read_text())
    assert good["value"] == first and good["inputs"] == {"site": "ar-patagonia"} and len(good["digest"]) == 64
    assert cache.get(key, "ar-patagonia") == first and capsys.readouterr().err == ""
    forged = dict(first, policy=dict(first["policy"], mandatoryFailures=[]), outputs={"gpus": -1})
    cases = {"does not parse": "{not json",
             "is of another format": json.dumps(dict(good, format=2)),
             "is filed under a key it was not computed for": json.dumps(dict(good, key="0" * 64)),
             "was computed from other inputs": json.dumps(dict(good, inputs={"site": "us-ashburn"})),
             "does not match its digest (edited or damaged)": json.dumps(dict(good, value=forged)),
             "holds another site": json.dumps(dict(good, value=dict(first, site="us-ashburn"), digest=_digest(
                 key, good["inputs"], dict(first, site="us-ashburn"))))}  # a digest recomputed: still refused
    for why, text in cases.items():
        entry.write_text(text)
        assert cache.get(key, "ar-patagonia") is None, why
        assert f"sitekit: cache: snapshots entry for ar-patagonia {why}" in capsys.readouterr().err, why
    again = snapshot_side(repo, ["ar-patagonia"], 1, cache)["ar-patagonia"]
    assert again == first and json.loads(entry.read_text()) == good  # rebuilt and overwritten
    edit(repo, "stacks/Pulumi.ar-patagonia.yaml", "config:\n", "config:\n  # edited\n")
    try:
        assert SideKeys(repo).key("ar-patagonia") != key  # any change to an input is another entry
    finally:
        reset(repo)


def test_a_cached_snapshot_is_judged_again_once_a_waiver_it_counted_on_expires(repo, tmp_path, monkeypatch, capsys):
    """Issue 17: a review from the cache passed a waiver that had expired since the entry was written. The verdict
    holds until the first waiver in force expires; after that the snapshot is judged again (and said), and the
    review equals one without the cache."""
    import datetime

    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(tmp_path / "cache"))
    reset(repo)
    append(repo, AR, UNKNOWN_RULE_WAIVER.replace("SK-NET-999", "SK-NET-001"))
    before, after = datetime.date(2027, 1, 31), datetime.date(2027, 2, 1)
    try:
        warm = review(repo, "HEAD", ["ar-patagonia"], mode="offline", jobs=1, show_progress=False, today=before)
        capsys.readouterr()
        cached = review(repo, "HEAD", ["ar-patagonia"], mode="offline", jobs=1, show_progress=False, today=after)
        said = capsys.readouterr().err
        fresh = review(repo, "HEAD", ["ar-patagonia"], mode="offline", jobs=1, show_progress=False, today=after,
                       use_cache=False)
    finally:
        reset(repo)
    assert "SK-GOV-006" not in warm.sites[0].head.policy["mandatoryFailures"]
    assert "snapshot of ar-patagonia judged on 2027-01-31, holding until 2027-01-31, does not hold on 2027-02-01: " \
           "judged again" in said
    assert "SK-GOV-006" in cached.sites[0].head.policy["mandatoryFailures"]
    assert cached.sites[0].head == fresh.sites[0].head


@pytest.mark.skipif(os.geteuid() != 0, reason="making a file another user's needs root")
def test_the_cache_is_private_and_refuses_what_another_user_owns(repo, tmp_path, capsys, monkeypatch):
    """Issue 17: the cache directory is created 0700; one another user owns is refused (exit 1, said), and so is
    an entry another user owns; one of ours that is open wider is narrowed."""
    from sitekit.run.cache import cache_dir

    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(tmp_path / "new" / "sitekit"))
    assert (cache_dir().stat().st_mode & 0o777) == 0o700
    cache = Cache(cache_dir(), "snapshots")
    assert (cache.folder.stat().st_mode & 0o777) == 0o700
    cache.put("k" * 64, {"site": "s", "x": 1})
    assert cache.get("k" * 64, "s") == {"site": "s", "x": 1}
    os.chown(cache.folder / f"{'k' * 64}.json", 12345, 12345)
    capsys.readouterr()
    assert cache.get("k" * 64, "s") is None and "belongs to another user" in capsys.readouterr().err
    open_ = tmp_path / "open"
    open_.mkdir(mode=0o777)
    open_.chmod(0o777)
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(open_))
    assert (cache_dir().stat().st_mode & 0o777) == 0o700 and "narrowed to 700" in capsys.readouterr().err
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 12345, 12345)
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(theirs))
    monkeypatch.chdir(repo)
    for command in (["policy", "ar-patagonia"], ["review", "--mode", "offline", "--no-progress"]):
        done = CliRunner().invoke(app, command)
        assert done.exit_code == 1 and "Traceback" not in done.output, (command, done.output)
        assert f"error: cache directory {theirs} is not a directory of this user's (owner uid 12345)" in done.stderr
    assert not list(theirs.iterdir())


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


def test_a_change_to_the_hubs_network_reviews_its_peers_too(repo, cache, monkeypatch):
    """The hub's storage range is peered: its spokes' routes and NSG rules admit it, so they change too."""
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(cache))
    reset(repo)
    edit(repo, US, "storage: 10.64.144.0/24", "storage: 10.64.146.0/24")
    try:
        result = review(repo, "HEAD", mode="offline", show_progress=False)
    finally:
        reset(repo)
    by_site = {s.site: s for s in result.sites}
    assert sorted(by_site) == ["ar-patagonia", "br-saopaulo", "us-ashburn"] and result.unaffected == []
    for spoke in ("ar-patagonia", "br-saopaulo"):
        assert by_site[spoke].status == "changed" and by_site[spoke].count("update") > 0, spoke
        assert all("10.64.146.0/24" in json.dumps(c.after) for c in by_site[spoke].changes), spoke


def test_a_deleted_site_that_a_peer_still_names_fails_the_review(repo, cache, monkeypatch):
    """The peer no longer loads: bad input (exit 2, its problem listed), never "unchanged"."""
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(cache))
    monkeypatch.chdir(repo)
    reset(repo)
    (repo / BR).unlink()
    try:
        done = CliRunner().invoke(app, ["review", "--mode", "offline", "--no-progress"])
    finally:
        reset(repo)
    assert done.exit_code == 2, done.output
    assert re.search(r"stacks/Pulumi\.us-ashburn\.yaml:\d+: site\.peers\.br-saopaulo: no such site", done.output)


def test_a_pin_bump_says_both_sides_are_planned_with_the_sdks_installed_here(repo, cache, monkeypatch):
    """Issue 17: "every site is re-planned with them" was not true; both sides are planned with the installed SDKs."""
    from importlib import metadata

    from sitekit.git import pinned_versions

    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(cache))
    reset(repo)
    pin = pinned_versions(repo)["pulumi-oci"]
    edit(repo, "pyproject.toml", f'"pulumi-oci{pin}"', '"pulumi-oci==999.0.0"')
    try:
        result = review(repo, "HEAD", ["ar-patagonia"], mode="offline", jobs=1, show_progress=False)
    finally:
        reset(repo)
    installed = metadata.version("pulumi-oci")
    assert result.versions["installed"]["pulumi-oci"] == installed
    assert result.version_changes() == [("pulumi-oci", pin, "==999.0.0")]
    text = render_markdown(result)
    assert f"**Versions change:** pulumi-oci {pin} → ==999.0.0. Both sides are planned with the SDKs installed here " \
           f"(pulumi {metadata.version('pulumi')}, pulumi-oci {installed}, " in text
    assert "not each with its own pins" in text and "re-planned with them" not in text


def test_a_policy_that_cannot_be_evaluated_fails_the_review_and_says_so_first(repo, cache, monkeypatch):
    """A waiver naming an unknown rule (issue 17: "Policy: could not evaluate" and exit 0): bad input, exit 2 with
    or without --check, the report written and its first lines saying what was not evaluated."""
    from sitekit.review.render import MARKER

    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(cache))
    monkeypatch.chdir(repo)
    reset(repo)
    append(repo, AR, UNKNOWN_RULE_WAIVER)
    runner = CliRunner()
    try:
        md = runner.invoke(app, ["review", "ar-patagonia", "--check", "--mode", "offline", "--no-progress"])
        js = runner.invoke(app, ["review", "ar-patagonia", "--mode", "offline", "--no-progress", "--format", "json"])
    finally:
        reset(repo)
    assert md.exit_code == 2 and js.exit_code == 2, md.output
    lines = md.stdout.splitlines()
    assert lines[:4] == [MARKER, "**Not evaluated: this review fails (bad input, exit 2).** Each of these is unknown, "
                                 "not a pass:", "", "- **ar-patagonia**: policy not evaluated"]
    assert "SK-NET-999" in "\n".join(lines[4:8])
    assert re.search(r"\| ar-patagonia \| changed \|.*\| \*\*not evaluated\*\* \|$", md.stdout, re.M)
    assert "review: ar-patagonia: policy not evaluated: " in md.stderr
    (item,) = json.loads(js.stdout)["notEvaluated"]
    assert item["site"] == "ar-patagonia" and item["what"] == "policy" and item["badInput"] is True
    assert "SK-NET-999" in item["why"]


def test_a_head_that_cannot_be_planned_is_not_evaluated_never_all_deleted(repo, tmp_path):
    """A head snapshot with an error (not bad input): no changes made up from it, listed first, exit 1."""
    from sitekit.review import Scope, not_evaluated, site_review

    base = snapshot_side(repo, ["ar-patagonia"], 1, Cache(None, "snapshots"))["ar-patagonia"]
    head = {"site": "ar-patagonia", "resources": [], "outputs": {}, "policy": None, "errorKind": "other",
            "error": "could not be planned by this tree's code: ImportError: no module named x"}
    s = site_review(load_prices(repo), "ar-patagonia", "changed", base, head, "offline", None, None)
    assert s.changes == [] and s.status == "changed" and "not evaluated" in s.notes[-1]
    items = not_evaluated(Scope(["ar-patagonia"], ["ar-patagonia"], ["ar-patagonia"]), {"ar-patagonia": head})
    result = Review("main", "a" * 40, True, "b" * 40, False, "offline", None, [s], [], {}, items)
    assert result.exit_code() == 1 and [(n.what, n.bad_input) for n in items] == [("plan", False)]
    text = render_markdown(result)
    assert text.splitlines()[1] == "**Not evaluated: this review fails (exit 1).** Each of these is unknown, not a pass:"
    assert "| **not evaluated** |" in text


APPROVAL_HARNESS = """
const allowProtected = require(process.argv[1]);
const s = JSON.parse(process.argv[2]);
const outputs = {};
const github = {
  paginate: async (fn, params) => fn(params),
  rest: {
    issues: {listLabelsOnIssue: async () => s.labels.map(name => ({name})), listEvents: async () => s.events},
    pulls: {listCommits: async () => [{sha: 'old', commit: {committer: {date: '2026-01-01T00:00:00Z'}}},
                                      {sha: 'head', commit: {committer: {date: s.committed}}}]},
    actions: {getWorkflowRun: async () => ({data: {workflow_id: 7}}),
              listWorkflowRuns: async p => (p.workflow_id === 7 && p.head_sha === 'head' ? s.runs : [])
                .map(t => ({created_at: t}))},
  },
};
const context = {repo: {owner: 'o', repo: 'r'}, runId: 1, payload: {pull_request: {number: 5, head: {sha: 'head'}}}};
allowProtected({github, context, core: {setOutput: (k, v) => { outputs[k] = v; }}})
  .then(() => process.stdout.write(JSON.stringify(outputs)));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node (the workflow's script is JavaScript)")
def test_the_approval_label_counts_only_when_added_after_the_last_push():
    """Issue 17: the `allow-protected` label stayed for later pushes. It approves a head only when added after the
    head was pushed (GitHub's clock: the first run for the head commit, a force push; and the commit's date), and
    the note names who added it."""
    from sitekit import ROOT

    script = str(ROOT / ".github/scripts/allow-protected.js")

    def approval(labelled: str, committed: str, runs: list[str], **extra) -> dict:
        events = [{"event": "labeled", "label": {"name": "allow-protected"}, "actor": {"login": "ops-lead"},
                   "created_at": labelled}, {"event": "labeled", "label": {"name": "docs"}, "actor": {"login": "x"},
                                             "created_at": "2026-12-09T00:00:00Z"}] + extra.get("events", [])
        scenario = {"labels": extra.get("labels", ["docs", "allow-protected"]), "events": events,
                    "committed": committed, "runs": runs}
        done = subprocess.run(["node", "-e", APPROVAL_HARNESS, script, json.dumps(scenario)], capture_output=True,
                              text=True, check=True)
        return json.loads(done.stdout)

    after = approval("2026-12-08T12:00:00Z", "2026-12-08T10:00:00Z", ["2026-12-08T10:01:00Z"])
    assert after["allow"] == "true"
    assert after["note"].startswith("**Protected replacements and deletions approved** by `ops-lead`: the "
                                    "`allow-protected` label was added at 2026-12-08T12:00:00Z, after the last push "
                                    "(2026-12-08T10:01:00.000Z).")
    # pushed after the label (the commit backdated: GitHub's clock decides)
    before = approval("2026-12-08T12:00:00Z", "2026-12-01T00:00:00Z", ["2026-12-08T13:00:00Z", "2026-12-08T14:00:00Z"])
    assert before["allow"] == "false" and "`ops-lead` added it at 2026-12-08T12:00:00Z, before the last push " \
        "(2026-12-08T13:00:00.000Z)" in before["note"]
    forced = approval("2026-12-08T12:00:00Z", "2026-12-08T10:00:00Z", ["2026-12-08T10:01:00Z"],
                      events=[{"event": "head_ref_force_pushed", "created_at": "2026-12-08T12:30:00Z"}])
    assert forced["allow"] == "false"
    assert approval("2026-12-08T12:00:00Z", "2026-12-08T10:00:00Z", ["2026-12-08T10:01:00Z"], labels=["docs"]) == \
        {"allow": "false", "note": ""}


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
    assert "sitekit rollout plan" in deploy_yml and "DEFAULT_BRANCH: ${{ github.event.repository.default_branch }}" \
        in deploy_yml  # issue 18: waves from `rollout plan`, on the default branch only
    paths = review_yml.split("paths:", 1)[1].split("permissions:", 1)[0]
    for executed in ("Makefile", "pyproject.toml", "requirements/**", "policies/**", ".github/workflows/**"):
        assert f'"{executed}"' in paths, executed  # issue 17: everything the deployment executes
    assert "ALLOW_PROTECTED: ${{ steps.approval.outputs.allow }}" in review_yml
    assert "labels.*.name" not in review_yml  # the label's presence alone approves nothing
    broken = tmp_path / "broken.yml"
    broken.write_text(review_yml.replace("steps.review.outcome", "steps.reveiw.outcome"))
    assert subprocess.run([actionlint, str(broken)], capture_output=True).returncode != 0


def test_a_deployed_base_in_the_cache_is_checked_on_read_and_rebuilt_when_forged(tmp_path, capsys):
    """Issue 17: every cache entry records what it holds and is checked on read, engine mode's deployed bases
    too: an entry whose state was edited, or that is filed under another key, is not restored, and that is said."""
    import tarfile

    from sitekit.review.engine import DeployedCache

    state = tmp_path / "work" / "state"
    (state / ".pulumi" / "stacks").mkdir(parents=True)
    (state / ".pulumi" / "stacks" / "s.json").write_text('{"resources": ["vault"]}')
    cache = DeployedCache(tmp_path / "cache")
    cache.store("k1", state, "salt-1")
    restored = tmp_path / "again" / "state"
    restored.parent.mkdir()
    assert cache.restore("k1", restored) == "salt-1"
    assert (restored / ".pulumi/stacks/s.json").read_text() == '{"resources": ["vault"]}'
    entry = tmp_path / "cache" / "engine" / "k1.tar"
    forged = tmp_path / "forged"
    with tarfile.open(entry) as tar:
        tar.extractall(forged, filter="data")
    (forged / "state" / ".pulumi" / "stacks" / "s.json").write_text('{"resources": []}')  # the vault "deleted"
    with tarfile.open(entry, "w") as tar:
        tar.add(forged / "manifest.json", arcname="manifest.json")
        tar.add(forged / "state", arcname="state")
    elsewhere = tmp_path / "third" / "state"
    elsewhere.parent.mkdir()
    assert cache.restore("k1", elsewhere) is None and not elsewhere.exists()
    assert "does not match its digest; deployed again, not trusted" in capsys.readouterr().err
    (tmp_path / "cache" / "engine" / "k2.tar").write_bytes(entry.read_bytes())
    assert cache.restore("k2", tmp_path / "fourth" / "state") is None
    assert "filed under another key" in capsys.readouterr().err


def test_a_side_whose_code_runs_here_is_planned_here_as_its_own_interpreter_would(repo, tmp_path, monkeypatch):
    """The repo's sitekit is this sitekit, file for file: its sites are planned in this process's workers (no
    interpreter of the tree's own is started) and their snapshots are exactly what the tree's interpreter writes."""
    from sitekit.review import sides

    sites = ["ar-patagonia", "br-saopaulo", "us-ashburn"]
    assert sides.runs_here(repo)
    day = datetime.date(2026, 12, 1)
    own = sides._run_chunk(repo, sites, lambda s: None, day)
    monkeypatch.setattr(sides, "_run_chunk", lambda *a: pytest.fail("a fresh interpreter was started"))
    here = sides.snapshot_side(repo, sites, 2, Cache(None, "snapshots"), day=day)
    assert json.dumps(here, sort_keys=True) == json.dumps(own, sort_keys=True)
    altered = tmp_path / "tree"
    shutil.copytree(repo, altered, ignore=shutil.ignore_patterns(".git"))
    (altered / "sitekit/naming.py").write_text((altered / "sitekit/naming.py").read_text() + "\n# changed\n")
    assert not sides.runs_here(altered)


def test_a_base_whose_plan_is_in_the_plan_cache_is_judged_not_planned_again(repo, tmp_path, monkeypatch):
    """`policy --all` left the plans of the unchanged tree in the cache, under the keys the review's base has:
    the review judges those plans and plans nothing (the snapshot equal to a planned one)."""
    from sitekit.review import sides
    from sitekit.run.batch import run_sites
    from sitekit.run.cache import cache_dir

    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(tmp_path / "cache"))
    run_sites(repo, ["ar-patagonia"], "plan")  # the plan cache, as `plan --all` leaves it
    day = datetime.date(2026, 12, 1)
    planned = sides.snapshot_side(repo, ["ar-patagonia"], 1, Cache(None, "snapshots"), day=day)
    monkeypatch.setattr("sitekit.run.offline.plan_site", lambda *a, **k: pytest.fail("planned again"))
    reused = sides.snapshot_side(repo, ["ar-patagonia"], 1, Cache(None, "snapshots"), day=day,
                                 plans=Cache(cache_dir(), "plans"))
    assert reused == planned


def test_a_warm_review_is_served_from_the_review_cache_byte_for_byte(repo, tmp_path, monkeypatch):
    """Issue 20: a review nothing changed since takes each site's review, as written, from the cache (keyed by
    both sides' keys, the status, mode, day, prices and the running sitekit): no side is planned or read again,
    and the JSON and the comment are byte for byte those of a review without the cache. Another day is another
    key: reviewed again."""
    import sitekit.review as review_module

    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(tmp_path / "cache"))
    day = datetime.date(2026, 12, 7)
    reset(repo)
    edit(repo, US, "nodes: 2048", "nodes: 2304")
    edit(repo, US, "- name: frontier", "- name: gb200\n      formerNames: [frontier]")
    (repo / BR).unlink()
    edit(repo, US, "    - site: br-saopaulo\n", "")
    try:
        first = review(repo, "HEAD", mode="offline", jobs=1, show_progress=False, today=day)
        planned = []
        real = review_module.plan_sides
        monkeypatch.setattr(review_module, "plan_sides", lambda *a, **k: planned.append(a[2].sites) or real(*a, **k))
        warm = review(repo, "HEAD", mode="offline", jobs=1, show_progress=False, today=day)
        fresh = review(repo, "HEAD", mode="offline", jobs=1, show_progress=False, today=day, use_cache=False)
        assert planned == [[s.site for s in first.sites]]  # only the review without the cache planned
        assert warm.sites and all(s.site in warm.rendered for s in warm.sites)
        later = review(repo, "HEAD", mode="offline", jobs=1, show_progress=False, today=day + datetime.timedelta(1))
    finally:
        reset(repo)
    assert len(planned) == 2 and planned[1] == [s.site for s in first.sites]
    assert sorted(warm.rendered) == sorted(s.site for s in first.sites) and not fresh.rendered
    # the contract: one indenting json.dumps of the whole review, as before the sites were rendered one by one
    assert dumps(fresh) == json.dumps(fresh.to_dict(), indent=2, sort_keys=True, default=str) + "\n"
    assert dumps(warm) == dumps(fresh) == dumps(first)
    assert render_markdown(warm) == render_markdown(fresh) == render_markdown(first)
    assert [s.changes for s in warm.sites] == [s.changes for s in fresh.sites]  # in the order they were found
    assert warm.exit_code() == fresh.exit_code() and warm.not_evaluated == fresh.not_evaluated
    assert [s.site for s in later.sites] == [s.site for s in fresh.sites]


def test_a_review_leaves_its_head_plans_in_the_plan_cache_for_plan_all(repo, tmp_path, monkeypatch):
    """Issue 20: the head plans a review makes land in the plan cache under the key `plan` reads, so `plan --all`
    after a review is served from it: every site a plan-cache hit, none planned again."""
    from sitekit.run import batch
    from sitekit.run.cache import Cache as CacheClass

    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(tmp_path / "cache"))
    reset(repo)
    edit(repo, US, "nodes: 2048", "nodes: 2304")
    try:
        done = review(repo, "HEAD", mode="offline", jobs=1, show_progress=False)
        sites = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (repo / "stacks").glob("Pulumi.*.yaml"))
        reviewed = [s.site for s in done.sites if s.status != "removed"]
        hits, planned = [], []
        real_get = CacheClass.get

        def get(self, key, site, inputs=None):
            value = real_get(self, key, site, inputs)
            if self.kind == "plans" and value is not None:
                hits.append(site)
            return value

        monkeypatch.setattr(CacheClass, "get", get)
        monkeypatch.setattr(batch, "_one", lambda root, site, *a: planned.append(site))
        outcomes = batch.run_sites(repo, reviewed, "plan", jobs=1)
    finally:
        reset(repo)
    assert reviewed and set(reviewed) <= set(sites)
    assert sorted(hits) == sorted(reviewed) and planned == []
    assert all(kind == "plan" and value.resources for kind, value in outcomes.values())
