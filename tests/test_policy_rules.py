"""Every rule against its examples, which are the tuned cases of the policy corpus (tests/policy_corpus/tune/,
the way each Checkov check keeps its passing and failing resources): a bad case fires its rule and only the rules
it names (`also`), a good case fires none. The cases run in-process through the CrossGuard policies the pack
builds, called as the engine calls them (each resource policy per resource, each stack policy over the case),
with the context the pack builds for the us-ashburn stack (its config, with a case's `config:` over it).
tests/test_policy_corpus.py sends the same cases over gRPC and measures; docs/policies.md shows one good and one
bad case per rule.

The tests after those check what no single case can: rules never raise on odd or unknown values, and how the
rules behave without a site, with a policy-pack config, and on facts the shipped catalogs do not hold yet."""

from __future__ import annotations

import dataclasses
import json
from functools import cache

import pytest
from corpus import NOTICES, SITE, Case, Resource, engine_context, engine_value, load_cases
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from sitekit.oci import types as T
from sitekit.policy import RULES
from sitekit.policy.context import PolicyContext
from sitekit.policy.model import UNKNOWN
from sitekit.policy.pack import build_policies

CASES = [c for c in load_cases() if c.split == "tune"]
"""The rules' examples; the held-out cases stay out of every test that could tune a rule to them."""
BY_ID = {c.id: c for c in CASES}
BAD = [c for c in CASES if c.bad]
GOOD = [c for c in CASES if not c.bad]
TENANCY = "ocid1.tenancy.oc1..aaaaaaaaexampletenancy"


def case_id(case: Case) -> str:
    return f"{case.rule}/{case.id}"


# ------------------------------------------------------------------------------------------ as the engine calls
@cache
def site_context(config: str = "") -> PolicyContext:
    """The context the pack builds for the us-ashburn stack, with a case's settings (`Case.config`) over its
    config."""
    return engine_context(SITE, json.loads(config) if config else None)


@cache
def bare_context() -> PolicyContext:
    """The context of a stack with no sitekit config: no site, the project's own facts."""
    return engine_context(None)


