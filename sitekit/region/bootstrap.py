"""Node bootstrap: a site's spec -> the cloud-init user data of one pool's nodes (spec -> text, no Pulumi).

Every value that reaches the user data is typed in the spec (an auditd rule parses as one rule, a command is an
argument list, host names and units have their patterns; none holds a control character), and descriptive text
(a `basis`) never reaches it. `declared` builds what the spec asks for as data: the files with their contents
(each written for its own format: shell arguments quoted by `shlex.quote`), the commands as argument lists, which
cloud-init runs without a shell. The Jinja2 template the spec names (`bootstrap.template`, in templates/) lays them
out with StrictUndefined and a `finalize` that renders every `{{ value }}` as one YAML scalar, so escaping is by
construction. The rendering is then parsed and compared with the declaration: users, groups, sudo rules, SSH keys,
files written and commands run must be exactly those declared, or the site is refused (SpecError, exit 2). What a
node gets is that checked document, dumped by PyYAML's safe dumper under a `#cloud-config` header.

`SiteContext.node_metadata` passes it, base64-encoded, as the instance metadata key `user_data` that cloud-init
reads on OCI; the plan records it, and `sitekit bootstrap <site>` prints it decoded for review.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import yaml

from sitekit.errors import Problem, SpecError
from sitekit.naming import Kind, read
from sitekit.spec.cloudconfig import AUDIT_RULES, HEADER, JOURNALD, RSYSLOG, NotCloudConfig, parse

if TYPE_CHECKING:
    from sitekit.spec.loaded import LoadedSite

TEMPLATES = "templates"
USER_DATA = "user_data"
"""The OCI instance metadata key cloud-init reads its user data from (base64)."""
METADATA_LIMIT = 32_000
"""OCI: the combined size of an instance's `metadata` and `extendedMetadata` is at most 32,000 bytes."""

_AUDIT_FAILURE = {"silent": 0, "printk": 1, "panic": 2}
OKE_INIT = ("curl --fail -H \"Authorization: Bearer Oracle\" -L0 "
            "http://169.254.169.254/opc/v2/instance/metadata/oke_init_script | base64 --decode >/var/run/oke-init.sh")
"""OKE's own node initialisation, which custom user data must keep (OKE docs: custom cloud-init scripts); fixed
text of sitekit's, no spec value in it."""
HARMLESS = frozenset({"package_update", "package_upgrade", "package_reboot_if_required", "locale", "final_message"})
"""Top-level keys a template may add beyond the declaration: they grant nothing and run nothing of the spec's."""

_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_./@-]*$")
_YAML_WORDS = frozenset({"y", "yes", "n", "no", "true", "false", "on", "off", "null"})


def scalar(value: Any) -> str:
    """How a template's `{{ value }}` renders: one YAML scalar on one line. A simple word stays plain; any other
    text, and every number, boolean, null or list, is written as JSON (which YAML reads as the same value; JSON
    escapes line breaks and every non-ASCII character, so nothing can leave its line)."""
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined: raises, naming what is missing
    if isinstance(value, str) and _PLAIN.fullmatch(value) and value.lower() not in _YAML_WORDS:
        return value
    if isinstance(value, (str, int, float, bool, list, tuple)) or value is None:
        return json.dumps(list(value) if isinstance(value, tuple) else value)
    raise TypeError(f"a template renders text, numbers and lists, not {type(value).__name__}")


@lru_cache(maxsize=8)
def environment(templates: Path) -> jinja2.Environment:
    """A strict Jinja2 environment over a templates folder (shared by every template sitekit renders)."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, autoescape=False)


@lru_cache(maxsize=8)
def _user_data_environment(templates: Path) -> jinja2.Environment:
    """The user-data templates' environment: strict, and every expression rendered through `scalar`."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, autoescape=False, finalize=scalar)


def _applies(placement: str, pool: Any) -> bool:
    return placement == "all" or placement == pool.placement


def _file(path: str, permissions: str, lines: list[str]) -> dict[str, str]:
    return {"path": path, "permissions": permissions, "content": "\n".join(lines) + "\n"}


def _health_script(check: Any) -> list[str]:
    command = " ".join(shlex.quote(arg) for arg in check.command)
    head = ["#!/bin/sh", f"# sitekit health check {check.name} (bootstrap.healthChecks): its command, quoted"]
    if check.unhealthy_output is None:
        return [*head, f"exec {command}"]
    return [*head, f"if {command} | grep -qF -e {shlex.quote(check.unhealthy_output)}; then exit 1; fi", "exit 0"]


