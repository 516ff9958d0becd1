"""Node bootstrap: the cloud-init user data each GPU pool's nodes get, decoded from the plan and checked
against the spec it came from (time, time zone, log forwarding, audit, agents, health checks, OKE init)."""

from __future__ import annotations

import base64

import pytest
import yaml
from typer.testing import CliRunner

from sitekit import ROOT
from sitekit.cli.main import app
from sitekit.errors import SpecError
from sitekit.region.bootstrap import render_user_data, user_data_in_plan
from sitekit.spec.layout import list_sites
from sitekit.spec.loader import load_site

SITES = list_sites(ROOT)
OKE_INIT = "http://169.254.169.254/opc/v2/instance/metadata/oke_init_script"


def files(doc: dict) -> dict[str, str]:
    return {f["path"]: f["content"] for f in doc["write_files"]}


@pytest.mark.parametrize("site", SITES)
def test_every_pool_gets_user_data_that_follows_its_spec(site, shipped_plans, shipped_sites):
    plan, spec = shipped_plans[site], shipped_sites[site].spec
    boot = spec.bootstrap
    texts = user_data_in_plan(plan)
    assert sorted(texts) == sorted(p.name for p in spec.compute.pools)
    for pool in spec.compute.pools:
        text = texts[pool.name]
        assert text.startswith("#cloud-config\n")
        assert text == render_user_data(shipped_sites[site], pool)  # the plan carries exactly the rendering
        doc = yaml.safe_load(text)
        assert doc["timezone"] == boot.timezone
        assert doc["ntp"] == {"enabled": True, "ntp_client": "chrony", "servers": boot.time_servers}
        written = files(doc)
        assert f"MaxRetentionSec={boot.logging.journal_days}day" in written["/etc/systemd/journald.conf.d/90-sitekit.conf"]
        rules = written["/etc/audit/rules.d/90-sitekit.rules"].splitlines()
        for group in boot.audit.groups:
            assert f"## {group.name}: {group.basis}" in rules
            assert all(rule in rules for rule in group.rules)
        assert rules[0] == {"silent": "-f 0", "printk": "-f 1", "panic": "-f 2"}[boot.audit.failure]
        assert (rules[-1] == "-e 2") is boot.audit.immutable
        checks = {c.name for c in boot.health_checks if c.placement in ("all", pool.placement)}
        assert {p.rsplit("-", 1)[-1] for p in written if p.startswith("/usr/local/sbin/sitekit-health-")} == checks
        runcmd = [c if isinstance(c, str) else " ".join(c) for c in doc["runcmd"]]
        for check in checks:
            assert f"systemctl enable --now sitekit-health-{check}.timer" in runcmd
        for agent in boot.agents:
            assert (f"systemctl enable --now {agent.unit}" in runcmd) is (agent.placement in ("all", pool.placement))
        assert any(OKE_INIT in c for c in runcmd) is (pool.placement == "oke")
        assert "rsyslog" not in text  # no shipped site forwards yet


def test_jurisdiction_audit_groups_reach_the_nodes(shipped_plans):
    privileged = "-a always,exit -F arch=b64 -S execve -F euid=0 -F auid>=1000 -F auid!=unset -k privileged-exec"
    assert privileged in user_data_in_plan(shipped_plans["ar-patagonia"])["train"]
    assert "AAIP Resolucion 47/2018" in user_data_in_plan(shipped_plans["ar-patagonia"])["train"]
    assert privileged not in user_data_in_plan(shipped_plans["us-ashburn"])["train"]  # the us profile adds none


def test_launch_metadata_is_base64_cloud_init(shipped_plans):
    plan = shipped_plans["us-ashburn"]
    for config in plan.of_type("oci:Core/instanceConfiguration:InstanceConfiguration"):
        metadata = config.inputs["instanceDetails"]["launchDetails"]["metadata"]
        assert list(metadata) == ["user_data"]
        assert base64.b64decode(metadata["user_data"], validate=True).startswith(b"#cloud-config\n")
    for pool in plan.of_type("oci:ContainerEngine/nodePool:NodePool"):
        assert base64.b64decode(pool.inputs["nodeMetadata"]["user_data"]).startswith(b"#cloud-config\n")


def override(project, site: str, text: str) -> None:
    path = project / f"stacks/Pulumi.{site}.yaml"
    path.write_text(path.read_text() + text)


def test_site_override_forwards_logs_over_tls(project):
    override(project, "br-saopaulo", "  sitekit:overrides:\n    bootstrap:\n      timezone: America/Sao_Paulo\n"
                                     "      logging: {forward: syslog-tls, collector: 'logs.gru.example:6514'}\n")
    site = load_site(project, "br-saopaulo")
    train = next(p for p in site.spec.compute.pools if p.name == "train")
    doc = yaml.safe_load(render_user_data(site, train))
    assert doc["timezone"] == "America/Sao_Paulo" and doc["packages"] == ["rsyslog-gnutls"]
    forward = files(doc)["/etc/rsyslog.d/90-sitekit-forward.conf"]
    assert 'target="logs.gru.example" port="6514"' in forward and 'StreamDriver="gtls"' in forward
    assert ["systemctl", "restart", "rsyslog"] in doc["runcmd"]
    # the journal days and the basis still come from the jurisdiction (the override merged key by key)
    assert site.spec.bootstrap.logging.basis.startswith("LGPD art. 37")


def test_forwarding_without_a_collector_is_refused(project):
    override(project, "br-saopaulo", "  sitekit:overrides:\n    bootstrap:\n      logging: {forward: syslog-tls}\n")
    with pytest.raises(SpecError) as exc:
        load_site(project, "br-saopaulo")
    assert "forward: syslog-tls needs a collector (host:port)" in str(exc.value)


def test_strict_template_fails_on_an_undefined_value(project):
    (project / "templates/broken.yaml.j2").write_text("#cloud-config\ntimezone: {{ bootstrap.tz }}\n")
    override(project, "us-ashburn", "  sitekit:overrides:\n    bootstrap: {template: broken.yaml.j2}\n")
    site = load_site(project, "us-ashburn")
    with pytest.raises(SpecError) as exc:
        render_user_data(site, site.spec.compute.pools[0])
    assert "templates/broken.yaml.j2" in str(exc.value) and "tz" in str(exc.value)


def test_bootstrap_command_prints_the_plan_decoded(project, monkeypatch):
    monkeypatch.chdir(project)
    result = CliRunner().invoke(app, ["bootstrap", "br-saopaulo", "--pool", "serve"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# ---- pool serve (") and OKE_INIT in result.output
    assert "pool train" not in result.output


def test_user_data_over_the_oci_metadata_limit_is_refused(project):
    """OCI takes at most 32,000 bytes of instance metadata: a bootstrap that outgrows it fails at plan time
    with the pool and the size, not at launch."""
    from sitekit.region.bootstrap import node_metadata

    rules = "".join(f"\n              - '-w /etc/sitekit/file-{i:04d} -p wa -k sitekit-watch-{i:04d}'" for i in range(600))
    override(project, "us-ashburn", "  sitekit:overrides:\n    bootstrap:\n      audit:\n        groups:\n"
                                    f"          - name: many\n            basis: test\n            rules:{rules}\n")
    site = load_site(project, "us-ashburn")
    with pytest.raises(SpecError) as exc:
        node_metadata(site, site.spec.compute.pools[0])
    assert "user data of pool 'train'" in str(exc.value) and "more than the 32,000 bytes" in str(exc.value)