def _opts(res: Resource) -> PolicyResourceOptions:
    return PolicyResourceOptions(res.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def _provider(res: Resource) -> PolicyProviderResource | None:
    if res.region is None:
        return None
    return PolicyProviderResource(T.OCI_PROVIDER, {"region": res.region}, "urn:pulumi:provider", "oci")


def _props(props: dict, unknown_leaves: bool = False):
    """Props as the analyzer hands them to a policy: `[unknown]` (or, with `unknown_leaves`, every leaf) as the
    SDK's unknown sentinel, behind the proxy that raises on reading one."""
    return unknown_checking_proxy(engine_value(_unknown_leaves(props) if unknown_leaves else props))


def _unknown_leaves(value):
    if isinstance(value, dict):
        return {k: _unknown_leaves(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unknown_leaves(v) for v in value]
    return "[unknown:bool]" if isinstance(value, bool) else UNKNOWN


def run_policy(policy, case: Case, resources: tuple[Resource, ...] | None = None,
               config: dict | None = None) -> list[tuple[str, str | None]] | str:
    """(message, urn) for each violation one policy reports on a case, or "n/a" when it reports none and says, of
    some resource (or of the stack), that it does not apply."""
    found: list[tuple[str, str | None]] = []
    not_applicable = False

    def report(message: str, urn: str | None = None) -> None:
        found.append((message, urn))

    resources = resources if resources is not None else case.resources
    if RULES[policy.name].kind == "resource":
        calls = [ResourceValidationArgs(res.type, _props(res.props), res.urn, res.name, _opts(res), _provider(res),
                                        config=config) for res in resources]
    else:
        known = {res.name: PolicyResource(res.type, _props(res.props), res.urn, res.name, _opts(res), _provider(res),
                                          None, [], {}) for res in resources}
        for res in resources:
            known[res.name].dependencies = [known[d] for d in res.deps]
        calls = [StackValidationArgs(list(known.values()), config=config)]
    for args in calls:  # as the analyzer calls them: each resource on its own, then the stack
        try:
            policy.validate(args, report)
        except _NotApplicableError:
            not_applicable = True
    return "n/a" if not_applicable and not found else found


@cache
def _policies(context_key: str | None) -> dict:
    ctx = bare_context() if context_key is None else site_context(context_key)
    return {p.name: p for p in build_policies(lambda: ctx, levels=ctx if ctx.known else None)}


def findings(case: Case, bare: bool = False) -> dict[str, list[tuple[str, str | None]]]:
    """rule id -> what it reports on the case, for every rule that reports anything."""
    out = {}
    for rule_id, policy in _policies(None if bare else case.config).items():
        found = run_policy(policy, case)
        if found and found != "n/a":
            out[rule_id] = found
    return out


# ------------------------------------------------------------------------------------------ the examples
@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_every_rule_has_a_good_and_a_bad_case(rule_id):
    kinds = {c.bad for c in CASES if c.rule == rule_id}
    assert True in kinds, f"{rule_id} has no bad case in tests/policy_corpus/tune/ (a case with `rule: {rule_id}`)"
    assert False in kinds, f"{rule_id} has no good case in tests/policy_corpus/tune/ (a case with `rule: {rule_id}`)"


@pytest.mark.parametrize("case", BAD, ids=case_id)
def test_bad_case_fires_its_rule_and_only_the_rules_it_names(case):
    found = findings(case)
    assert case.rule in found, f"{case.rule} does not report {case.id}"
    urns = {r.urn for r in case.resources}
    for rule_id, reported in found.items():
        assert all(message.startswith(f"[{rule_id}] ") for message, _ in reported), reported
        assert {urn for _, urn in reported if urn} <= urns, reported
    expected = {case.rule, *case.also}
    assert set(found) - (NOTICES - expected) == expected, {k: v for k, v in found.items() if k not in expected}


@pytest.mark.parametrize("case", GOOD, ids=case_id)
def test_good_case_fires_no_rule(case):
    found = findings(case)
    assert case.rule not in found, f"{case.rule} reports {case.id}: {found[case.rule]}"
    assert set(found) - NOTICES == set(), found


# Without a site (a stack that is not a sitekit site, or the pack run outside the project), the rules judge what
# the resources decide on their own, with the project's own facts (the shape catalog), and say "not applicable"
# for the rest: (case, rule, what the rule reports: a number of findings, or "n/a").
WITHOUT_A_SITE = [
    ("gpu-subnet-allows-public-ips", "SK-NET-005", "n/a"),  # which network is the GPU network: the site's plan
    ("subnet-prohibits-internet-ingress", "SK-NET-005", 0),
    ("instance-with-public-ip", "SK-NET-005", 1),
    ("log-group-in-root-compartment", "SK-GOV-005", 1),
    ("audit-a-year", "SK-GOV-005", 0),  # a tenancy setting: it lives at the root
    ("log-group-without-tags", "SK-GOV-001", 1),
    ("log-kept-ninety-days", "SK-GOV-003", 1),  # the CIS 365 days, capped at OCI Logging's 180
    ("log-kept-half-a-year", "SK-GOV-003", 0),
    ("audit-ninety-days", "SK-GOV-004", 1),  # CIS: 365
    ("vault-shared-partition", "SK-KEY-003", "n/a"),
    ("node-pool-unapproved-shape", "SK-CMP-002", "n/a"),  # the jurisdiction's list
    ("instance-imds-v2-only", "SK-CMP-002", 0),  # a CPU shape: nothing to approve
    ("gpu-config-without-cluster-network", "SK-CMP-003", 1),  # the catalog's grouping
    ("gpu-config-secure-boot-unverified", "SK-CMP-006", 1),
    # monitoring: judged once the stack takes a recommendation on, then it must be whole
    ("vcn-and-compartment-with-network-events-only", "SK-MON-001", 0),  # identity events may be a landing zone's
    ("network-events-action-disabled", "SK-MON-001", 5),
    ("compartment-without-cloud-guard-target", "SK-MON-004", 0),
    ("cloud-guard-target-misses-a-compartment", "SK-MON-004", 1),
]


@pytest.mark.parametrize("case_name,rule_id,expected", WITHOUT_A_SITE,
                         ids=[f"{r}/{c}" for c, r, _ in WITHOUT_A_SITE])
def test_judged_without_a_site(case_name, rule_id, expected):
    found = run_policy(_policies(None)[rule_id], BY_ID[case_name])
    assert (found if expected == "n/a" else len(found)) == expected, found


def test_without_a_site_any_defined_tags_will_do():
    """Without a site the required tags are unknown: a resource with defined tags of another namespace passes."""
    case = BY_ID["log-group-without-tags"]
    [group] = case.resources
    tagged = dataclasses.replace(group, props={**group.props, "definedTags": {"Operations.CostCenter": "42"}})
    assert run_policy(_policies(None)["SK-GOV-001"], case, (tagged,)) == []


# ------------------------------------------------------------------------------------------ odd and unknown values
RESOURCE_RULES = sorted(r for r in RULES if RULES[r].kind == "resource")


def _resources_of(rule_id: str, cases: list[Case]) -> list[tuple[Case, Resource]]:
    types = RULES[rule_id].types
    return [(c, r) for c in cases if c.rule == rule_id for r in c.resources if not types or r.type in types]


@pytest.mark.parametrize("rule_id", RESOURCE_RULES)
def test_resource_rules_tolerate_unknown_missing_and_extra_keys(rule_id):
    """Engine props arrive behind a proxy that raises on unknown values; rules must decide without them."""
    for case, res in _resources_of(rule_id, CASES):
        policy = _policies(case.config)[rule_id]
        extra = unknown_checking_proxy({**engine_value(res.props), "__defaults": []})
        for props in (_props(res.props, unknown_leaves=True), extra, {}):
            args = ResourceValidationArgs(res.type, props, res.urn, res.name, _opts(res), _provider(res))
            try:
                policy.validate(args, lambda m, u=None: None)  # must not raise
            except _NotApplicableError:
                pass


@pytest.mark.parametrize("rule_id", RESOURCE_RULES)
def test_unknown_values_never_make_a_violation(rule_id):
    """Turning the known values of a passing resource into unknowns (a first preview) never fails it."""
    for case, res in _resources_of(rule_id, GOOD):
        policy = _policies(case.config)[rule_id]
        found: list[str] = []
        args = ResourceValidationArgs(res.type, _props(res.props, unknown_leaves=True), res.urn, res.name, _opts(res),
                                      _provider(res))
        policy.validate(args, lambda m, u=None: found.append(m))
        assert found == [], (case.id, res.name)


def _keys() -> list[str]:
    """Every key the corpus's resources use, so random props reach the paths the rules read."""
    found: set[str] = set()

    def walk(value) -> None:
        if isinstance(value, dict):
            found.update(value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for case in CASES:
        for res in case.resources:
            walk(res.props)
    return sorted(found)


LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=False),
                   st.sampled_from(["0.0.0.0/0", "10.64.0.0/19", "6", "all", "HSM", "INGRESS", UNKNOWN,
                                    UNKNOWN_STRING_VALUE, "BM.GPU.GB200.4", "", "x"]))
PROPS = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(_keys()), inner, max_size=4)), max_leaves=12)