def _files(boot: Any, checks: list[Any]) -> list[dict[str, str]]:
    files = [_file(JOURNALD, "0644", ["[Journal]", "Storage=persistent",
                                      f"MaxRetentionSec={boot.logging.journal_days}day"])]
    if boot.logging.forward == "syslog-tls":
        host, _, port = boot.logging.collector.rpartition(":")
        files.append(_file(RSYSLOG, "0644", [
            'global(DefaultNetstreamDriverCAFile="/etc/pki/tls/certs/ca-bundle.crt")',
            f'action(type="omfwd" target="{host}" port="{port}" protocol="tcp"',
            '       StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"',
            f'       StreamDriverPermittedPeers="{host}"',
            '       queue.type="LinkedList" queue.filename="sitekit-forward" queue.saveOnShutdown="on"',
            '       action.resumeRetryCount="-1")']))
    audit = [f"-f {_AUDIT_FAILURE[boot.audit.failure]}"]
    for group in boot.audit.groups:
        audit += [f"## {group.name}", *group.rules]
    if boot.audit.immutable:
        audit.append("-e 2")
    files.append(_file(AUDIT_RULES, "0640", audit))
    for check in checks:
        unit = f"sitekit-health-{check.name}"
        files += [
            _file(f"/usr/local/sbin/{unit}", "0755", _health_script(check)),
            _file(f"/etc/systemd/system/{unit}.service", "0644", [
                "[Unit]", f"Description=sitekit health check {check.name}", "[Service]", "Type=oneshot",
                f"ExecStart=/usr/local/sbin/{unit}"]),
            _file(f"/etc/systemd/system/{unit}.timer", "0644", [
                "[Unit]", f"Description=sitekit health check {check.name} every {check.interval_minutes} min",
                "[Timer]", "OnBootSec=5min", f"OnUnitActiveSec={check.interval_minutes}min",
                "[Install]", "WantedBy=timers.target"])]
    return files


def declared(site: "LoadedSite", pool: Any) -> dict[str, Any]:
    """The cloud-config `pool`'s nodes get, as the spec declares it: time, packages, files, commands (argv)."""
    boot = site.spec.bootstrap
    checks = [c for c in boot.health_checks if _applies(c.placement, pool)]
    commands: list[list[str]] = [["systemctl", "restart", "systemd-journald"], ["augenrules", "--load"]]
    if boot.logging.forward == "syslog-tls":
        commands.append(["systemctl", "restart", "rsyslog"])
    commands.append(["systemctl", "daemon-reload"])
    commands += [["systemctl", "enable", "--now", a.unit] for a in boot.agents if _applies(a.placement, pool)]
    commands += [["systemctl", "enable", "--now", f"sitekit-health-{c.name}.timer"] for c in checks]
    if pool.placement == "oke":
        commands += [["bash", "-c", OKE_INIT], ["bash", "/var/run/oke-init.sh"]]
    doc: dict[str, Any] = {"timezone": boot.timezone,
                           "ntp": {"enabled": True, "ntp_client": "chrony", "servers": list(boot.time_servers)}}
    if boot.logging.forward == "syslog-tls":
        doc["packages"] = ["rsyslog-gnutls"]
    doc["write_files"] = _files(boot, checks)
    doc["runcmd"] = commands
    return doc


def _differences(rendered: dict[str, Any], want: dict[str, Any]) -> list[str]:
    """How a rendered cloud-config departs from the declared one (users, groups, sudo, SSH keys, files, commands,
    every other key), each as a sentence."""
    problems = []
    for key in rendered.keys() - want.keys() - HARMLESS:
        problems.append(f"renders '{key}', which the spec does not declare (users, groups, sudo rules, SSH keys, "
                        "files and commands come only from the spec)")
    for key in want.keys() - rendered.keys():
        problems.append(f"does not render '{key}', which the spec declares")
    for key in sorted(want.keys() & rendered.keys()):
        got, wanted = rendered[key], want[key]
        if got == wanted:
            continue
        if key == "write_files" and isinstance(got, list):
            paths = {f.get("path") if isinstance(f, dict) else repr(f) for f in got}
            wanted_paths = {f["path"] for f in wanted}
            extra, missing = sorted(map(str, paths - wanted_paths)), sorted(wanted_paths - paths)
            changed = sorted(f["path"] for f in wanted if f["path"] in paths and f not in got)
            problems.append("writes files other than the spec declares:"
                            + (f" undeclared {', '.join(extra)};" if extra else "")
                            + (f" missing {', '.join(missing)};" if missing else "")
                            + (f" changed {', '.join(changed)};" if changed else "")
                            + ("" if extra or missing or changed else " the same paths, written twice or reordered;"))
        elif key == "runcmd" and isinstance(got, list):
            extra = [c for c in got if c not in wanted]
            problems.append("runs commands other than the spec declares"
                            + (f": {', '.join(json.dumps(c)[:80] for c in extra)}" if extra else " (order or count)"))
        else:
            problems.append(f"renders {key} as {json.dumps(got, default=str)[:80]}, the spec declares "
                            f"{json.dumps(wanted, default=str)[:80]}")
    return problems


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper, with file contents as literal blocks (readable in review)."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)


