"""The policy corpus (tests/policy_corpus/, see its README): loading the cases, and running them through the
pack's Analyzer service over a real gRPC channel, as the Pulumi engine does.

The tuned cases are the rules' examples: tests/test_policy_rules.py is built from them (each bad case fires its
rule, each good case none), and sitekit/policy/docs.py shows those marked `example: true` in docs/policies.md.
Used by tests/test_policy_corpus.py (measurement and aims) and tests/test_policy_rules.py."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import grpc
import yaml
from google.protobuf import struct_pb2
from pulumi.runtime import config as pulumi_config
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_STRING_VALUE

from sitekit import ROOT
from sitekit.plan import Plan, PlannedResource
from sitekit.policy import pack as pack_module
from sitekit.policy.context import PolicyContext
from sitekit.policy.model import UNKNOWN
from sitekit.run.offline import stack_config
from sitekit.spec.stackconfig import BY_NAME, NAMESPACE

CORPUS = ROOT / "tests" / "policy_corpus"
SPLITS = ("tune", "holdout")
SITE = "us-ashburn"


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    props: dict[str, Any]
    protect: bool = False
    region: str | None = None
    deps: tuple[str, ...] = ()

    @property
    def urn(self) -> str:
        return f"urn:pulumi:{SITE}::sitekit::{self.type}::{self.name}"


@dataclass(frozen=True)
class Case:
    id: str
    rule: str
    bad: bool
    split: str
    file: str
    resources: tuple[Resource, ...]
    example: bool = False
    why: str = ""
    also: tuple[str, ...] = ()
    """Other rules the case rightly trips (a bad case may break two rules at once)."""
    site: str = ""
    """Why only a site's context can judge the case (its network roles, its jurisdiction, its home region, what
    it owns), or "" when the resources decide on their own; a case with a reason is left out of the recall
    measured without a site's config over site-independent cases."""
    config: str = ""
    """The stack's `sitekit:` config values the case changes, over the site's own (a key to null removes it), as
    canonical JSON ("" for none): for the rules that judge the site's settings (its waivers, whether its config
    loads, its home region)."""


def _resource(raw: dict[str, Any], shared: dict[str, dict[str, Any]]) -> Resource:
    """One resource of a case; `{use: <name>}` takes a resource of shared.yaml, the case's own keys over it."""
    if "use" in raw:
        raw = {**shared[raw["use"]], **{k: v for k, v in raw.items() if k != "use"}}
    unknown = set(raw) - {"type", "name", "props", "protect", "region", "deps"}
    assert not unknown, f"resource {raw.get('name')}: unknown keys {sorted(unknown)}"
    return Resource(raw["type"], raw["name"], raw.get("props") or {}, bool(raw.get("protect")), raw.get("region"),
                    tuple(raw.get("deps") or ()))


def load_cases(root: Path = CORPUS) -> list[Case]:
    shared = yaml.safe_load((root / "shared.yaml").read_text())["resources"]
    cases: list[Case] = []
    for split in SPLITS:
        for path in sorted((root / split).glob("*.yaml")):
            data = yaml.safe_load(path.read_text())
            for raw in data["cases"]:
                unknown = set(raw) - {"id", "rule", "bad", "example", "why", "also", "site", "config", "resources"}
                assert not unknown, f"{path.name}: case {raw.get('id')}: unknown keys {sorted(unknown)}"
                config = raw.get("config") or {}
                assert set(config) <= set(BY_NAME), f"{path.name}: case {raw['id']}: unknown config keys"
                resources = tuple(_resource(r, shared) for r in raw["resources"])
                cases.append(Case(raw["id"], raw["rule"], bool(raw["bad"]), split,
                                  f"{split}/{path.name}", resources, bool(raw.get("example")),
                                  raw.get("why", ""), tuple(raw.get("also") or ()), raw.get("site", ""),
                                  json.dumps(config, sort_keys=True, default=str) if config else ""))
    return cases


