"""Cross-field rules (sitekit/spec/validate.py) not covered by a fail fixture."""

from __future__ import annotations

import pytest

from sitekit.errors import SpecError
from sitekit.spec.loader import load_site


def test_iam_placeholders_are_checked_but_oci_condition_blocks_are_not(project):
    stack = project / "stacks" / "Pulumi.us-ashburn.yaml"
    stack.write_text(stack.read_text() + (
        "  sitekit:overrides:\n    iam:\n      statements:\n"
        "        - \"Allow group {grop} to read buckets in {compartment:storage}\"\n"
        "        - \"Allow any-user to read buckets in {compartment:storage} where ALL {request.principal.type = "
        "'workload', request.principal.namespace = 'kube-system'}\"\n"))
    with pytest.raises(SpecError) as info:
        load_site(project, "us-ashburn")
    assert [(p.key, p.message) for p in info.value.problems] == [
        ("iam.statements.0", "unknown placeholder '{grop}'; allowed: {compartment:<name>}, {group}, {dynamic-group}, "
                             "{region}, {cluster}")]


def test_a_supernet_set_through_overrides_counts_as_that_sites_block(project):
    """Both places a stack file holds its plan are read, for the overlap check as for new-site."""
    from sitekit.spec.stackfiles import site_supernets

    other = project / "stacks" / "Pulumi.other-site.yaml"
    other.write_text("config:\n  sitekit:jurisdiction: us\n  sitekit:overrides:\n    site:\n      addressPlan:\n"
                     "        supernet: 10.64.0.0/16\n")
    found = {(name, str(net), where.file, where.line) for name, net, where in site_supernets(project, "us-ashburn")}
    assert ("other-site", "10.64.0.0/16", "stacks/Pulumi.other-site.yaml", 6) in found
    with pytest.raises(SpecError) as info:
        load_site(project, "us-ashburn")
    assert any(p.key == "site.addressPlan.supernet" and "overlaps site 'other-site' (10.64.0.0/16, "
               "stacks/Pulumi.other-site.yaml:6)" in p.message for p in info.value.problems), info.value.problems


def test_a_huge_value_is_clipped_in_every_message(project):
    """A CIDR that is not one and a value outside a Literal are quoted as `shown` quotes any value: clipped,
    as is the part of the value `ipaddress` quotes in its reason."""
    stack = project / "stacks" / "Pulumi.us-ashburn.yaml"
    huge = "1" * 5000
    text = stack.read_text().replace("      gpu: 10.64.0.0/18", f"      gpu: 10.64.0.0/{huge}")
    stack.write_text(text.replace("  sitekit:addressPlan:", f"  sitekit:regionKind: x{huge}\n  sitekit:addressPlan:"))
    with pytest.raises(SpecError) as info:
        load_site(project, "us-ashburn")
    clipped = "1" * 47 + "..."
    assert {p.key: p.message for p in info.value.problems} == {
        "site.regionKind": f"Input should be 'public' or 'dedicated' (got 'x{'1' * 56}...')",
        "site.addressPlan.networks.gpu": f"'10.64.0.0/{clipped}' is not a valid IPv4 network "
                                         f"('{'1' * 57}...' is not a valid netmask)"}
