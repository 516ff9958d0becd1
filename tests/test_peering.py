"""Sites joined into one private network, under mocks: the shipped fleet is hub-and-spoke (us-ashburn the hub,
ar-patagonia and br-saopaulo its spokes). Both ends of each peering are created, each in its own site's
region; the spoke (its name sorts first) requests the connection with the hub's connection id and region;
routes and rules admit exactly the peers' storage and services ranges, never the GPU network or the fabric.
The cross-site validations have fail fixtures (tests/fixtures/fail/peer-*)."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest

from sitekit.plan import provider_urn

HUB, SPOKES = "us-ashburn", ("ar-patagonia", "br-saopaulo")
RPC = "oci:Core/remotePeeringConnection:RemotePeeringConnection"
PEERED = ("services", "storage")


def ranges(site, *networks):
    return {n: str(site.spec.site.address_plan.networks[n]) for n in networks}


def test_the_shipped_fleet_is_hub_and_spoke(shipped_sites):
    assert {p.site for p in shipped_sites[HUB].spec.site.peers} == set(SPOKES)
    for spoke in SPOKES:
        links = shipped_sites[spoke].peers
        assert [(link.site, link.requestor, link.region) for link in links] == [(HUB, True, "us-ashburn-1")]
        assert {n: str(c) for n, c in links[0].ranges.items()} == ranges(shipped_sites[HUB], *PEERED)
    assert all(not link.requestor for link in shipped_sites[HUB].peers)


@pytest.mark.parametrize("spoke", SPOKES)
def test_both_ends_are_created_and_the_spoke_connects_to_the_hub(spoke, shipped_plans, shipped_sites):
    hub_rpc = shipped_plans[HUB].named(f"{HUB}-rpc-{spoke}")
    spoke_rpc = shipped_plans[spoke].named(f"{spoke}-rpc-{HUB}")
    # the hub accepts: no peer named; the spoke requests, naming the hub's connection (its id, as the mocks give
    # it to the hub's own plan) and the hub's region
    assert "peerId" not in hub_rpc.inputs and "peerRegionName" not in hub_rpc.inputs
    assert spoke_rpc.inputs["peerId"] == f"{HUB}-rpc-{spoke}-id"
    assert spoke_rpc.inputs["peerRegionName"] == shipped_sites[HUB].spec.site.region
    # each end on its own site's DRG, through its own site-region provider
    for plan, rpc, site in ((shipped_plans[HUB], hub_rpc, HUB), (shipped_plans[spoke], spoke_rpc, spoke)):
        assert rpc.inputs["drgId"] == f"{site}-drg-id"
        (region,) = [p for p in plan.of_type("pulumi:providers:oci") if "-home-" not in p.name]
        assert provider_urn(rpc.provider) == region.urn
        assert region.inputs["region"] == shipped_sites[site].spec.site.region
    (ref,) = shipped_plans[spoke].of_type("pulumi:pulumi:StackReference")
    assert ref.inputs["name"] == f"organization/sitekit/{HUB}"
    assert not shipped_plans[HUB].of_type("pulumi:pulumi:StackReference")


@pytest.mark.parametrize("site", (HUB, *SPOKES))
def test_routes_admit_exactly_the_peers_peered_ranges(site, shipped_plans, shipped_sites):
    plan, loaded = shipped_plans[site], shipped_sites[site]
    peer_ranges = {str(c) for link in loaded.peers for c in link.ranges.values()}
    assert len(peer_ranges) == 2 * len(loaded.peers)
    for net in loaded.spec.network.networks:
        rules = plan.named(f"{site}-routes-{net.name}").inputs.get("routeRules", [])
        to_peers = {r["destination"] for r in rules if r["destination"] in peer_ranges}
        assert to_peers == (peer_ranges if net.name in PEERED else set()), net.name
        assert all(r["networkEntityId"] == f"{site}-drg-id" for r in rules if r["destination"] in peer_ranges)
    supernet = loaded.spec.site.address_plan.supernet
    rules = plan.of_type("oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule")
    foreign = [r for r in rules if r.inputs.get("source") and r.inputs.get("sourceType") == "CIDR_BLOCK"
               and r.inputs["source"] != "0.0.0.0/0" and not IPv4Network(r.inputs["source"]).subnet_of(supernet)]
    assert {r.inputs["source"] for r in foreign} == {str(link.ranges[n]) for link in loaded.peers
                                                     for n in ("storage", "services")}
    assert {r.inputs["networkSecurityGroupId"] for r in foreign} == {f"{site}-nsg-fss-id", f"{site}-nsg-workers-id"}
    assert all(r.inputs["direction"] == "INGRESS" for r in foreign)
    assert len(foreign) == len(loaded.spec.peering.rules) * len(loaded.peers)


@pytest.mark.parametrize("site", (HUB, *SPOKES))
def test_drg_tables_keep_the_fabric_from_peers(site, shipped_plans, shipped_sites):
    plan = shipped_plans[site]
    for net in shipped_sites[site].spec.network.networks:
        attachment = plan.named(f"{site}-drg-attachment-{net.name}")
        kind = "peered" if net.name in PEERED else "internal"
        assert attachment.inputs["drgRouteTableId"] == f"{site}-drg-routes-{kind}-id", net.name
    imports = {r.name: r.inputs["matchCriteria"] for r in
               plan.of_type("oci:Core/drgRouteDistributionStatement:DrgRouteDistributionStatement")}
    assert {k: v.get("attachmentType") for k, v in imports.items() if "-to-peers" not in k} == {
        f"{site}-drg-import-internal-vcn": "VCN", f"{site}-drg-import-peered-vcn": "VCN",
        f"{site}-drg-import-peered-remote-peering-connection": "REMOTE_PEERING_CONNECTION"}
    # what peers learn: exactly the peered networks' attachments
    to_peers = {v["drgAttachmentId"] for k, v in imports.items() if "-to-peers" in k}
    assert to_peers == {f"{site}-drg-attachment-{n}-id" for n in PEERED}
    for m in plan.of_type("oci:Core/drgAttachmentManagement:DrgAttachmentManagement"):
        assert m.inputs["attachmentType"] == "REMOTE_PEERING_CONNECTION"
        assert m.inputs["drgRouteTableId"] == f"{site}-drg-routes-to-peers-id"


def test_an_island_declares_no_peering(make_project, tmp_path):
    from sitekit.run.offline import plan_site

    root = make_project(tmp_path)
    for name in ("us-ashburn", "ar-patagonia", "br-saopaulo"):
        path = root / f"stacks/Pulumi.{name}.yaml"
        text = path.read_text()
        start = text.index("  sitekit:peers:\n")
        end = text.index("  sitekit:pools:\n")
        path.write_text(text[:start] + text[end:])
    plan = plan_site(root, "br-saopaulo")
    assert not [r for r in plan.resources if "rpc" in r.name or "drg-import" in r.name or "drg-routes" in r.name]
    assert all("drgRouteTableId" not in r.inputs for r in plan.of_type("oci:Core/drgAttachment:DrgAttachment"))
    assert "peering" not in plan.outputs
