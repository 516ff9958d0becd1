"""The guardrails the cloud enforces (issue 21, part 1), as each shipped site's program registers them under mocks:
one quota statement per family, each beside its basis on the deployed quota (a freeform tag keyed by what it
zeroes), the same regions in the quota and in the site policy's IAM conditions, and the plan showing every
statement with its basis."""

from __future__ import annotations

import dataclasses
import re

import pytest
from conftest import SHIPPED
from rich.console import Console

from sitekit.facts.guardrails import GPU_QUOTAS, TAG_VALUE_MAX
from sitekit.naming import Kind, logical
from sitekit.oci.types import POLICY, QUOTA
from sitekit.policy import RULES
from sitekit.policy.context import context_from_site
from sitekit.policy.model import Res, Stack
from sitekit.run.report import print_plan, quota_bases
from sitekit.spec.guardrails import allowed_regions, statement_keys, zeroed


def _quota(plan):
    quotas = plan.of_type(QUOTA)
    assert [q.name for q in quotas] == [logical(plan.site, Kind.QUOTA)]
    return quotas[0]


@pytest.mark.parametrize("site", SHIPPED)
def test_every_statement_of_the_quota_carries_its_basis(site, shipped_plans, shipped_sites):
    quota, spec = _quota(shipped_plans[site]), shipped_sites[site].spec
    statements, tags = quota.inputs["statements"], quota.inputs["freeformTags"]
    keys = [k for s in statements for k in statement_keys(s)]
    assert all(zeroed(s) for s in statements) and len(keys) == len(set(keys)) == len(statements)
    assert set(tags) == set(keys), "one basis per statement, and no basis without its statement"
    assert all(0 < len(v) <= TAG_VALUE_MAX for v in tags.values())
    used = {p.shape for p in spec.compute.pools}
    for shape, name in GPU_QUOTAS.items():
        basis = tags.get(f"basis-{name}")
        if shape in used:
            assert basis is None, f"{shape} runs at {site}: its quota is not zeroed"
        elif shape not in spec.jurisdiction.shapes.approved:
            assert basis.startswith(f"{shape} is not approved by {spec.jurisdiction.code} (shapes.approved: ")
        else:
            assert basis == f"{shape} is approved by {spec.jurisdiction.code} but no pool of the site runs it"
    for family in ("compute-core", "compute-memory", "block-storage", "filesystem", "vcn"):
        assert tags[f"basis-{family}-regions"].startswith(f"{spec.jurisdiction.code} residency")


@pytest.mark.parametrize("site", SHIPPED)
def test_the_quota_and_the_iam_conditions_name_the_same_regions(site, shipped_plans, shipped_sites):
    """Both confine the site to where its data may be (`allowed_regions`): its region, its residency regions and
    those its cross-border list opens; the pack's context reads the same list."""
    plan, loaded = shipped_plans[site], shipped_sites[site]
    want = set(allowed_regions(loaded.spec, loaded.crossing))
    assert want == set(context_from_site(loaded).allowed_regions)
    for statement in _quota(plan).inputs["statements"]:
        family, _, cond = zeroed(statement)
        if cond:
            assert set(re.findall(r"request\.region != '([\w-]+)'", cond)) == want, (family, cond)
    policy = next(r for r in plan.of_type(POLICY) if r.name == logical(site, Kind.POLICY))
    grants = [s for s in policy.inputs["statements"] if re.match(r"(?i)allow group ", s)]
    assert grants and all(set(re.findall(r"request\.region = '([\w-]+)'", s)) == want for s in grants)


def test_us_ashburn_opens_exactly_the_us_and_brazilian_regions(shipped_sites):
    """The us profile lets confidential data reach ar (no public OCI region) and br: the guardrails open br's two
    regions and nothing else abroad."""
    loaded = shipped_sites["us-ashburn"]
    assert loaded.crossing == {"sa-saopaulo-1": "br", "sa-vinhedo-1": "br"}
    assert set(allowed_regions(loaded.spec, loaded.crossing)) == {
        *loaded.spec.jurisdiction.residency.regions, "sa-saopaulo-1", "sa-vinhedo-1"}


def test_the_plan_shows_each_statement_beside_its_basis(shipped_plans):
    plan = shipped_plans["us-ashburn"]
    console = Console(record=True, width=400)
    print_plan(plan, console)
    text = console.export_text()
    assert "quota us-ashburn-quota: each statement and its basis" in text
    rows = quota_bases(_quota(plan))
    assert all(basis and basis != "(no basis)" for _, basis in rows)
    gpu4 = next(b for s, b in rows if "gpu4-count" in s)
    assert gpu4.startswith("BM.GPU4.8 is not approved by us") and gpu4[:60] in text


def test_a_statement_whose_basis_is_dropped_fails_sk_grd_001_and_shows_so_in_the_plan(shipped_plans, shipped_sites):
    """The planned quota passes SK-GRD-001; the same quota with one basis removed fails it, naming the tag."""
    quota, ctx = _quota(shipped_plans["us-ashburn"]), context_from_site(shipped_sites["us-ashburn"])

    def findings(inputs):
        res = Res(QUOTA, quota.name, quota.urn, inputs)
        return [m for _, m in RULES["SK-GRD-001"].check(Stack([res]), ctx)]

    assert findings(quota.inputs) == []
    tags = dict(quota.inputs["freeformTags"])
    del tags["basis-gpu4-count"]
    weaker = {**quota.inputs, "freeformTags": tags}
    assert findings(weaker) == [f"statement {next(i for i, s in enumerate(quota.inputs['statements'], 1) if 'gpu4-count' in s)} "
                                "of the quota says no basis: no freeform tag basis-gpu4-count (each statement's basis "
                                "travels with the quota)"]
    assert ("zero compute-core quota gpu4-count in compartment sitekit-us-ashburn", "(no basis)") in \
        quota_bases(dataclasses.replace(quota, inputs=weaker))


def test_zone_policies_are_found_by_their_short_name_as_oci_returns_it():
    """Oracle's landing zone finds "deny public_buckets" under `friendly_name`; sitekit reads it there or as the
    display name, and a policy the lookup does not return is left out (the recipe is short: SK-GRD-003)."""
    from types import SimpleNamespace as NS

    from sitekit.facts.guardrails import ZONE_POLICIES
    from sitekit.region.guardrails import zone_policy_ids

    items = [NS(id=f"ocid-{i}", friendly_name=name, display_name=f"Security zone policy {i}")
             for i, name in enumerate(ZONE_POLICIES[:-1])]
    items.append(NS(id="ocid-x", friendly_name="deny database_without_backup", display_name="x"))
    found = zone_policy_ids([NS(items=items)])
    assert found == sorted(f"ocid-{i}" for i in range(len(ZONE_POLICIES) - 1))
    assert zone_policy_ids([NS(items=[NS(id="d", friendly_name=None, display_name=ZONE_POLICIES[0])])]) == ["d"]
    assert zone_policy_ids(None) == []
