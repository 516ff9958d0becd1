"""Least privilege in the region (issue 17, finding 5): what the shipped sites' IAM statements give operators."""

from __future__ import annotations

import re

import pytest

from sitekit import ROOT
from sitekit.errors import SpecError
from sitekit.oci.types import POLICY
from sitekit.spec.layout import list_sites
from sitekit.spec.loader import load_site

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
    assert objects.split(" where ")[1].upper().startswith("ALL {")


NSG_RULE = "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule"


def egress_outside(plan, supernet) -> list[dict]:
    """NSG egress rules to a CIDR outside the site's supernet (the internet, through the NAT gateway)."""
    from ipaddress import ip_network

    return [r.inputs for r in plan.of_type(NSG_RULE) if r.inputs["direction"] == "EGRESS"
            and r.inputs.get("destinationType") == "CIDR_BLOCK"
            and not ip_network(r.inputs["destination"]).subnet_of(supernet)]


@pytest.mark.parametrize("site", SITES)
def test_workers_reach_only_the_site_and_the_service_gateway(site, shipped_plans, shipped_sites):
    spec = shipped_sites[site].spec
    assert spec.network.egress_allow == []
    assert egress_outside(shipped_plans[site], spec.site.address_plan.supernet) == []


def test_an_egress_allow_list_entry_opens_exactly_its_destination(project):
    from sitekit.run.offline import plan_site

    path = project / "stacks/Pulumi.us-ashburn.yaml"
    path.write_text(path.read_text() + "  sitekit:overrides:\n    network:\n      egressAllow:\n"
                    "        - {name: registry, cidr: 203.0.113.0/24, basis: the model registry's mirror (ticket 42)}\n")
    plan = plan_site(project, "us-ashburn")
    (rule,) = egress_outside(plan, load_site(project, "us-ashburn").spec.site.address_plan.supernet)
    assert rule["destination"] == "203.0.113.0/24" and rule["tcpOptions"]["destinationPortRange"] == {"min": 443, "max": 443}


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "128.0.0.0/1"])
def test_the_internet_is_not_an_allow_list(project, cidr):
    path = project / "stacks/Pulumi.us-ashburn.yaml"
    path.write_text(path.read_text() + "  sitekit:overrides:\n    network:\n      egressAllow:\n"
                    f"        - {{name: all, cidr: {cidr}, basis: x}}\n")
    with pytest.raises(SpecError) as exc:
        load_site(project, "us-ashburn")
    assert "network.egressAllow.all.cidr" in str(exc.value) and "not the internet" in str(exc.value)
