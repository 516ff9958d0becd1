"""Issue 21, part 3: one meaning of "may this site's data cross a border", read by three readers that must agree.

The meaning (docs/jurisdictions.md, DR-1): a site's data stays in its jurisdiction's residency regions; it may reach
another jurisdiction's regions and sites only where the profile's `residency.crossBorder` names the site's data
class and that jurisdiction (with a basis; never personal data), or under a transfer mechanism the profile
accepts. `Residency.crossing` states it once; peering validation (sitekit/spec/peering.py), the pack (SK-PEER-003
on each remote peering connection, SK-STK-001 on each resource's region) and the capacity view
(`sitekit fleet --capacity`) read it. Here each shipped site is judged by all three, with its profile as shipped
and with the cross-border list taken away: the verdicts must match."""

from __future__ import annotations

import copy
import dataclasses
import re

import pytest
from conftest import SHIPPED

from sitekit import ROOT
from sitekit.errors import SpecError
from sitekit.fleet.capacity import options
from sitekit.fleet.collect import jurisdictions
from sitekit.naming import Kind, logical
from sitekit.oci.types import REMOTE_PEERING_CONNECTION
from sitekit.policy import RULES
from sitekit.policy.context import PeerInfo, context_from_site
from sitekit.policy.model import Res
from sitekit.spec.catalog import load_capacity
from sitekit.spec.guardrails import allowed_regions
from sitekit.spec.loader import load_site
from sitekit.spec.models import CrossBorder
from sitekit.spec.stackfiles import read_stack_values

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


# ---------------------------------------------------------------------------------------------------------------
# Issue 21, part 3, all readers: the loader's own region check, peering (validation and SK-PEER-003), the pack's
# region rule (SK-STK-001), the guardrails (the quota's and IAM's regions, SK-GRD-001/002) and the capacity view give
# one answer to "may a site of this profile hold its data in this region", for every shipped profile and for
# profiles constructed by editing one.



def _values(code: str, region: str, profile) -> dict:
    """us-ashburn's stack values moved to a site of `code` in `region` (a Dedicated Region where the profile has
    no public region), without peers: only the region is in question."""
    values = copy.deepcopy(read_stack_values(ROOT, "us-ashburn")[0])
    values.pop("peers", None)
    values.update(jurisdiction=code, region=region, homeRegion="us-ashburn-1")
    values["addressPlan"] = {"supernet": "10.120.0.0/16",  # a block of its own (10.64-10.66 are the shipped sites')
                             "networks": {n: c.replace("10.64.", "10.120.") for n, c in values["addressPlan"]["networks"].items()}}
    values["pools"] = [{"name": "train", "shape": profile.shapes.approved[0], "nodes": 2}]  # a shape it approves
    if region.endswith("-dedicated-1"):
        values["regionKind"] = "dedicated"
    return values


def _loader_admits(root, code: str, region: str, profile) -> bool:
    """The loader takes a site of `code` in `region` with no transfer mechanism (problems elsewhere, such as a
    shape the profile does not approve, are not the question)."""
    try:
        load_site(root, "probe", values=_values(code, region, profile))
    except SpecError as exc:
        return not any(p.key in ("site.region", "site.transfer.mechanism") for p in exc.problems)
    return True


def _home(root, code: str, profile):
    """A loaded site of `code` in its first residency region (its Dedicated Region where it has none)."""
    region = profile.residency.regions[0] if profile.residency.regions else f"{code}-dedicated-1"
    try:
        return load_site(root, "probe", values=_values(code, region, profile))
    except SpecError as exc:  # a probe of another profile may break rules beside the region: load it without them
        raise AssertionError(f"the probe site of {code} does not load: {exc}") from None


def _verdicts(root, code: str, region: str, site, profiles) -> dict[str, bool]:
    """Each reader's answer for `region`, judged from `site` (a site of `code` elsewhere)."""
    profile = profiles[code]
    ctx = context_from_site(site)
    res = Res("oci:Logging/logGroup:LogGroup", "logs", "urn:logs", {}, provider={"region": region})
    listed = {o.region: o.residency for o in options(profile, "BM.GPU.H100.8", site.spec.site.region,
                                                     load_capacity(root), site.catalog,
                                                     site.spec.site.region_kind == "dedicated", profiles)}
    found = {
        "loader": _loader_admits(root, code, region, profile),
        "pack (SK-STK-001)": list(RULES["SK-STK-001"].check(res, ctx)) == [],
        "guardrails (quota, IAM)": region in allowed_regions(site.spec, site.crossing),
        "capacity view": listed.get(region) in ("resident", "cross-border"),
    }
    owner = next((k for k, p in profiles.items() if region in p.residency.regions), None)
    if owner is not None and owner != code:  # a peer there: the pack's peering rule answers for its jurisdiction
        peered = dataclasses.replace(ctx, peers={"there": PeerInfo(region, owner, None)})
        rpc = Res(REMOTE_PEERING_CONNECTION, logical(site.spec.site.name, Kind.RPC, "there"), "urn:rpc", {})
        found["peering (SK-PEER-003)"] = list(RULES["SK-PEER-003"].check(rpc, peered)) == []
    return found