def engine_value(value: Any) -> Any:
    """A corpus value as the engine sends it: `[unknown]` becomes the SDK's unknown sentinel."""
    if isinstance(value, dict):
        return {k: engine_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [engine_value(v) for v in value]
    if value == UNKNOWN:
        return UNKNOWN_STRING_VALUE
    if value == "[unknown:bool]":
        return UNKNOWN_BOOLEAN_VALUE
    return value


def offline_plan(case: Case) -> Plan:
    """The case as an offline plan of `SITE`, what `sitekit policy`'s runner evaluates: a provider per region the
    resources name, dependencies by name, every unknown as the plan's one marker."""
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return UNKNOWN if value == "[unknown:bool]" else value

    urns = {r.name: r.urn for r in case.resources}
    providers = {r.region: PlannedResource(f"urn:pulumi:{SITE}::sitekit::pulumi:providers:oci::oci-{r.region}",
                                           "pulumi:providers:oci", f"oci-{r.region}", True, None, None,
                                           {"region": r.region})
                 for r in case.resources if r.region}
    return Plan(SITE, list(providers.values()) + [
        PlannedResource(r.urn, r.type, r.name, True, None, f"{providers[r.region].urn}::id" if r.region else None,
                        plain(r.props), protect=r.protect, dependencies=[urns[d] for d in r.deps])
        for r in case.resources], {})


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(engine_value(value))
    return out


# ------------------------------------------------------------------------------------------ the engine's side
@dataclass
class Finding:
    rule: str
    urn: str
    level: str
    message: str


LEVELS = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory",
          analyzer_pb2.DISABLED: "disabled", analyzer_pb2.REMEDIATE: "remediate"}


@dataclass
class Analyzer:
    """A client of the pack's Analyzer service, reached over gRPC on a loopback port."""

    stub: analyzer_pb2_grpc.AnalyzerStub
    calls: int = field(default=0)

    def _provider(self, res: Resource) -> analyzer_pb2.AnalyzerProviderResource | None:
        if res.region is None:
            return None
        return analyzer_pb2.AnalyzerProviderResource(
            type="pulumi:providers:oci", urn=f"urn:pulumi:{SITE}::sitekit::pulumi:providers:oci::oci",
            name="oci", properties=_struct({"region": res.region}))

    def analyze(self, case: Case) -> list[Finding]:
        """Analyze for each resource, then AnalyzeStack for the case, as `pulumi preview` calls them."""
        by_name = {r.name: r for r in case.resources}
        found: list[Finding] = []
        for res in case.resources:
            request = analyzer_pb2.AnalyzeRequest(
                type=res.type, properties=_struct(res.props), urn=res.urn, name=res.name,
                options=analyzer_pb2.AnalyzerResourceOptions(protect=res.protect), provider=self._provider(res))
            found += self._findings(self.stub.Analyze(request, timeout=60))
        stack = [analyzer_pb2.AnalyzerResource(
            type=r.type, properties=_struct(r.props), urn=r.urn, name=r.name,
            options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect), provider=self._provider(r),
            dependencies=[by_name[d].urn for d in r.deps]) for r in case.resources]
        found += self._findings(self.stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=stack), timeout=60))
        self.calls += len(case.resources) + 1
        return found

    @staticmethod
    def _findings(response) -> list[Finding]:
        return [Finding(d.policyName, d.urn, LEVELS.get(d.enforcementLevel, "?"), d.message)
                for d in response.diagnostics]


def engine_config(site: str, settings: dict[str, Any] | None = None) -> dict[str, str]:
    """The config map the Pulumi CLI hands the pack for `site`'s stack (`PULUMI_CONFIG`), with a case's
    `sitekit:` values over the stack file's (None removes a key)."""
    config, _ = stack_config(ROOT, site)
    for key, value in (settings or {}).items():
        full = f"{NAMESPACE}:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = value if isinstance(value, str) else json.dumps(value, default=str)
    return config


@contextmanager
def engine_environment(site: str | None, settings: dict[str, Any] | None = None) -> Iterator[None]:
    """The environment the Pulumi CLI starts the pack in for a stack: `site`'s stack config (with a case's
    settings over it), or a stack with no sitekit config; the pack's per-stack context cache emptied, and the
    CLI's environment the only config the pack sees."""
    saved = {k: os.environ.get(k) for k in ("PULUMI_STACK", "PULUMI_CONFIG", "SITEKIT_ROOT")}
    if site is not None:
        os.environ["PULUMI_STACK"], os.environ["PULUMI_CONFIG"] = site, json.dumps(engine_config(site, settings))
    else:
        os.environ["PULUMI_STACK"], os.environ["PULUMI_CONFIG"] = "corpus-without-site", "{}"
    os.environ.pop("SITEKIT_ROOT", None)
    engine, pack_module._ENGINE = pack_module._ENGINE, {}
    token = pulumi_config.CONFIG.set({})
    try:
        yield
    finally:
        pulumi_config.CONFIG.reset(token)
        pack_module._ENGINE = engine
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def engine_context(site: str | None, settings: dict[str, Any] | None = None) -> PolicyContext:
    """The site context the pack builds under the engine for that environment (as `engine_environment`)."""
    with engine_environment(site, settings):
        return pack_module.engine_context(ROOT)


