"""`sitekit new-site` refusals: each prints `where: key: message` lines, exits 2, shows no traceback and
writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from sitekit.cli.main import app


def run(project: Path, monkeypatch, *args: str):
    monkeypatch.chdir(project)
    return CliRunner().invoke(app, list(args))


def stacks(project: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((project / "stacks").rglob("*.yaml"))}


def refused(project: Path, monkeypatch, *args: str) -> str:
    before = stacks(project)
    result = run(project, monkeypatch, *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert stacks(project) == before, "a refused command wrote a file"
    assert not list((project / "stacks").glob(".*.tmp")), "a temporary file was left behind"
    return result.output


AR_BASIS = "Ley 25.326 art. 12"


def test_region_outside_residency_needs_a_transfer_mechanism(project, monkeypatch):
    out = refused(project, monkeypatch, "new-site", "ar-santiago", "-j", "ar", "-r", "sa-santiago-1")
    assert "sitekit new-site: --region: region 'sa-santiago-1' is not allowed in Argentina" in out
    assert "ar-model-clauses-60e-2016, ar-ibero-american-sccs-198-2023" in out and AR_BASIS in out


def test_transfer_mechanism_the_jurisdiction_does_not_accept(project, monkeypatch):
    out = refused(project, monkeypatch, "new-site", "ar-santiago", "-j", "ar", "-r", "sa-santiago-1",
                  "--transfer-mechanism", "ar-model-clauses", "--transfer-reference", "X-1")
    assert ("--transfer-mechanism: 'ar-model-clauses' is not accepted by Argentina; "
            "did you mean 'ar-model-clauses-60e-2016'?") in out


def test_transfer_needs_a_reference(project, monkeypatch):
    out = refused(project, monkeypatch, "new-site", "de-ashburn", "-j", "de", "-r", "us-ashburn-1",
                  "--transfer-mechanism", "eu-sccs-2021-914")
    assert "--transfer-reference: a transfer needs a reference to the signed instrument" in out


def test_jurisdiction_without_transfer_mechanisms(project, monkeypatch):
    """Frankfurt is neither a US region nor one the us profile's cross-border list opens (ar, br)."""
    out = refused(project, monkeypatch, "new-site", "us-frankfurt", "-j", "us", "-r", "eu-frankfurt-1")
    assert "is not allowed in United States" in out and "this jurisdiction accepts no transfer mechanism" in out
    assert "sa-saopaulo-1, sa-vinhedo-1" in out  # the regions the cross-border list opens are named among the allowed


def test_transfer_mechanism_for_a_region_the_cross_border_list_opens(project, monkeypatch):
    """The us profile lets confidential data go to br: a US site in Sao Paulo needs no mechanism (the loader's,
    peering's, the pack's and the capacity view's meaning: tests/test_residency.py)."""
    out = refused(project, monkeypatch, "new-site", "us-saopaulo", "-j", "us", "-r", "sa-saopaulo-1",
                  "--transfer-mechanism", "x-sccs", "--transfer-reference", "C-1")
    assert ("--transfer-mechanism: region 'sa-saopaulo-1' is in br, where United States's cross-border list lets its "
            "data go; no transfer mechanism is needed") in out


def test_unknown_jurisdiction(project, monkeypatch):
    out = refused(project, monkeypatch, "new-site", "fr-paris", "-j", "fr", "-r", "eu-frankfurt-1")
    assert "sitekit new-site: --jurisdiction: unknown jurisdiction 'fr'" in out
    assert "sitekit new-jurisdiction fr" in out


def test_unknown_region(project, monkeypatch):
    out = refused(project, monkeypatch, "new-site", "de-x", "-j", "de", "-r", "eu-frankfurt-2")
    assert "--region: unknown OCI public region 'eu-frankfurt-2'; did you mean 'eu-frankfurt-1'?" in out


def test_existing_stack_file_without_force(project, monkeypatch):
    out = refused(project, monkeypatch, "new-site", "us-ashburn", "-j", "us", "-r", "us-ashburn-1")
    assert "stacks/Pulumi.us-ashburn.yaml: the stack file exists; pass --force to overwrite it" in out


def test_force_overwrites_and_keeps_other_sites_apart(project, monkeypatch):
    result = run(project, monkeypatch, "new-site", "us-ashburn", "-j", "us", "-r", "us-ashburn-1", "--force")
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((project / "stacks/Pulumi.us-ashburn.yaml").read_text())["config"]
    assert config["sitekit:addressPlan"]["supernet"] == "10.64.0.0/16"  # its own range is free for itself


@pytest.mark.parametrize("name", ["Bad_Name", "-x", "x-", "a--b", "1site", "a" * 25, "de.frankfurt"])
def test_invalid_name(name, project, monkeypatch):
    out = refused(project, monkeypatch, "new-site", "-j", "de", "-r", "eu-frankfurt-1", "--", name)
    assert f"sitekit new-site: NAME: invalid site name '{name}'" in out


def test_shape_not_approved(project, monkeypatch):
    out = refused(project, monkeypatch, "new-site", "ae-x", "-j", "ae", "-r", "me-dubai-1",
                  "--pools", "train=BM.GPU.GB200.4")
    assert "--pools train: shape 'BM.GPU.GB200.4' is not approved in United Arab Emirates" in out


def test_envelope_too_small_for_a_node(project, monkeypatch):
    out = refused(project, monkeypatch, "new-site", "de-tiny", "-j", "de", "-r", "eu-frankfurt-1",
                  "--power-mw", "0.05")
    assert "pool serve: its share (10% of 0.05 MW at PUE 1.2) is too small for one BM.GPU.H100.8 node" in out


