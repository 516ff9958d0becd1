"""Energy rules per jurisdiction (issue 22): the German profile's EnEfG § 11 limits read by `EnergyRules.shortfalls`,
and a German site over its PUE limit failing the pack (SK-STK-004) while one within passes."""

from __future__ import annotations

from datetime import date

import pytest

from sitekit import ROOT
from sitekit.policy.runner import evaluate
from sitekit.run.offline import plan_site
from sitekit.spec.loader import load_profile, load_site
from sitekit.stamp.request import Request
from sitekit.stamp.site import write_site

ENEFG = load_profile(ROOT, "de")[1].energy


def keys(commissioned, pue, reuse):
    return [(key, message.split(" [")[0]) for key, message in ENEFG.shortfalls("Germany", commissioned, pue, reuse)]


def test_the_german_profile_sets_enefg_limits_with_their_basis():
    assert ENEFG is not None and "EnEfG" in ENEFG.basis
    assert all("EnEfG § 11" in limit.basis for limit in ENEFG.limits)


@pytest.mark.parametrize("commissioned, pue, reuse, expected", [
    # operating before 1 July 2026: 1.5 from July 2027 and 1.3 from July 2030, no reuse share
    (date(2025, 3, 1), 1.3, None, []),
    (date(2025, 3, 1), 1.31, None, ["pue"]),
    (date(2025, 3, 1), 1.6, None, ["pue", "pue"]),
    (date(2026, 6, 30), 1.3, None, []),
    # from 1 July 2026: 1.2, and 10% / 15% / 20% reused by the commissioning year
    (date(2026, 7, 1), 1.2, 0.10, []),
    (date(2026, 7, 1), 1.21, 0.10, ["pue"]),
    (date(2026, 7, 1), 1.2, 0.09, ["energyReuse"]),
    (date(2027, 7, 1), 1.2, 0.10, ["energyReuse"]),
    (date(2027, 7, 1), 1.2, 0.15, []),
    (date(2028, 7, 1), 1.2, 0.15, ["energyReuse"]),
    (date(2028, 7, 1), 1.2, 0.20, []),
    (date(2028, 7, 1), 1.2, None, ["energyReuse"]),  # not stated: cannot be judged, fails
    (None, 1.0, 1.0, ["commissioned"]),
])
def test_limits_by_commissioning_day(commissioned, pue, reuse, expected):
    assert [k for k, _ in keys(commissioned, pue, reuse)] == expected


def test_a_limit_in_force_later_is_named_with_its_day():
    [(_, message)] = keys(date(2025, 3, 1), 1.4, None)
    assert message == ("design PUE 1.4 is over 1.3, Germany's limit from 2030-07-01 for a site commissioned on "
                       "2025-03-01 (pue-existing-2030)")


@pytest.fixture(scope="module")
def german(make_project, tmp_path_factory):
    """A German site stamped within the limits (PUE 1.2, 20% reused, commissioned in 2028)."""
    project = make_project(tmp_path_factory.mktemp("de"))
    req = Request(name="de-energy", jurisdiction="de", region="eu-frankfurt-1", power_mw=20, pue=1.2,
                  commissioned=date(2028, 9, 1), energy_reuse=0.2)
    write_site(project, req)
    return project


def energy_findings(project):
    site = load_site(project, "de-energy")
    result = evaluate(site, plan_site(project, "de-energy"))
    return result, [f for f in result.findings if f.rule == "SK-STK-004"]


def test_a_german_site_within_its_limits_passes_the_pack(german):
    result, findings = energy_findings(german)
    assert findings == [] and result.passed, [(f.rule, f.message) for f in result.findings if f.blocking]


def test_a_german_site_over_its_pue_limit_fails_the_pack(german):
    path = german / "stacks/Pulumi.de-energy.yaml"
    text = path.read_text()
    assert "    pue: 1.2\n" in text and "    envelopeMw: 20\n" in text
    # the same pools at PUE 1.35 (the envelope raised so they still fit: only the energy rule is at stake)
    path.write_text(text.replace("    pue: 1.2\n", "    pue: 1.35\n").replace("envelopeMw: 20\n", "envelopeMw: 30\n"))
    try:
        result, findings = energy_findings(german)
    finally:
        path.write_text(text)
    assert not result.passed
    [finding] = findings
    assert finding.level == "mandatory" and finding.blocking
    assert finding.message.startswith("design PUE 1.35 is over 1.2, Germany's limit for a site commissioned on "
                                      "2028-09-01 (pue-new) [EnEfG § 11(2) no. 1")
    assert finding.file == "stacks/Pulumi.de-energy.yaml"  # at the site's pue line
    assert text.splitlines()[finding.line - 1].strip() == "pue: 1.2"