@settings(max_examples=40, deadline=None)
@given(props=st.dictionaries(st.sampled_from(_keys()), PROPS, max_size=6))
def test_rules_never_fail_on_arbitrary_props(props):
    """Whatever shape the engine's provider-checked inputs take, a rule reports or stays silent; it never raises."""
    ctx = PolicyContext(site="us-ashburn", organisation="sitekit", tenancy_id=TENANCY, params={"minLogDays": 180})
    policies = build_policies(lambda: ctx, levels=ctx)
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    resources = [(type_, f"urn:pulumi:us-ashburn::sitekit::{type_}::r{i}", f"r{i}") for i, type_ in enumerate(sorted(
        T.TAGGABLE | T.STATEFUL | {T.NSG_RULE, T.EXPORT, T.AUDIT_CONFIGURATION, T.VNIC_ATTACHMENT, T.PUBLIC_IP}))]
    for policy in policies:
        if RULES[policy.name].kind == "resource":
            for type_, urn, name in resources:
                args = ResourceValidationArgs(type_, unknown_checking_proxy(props), urn, name, opts, None)
                policy.validate(args, lambda m, u=None: None)
        else:
            stack = [PolicyResource(type_, unknown_checking_proxy(props), urn, name, opts, None, None, [], {})
                     for type_, urn, name in resources]
            for a, b in zip(stack, stack[1:]):
                b.dependencies = [a]
            policy.validate(StackValidationArgs(stack), lambda m, u=None: None)


