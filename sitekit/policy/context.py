"""The site context a rule may consult: jurisdiction parameters, network roles, power, levels and waivers.

Built from a `LoadedSite` (offline, and inside the pack from the stack's own `sitekit:` config), it holds only
plain data. Roles are found from what resource props carry under the real engine too (CIDR blocks, display
names), never from ids, which are unknown during a preview.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Network, ip_network
from typing import TYPE_CHECKING, Any, Mapping

from sitekit.policy.model import is_unknown
from sitekit.spec.catalog import load_capacity
from sitekit.spec.guardrails import allowed_regions
from sitekit.spec.ledger import check_pools, ledger_file, load_ledger, pool_demands
from sitekit.spec.validate import site_power

if TYPE_CHECKING:
    from sitekit.spec.loaded import LoadedSite


@dataclass(frozen=True)
class ShapeInfo:
    gpus: int
    node_kw: float
    grouping: str


@dataclass(frozen=True)
class WaiverInfo:
    rule: str
    reason: str
    expires: datetime.date
    resource: str | None
    index: int

    def covers(self, rule_id: str, name: str | None) -> bool:
        return self.rule == rule_id and (self.resource is None or self.resource == name)

    def expired(self, today: datetime.date) -> bool:
        return self.expires < today


@dataclass(frozen=True)
class PolicyContext:
    """Everything a rule may know about the site; every field has a neutral default (no site known)."""

    site: str | None = None
    jurisdiction: str | None = None
    jurisdiction_name: str = ""
    organisation: str = ""
    region: str | None = None
    region_kind: str = "public"
    home_region: str | None = None
    tenancy_id: str | None = None
    residency_regions: tuple[str, ...] = ()
    dedicated_in_country: bool = False
    transfer_mechanisms: tuple[str, ...] = ()
    transfer: str | None = None
    residency_basis: str = ""
    vault_type: str | None = None
    key_protection: str = "HSM"
    approved_shapes: tuple[str, ...] = ()
    shapes: Mapping[str, ShapeInfo] = field(default_factory=dict)
    secure_boot: Mapping[str, bool | None] = field(default_factory=dict)
    """shape -> whether OCI launches it with Secure Boot (stacks/catalog/shapes.yaml); None, or a shape not here,
    is unknown."""
    shape_capacity: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """GPU shape -> (offered | not-offered | unknown, why) in the site's region, from the capacity catalog and
    the capacity ledger (a service limit above 0 recorded for the shape in the region counts as offered)."""
    capacity_unknown: Mapping[str, str] = field(default_factory=dict)
    """GPU shape -> what the capacity ledger cannot say of the site's pools of it (the first pool's verdict)."""
    networks: Mapping[str, tuple[IPv4Network, str]] = field(default_factory=dict)
    """network name -> (CIDR, role)"""
    address_space: tuple[IPv4Network, ...] = ()
    supernet: IPv4Network | None = None
    data_classification: str | None = None
    cross_border: Mapping[str, str] = field(default_factory=dict)
    """Jurisdiction code -> the basis that lets this site's data class reach it without a transfer mechanism
    (the profile's residency.crossBorder, read through `Residency.crossing`)."""
    jurisdiction_of_region: Mapping[str, str] = field(default_factory=dict)
    """Public region outside the residency regions -> the jurisdiction whose residency lists it, for the
    jurisdictions the cross-border list opens to the site's data class (`LoadedSite.crossing`)."""
    allowed_regions: tuple[str, ...] = ()
    """Where the site's resources may be (`spec.guardrails.allowed_regions`, the one meaning): its region, its
    residency regions and those its cross-border list opens. Read by SK-STK-001 and the guardrails."""
    peers: Mapping[str, "PeerInfo"] = field(default_factory=dict)
    """The site's validated peers: site -> region, jurisdiction, declared transfer mechanism."""
    tag_namespace: str | None = None
    tag_values: Mapping[str, str] = field(default_factory=dict)
    statement_budget: int = 50
    pue: float | None = None
    envelope_mw: float | None = None
    commissioned: datetime.date | None = None
    """The site's commissioning day (site.power.commissioned), which decides the energy limits that apply."""
    energy_reuse: float | None = None
    """The site's designed share of reused energy (site.power.energyReuse); None: not stated."""
    energy: Any = None
    """The jurisdiction's energy limits (`models.EnergyRules`, jurisdiction.energy); None: it sets none."""
    spec_facility_mw: float | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    levels: Mapping[str, str] = field(default_factory=dict)
    """Effective level per rule id where the jurisdiction or the site set one."""
    waivers: tuple[WaiverInfo, ...] = ()
    problems: tuple[str, ...] = ()
    """Why the site context could not be built (under the engine); reported by SK-GOV-007."""
    today: datetime.date = field(default_factory=datetime.date.today)

    @property
    def known(self) -> bool:
        return self.site is not None

    # ------------------------------------------------------------------------------------------ params
    def param(self, name: str) -> Any:
        return self.params.get(name)

    def configured(self, config: Mapping[str, Any] | None) -> "PolicyContext":
        """This context with policy-pack config values (`--policy-pack-config`) over its parameters."""
        if not config:
            return self
        extra = {k: v for k, v in config.items() if k != "enforcementLevel"}
        return replace(self, params={**self.params, **extra}) if extra else self

    # ------------------------------------------------------------------------------------------ compartments
    def is_root_compartment(self, value: Any) -> bool:
        """Whether a compartment id is the tenancy's root compartment: an OCID of a tenancy (decisive with or
        without a site) or the site's tenancy id. An unknown id is one the stack creates, never the root."""
        return isinstance(value, str) and not is_unknown(value) and (
            value.startswith("ocid1.tenancy.") or value == self.tenancy_id)

    # ------------------------------------------------------------------------------------------ roles
    def network_of_cidr(self, cidr: Any) -> str | None:
        """The network whose address-plan range holds `cidr`."""
        if not isinstance(cidr, str) or is_unknown(cidr):
            return None
        try:
            net = ip_network(cidr, strict=False)
        except ValueError:
            return None
        for name, (block, _) in self.networks.items():
            if net.version == block.version and net.subnet_of(block):
                return name
        return None

    def network_of_display(self, display: Any) -> str | None:
        """The network named by a display name '<org>-<site>-<network>[-...]'."""
        if not isinstance(display, str) or not self.site:
            return None
        prefix = f"{self.organisation}-{self.site}-"
        if not display.startswith(prefix):
            return None
        rest = display[len(prefix):]
        for name in sorted(self.networks, key=len, reverse=True):
            if rest == name or rest.startswith(name + "-"):
                return name
        return None

    def role(self, network: str | None) -> str | None:
        return self.networks[network][1] if network in self.networks else None

    def role_of_subnet(self, props: Mapping[str, Any]) -> str | None:
        network = self.network_of_cidr(props.get("cidrBlock")) or self.network_of_display(props.get("displayName"))
        return self.role(network)

    def role_of_vcn(self, props: Mapping[str, Any]) -> str | None:
        blocks = props.get("cidrBlocks")
        first = blocks[0] if isinstance(blocks, (list, tuple)) and blocks else props.get("cidrBlock")
        return self.role(self.network_of_cidr(first) or self.network_of_display(props.get("displayName")))

    # ------------------------------------------------------------------------------------------ levels
    def level(self, rule_id: str, default: str) -> str:
        return self.levels.get(rule_id, default)

    def waiver_for(self, rule_id: str, name: str | None) -> WaiverInfo | None:
        """The current waiver covering `rule_id` for resource `name` (an expired one covers nothing)."""
        for w in self.waivers:
            if w.covers(rule_id, name) and not w.expired(self.today):
                return w
        return None


@dataclass(frozen=True)
class PeerInfo:
    region: str
    jurisdiction: str
    transfer: str | None


def context_from_site(site: "LoadedSite", today: datetime.date | None = None) -> PolicyContext:
    """The policy context of a validated site."""

    spec = site.spec
    capacity = load_capacity(site.root)
    ledger = load_ledger(site.root, spec.site.region, site.catalog.shapes)
    shape_capacity = {n: (st.status, st.why) for n in site.catalog.shapes
                      for st in [capacity.status(spec.site.region, n, spec.site.region_kind)]}
    for ad, shapes in (ledger.availability_domains.items() if ledger else ()):
        for shape, facts in shapes.items():
            if facts.limit is not None and facts.limit.value and shape_capacity.get(shape, ("",))[0] != "offered":
                shape_capacity[shape] = ("offered", f"{ledger_file(spec.site.region)}: service limit "
                                                    f"{facts.limit.value} in {ad}, {facts.limit.date}")
    capacity_unknown: dict[str, str] = {}
    for verdict in check_pools(ledger, spec.site.region, pool_demands(spec, site.catalog.shapes)):
        if verdict.status == "unknown":
            capacity_unknown.setdefault(verdict.shape, f"pool {verdict.pool}: {verdict.detail}")
    j = spec.jurisdiction
    params = j.policy.parameters
    power = site_power(spec, site.catalog)
    tag_ns = f"{spec.tags.namespace}-{spec.site.name}"
    levels = {**j.policy.enforcement, **spec.policy.enforcement}
    waivers = tuple(WaiverInfo(w.rule, w.reason, w.expires, w.resource, i) for i, w in enumerate(spec.policy.waivers))
    return PolicyContext(
        site=spec.site.name, jurisdiction=j.code, jurisdiction_name=j.name, organisation=spec.organisation.name,
        region=spec.site.region, region_kind=spec.site.region_kind, home_region=spec.site.home_region,
        tenancy_id=spec.site.tenancy_id, residency_regions=tuple(j.residency.regions),
        dedicated_in_country=j.residency.dedicated_in_country,
        transfer_mechanisms=tuple(j.residency.transfer_mechanisms),
        transfer=spec.site.transfer.mechanism if spec.site.transfer else None, residency_basis=j.residency.basis,
        vault_type=j.vault.type, key_protection=j.vault.key_protection, approved_shapes=tuple(j.shapes.approved),
        shapes={n: ShapeInfo(s.gpus, s.node_kw, s.grouping) for n, s in site.catalog.shapes.items()},
        secure_boot=site.catalog.secure_boot(),
        shape_capacity=shape_capacity, capacity_unknown=capacity_unknown,
        networks={n.name: (spec.site.address_plan.networks[n.name], n.role) for n in spec.network.networks
                  if n.name in spec.site.address_plan.networks},
        address_space=tuple(spec.organisation.address_space), supernet=spec.site.address_plan.supernet,
        data_classification=j.tags.data_classification,
        cross_border={code: basis for code in (j.residency.cross_border.to if j.residency.cross_border else ())
                      if (basis := j.residency.crossing(j.tags.data_classification, code))},
        jurisdiction_of_region=dict(site.crossing),
        allowed_regions=tuple(allowed_regions(spec, site.crossing)),
        peers={link.site: PeerInfo(link.region, link.jurisdiction,
                                   next((p.transfer.mechanism for p in spec.site.peers
                                         if p.site == link.site and p.transfer), None))
               for link in site.peers},
        tag_namespace=tag_ns,
        tag_values={"site": spec.site.name, "jurisdiction": j.code, "data-classification": j.tags.data_classification,
                    "applicable-law": j.tags.applicable_law, "cost-centre": spec.tags.cost_centre},
        statement_budget=spec.iam.statement_budget, pue=spec.site.power.pue,
        envelope_mw=spec.site.power.envelope_mw, spec_facility_mw=power.facility_mw,
        commissioned=spec.site.power.commissioned, energy_reuse=spec.site.power.energy_reuse,
        energy=j.energy,
        params={"minAuditDays": params.min_audit_days or j.retention.audit_days,
                "minLogDays": params.min_log_days or j.retention.log_days,
                "maxKeyRotationDays": params.max_key_rotation_days,
                "requiredTags": list(params.required_tags),
                "approvedShapes": list(j.shapes.approved),
                "statementBudget": spec.iam.statement_budget},
        levels=levels, waivers=waivers, today=today or datetime.date.today())
