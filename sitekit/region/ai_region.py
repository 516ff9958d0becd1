"""AiRegion: the standard AI region of one site, composed of its logical pieces."""

from __future__ import annotations

import pulumi
import pulumi_oci as oci

from sitekit.naming import Kind, logical
from sitekit.planners import fabric_blocks
from sitekit.region.compute import Compute
from sitekit.region.context import SiteContext
from sitekit.region.foundation import Foundation
from sitekit.region.guardrails import Guardrails
from sitekit.region.network import Network
from sitekit.region.peering import Peering
from sitekit.region.security import Security
from sitekit.region.storage import Storage
from sitekit.spec.ledger import check_pools, load_ledger, pool_demands
from sitekit.spec.loaded import LoadedSite
from sitekit.spec.validate import site_power

IGNORED_TAGS = ["Oracle-Tags.CreatedBy", "Oracle-Tags.CreatedOn"]


def providers(site: LoadedSite, parent: pulumi.Resource) -> tuple[oci.Provider, oci.Provider]:
    """One explicit provider for the site region and one for the home region (IAM), children of `parent`."""
    s = site.spec.site
    common = {"ignore_defined_tags": IGNORED_TAGS}
    if s.oci_profile:
        common["config_file_profile"] = s.oci_profile
    opts = pulumi.ResourceOptions(parent=parent)
    region = oci.Provider(f"oci-{s.name}-{s.region}", region=s.region, opts=opts, **common)
    home = oci.Provider(f"oci-{s.name}-home-{s.home_region}", region=s.home_region, opts=opts, **common)
    return region, home


def fabric(site: LoadedSite) -> dict[str, list[int]]:
    """Bare-metal pool -> the hosts of each of its fabric blocks (a cluster network or compute cluster each)."""
    shapes = site.catalog.shapes
    return {p.name: list(fabric_blocks(p.nodes, shapes[p.shape].fabric.block, shapes[p.shape].fabric.whole_blocks))
            for p in site.spec.compute.pools if p.placement == "bare-metal"}


def capacity(site: LoadedSite) -> list[dict]:
    """What the capacity ledger says of each GPU pool (fits, or unknown: a pool that does not fit never loads)."""
    s = site.spec.site
    ledger = load_ledger(site.root, s.region, site.catalog.shapes)
    return [v.to_dict() for v in check_pools(ledger, s.region, pool_demands(site.spec, site.catalog.shapes))]


class AiRegion(pulumi.ComponentResource):
    """One site: foundation (home-region IAM), network, security, compute and storage."""

    def __init__(self, name: str, site: LoadedSite, alert_endpoint: pulumi.Output[str] | None = None,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("sitekit:index:AiRegion", name, None, opts)
        region, home = providers(site, self)
        ctx = SiteContext(site, alert_endpoint=alert_endpoint, home_provider=home)
        self.foundation = Foundation(logical(name, Kind.FOUNDATION), ctx,
                                     pulumi.ResourceOptions(parent=self, providers=[home]))
        here = pulumi.ResourceOptions(parent=self, providers=[region])
        self.network = Network(logical(name, Kind.NETWORK), ctx, here)
        self.peering = Peering(logical(name, Kind.PEERING), ctx, here) if site.peers else None
        self.security = Security(logical(name, Kind.SECURITY), ctx, here)
        self.compute = Compute(logical(name, Kind.COMPUTE), ctx, here)
        self.foundation.grant_cluster(self.compute.cluster)
        self.storage = Storage(logical(name, Kind.STORAGE), ctx, self.compute.ad, here)
        self.guardrails = Guardrails(logical(name, Kind.GUARDRAILS), ctx,
                                     pulumi.ResourceOptions(parent=self, providers=[home]))

        power = site_power(site.spec, site.catalog)
        self.outputs = {
            "site": site.name,
            "jurisdiction": site.spec.jurisdiction.code,
            "region": site.spec.site.region,
            "gpus": power.gpus,
            "gpusByRole": power.gpus_by_role,
            "itMw": power.it_mw,
            "facilityMw": power.facility_mw,
            "envelopeMw": power.envelope_mw,
            "siteCompartmentId": ctx.compartments["site"],
            "fabricBlocks": fabric(site),
            "capacity": capacity(site),
        }
        if self.peering is not None:  # what a peer's stack reads to connect (region/peering.py)
            self.outputs["peering"] = {"rpcs": self.peering.rpcs}
        self.register_outputs(self.outputs)