# ------------------------------------------------------------------------------------------ one notion each
def test_root_compartment_is_one_notion():
    """Any tenancy OCID, or the site's own tenancy id, is the root compartment; an unknown id never is."""
    site = dataclasses.replace(site_context(), tenancy_id="ocid1.compartment.oc1..siteroot")
    assert site.is_root_compartment(TENANCY) and site.is_root_compartment("ocid1.compartment.oc1..siteroot")
    assert not any(site.is_root_compartment(v) for v in ("ocid1.compartment.oc1..c", UNKNOWN, None, 42))
    assert PolicyContext().is_root_compartment(TENANCY)


def test_tenancy_is_one_notion_for_every_iam_rule():
    """SK-IAM-001 (manage all-resources in the tenancy) and SK-IAM-003/004 (what lives in the tenancy) read
    "in the tenancy" from one pattern: spacing and case never move a statement out of it."""
    case = BY_ID["network-admins-manage-all-in-tenancy"]
    policy = case.resources[0]
    policies = _policies("")

    def judged(rule_id: str, statement: str):
        res = dataclasses.replace(policy, props={**policy.props, "statements": [statement]})
        return run_policy(policies[rule_id], case, (res,))

    for where in ("tenancy", f"compartment  id {TENANCY}", f"COMPARTMENT\tID '{TENANCY}'"):
        assert judged("SK-IAM-001", f"Allow group ops to manage all-resources in {where}")
        assert judged("SK-IAM-003", f"Allow group ops to manage all-resources in {where}") == []
        assert judged("SK-IAM-004", f"Allow group ops to manage users in {where}")


def test_policy_config_parameters_override_the_jurisdiction():
    """`--policy-pack-config {"SK-GOV-003": {"minLogDays": 30}}` lowers the floor for that run."""
    case = BY_ID["log-kept-ninety-days"]
    policy = _policies("")["SK-GOV-003"]
    for config, expected in ((None, 1), ({"minLogDays": 30}, 0), ({"minLogDays": 180.0}, 1)):
        assert len(run_policy(policy, case, config=config)) == expected, config


def test_power_also_counts_the_spec_peak():
    """Under preview the autoscaler's bounds are unknown; the spec's peak (pools at autoscale max) still counts."""
    small, large = BY_ID["cluster-network-within-envelope"], BY_ID["cluster-network-over-envelope"]
    assert run_policy(_policies("")["SK-STK-002"], small) == []
    peak = dataclasses.replace(site_context(), spec_facility_mw=75.0)
    policy = next(p for p in build_policies(lambda: peak, levels=peak) if p.name == "SK-STK-002")
    [(message, urn)] = run_policy(policy, small)
    assert "autoscale maximum" in message and urn is None
    [(message, _)] = run_policy(_policies("")["SK-STK-002"], large)
    assert "73.44 MW" in message  # 6000 x 10.2 kW x PUE 1.2


# ------------------------------------------------------------------------------------------ facts not held yet
def _with(ctx: PolicyContext, rule_id: str, **changes):
    local = dataclasses.replace(ctx, **changes)
    return next(p for p in build_policies(lambda: local, levels=local) if p.name == rule_id)


