"""The value types of the spec: names, numbers, CIDRs, days, OCIDs of a kind, regions, ports, time zones.

Each is an annotated type or a small check that the models in `models.py` use; none knows of a site.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date
from functools import lru_cache
from ipaddress import IPv4Network
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Strict, StringConstraints
from pydantic_core import PydanticCustomError

from sitekit.errors import clip, nearest

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,30}$")]
"""A data key: lower-case letters, digits and '-', starting with a letter, at most 31 characters."""


Number = Annotated[float, Strict()]
"""A number: an integer or a decimal as written, never text ("1.5") or a boolean."""


def _network_text(value: Any) -> Any:
    """A CIDR is written as text: an integer (167772160) would be read as a /32 host."""
    if not isinstance(value, (str, IPv4Network)):
        raise PydanticCustomError("ip_v4_network", "Input is not a valid IPv4 network")
    return value


def _date_or_text(value: Any) -> Any:
    """A date is written YYYY-MM-DD (or handed over by the engine as that text); a number of seconds is not."""
    if not isinstance(value, (str, date)):
        raise PydanticCustomError("date_type", "Input should be a valid date")
    return value


Cidr = Annotated[IPv4Network, BeforeValidator(_network_text)]
"""An IPv4 network written as text, e.g. ``10.64.0.0/16``."""


Day = Annotated[date, BeforeValidator(_date_or_text)]
"""A day, written ``YYYY-MM-DD``."""


OCID_MAX = 255
"""Longest OCID accepted (OCI's own are about 90 characters)."""


_OCID = re.compile(r"ocid1\.([a-z0-9]+)\.[a-z0-9-]*\.[a-z0-9-]*\.[A-Za-z0-9._-]+")


def _ocid_of(*kinds: str, word: str | None = None) -> Any:
    """An OCID of one of `kinds` (its second dotted part): a VCN's OCID where a compartment's is meant is refused.
    `word`: a keyword the field takes besides an OCID (as itself)."""
    want = " or ".join(kinds)
    besides = f" or '{word}'" if word else ""

    def check(value: Any) -> Any:
        if not isinstance(value, str) or (word and value == word):
            return value  # the str type refuses what is not text
        if len(value) > OCID_MAX:
            raise PydanticCustomError("ocid", "an OCID has at most {most} characters; this one has {n}",
                                      {"most": OCID_MAX, "n": len(value)})
        m = _OCID.fullmatch(value)
        if not m:
            raise PydanticCustomError("ocid", "not an OCID; expected ocid1.{want}.<realm>.<region>.<id>{besides}",
                                      {"want": kinds[0], "besides": besides})
        if m[1] not in kinds:
            raise PydanticCustomError("ocid", "expected the OCID of a {want}, not of a {got}", {"want": want, "got": m[1]})
        return value

    pattern = rf"^ocid1\.({'|'.join(kinds)})\.[a-z0-9-]*\.[a-z0-9-]*\.[A-Za-z0-9._-]+$"
    if word:
        pattern = rf"^({re.escape(word)}|{pattern[1:-1]})$"
    return Annotated[str, StringConstraints(pattern=pattern, max_length=OCID_MAX), BeforeValidator(check)]


# Oracle Cloud IDs (``ocid1.<type>.<realm>.<region>.<id>``), each of the resource type its field takes.
ParentOcid = _ocid_of("compartment", "tenancy")


TenancyOcid = _ocid_of("tenancy")


ImageOcid = _ocid_of("image")

ReservationRef = _ocid_of("capacityreservation", word="declare")
"""The OCID of an existing compute capacity reservation, or `declare` (sitekit declares one)."""


RecipeOcid = _ocid_of("cloudguarddetectorrecipe")


ResponderRecipeOcid = _ocid_of("cloudguardresponderrecipe")


RegionId = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,4}(-[a-z0-9]+)+-[0-9]+$", max_length=64)]
"""An OCI region identifier such as ``us-ashburn-1``."""


TagValue = Annotated[str, StringConstraints(min_length=1, max_length=256)]
"""A defined tag's value: OCI takes at most 256 characters."""


