"""Issue 21, part 3: one meaning of "may this site's data cross a border", read by three readers that must agree.

The meaning (docs/jurisdictions.md, DR-1): a site's data stays in its jurisdiction's residency regions; it may reach
another jurisdiction's regions and sites only where the profile's `residency.crossBorder` names the site's data
class and that jurisdiction (with a basis; never personal data), or under a transfer mechanism the profile
accepts. `Residency.crossing` states it once; peering validation (sitekit/spec/peering.py), the pack (SK-PEER-003
on each remote peering connection, SK-STK-001 on each resource's region) and the capacity view
(`sitekit fleet --capacity`) read it. Here each shipped site is judged by all three, with its profile as shipped
and with the cross-border list taken away: the verdicts must match."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import SHIPPED

from sitekit import ROOT
from sitekit.errors import SpecError
from sitekit.fleet.capacity import options
from sitekit.fleet.collect import jurisdictions
from sitekit.naming import Kind, logical
from sitekit.oci.types import REMOTE_PEERING_CONNECTION
from sitekit.policy import RULES
from sitekit.policy.context import context_from_site
from sitekit.policy.model import Res
from sitekit.spec.catalog import load_capacity
from sitekit.spec.models import CrossBorder

PROFILES = jurisdictions(ROOT)


def _pack_allows(site, peer: str) -> bool:
    """SK-PEER-003 says nothing of the site's connection to `peer`."""
    ctx = context_from_site(site)
    rpc = Res(REMOTE_PEERING_CONNECTION, logical(site.spec.site.name, Kind.RPC, peer), "urn:rpc", {})
    return list(RULES["SK-PEER-003"].check(rpc, ctx)) == []


def _capacity_allows(site, region: str, jurisdiction: str) -> bool:
    """The capacity view lists `region` for the site (resident, cross-border, or under a mechanism it accepts and
    would have to declare): the region is one the site's data may reach."""
    j = site.spec.jurisdiction
    if region in j.residency.regions or j.residency.crossing(j.tags.data_classification, jurisdiction):
        listed = {o.region: o.residency for o in options(j, "BM.GPU.H100.8", site.spec.site.region,
                                                         load_capacity(ROOT), site.catalog, False, PROFILES)}
        return region not in site.catalog.regions or listed.get(region) in ("resident", "cross-border")
    return False


def _without_cross_border(site):
    j = site.spec.jurisdiction
    residency = j.residency.model_copy(update={"cross_border": None})
    spec = site.spec.model_copy(update={"jurisdiction": j.model_copy(update={"residency": residency})})
    return dataclasses.replace(site, spec=spec)


@pytest.mark.parametrize("name", SHIPPED)
def test_validation_pack_and_capacity_agree_on_every_shipped_peering(name, shipped_sites):
    """Each peering the loader accepted (every shipped site loads) the pack accepts too, and the capacity view
    either lists the peer's region among those the site's data may reach or the site declares an accepted
    mechanism for it."""
    site = shipped_sites[name]
    declared = {p.site: p.transfer for p in site.spec.site.peers}
    for link in site.peers:
        assert _pack_allows(site, link.site), (name, link.site)
        mechanism = declared[link.site]
        by_mechanism = mechanism is not None and mechanism.mechanism in site.spec.jurisdiction.residency.transfer_mechanisms
        assert link.jurisdiction == site.spec.jurisdiction.code or by_mechanism or \
            _capacity_allows(site, link.region, link.jurisdiction), (name, link.site)


def test_us_confidential_data_crosses_to_ar_and_br_only_by_its_profile():
    """The us profile names confidential data and ar, br: the three readers say the same of every region."""
    us = PROFILES["us"]
    assert us.residency.cross_border is not None and us.residency.transfer_mechanisms == []
    listed = {o.region: o.residency for o in options(us, "BM.GPU.H100.8", "us-ashburn-1", load_capacity(ROOT),
                                                     _catalog(), False, PROFILES)}
    assert {r for r, kind in listed.items() if kind == "cross-border"} == set(PROFILES["br"].residency.regions)
    assert not {r for r in listed if r.startswith(("eu-", "me-", "uk-", "mx-", "sa-santiago", "sa-bogota"))}


def _catalog():
    from sitekit.spec.catalog import load_catalog

    return load_catalog(ROOT)


def test_without_the_cross_border_list_all_three_refuse(project):
    """Take the cross-border list out of the us profile: the loader refuses us-ashburn's peers, the pack flags
    both connections, and the capacity view lists no region outside the US."""
    from sitekit.spec.loader import load_site

    profile = project / "stacks" / "jurisdictions" / "us.yaml"
    text = profile.read_text()
    start = text.index("    crossBorder:\n")
    end = text.index("\n", text.index("      basis:", start)) + 1
    profile.write_text(text[:start] + text[end:])
    with pytest.raises(SpecError) as refused:
        load_site(project, "us-ashburn")
    assert all(f"{peer} is in jurisdiction" in str(refused.value) for peer in ("ar-patagonia", "br-saopaulo"))

    shipped = load_site(ROOT, "us-ashburn")
    bare = _without_cross_border(shipped)
    assert not _pack_allows(bare, "ar-patagonia") and not _pack_allows(bare, "br-saopaulo")
    j = bare.spec.jurisdiction
    listed = options(j, "BM.GPU.H100.8", "us-ashburn-1", load_capacity(ROOT), shipped.catalog, False, PROFILES)
    assert all(o.residency == "resident" for o in listed)


def test_personal_data_is_never_on_a_cross_border_list():
    with pytest.raises(ValueError, match="transfer mechanism"):
        CrossBorder(classes=["personal-data"], to=["us"], basis="x")