def test_capacity_catalog_facts_decide_sk_cmp_007():
    """The shipped capacity catalog knows no region's GPU shapes yet (stacks/catalog/capacity.yaml: every region
    `offers: unknown`), so no corpus case can show a shape the region offers or lacks: these facts are given
    here, on the corpus's H100 configuration and H200 node pool."""
    config, pool = BY_ID["gpu-config-in-a-region-of-unknown-capacity"], BY_ID["node-pool-in-a-region-of-unknown-capacity"]
    offered = {s: ("offered", "a test fact") for s in ("BM.GPU.H100.8", "BM.GPU.H200.8")}
    policy = _with(site_context(), "SK-CMP-007", shape_capacity=offered, capacity_unknown={})
    assert run_policy(policy, config) == [] and run_policy(policy, pool) == []
    # offered, but the capacity ledger cannot size the site's pools of the shape (issue 22): said, not assumed
    unknown = {"BM.GPU.H100.8": "pool train: 2048 BM.GPU.H100.8 nodes at peak in AD-1: capacity unknown (a test)"}
    [(message, _)] = run_policy(_with(site_context(), "SK-CMP-007", shape_capacity=offered,
                                      capacity_unknown=unknown), config)
    assert "is offered in us-ashburn-1, but the capacity ledger cannot say whether the site's pools fit: pool " \
           "train: 2048" in message
    absent = {"BM.GPU.H100.8": ("not-offered", "a test fact")}
    [(message, _)] = run_policy(_with(site_context(), "SK-CMP-007", shape_capacity=absent), config)
    assert message.startswith("[SK-CMP-007] ") and "BM.GPU.H100.8" in message


def test_sk_cmp_007_says_it_once_per_shape():
    """Issue 21: the capacity notice is a fact about the site's region and a shape: one finding per shape, on
    the first resource of that shape, however many resources ask for it."""
    case = BY_ID["gpu-config-in-a-region-of-unknown-capacity"]
    config = next(r for r in case.resources if r.type == T.INSTANCE_CONFIGURATION)
    twin = dataclasses.replace(config, name=config.name + "-twin")
    found = run_policy(_policies("")["SK-CMP-007"], case, case.resources + (twin,))
    assert len(found) == 1 and "1 other resource of the shape" in found[0][0]


def test_secure_boot_is_mandatory_on_a_gpu_shape_the_catalog_knows_supports_it():
    """Issue 21: Secure Boot on a GPU shape whose support is unknown stays advice (SK-CMP-006); once the catalog
    records the shape as supporting it, SK-CMP-004 (mandatory) demands it and the advice falls silent."""
    case = BY_ID["gpu-config-secure-boot-unverified"]
    shape = "BM.GPU.H100.8"
    assert run_policy(_policies("")["SK-CMP-004"], case) == []
    known = site_context().secure_boot | {shape: True}
    [(message, _)] = run_policy(_with(site_context(), "SK-CMP-004", secure_boot=known), case)
    assert shape in message and RULES["SK-CMP-004"].level == "mandatory"
    assert run_policy(_with(site_context(), "SK-CMP-006", secure_boot=known), case) == []


def test_peered_personal_data_needs_a_transfer_mechanism():
    """SK-PEER-003 on personal data: the loader already refuses a site that peers personal data out of its
    jurisdiction without a transfer mechanism it accepts (sitekit/spec/peering.py), so no loadable stack config
    shows it; the rule is the pack's second line. us-ashburn holding personal data, peered with br-saopaulo
    (jurisdiction br) without a declared mechanism."""
    case = BY_ID["connection-to-a-declared-peer"]
    assert run_policy(_policies("")["SK-PEER-003"], case) == []
    personal = _with(site_context(), "SK-PEER-003", data_classification="personal-data",
                     cross_border={})  # what context_from_site reads for personal data: never on crossBorder
    [(message, _)] = run_policy(personal, case)
    assert "no transfer mechanism declared" in message