def _probed(root) -> list[str]:
    """Every public region of the catalog (each profile's residency regions among them)."""
    from sitekit.spec.catalog import load_catalog

    return sorted(load_catalog(root).regions)


def _assert_agree(root, code: str) -> dict[str, bool]:
    profiles = jurisdictions(root)
    site = _home(root, code, profiles[code])
    answers = {}
    for region in _probed(root):
        if region == site.spec.site.region:
            continue
        verdicts = _verdicts(root, code, region, site, profiles)
        assert len(set(verdicts.values())) == 1, (code, region, verdicts)
        answers[region] = verdicts["loader"]
    return answers


@pytest.mark.parametrize("code", sorted(PROFILES))
def test_every_reader_gives_one_answer_for_every_shipped_profile(code):
    answers = _assert_agree(ROOT, code)
    profile = PROFILES[code]
    opened = {r for k in (profile.residency.cross_border.to if profile.residency.cross_border else ())
              for r in PROFILES[k].residency.regions}
    assert {r for r, yes in answers.items() if yes} == (set(profile.residency.regions) | opened) - {
        profile.residency.regions[0] if profile.residency.regions else None}
    assert not any(yes for r, yes in answers.items() if r not in opened | set(profile.residency.regions))


def test_the_us_profile_opens_brazil_to_confidential_data_everywhere_alike():
    answers = _assert_agree(ROOT, "us")
    assert answers["sa-saopaulo-1"] and answers["sa-vinhedo-1"] and not answers["eu-frankfurt-1"]


def _edit_us(project, old: str, new: str) -> None:
    profile = project / "stacks" / "jurisdictions" / "us.yaml"
    text = profile.read_text()
    assert old in text
    profile.write_text(text.replace(old, new, 1))


def test_personal_data_peered_across_the_border_is_refused_by_every_reader(project):
    """A constructed us profile whose sites hold personal data (never on a cross-border list): the loader refuses
    us-ashburn's peers at their file:line: dotted.key, and every reader closes Brazil's regions alike."""
    _edit_us(project, "dataClassification: confidential", "dataClassification: personal-data")
    with pytest.raises(SpecError) as refused:
        load_site(project, "us-ashburn")
    stack = (project / "stacks" / "Pulumi.us-ashburn.yaml").read_text().splitlines()
    for peer in ("ar-patagonia", "br-saopaulo"):
        line = next(n for n, text in enumerate(stack, 1) if f"site: {peer}" in text)
        assert (f"stacks/Pulumi.us-ashburn.yaml:{line}: site.peers.{peer}: data here is classified 'personal-data' "
                f"and {peer} is in jurisdiction") in str(refused.value)
    answers = _assert_agree(project, "us")
    assert not answers["sa-saopaulo-1"] and not answers["sa-vinhedo-1"]


def test_a_list_that_opens_brazil_only_refuses_the_argentine_peer(project):
    """A constructed us profile whose cross-border list names br only: the Argentine peer is refused where it is
    declared, the Brazilian one kept, and every reader opens Brazil's regions alike."""
    _edit_us(project, "to: [ar, br]", "to: [br]")
    with pytest.raises(SpecError) as refused:
        load_site(project, "us-ashburn")
    problems = [str(p) for p in refused.value.problems]
    assert len(problems) == 1 and "site.peers." in problems[0] and "ar-patagonia is in jurisdiction 'ar'" in problems[0]
    assert re.match(r"stacks/Pulumi\.us-ashburn\.yaml:\d+: site\.peers\.ar-patagonia: data here is classified "
                    r"'confidential'", problems[0])
    answers = _assert_agree(project, "us")
    assert answers["sa-saopaulo-1"] and not answers["sa-santiago-1"]