@contextmanager
def analyzer_over_grpc(site: str | None, settings: dict[str, Any] | None = None) -> Iterator[Analyzer]:
    """The pack built as the Pulumi CLI starts it for a stack (`site`'s stack config, with `settings` over it, or
    a stack with no sitekit config), served by a gRPC server on a loopback port, and a client stub on a real
    channel to it."""
    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    with engine_environment(site, settings):
        try:
            args = pack_module.pack_args(ROOT)
            servicer = _PolicyAnalyzerServicer(args["name"], "0.1.0", args["policies"], args["enforcement_level"],
                                               None, args["description"], args["display_name"], None,
                                               args["provider"], args["tags"], None)
            analyzer_pb2_grpc.add_AnalyzerServicer_to_server(servicer, server)
            port = server.add_insecure_port("127.0.0.1:0")
            server.start()
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield Analyzer(analyzer_pb2_grpc.AnalyzerStub(channel))
        finally:
            server.stop(grace=None)


# ------------------------------------------------------------------------------------------ scoring
BACKGROUND = {"SK-GOV-007"}
"""Without a site's config the pack says once per stack that it has no site context (SK-GOV-007, by design);
that finding is about the run, not a case, and is not scored."""

NOTICES = {"SK-CMP-006", "SK-CMP-007"}
"""Advice about a gap in the project's facts rather than a defect of the resource: SK-CMP-006 reports every
instance of a shape whose Secure Boot support the catalog marks unknown (all GPU shapes), SK-CMP-007 every GPU
shape the capacity catalog does not know the region to offer (no region's shapes are recorded yet). Their own
cases measure them; on other cases they are counted apart (`Score.notices`), not as false alarms."""


@dataclass
class Outcome:
    case: Case
    rules: set[str]

    @property
    def caught(self) -> bool:
        return self.case.bad and self.case.rule in self.rules

    @property
    def expected(self) -> set[str]:
        return ({self.case.rule} if self.case.bad else set()) | set(self.case.also)

    @property
    def stray(self) -> set[str]:
        """Findings the case does not call for: false alarms (notices about the project's facts apart)."""
        return self.rules - self.expected - (NOTICES - {self.case.rule})

    @property
    def notices(self) -> set[str]:
        """Notices the case did not call for."""
        return (self.rules & NOTICES) - self.expected


def run(site: str | None, cases: list[Case], background: set[str]) -> list[Outcome]:
    """Every case through the pack over gRPC, as `pulumi preview` of `site`'s stack would send it (without a
    site's config when `site` is None): one pack per stack config, so a case with settings of its own gets the
    pack its stack would start. Outcomes in the order of `cases`."""
    groups: dict[str, list[int]] = {}
    for i, case in enumerate(cases):
        groups.setdefault(case.config if site is not None else "", []).append(i)
    outcomes: dict[int, Outcome] = {}
    for config, members in groups.items():
        with analyzer_over_grpc(site, json.loads(config) if config else None) as analyzer:
            for i in members:
                outcomes[i] = Outcome(cases[i], {f.rule for f in analyzer.analyze(cases[i])} - background)
    return [outcomes[i] for i in range(len(cases))]


@dataclass(frozen=True)
class Score:
    bad: int
    caught: int
    good: int
    false_alarms: int
    """Good cases with any finding."""
    stray_on_bad: int
    """Bad cases with a finding besides their own rule (and `also`)."""
    notices: int = 0
    """Good cases with a notice (SK-CMP-006, SK-CMP-007) and no other finding: false alarms if notices counted."""

    @property
    def recall(self) -> float:
        return self.caught / self.bad if self.bad else 1.0

    @property
    def false_positive_rate(self) -> float:
        return self.false_alarms / self.good if self.good else 0.0

    def line(self) -> str:
        return (f"recall {self.caught}/{self.bad} = {self.recall:.1%}, false positives {self.false_alarms}/{self.good} "
                f"= {self.false_positive_rate:.1%} ({self.false_alarms + self.notices}/{self.good} counting the "
                f"notices about the catalogs), stray findings on bad cases {self.stray_on_bad}")


def score(outcomes: list[Outcome]) -> Score:
    bad = [o for o in outcomes if o.case.bad]
    good = [o for o in outcomes if not o.case.bad]
    return Score(len(bad), sum(o.caught for o in bad), len(good), sum(bool(o.stray) for o in good),
                 sum(bool(o.stray) for o in bad), sum(bool(o.notices) and not o.stray for o in good))