def test_bad_pools_syntax_and_shares(project, monkeypatch):
    out = refused(project, monkeypatch, "new-site", "de-x", "-j", "de", "-r", "eu-frankfurt-1",
                  "--pools", "train:70,serve:40")
    assert "--pools: shares add up to 110% (at most 100%)" in out
    out = refused(project, monkeypatch, "new-site", "de-x", "-j", "de", "-r", "eu-frankfurt-1", "--pools", "train==x")
    assert "'train==x' is not NAME[=SHAPE][:PERCENT]" in out


def test_every_problem_is_reported_together(project, monkeypatch):
    out = refused(project, monkeypatch, "new-site", "Bad", "-j", "de", "-r", "us-ashburn-1", "--pue", "4",
                  "--tenancy-id", "not-an-ocid")
    lines = out.strip().splitlines()
    assert [ln.split(": ")[1] for ln in lines] == ["--pue", "--region", "--tenancy-id", "NAME"]


def test_dedicated_region_needs_a_home_region(project, monkeypatch):
    out = refused(project, monkeypatch, "new-site", "ar-x", "-j", "ar", "-r", "ar-dedicated-2",
                  "--region-kind", "dedicated")
    assert "--home-region: a Dedicated Region site needs --home-region" in out


def test_organisation_space_exhausted(project, monkeypatch):
    baseline = project / "stacks/baseline.yaml"
    text = baseline.read_text()
    assert "addressSpace: [10.64.0.0/10, 10.128.0.0/10, 10.192.0.0/10]" in text
    baseline.write_text(text.replace("addressSpace: [10.64.0.0/10, 10.128.0.0/10, 10.192.0.0/10]",
                                     "addressSpace: [10.64.0.0/15]"))
    out = refused(project, monkeypatch, "new-site", "us-x", "-j", "us", "-r", "us-chicago-1")
    assert ("sitekit new-site: sitekit:addressPlan: no free /16 left in the organisation's address space "
            "(10.64.0.0/15)") in out


def test_new_jurisdiction_refusals(project, monkeypatch):
    out = refused(project, monkeypatch, "new-jurisdiction", "de")
    assert "stacks/jurisdictions/de.yaml: the profile exists; pass --force to overwrite it" in out
    out = refused(project, monkeypatch, "new-jurisdiction", "Sweden", "--regions", "eu-stockholm-2")
    assert "CODE: invalid code 'Sweden'" in out
    assert "--regions: unknown OCI public region 'eu-stockholm-2'; did you mean 'eu-stockholm-1'?" in out


def test_transfer_mechanism_for_a_resident_region(project, monkeypatch):
    out = refused(project, monkeypatch, "new-site", "de-x", "-j", "de", "-r", "eu-frankfurt-1",
                  "--transfer-mechanism", "eu-sccs-2021-914", "--transfer-reference", "C-1")
    assert "--transfer-mechanism: region 'eu-frankfurt-1' is resident in Germany; no transfer mechanism is needed" in out


@pytest.mark.parametrize("plan", ["10.65.0.0/16", "{supernet: 10.65.0.0/16, networks: [10.65.0.0/18]}",
                                  "{supernet: 10.65.0.0/33}"])
def test_another_sites_unreadable_address_plan(plan, project, monkeypatch):
    """A malformed range in another site's file stops the allocation with that file's name, not a traceback."""
    (project / "stacks/Pulumi.broken.yaml").write_text(f"config:\n  sitekit:addressPlan: {plan}\n")
    out = refused(project, monkeypatch, "new-site", "de-x", "-j", "de", "-r", "eu-frankfurt-1")
    assert "stacks/Pulumi.broken.yaml: sitekit:addressPlan" in out
    assert "fix it before stamping another site" in out


def test_pools_too_big_for_one_vcn(project, monkeypatch):
    """1 GW of H100 training nodes need more addresses than a /16, the largest OCI VCN: refused, not planned."""
    out = refused(project, monkeypatch, "new-site", "us-giga", "-j", "us", "-r", "us-chicago-1", "--power-mw", "1000")
    assert "sitekit new-site: sitekit:addressPlan: network 'gpu' needs a /15 for its subnets (nodes /15)" in out
    assert "an OCI VCN is at most a /16: lower --power-mw or split the pools among sites" in out


def test_force_keeps_the_sites_own_block_while_it_is_free(project, monkeypatch):
    """Re-stamping with --force does not move a site to a lower block another site freed (that would replace
    every VCN); it moves only when its own block no longer fits."""
    assert run(project, monkeypatch, "new-site", "de-keep", "-j", "de", "-r", "eu-frankfurt-1").exit_code == 0
    path = project / "stacks/Pulumi.de-keep.yaml"
    before = yaml.safe_load(path.read_text())["config"]["sitekit:addressPlan"]["supernet"]
    assert before == "10.67.0.0/16"
    (project / "stacks/Pulumi.br-saopaulo.yaml").unlink()  # frees 10.65.0.0/16
    again = run(project, monkeypatch, "new-site", "de-keep", "-j", "de", "-r", "eu-frankfurt-1", "--force")
    assert again.exit_code == 0, again.output
    assert yaml.safe_load(path.read_text())["config"]["sitekit:addressPlan"]["supernet"] == before


def test_operator_ranges_must_be_narrow_cidrs(project, monkeypatch):
    output = refused(project, monkeypatch, "new-site", "de-ops", "-j", "de", "-r", "eu-frankfurt-1",
                     "--operator-cidr", "10.64.0.0/10", "--operator-cidr", "not-a-range")
    assert "--operator-cidr: '10.64.0.0/10' is wider than a /16" in output
    assert "--operator-cidr: 'not-a-range' is not an IPv4 range" in output
