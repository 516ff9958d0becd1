"""Least privilege in the region (issue 17, finding 5): what the shipped sites' IAM statements give operators."""

from __future__ import annotations

import re

import pytest

from sitekit import ROOT
from sitekit.oci.types import POLICY
from sitekit.spec.layout import list_sites

SITES = list_sites(ROOT)


def operator_statements(plan, group: str) -> list[str]:
    return [s for p in plan.of_type(POLICY) for s in p.inputs["statements"]
            if s.lower().startswith(f"allow group {group.lower()} ")]


@pytest.mark.parametrize("site", SITES)
def test_operators_inspect_and_read_only_what_operating_needs(site, shipped_plans, shipped_sites):
    """`read all-resources` would give object contents and secret bundles: operators inspect, and read metrics,
    logs and audit events."""
    statements = operator_statements(shipped_plans[site], shipped_sites[site].spec.iam.operators_group)
    assert statements
    reads = [s for s in statements if re.search(r" to read ", s)]
    assert not [s for s in statements if re.search(r" to (read|use|manage) all-resources ", s)]
    assert any(" to inspect all-resources " in s for s in statements)
    assert {re.search(r" to read (\S+) ", s).group(1) for s in reads} <= {"metrics", "log-groups", "log-content",
                                                                         "audit-events"}


@pytest.mark.parametrize("site", SITES)
def test_storage_managers_cannot_delete_share_publish_or_expire(site, shipped_plans, shipped_sites):
    statements = operator_statements(shipped_plans[site], shipped_sites[site].spec.iam.operators_group)
    (objects,) = [s for s in statements if " to manage object-family " in s]
    for permission in ("BUCKET_DELETE", "OBJECT_DELETE", "OBJECT_VERSION_DELETE", "PAR_MANAGE", "BUCKET_UPDATE"):
        assert f"request.permission != '{permission}'" in objects
    for operation in ("PutObjectLifecyclePolicy", "DeleteObjectLifecyclePolicy"):
        assert f"request.operation != '{operation}'" in objects
    assert objects.split(" where ")[1].startswith("ALL {")
