"""Jurisdiction profiles cite a basis for every rule: no TODO left in a shipped profile, and every
organisation policy a basis names (e.g. 'organisation policy LG-1') is stated in docs/jurisdictions.md."""

from __future__ import annotations

import re

import pytest
import yaml

from sitekit import ROOT

PROFILES = sorted((ROOT / "stacks/jurisdictions").glob("*.yaml"))
ORG_POLICY = re.compile(r"[Oo]rganisation (?:policy|hardware standard) ([A-Z]{2}-[0-9]+)")


def bases(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "basis":
                yield path + (k,), v
            else:
                yield from bases(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from bases(v, path + (i,))


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.stem)
def test_shipped_profiles_leave_no_basis_to_do(path):
    found = list(bases(yaml.safe_load(path.read_text())))
    assert len(found) >= 6
    assert [p for p, b in found if not str(b).strip() or "TODO" in str(b)] == []


def test_every_cited_organisation_policy_is_stated():
    doc = (ROOT / "docs/jurisdictions.md").read_text()
    stated = set(re.findall(r"^\| `([A-Z]{2}-[0-9]+)` \|", doc, re.M))
    files = PROFILES + [ROOT / "stacks/baseline.yaml", ROOT / "templates/jurisdiction.yaml.j2"]
    cited = {m for f in files for m in ORG_POLICY.findall(f.read_text())}
    assert {"DR-1", "KM-2", "LG-1", "DC-1", "HW-3"} <= cited
    assert cited - stated == set(), "cited but not stated in docs/jurisdictions.md"