def dump(site: "LoadedSite", pool: Any, doc: dict[str, Any]) -> str:
    """The user data text of a checked cloud-config: the header, a comment naming where it came from, the YAML."""
    spec = site.spec
    comment = (f"# sitekit node bootstrap: site {spec.site.name} ({spec.site.region}), jurisdiction "
               f"{spec.jurisdiction.code}, pool {pool.name} ({scalar(pool.shape)}, {pool.placement}).\n"
               f"# Rendered by sitekit from templates/{spec.bootstrap.template}; change the spec (bootstrap:), "
               "not the nodes.\n")
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=4096, allow_unicode=False)
    return f"{HEADER}\n{comment}{body}"


def render_user_data(site: "LoadedSite", pool: Any) -> str:
    """The cloud-init user data of `pool`'s nodes, as text: the template's rendering, checked against the spec."""
    boot = site.spec.bootstrap
    want = declared(site, pool)
    context = {
        "site": site.spec.site.name, "region": site.spec.site.region, "jurisdiction": site.spec.jurisdiction.code,
        "pool": pool.name, "placement": pool.placement, "timezone": want["timezone"],
        "time_servers": want["ntp"]["servers"], "packages": want.get("packages", []),
        "files": want["write_files"], "commands": want["runcmd"],
    }
    file = f"{TEMPLATES}/{boot.template}"
    try:
        template = _user_data_environment(site.root / TEMPLATES).get_template(boot.template)
        text = template.render(context)
    except jinja2.TemplateNotFound:
        raise SpecError([Problem(file, None, "bootstrap.template", "template not found")]) from None
    except (jinja2.TemplateError, TypeError) as exc:
        raise SpecError([Problem(file, getattr(exc, "lineno", None), "bootstrap.template",
                                 f"template error: {exc}")]) from None
    try:
        rendered = parse(text)
    except NotCloudConfig as exc:
        raise SpecError([Problem(file, None, "bootstrap.template", f"pool '{pool.name}': {exc}")]) from None
    problems = _differences(rendered, want)
    if problems:
        raise SpecError([Problem(file, None, "bootstrap.template", f"pool '{pool.name}': the rendering {p}")
                         for p in problems])
    return dump(site, pool, rendered)


def encode(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def decode(value: str) -> str:
    return base64.b64decode(value.encode("ascii")).decode("utf-8")


def node_metadata(site: "LoadedSite", pool: Any) -> dict[str, str]:
    """Instance metadata of `pool`'s nodes: {'user_data': base64 cloud-init}, refused over OCI's limit."""
    text = render_user_data(site, pool)
    metadata = {USER_DATA: encode(text)}
    size = sum(len(k) + len(v) for k, v in metadata.items())
    if size > METADATA_LIMIT:
        raise SpecError([Problem(f"{TEMPLATES}/{site.spec.bootstrap.template}", None, "bootstrap",
                                 f"the user data of pool '{pool.name}' is {size:,} bytes as instance metadata "
                                 f"({len(text.encode()):,} before base64), more than the {METADATA_LIMIT:,} bytes "
                                 "OCI accepts: trim the audit rules or health checks")])
    return metadata


def user_data_in_plan(plan: Any) -> dict[str, str]:
    """{pool: decoded user data} read back from a plan's registrations (instance configurations' launch
    metadata and OKE node pools' node metadata), so review sees exactly what the program declared."""
    paths = {Kind.INSTANCE_CONFIG: ("instanceDetails", "launchDetails", "metadata"), Kind.NODE_POOL: ("nodeMetadata",)}
    found: dict[str, str] = {}
    for res in plan.resources:
        name = read(plan.site, res.name)
        if name is None or name.kind not in paths or not name.key:
            continue
        node: Any = res.inputs
        for key in paths[name.kind]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(USER_DATA), str):
            found[name.key] = decode(node[USER_DATA])
    for key in list(found):  # a pool's second fabric block on (`naming.block_key`) boots as its first
        base = re.sub(r"-block-[0-9]+$", "", key)
        if base != key and found.get(base) == found[key]:
            del found[key]
    return dict(sorted(found.items()))
