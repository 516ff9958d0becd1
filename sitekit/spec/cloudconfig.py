"""What a node's cloud-config grants: users, groups, sudo rules, SSH keys, files written, commands run (plain data).

Read by the bootstrap renderer (`sitekit/region/bootstrap.py`), which compares what a template rendered with what
the spec declared, and by the policy rule SK-CMP-008, which reads the user data a plan carries. Both parse the text
with PyYAML's safe loader, the parser cloud-init itself uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

HEADER = "#cloud-config"

JOURNALD = "/etc/systemd/journald.conf.d/90-sitekit.conf"
RSYSLOG = "/etc/rsyslog.d/90-sitekit-forward.conf"
AUDIT_RULES = "/etc/audit/rules.d/90-sitekit.rules"
REQUIRED_FILES = (JOURNALD, AUDIT_RULES)
"""Files every sitekit node bootstrap writes: the persistent journal and the audit rules."""

BASELINE_FILES = re.compile(
    r"^(/etc/systemd/journald\.conf\.d/90-sitekit\.conf|/etc/rsyslog\.d/90-sitekit-forward\.conf"
    r"|/etc/audit/rules\.d/90-sitekit\.rules|/usr/local/sbin/sitekit-health-[a-z][a-z0-9-]{0,30}"
    r"|/etc/systemd/system/sitekit-health-[a-z][a-z0-9-]{0,30}\.(service|timer))$")
"""The paths the baseline's bootstrap may write (health checks are named by `Name`); any other is undeclared."""

GRANTING_KEYS = ("users", "groups", "ssh_authorized_keys", "ssh_keys", "ssh_import_id", "chpasswd", "password",
                 "bootcmd", "write_files", "runcmd", "ssh_pwauth", "disable_root", "ca_certs", "ca-certs",
                 "yum_repos", "apt", "snap", "mounts", "rh_subscription", "ansible", "puppet", "chef", "salt_minion")
"""Top-level cloud-config keys that create accounts, grant access, install trust or run code."""


@dataclass
class Grants:
    """What one cloud-config grants, each item as a short text naming it."""

    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    sudo: list[str] = field(default_factory=list)
    ssh_keys: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    commands: list[Any] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    """Other granting keys present (bootcmd, chpasswd, ...)."""


class NotCloudConfig(ValueError):
    """The user data is not one cloud-config mapping (a script, MIME, an include, broken YAML)."""


def parse(text: str) -> dict[str, Any]:
    """The cloud-config mapping of `text`, or NotCloudConfig saying why it is not one."""
    if not text.startswith(HEADER + "\n"):
        first = text.split("\n", 1)[0][:60]
        raise NotCloudConfig(f"the user data does not start with '{HEADER}' (it starts {first!r}); a script, an "
                             "include or a MIME archive runs outside the declared configuration")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise NotCloudConfig(f"the user data is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise NotCloudConfig("the user data is not a cloud-config mapping")
    return doc


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def grants(doc: dict[str, Any]) -> Grants:
    """The users, groups, sudo rules, SSH keys, files and commands a parsed cloud-config declares."""
    found = Grants()
    for user in doc.get("users") or []:
        if user == "default":
            continue
        name = user.get("name", "?") if isinstance(user, dict) else user
        found.users.append(_short(name))
        if isinstance(user, dict):
            if user.get("sudo") not in (None, False):
                found.sudo.append(f"{_short(name)}: {_short(user['sudo'])}")
            for key in user.get("ssh_authorized_keys") or user.get("ssh-authorized-keys") or []:
                found.ssh_keys.append(f"{_short(name)}: {_short(key)}")
            if user.get("groups"):
                found.groups.append(f"{_short(name)} in {_short(user['groups'])}")
    groups = doc.get("groups") or []
    for group in groups if isinstance(groups, list) else [groups]:
        found.groups.append(_short(next(iter(group)) if isinstance(group, dict) else group))
    for key in doc.get("ssh_authorized_keys") or []:
        found.ssh_keys.append(f"default user: {_short(key)}")
    if doc.get("ssh_keys"):
        found.ssh_keys.append("host keys (ssh_keys)")
    for item in doc.get("write_files") or []:
        path = item.get("path") if isinstance(item, dict) else None
        found.files.append(path if isinstance(path, str) else _short(item))
        if isinstance(path, str) and (path.startswith("/etc/sudoers") or "sudoers.d" in path):
            found.sudo.append(f"file {path}")
    found.commands = list(doc.get("runcmd") or [])
    found.other = [k for k in GRANTING_KEYS if k in doc and k not in
                   ("users", "groups", "ssh_authorized_keys", "ssh_keys", "write_files", "runcmd")]
    return found


def undeclared(doc: dict[str, Any]) -> list[str]:
    """What `doc` grants beyond what the baseline's bootstrap declares: any user, group, sudo rule or SSH key, a
    file outside the baseline's paths, a missing journal or audit file, or another granting key."""
    found = grants(doc)
    problems = [f"adds user {u}" for u in found.users]
    problems += [f"adds group {g}" for g in found.groups]
    problems += [f"grants sudo: {s}" for s in found.sudo]
    problems += [f"adds SSH key {k}" for k in found.ssh_keys]
    problems += [f"writes {f}, a file the baseline does not declare" for f in found.files if
                 not BASELINE_FILES.fullmatch(f)]
    problems += [f"does not write {f} (the baseline's {what})" for f, what in
                 zip(REQUIRED_FILES, ("persistent journal", "audit rules")) if f not in found.files]
    problems += [f"sets '{k}', which the baseline does not declare" for k in found.other]
    return problems