PRIVATE_SPACES = tuple(IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
"""RFC 1918 private space: where an organisation's address space lies."""


MAX_NODES = 100_000
"""Most nodes one pool (or its autoscale maximum) may hold: a bound against typos, above any real fabric."""


MAX_THROUGHPUT_GBPS = 1_000
"""Largest mount-target throughput accepted (Gbps): a bound against typos, far above OCI's offers."""


MAX_STATEMENTS = 50
"""OCI's limit of statements in one IAM policy."""


PORT_MIN, PORT_MAX = 1, 65535


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:

    return frozenset(zoneinfo.available_timezones())


def iana_zone(name: str) -> str:
    """`name` if it is an IANA time zone (Europe/Berlin, UTC), else a ValueError naming the nearest."""
    if name == "UTC":
        return name

    try:
        if "/" in name and not name.startswith(("posix/", "right/")):
            zoneinfo.ZoneInfo(name)  # 0.3 ms, where listing every zone takes 50
            return name
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    if name in _zones():
        return name
    raise ValueError(f"'{clip(name)}' is not an IANA time zone; {nearest(name, _zones())}")


def port_problem(text: str) -> str | None:
    """Why a port ('443') or port range ('2048-2050') is out of 1..65535, or None."""
    lo, _, hi = text.partition("-")
    low, high = int(lo), int(hi or lo)
    if hi and not PORT_MIN <= low <= high <= PORT_MAX:
        return f"port range '{text}' must satisfy {PORT_MIN} <= low <= high <= {PORT_MAX}"
    if not hi and not PORT_MIN <= low <= PORT_MAX:
        return f"port {text} is outside {PORT_MIN}..{PORT_MAX}"
    return None


Role = Literal["frontend", "services", "gpu", "rdma", "storage"]


PoolRole = Literal["training", "inference", "mixed"]


# --------------------------------------------------------------------------------------------- node user data
# Values that reach a node's cloud-init user data are typed here: none may hold a line break or any other control
# character (YAML 1.1 also breaks lines at U+0085, U+2028 and U+2029), so none can add lines of its own.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(kind: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, str):
            m = CONTROL.search(value)
            if m:
                raise ValueError(f"{kind} holds a control character ({m.group()!r} at position {m.start()}); "
                                 "line breaks, tabs and other control characters never reach a node's user data")
        return value
    return check


def _arg_text(value: Any) -> Any:
    """An argument written as a YAML number (`--run 1`) is the text of that number; a boolean is refused."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


ARG_MAX = 1024
"""Longest argument of a node command (a bound against pasted scripts)."""

Arg = Annotated[str, StringConstraints(min_length=1, max_length=ARG_MAX), BeforeValidator(_arg_text),
                BeforeValidator(_one_line("an argument"))]
"""One argument of a command run on a node: any text on one line; sitekit quotes it, no shell reads it."""


PROGRAM = re.compile(r"^[A-Za-z0-9_./+][A-Za-z0-9_./+-]{0,254}$")
"""The program a node command runs: a name found on PATH or an absolute path, without shell syntax."""


def _argv(value: Any) -> Any:
    if isinstance(value, str):
        raise PydanticCustomError(
            "argv", "a command is an argument list run without a shell, e.g. [dcgmi, diag, --run, '1'], "
                    "not a command line; to judge its output, see unhealthyOutput")
    return value


Argv = Annotated[list[Arg], BeforeValidator(_argv)]
"""A command as its argument list: the program, then each argument; run without a shell."""


HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def _host(value: Any) -> Any:
    if isinstance(value, str) and not HOST.fullmatch(value):
        raise ValueError(f"{value[:80]!r} is not a host name or an IPv4 address (letters, digits, '-' and '.', "
                         "labels of 1-63 characters, 253 in all)")
    return value


Host = Annotated[str, AfterValidator(_host)]
"""A host name or an IPv4 address, e.g. ``169.254.169.254`` or ``ntp.example.org``."""


_AUDIT_LISTS = ("exit", "task", "user", "exclude", "filesystem", "io_uring")
_AUDIT_ACTIONS = ("always", "never")
_AUDIT_VALUE = {
    "-w": (re.compile(r"^/[A-Za-z0-9._/@+-]*$"), "an absolute path of letters, digits and ._/@+-"),
    "-p": (re.compile(r"^[rwxa]{1,4}$"), "permissions of r, w, x and a"),
    "-k": (re.compile(r"^[A-Za-z0-9_.-]{1,64}$"), "a key of letters, digits and ._- (at most 64)"),
    "-a": (re.compile(rf"^({'|'.join(_AUDIT_ACTIONS)}),({'|'.join(_AUDIT_LISTS)})$|"
                      rf"^({'|'.join(_AUDIT_LISTS)}),({'|'.join(_AUDIT_ACTIONS)})$"), "action,list such as always,exit"),
    "-F": (re.compile(r"^[a-z0-9_]+(=|!=|>=|<=|>|<|&=|&)[A-Za-z0-9_./@:+-]+$"), "a field test such as auid>=1000"),
    "-S": (re.compile(r"^[a-z0-9_]+(,[a-z0-9_]+)*$"), "syscall names separated by commas"),
    "-C": (re.compile(r"^[a-z0-9_]+(=|!=)[a-z0-9_]+$"), "a field comparison such as auid!=uid"),
}
_AUDIT_OPTIONS = {"-w": ("-p", "-k"), "-a": ("-F", "-S", "-C", "-k")}
_AUDIT_ONCE = ("-w", "-a", "-p")


def audit_rule(text: str) -> str:
    """`text` if it is exactly one auditd rule (auditctl syntax: `-w PATH [-p PERMS] [-k KEY]` or
    `-a ACTION,LIST [-F FIELD=VALUE]... [-S SYSCALLS]... [-C COMPARISON]... [-k KEY]`), else a ValueError
    saying which part is wrong. One rule, one line: nothing else in the rules file can come from it."""
    _one_line("an auditd rule")(text)
    tokens = text.split(" ")
    if "" in tokens:
        raise ValueError("an auditd rule separates its parts by single spaces")
    kind = tokens[0]
    if kind not in _AUDIT_OPTIONS:
        raise ValueError(f"an auditd rule starts with -w (a watch) or -a (a syscall rule), not {kind[:20]!r}")
    if len(tokens) % 2:
        raise ValueError(f"{tokens[-1][:40]!r} has no value (auditd options come as '-x value')")
    seen: list[str] = []
    for flag, value in zip(tokens[::2], tokens[1::2]):
        if flag != kind and flag not in _AUDIT_OPTIONS[kind]:
            allowed = ", ".join((kind, *_AUDIT_OPTIONS[kind]))
            raise ValueError(f"{flag[:20]!r} is not an option of a {kind} rule (allowed: {allowed}); "
                             "one rule per list item")
        if flag in _AUDIT_ONCE and flag in seen:
            raise ValueError(f"{flag} appears twice: one rule per list item")
        pattern, what = _AUDIT_VALUE[flag]
        if not pattern.fullmatch(value):
            raise ValueError(f"{value[:40]!r} after {flag} is not {what}")
        seen.append(flag)
    return text


AuditRule = Annotated[str, StringConstraints(max_length=ARG_MAX), AfterValidator(audit_rule)]
"""One auditd rule in auditctl syntax, parsed: `-w /etc/passwd -p wa -k identity`."""
