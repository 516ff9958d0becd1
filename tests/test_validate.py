"""Cross-field rules (sitekit/validate.py) not covered by a fail fixture."""

from __future__ import annotations

import pytest

from sitekit.errors import SpecError
from sitekit.loader import load_site


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
