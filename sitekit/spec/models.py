"""The typed site spec: what a merged baseline + jurisdiction + site must look like.

Every model forbids unknown keys and uses the camelCase names the YAML files use. Field docs say what a
field does and what it defaults to; "replaces" notes a field whose change makes OCI replace a resource.
Value types live in `types.py`; cross-field rules that need the shape catalog or the region list in
`validate.py`.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Network
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from sitekit.errors import clip
from sitekit.spec.types import (
    MAX_NODES,
    MAX_STATEMENTS,
    MAX_THROUGHPUT_GBPS,
    PORT_MAX,
    PORT_MIN,
    PRIVATE_SPACES,
    PROGRAM,
    Arg,
    Argv,
    AuditRule,
    Cidr,
    Day,
    Host,
    ImageOcid,
    Name,
    Number,
    ParentOcid,
    PoolRole,
    RecipeOcid,
    RegionId,
    ReservationRef,
    ResponderRecipeOcid,
    Role,
    TagValue,
    TenancyOcid,
    iana_zone,
    port_problem,
)


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True,
                              allow_inf_nan=False)


# --------------------------------------------------------------------------------------------- organisation
class Organisation(Model):
    name: Name = Field(description="Short organisation prefix used in display names, e.g. 'acme'.")
    address_space: list[Cidr] = Field(
        min_length=1, description="The organisation's private address space (inside RFC 1918: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16); every site's supernet lies inside it.")

    @field_validator("address_space")
    @classmethod
    def _private(cls, spaces: list[IPv4Network]) -> list[IPv4Network]:
        for space in spaces:
            if not any(space.subnet_of(p) for p in PRIVATE_SPACES):
                raise ValueError(f"{space} is not private address space; an organisation's space lies inside "
                                 f"{', '.join(map(str, PRIVATE_SPACES))} (RFC 1918)")
        return spaces


class Tags(Model):
    namespace: Name = Field(description="Prefix of the site's tag namespace; the namespace is '<prefix>-<site>'.")
    cost_centre: TagValue = Field(description="Value of the cost-centre defined tag (at most 256 characters).")


# --------------------------------------------------------------------------------------------- site
class AddressPlan(Model):
    supernet: Cidr = Field(description="The site's whole range; must not overlap any other site (replaces VCNs).")
    networks: dict[Name, Cidr] = Field(
        description="CIDR of each network by name; each inside the supernet, none overlapping (changing one replaces its VCN).")


Cooling = Literal["air", "liquid"]
"""How a rack is cooled: by the hall's air, or by liquid to the chips (a coolant distribution unit per row)."""

DEFAULT_HALL = "main"
"""The one hall a site that declares none has (`Power.halls`)."""


class Hall(Model):
    """A data hall: the IT power it delivers to racks and the cooling it offers (`sitekit/spec/halls.py` fits each
    pool's racks into its hall)."""

    name: Name
    it_mw: Number = Field(gt=0, le=5000, description="IT power (MW, critical load) the hall delivers to its racks; the pools in the hall draw at most this at peak.")
    cooling: list[Cooling] = Field(min_length=1, description="The cooling the hall offers: air, liquid or both; a pool's racks need theirs (stacks/catalog/racks.yaml).")
    max_rack_kw: Number | None = Field(None, gt=0, le=1000, description="The most power (kW) one rack position may draw; none: no limit. Defaults to none.")


class Power(Model):
    envelope_mw: Number = Field(gt=0, le=5000, description="The site's power envelope in MW (facility load must fit).")
    pue: Number = Field(ge=1.0, le=3.0, description="Power usage effectiveness; facility load = IT load x PUE.")
    commissioned: Day | None = Field(None, description="The day the site begins (or began) operating (YYYY-MM-DD): which of the jurisdiction's energy limits apply to it (jurisdiction.energy). Required where the jurisdiction sets limits.")
    energy_reuse: Number | None = Field(None, ge=0, le=1, description="Share of the site's energy that is reused (energy reuse factor, ERF, DIN EN 50600-4-6), as designed: 0.1 is 10%. Required where the jurisdiction sets a reuse limit.")
    halls: list[Hall] = Field(
        default_factory=list, description="The site's data halls. Defaults to one hall, 'main', that delivers the "
        "whole envelope (IT MW = envelopeMw / pue), with air and liquid cooling and no rack limit.")

    @model_validator(mode="after")
    def _one_hall_by_default(self) -> "Power":
        if self.halls:
            return self
        main = Hall(name=DEFAULT_HALL, it_mw=round(self.envelope_mw / self.pue, 3), cooling=["air", "liquid"])
        return self.model_copy(update={"halls": [main]})


class Transfer(Model):
    mechanism: Name = Field(description="The transfer mechanism, one the jurisdiction accepts (see residency.transferMechanisms).")
    reference: str = Field(min_length=1, description="Where the signed instrument is kept (contract id, register entry).")


class Peer(Model):
    site: Name = Field(description="A site this one peers with; both stack files must name each other.")
    transfer: Transfer | None = Field(
        None, description="The transfer mechanism (one the jurisdiction accepts) under which data classified as "
                          "personal may reach a peer in another jurisdiction; required then.")


class Images(Model):
    gpu: ImageOcid = Field(description="Image OCID for GPU bare-metal nodes (cluster networks and compute clusters).")
    oke: ImageOcid = Field(description="Image OCID for OKE worker nodes.")


class Site(Model):
    name: Name = Field(description="The site (stack) name; set by sitekit from the stack file name.")
    jurisdiction: Name = Field(description="Code of the jurisdiction profile in stacks/jurisdictions/.")
    region: RegionId = Field(description="OCI region the site's resources live in (replaces everything).")
    region_kind: Literal["public", "dedicated"] = Field(
        "public", description="'public' for an OCI public region, 'dedicated' for a customer-hosted Dedicated Region whose key Oracle assigns. Defaults to public.")
    home_region: RegionId = Field(description="The tenancy's home region, where IAM objects are written.")
    parent_compartment_id: ParentOcid = Field(description="OCID of the compartment the site compartment is created in (a compartment, or the tenancy itself).")
    tenancy_id: TenancyOcid = Field(description="OCID of the tenancy (dynamic groups and tag namespaces live there).")
    availability_domain: StrictInt = Field(1, ge=1, le=3, description="Which availability domain (1-3) GPU capacity is in. Defaults to 1.")
    images: Images
    address_plan: AddressPlan
    power: Power
    transfer: Transfer | None = Field(None, description="Declared transfer mechanism, required when the region is outside the jurisdiction's residency regions.")
    peers: list[Peer] = Field(default_factory=list, description="Sites joined to this one through DRG remote peering "
                              "(hub-and-spoke: spokes name the hub; full mesh: every site names every other).")
    oci_profile: str | None = Field(None, description="Profile in ~/.oci/config for both providers; defaults to the provider's own default.")
    alert_endpoint: StrictBool = Field(False, description="Set by sitekit: whether the secret sitekit:alertEndpoint is configured.")


# --------------------------------------------------------------------------------------------- jurisdiction
PERSONAL = frozenset({"personal-data"})
"""Data classifications that hold personal data: they leave a jurisdiction only under a transfer mechanism."""


class CrossBorder(Model):
    """Data classes that may leave the jurisdiction without a transfer mechanism, and where to."""

    classes: list[TagValue] = Field(min_length=1, description="Data classifications (tags.dataClassification values) that may cross; never personal data.")
    to: list[Name] = Field(min_length=1, description="Jurisdiction codes whose regions and sites they may reach.")
    basis: str = Field(min_length=1, description="Law and article (or organisation policy) that lets them cross.")

    @field_validator("classes")
    @classmethod
    def _not_personal(cls, value: list[str]) -> list[str]:
        if PERSONAL & set(value):
            raise ValueError("personal data leaves a jurisdiction only under a transfer mechanism "
                             "(residency.transferMechanisms), never by crossBorder")
        return value


class Residency(Model):
    regions: list[RegionId] = Field(description="Public regions where the site's data may live without a transfer mechanism.")
    dedicated_in_country: StrictBool = Field(False, description="Whether an in-country Dedicated Region counts as resident.")
    transfer_mechanisms: list[Name] = Field(default_factory=list, description="Mechanisms a site outside `regions` may declare.")
    cross_border: CrossBorder | None = Field(None, description="Data classes that may reach the named jurisdictions without a transfer mechanism, with basis. Defaults to none: every class stays.")
    basis: str = Field(min_length=1, description="Law and article (or organisation policy) behind this rule.")

    def crossing(self, data_class: str | None, jurisdiction: str | None) -> str | None:
        """The one meaning of "may this data cross this border" (peering validation, SK-PEER-003, SK-STK-001 and
        the capacity view read it here): the basis that lets data of `data_class` reach `jurisdiction` without a
        transfer mechanism, or None when it needs one."""
        cb = self.cross_border
        if cb is not None and data_class in cb.classes and jurisdiction in cb.to:
            return cb.basis
        return None


class VaultRule(Model):
    type: Literal["DEFAULT", "VIRTUAL_PRIVATE"] = Field(description="Vault type; VIRTUAL_PRIVATE is a dedicated HSM partition (replaces the vault).")
    key_protection: Literal["HSM", "SOFTWARE"] = Field("HSM", description="Key protection mode (replaces keys).")
    basis: str = Field(min_length=1)


class Retention(Model):
    audit_days: StrictInt = Field(ge=90, le=365, description="Minimum audit log retention in days (OCI audit allows 90-365).")
    log_days: StrictInt = Field(ge=30, le=180, multiple_of=30, description="Retention of service logs (flow logs, bucket logs); OCI Logging allows 30-180 in 30-day steps.")
    basis: str = Field(min_length=1)


class TagRule(Model):
    data_classification: TagValue = Field(description="Value of the data-classification defined tag (at most 256 characters).")
    applicable_law: TagValue = Field(description="Value of the applicable-law defined tag (at most 256 characters).")
    basis: str = Field(min_length=1)


class ShapeRule(Model):
    approved: list[str] = Field(min_length=1, description="GPU shapes a site of this jurisdiction may use.")
    basis: str = Field(min_length=1)


class EnergyLimit(Model):
    """One limit of a jurisdiction's energy law: the sites it applies to (by commissioning date), from when, and
    what it asks (a PUE at most, a share of reused energy at least). A site is judged against every limit that
    applies to it, now or later (SK-STK-004): its design must meet the one that comes into force after it opens."""

    name: Name
    commissioned_from: Day | None = Field(None, description="Applies to sites commissioned on or after this day; none: however early.")
    commissioned_before: Day | None = Field(None, description="Applies to sites commissioned before this day; none: however late.")
    applies_from: Day | None = Field(None, description="The day the limit comes into force; none: from commissioning.")
    max_pue: Number | None = Field(None, ge=1.0, le=3.0, description="The highest PUE (annual average) the site may have.")
    min_energy_reuse: Number | None = Field(None, ge=0, le=1, description="The least share of energy the site must reuse (ERF, 0.1 is 10%).")
    basis: str = Field(min_length=1, description="Law and article the limit comes from.")

    @model_validator(mode="after")
    def _asks_something(self) -> "EnergyLimit":
        if self.max_pue is None and self.min_energy_reuse is None:
            raise ValueError("a limit sets maxPue, minEnergyReuse or both")
        if self.commissioned_from and self.commissioned_before and self.commissioned_before <= self.commissioned_from:
            raise ValueError(f"commissionedBefore ({self.commissioned_before}) is not after commissionedFrom "
                             f"({self.commissioned_from})")
        return self

    def applies_to(self, commissioned: Any) -> bool:
        """Whether a site commissioned on `commissioned` (a date) falls under this limit."""
        return ((self.commissioned_from is None or commissioned >= self.commissioned_from)
                and (self.commissioned_before is None or commissioned < self.commissioned_before))


class EnergyRules(Model):
    """A jurisdiction's energy-efficiency law for data centres (PUE and energy reuse), read by SK-STK-004."""

    limits: list[EnergyLimit] = Field(min_length=1)
    basis: str = Field(min_length=1, description="The law, and where its text was read.")

    def shortfalls(self, where: str, commissioned: Any, pue: float | None,
                   reuse: float | None) -> list[tuple[str, str]]:
        """What a site designed at `pue`, reusing `reuse`, commissioned on `commissioned` breaks: every limit whose
        commissioning window holds the date, including one that comes into force later in the site's life (the
        design must meet it then). What the site does not state (its date; its reuse share where a limit asks
        one) is a shortfall: it cannot be judged. The one reading of the limits (SK-STK-004 and new-site).
        Each as (the key of site.power at fault, the message)."""
        if commissioned is None:
            return [("commissioned", f"{where} sets energy limits by commissioning date, and the site states none "
                    "(site.power.commissioned)")]
        out, day = [], commissioned.isoformat()
        for limit in self.limits:
            if not limit.applies_to(commissioned):
                continue
            since = f" from {limit.applies_from.isoformat()}" if limit.applies_from else ""
            if limit.max_pue is not None and pue is not None and pue > limit.max_pue + 1e-9:
                out.append(("pue", f"design PUE {pue:g} is over {limit.max_pue:g}, {where}'s limit{since} for a "
                                   f"site commissioned on {day} ({limit.name}) [{limit.basis}]"))
            if limit.min_energy_reuse is None:
                continue
            least = f"{limit.min_energy_reuse * 100:g}%"
            if reuse is None:
                out.append(("energyReuse", f"{where} asks at least {least} reused energy{since} of a site "
                                           f"commissioned on {day} ({limit.name}), and the site states no share "
                                           f"(site.power.energyReuse) [{limit.basis}]"))
            elif reuse + 1e-9 < limit.min_energy_reuse:
                out.append(("energyReuse", f"reused energy {reuse * 100:g}% is under {least}, {where}'s "
                                           f"limit{since} for a site commissioned on {day} ({limit.name}) "
                                           f"[{limit.basis}]"))
        return out


class LockedKey(Model):
    key: str = Field(description="Dotted key a site may not override, e.g. 'jurisdiction.vault.type'.")
    basis: str = Field(min_length=1)


# --------------------------------------------------------------------------------------------- policy
Level = Literal["mandatory", "advisory", "disabled"]
"""A policy rule's enforcement level: mandatory fails the run, advisory only reports, disabled skips it."""


RuleId = Annotated[str, StringConstraints(pattern=r"^SK-[A-Z]+-[0-9]{3}$")]
"""A sitekit policy rule id such as ``SK-NET-001`` (see docs/policies.md); unknown ids are refused."""


class PolicyParameters(Model):
    """Parameters of the policy rules; each unset one falls back to the value named in its description."""

    min_audit_days: StrictInt | None = Field(None, ge=90, le=365, description="Least audit retention (days); defaults to retention.auditDays.")
    min_log_days: StrictInt | None = Field(None, ge=30, le=180, description="Least service-log retention (days); defaults to retention.logDays.")
    max_key_rotation_days: StrictInt = Field(365, ge=60, le=365, description="Longest key auto-rotation interval (days); CIS OCI 4.16 asks for yearly. Defaults to 365.")
    required_tags: list[str] = Field(default_factory=lambda: ["site", "jurisdiction", "data-classification"],
                                     description="Defined-tag keys every taggable resource carries. Defaults to site, jurisdiction, data-classification.")


class JurisdictionPolicy(Model):
    """How a jurisdiction tunes the policy pack: enforcement levels per rule id, and rule parameters."""

    enforcement: dict[RuleId, Level] = Field(default_factory=dict, description="Level per rule id, over the rule's default.")
    parameters: PolicyParameters = Field(default_factory=PolicyParameters)


class Waiver(Model):
    """A site's exception to one rule: it needs a reason and an expiry; an expired waiver is a violation."""

    rule: RuleId
    reason: str = Field(min_length=10, description="Why the rule does not apply, and who accepted the risk.")
    expires: Day = Field(description="Last day the waiver holds (YYYY-MM-DD).")
    resource: str | None = Field(None, description="Logical name of the one resource waived; the whole rule when omitted.")


class SitePolicy(Model):
    """A site's policy settings (stack key `sitekit:policy`): enforcement levels over the jurisdiction's, and waivers."""

    enforcement: dict[RuleId, Level] = Field(
        default_factory=dict, description="Level per rule id, over the jurisdiction's; a site may only raise a level (to accept a violation, waive it).")
    waivers: list[Waiver] = Field(default_factory=list)


class Freeze(Model):
    """A window in which no site of the jurisdiction is deployed (`sitekit rollout`): from `start` to `end`, both
    days included, in UTC."""

    start: Day = Field(description="First frozen day (YYYY-MM-DD, UTC).")
    end: Day = Field(description="Last frozen day (YYYY-MM-DD, UTC), included.")
    reason: str = Field(min_length=10, description="Why nothing deploys then, and who decided (shown when a rollout waits or is refused).")

    @model_validator(mode="after")
    def _ordered(self) -> "Freeze":
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


class Jurisdiction(Model):
    code: Name
    name: str
    residency: Residency
    vault: VaultRule
    retention: Retention
    tags: TagRule
    shapes: ShapeRule
    locked: list[LockedKey] = Field(default_factory=list)
    notes: str = Field("", description="Free text: uncertainties, pending legal review.")
    policy: JurisdictionPolicy = Field(default_factory=JurisdictionPolicy, description="Policy-pack levels and parameters for this jurisdiction.")
    freezes: list[Freeze] = Field(default_factory=list, description="Change freezes: windows in which `sitekit rollout` deploys no site of this jurisdiction (it waits or refuses, naming the reason).")
    energy: EnergyRules | None = Field(None, description="PUE and energy-reuse limits for data centres, by commissioning date, with their basis (SK-STK-004). Defaults to none.")


# --------------------------------------------------------------------------------------------- network
class Subnet(Model):
    name: Name
    prefix: StrictInt = Field(ge=16, le=30, description="Prefix length of the subnet, carved from its network's CIDR.")
    public: StrictBool = Field(False, description="Allow public IPs on VNICs; only in the frontend network (replaces the subnet).")


class Network(Model):
    name: Name
    role: Role = Field(description="What the network is for; roles decide gateways and policy checks.")
    internet: StrictBool = Field(False, description="Give the network an internet gateway (frontend only).")
    nat: StrictBool = Field(False, description="Give the network a NAT gateway for egress.")
    service_gateway: StrictBool = Field(False, description="Give the network a service gateway to the Oracle Services Network.")
    subnets: list[Subnet] = Field(min_length=1)


class PortRule(Model):
    """A rule's protocol and ports, shared by NSG rules and the rules that admit peer sites."""

    protocol: Literal["tcp", "udp", "icmp", "all"]
    ports: str | None = Field(None, pattern=r"^[0-9]{1,5}(-[0-9]{1,5})?$",
                              description="'443' or '2048-2050', each port 1-65535; tcp/udp only.")

    @field_validator("ports")
    @classmethod
    def _port_range(cls, ports: str | None) -> str | None:
        problem = port_problem(ports) if ports is not None else None
        if problem:
            raise ValueError(problem)
        return ports


class NsgRule(PortRule):
    direction: Literal["ingress", "egress"]
    peer: str = Field(description="A network name (its CIDR), 'oracle-services' for the Oracle Services Network, or a CIDR.")
    description: str = ""


class Nsg(Model):
    name: Name
    network: Name = Field(description="Network (by name) the NSG belongs to.")
    rules: list[NsgRule] = Field(default_factory=list)


class EgressAllow(Model):
    """A destination outside the site the OKE workers may reach over TCP (through the NAT gateway): with the
    Oracle Services Network (service gateway), the only egress they have."""

    name: Name
    cidr: Cidr = Field(description="The destination range; at most a /8 (an allow list names destinations, not the internet).")
    ports: str = Field("443", pattern=r"^[0-9]{1,5}(-[0-9]{1,5})?$", description="'443' or '2048-2050'. Defaults to 443.")
    basis: str = Field(min_length=1, description="Why the workers need it (the registry, the service, the ticket).")

    @field_validator("cidr")
    @classmethod
    def _narrow(cls, cidr: IPv4Network) -> IPv4Network:
        if cidr.prefixlen < 8:
            raise ValueError(f"{cidr} is wider than a /8: an allow list names destinations, not the internet")
        return cidr

    @field_validator("ports")
    @classmethod
    def _port_range(cls, ports: str) -> str:
        problem = port_problem(ports)
        if problem:
            raise ValueError(problem)
        return ports


class NetworkSpec(Model):
    networks: list[Network] = Field(min_length=1)
    nsgs: list[Nsg] = Field(default_factory=list)
    egress_allow: list[EgressAllow] = Field(
        default_factory=list, description="Destinations outside the site the OKE workers' NSG may reach over TCP, "
                                          "each with its basis; besides these, workers reach only the site and the "
                                          "Oracle Services Network. Defaults to none.")


class PeerRule(PortRule):
    """What a peer site's range may reach: ingress to an NSG from the peer's network of that name."""

    nsg: Name = Field(description="NSG (by name) the rule is added to.")
    network: Name = Field(description="The peer's network (by name) whose range is admitted.")
    description: str = ""


class Peering(Model):
    """How sites join: which networks a site routes to its peers, and which rules admit the peers' ranges."""

    networks: list[Name] = Field(default_factory=list, description="Networks (by name) routed to and from peer sites.")
    fabric: list[Name] = Field(
        default_factory=list, description="GPU or RDMA networks deliberately routed to peers; a gpu or rdma network "
                                          "in `networks` must be named here too (never by default).")
    rules: list[PeerRule] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------- security
KEY_LENGTHS = {"AES": (16, 24, 32), "RSA": (256, 384, 512)}
"""Vault key lengths in bytes per algorithm (pulumi_oci kms.Key key_shape: AES 16/24/32, RSA 256/384/512)."""


class KeySpec(Model):
    name: Name
    algorithm: Literal["AES", "RSA"] = Field(
        "AES", description="AES (symmetric: encrypts volumes, buckets, file systems, Kubernetes secrets) or RSA "
                           "(asymmetric: signs container images). Defaults to AES; changing it replaces the key.")
    length: StrictInt = Field(32, description="Key length in bytes: AES 16, 24 or 32 (default 32); RSA 256, 384 or 512.")
    rotation_days: StrictInt | None = Field(
        90, ge=60, le=365, description="Auto-rotation interval in days (OCI: 60-365; needs a VIRTUAL_PRIVATE vault); null to rotate by hand.")

    @field_validator("length")
    @classmethod
    def _length_fits(cls, length: int, info: ValidationInfo) -> int:
        """Checked on the field (not the model), so it is reported with every other problem of the spec."""
        algorithm = info.data.get("algorithm", "AES")
        allowed = KEY_LENGTHS.get(algorithm, KEY_LENGTHS["AES"])
        if length not in allowed:
            raise ValueError(f"Input should be {', '.join(map(str, allowed[:-1]))} or {allowed[-1]} for an "
                             f"{algorithm} key (got {length})")
        return length


class Bastion(Model):
    network: Name
    subnet: Name
    client_cidrs: list[Cidr] = Field(
        min_length=1, description="The ranges operators open bastion sessions from (public addresses: the Bastion "
                                  "service is reached over the internet); set per site by sitekit:operatorCidrs.")
    max_session_ttl_seconds: StrictInt = Field(10800, ge=1800, le=10800)


class CloudGuard(Model):
    """The recipes the site's Cloud Guard target attaches, each named for what it is (tenancy-specific OCIDs:
    Oracle's managed recipes or the tenancy's clones of them)."""
    configuration_detector_recipe_id: RecipeOcid = Field(
        description="Detector recipe of the configuration detector (IAAS_CONFIGURATION_DETECTOR).")
    activity_detector_recipe_id: RecipeOcid = Field(
        description="Detector recipe of the activity detector (IAAS_ACTIVITY_DETECTOR).")
    responder_recipe_id: ResponderRecipeOcid = Field(description="Responder recipe of the target.")


CLOUD_GUARD_KEYS = ("configurationDetectorRecipeId", "activityDetectorRecipeId", "responderRecipeId")
"""The keys of `security.cloudGuard`, named by the error a spec with the former keys gets."""


class Security(Model):
    keys: list[KeySpec] = Field(min_length=1)
    cloud_guard: CloudGuard = Field(
        description="The site compartment's Cloud Guard target and the recipes it attaches: "
                    "configurationDetectorRecipeId, activityDetectorRecipeId, responderRecipeId.")
    bastion: Bastion
    events: list[Literal["iam", "network", "cloud-guard"]] = Field(
        default_factory=lambda: ["iam", "network", "cloud-guard"],
        description="Event rules notifying the alert topic: identity changes (CIS OCI 4.3-4.7), network changes "
                    "(4.8-4.12), Cloud Guard problems (4.15); identity and Cloud Guard rules live in the home region.")

    @model_validator(mode="before")
    @classmethod
    def _former_cloud_guard(cls, data: Any) -> Any:
        """`detectorRecipeIds` and `cloudGuard: true|false` said neither which recipe is which nor the responder."""
        if isinstance(data, dict):
            keys = ", ".join(f"security.cloudGuard.{k}" for k in CLOUD_GUARD_KEYS)
            if "detectorRecipeIds" in data or "detector_recipe_ids" in data:
                raise ValueError(f"detectorRecipeIds is gone: name each recipe in {keys}")
            for key in ("cloudGuard", "cloud_guard"):
                if isinstance(data.get(key), bool):
                    raise ValueError(f"cloudGuard is no longer true or false: set {keys}")
        return data


# --------------------------------------------------------------------------------------------- compute
class Autoscale(Model):
    min: StrictInt = Field(ge=0, le=MAX_NODES)
    max: StrictInt = Field(ge=1, le=MAX_NODES)

    @model_validator(mode="after")
    def _ordered(self) -> "Autoscale":
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class Pool(Model):
    name: Name
    role: PoolRole = Field(description="training, inference or mixed (the same fleet serves both).")
    shape: str = Field(description="A GPU shape from the catalog and the jurisdiction's approved list.")
    nodes: StrictInt = Field(ge=0, le=MAX_NODES, description="Node count (for an autoscaled pool, the initial size); at most 100,000.")
    placement: Literal["bare-metal", "oke"] = Field(
        "bare-metal", description="'bare-metal': a cluster network or compute cluster, as the shape needs; 'oke': an OKE node pool. Defaults to bare-metal.")
    autoscale: Autoscale | None = Field(None, description="OKE pools only: bounds for launch surges. Power is reserved for max.")
    hall: Name | None = Field(None, description="The hall (site.power.halls) the pool's racks stand in. Defaults to the site's only hall (a site with several names one per pool).")
    key: Name = Field("compute", description="Key (by name) encrypting boot volumes.")
    availability_domain: StrictInt | None = Field(
        None, ge=1, le=3, description="Availability domain (1-3) of the pool; defaults to site.availabilityDomain "
                                      "(changing it replaces the pool's clusters and its declared reservation).")
    capacity_reservation: ReservationRef | None = Field(
        None, description="The compute capacity reservation the pool launches into: the OCID of an existing one "
                          "(checked against the capacity ledger), 'declare' for sitekit to declare one of the pool's "
                          "peak nodes in its availability domain (protected), or none (on-demand). Defaults to none.")
    former_names: list[Name] = Field(
        default_factory=list, description="Names this pool had before a rename: its resources keep their state "
        "(Pulumi aliases) instead of being deleted and created. Keep an entry until every stack has been updated.")


class Oke(Model):
    kubernetes_version: str = Field(pattern=r"^v\d+\.\d+\.\d+$")
    network: Name = Field(description="Network holding the API endpoint and workers.")
    api_subnet: Name
    api_nsg: Name = Field(description="NSG (by name) of the private API endpoint.")
    worker_network: Name = Field(description="Network of the worker nodes; OKE needs it to be the cluster's own network.")
    worker_subnet: Name
    worker_nsg: Name = Field(description="NSG (by name) of the worker nodes.")
    key: Name = Field("compute", description="Key encrypting Kubernetes secrets and node volumes.")
    signing_key: Name = Field(
        "image-signing", description="RSA key (by name, in security.keys) whose signatures the cluster requires on "
                                     "container images (OKE image verification); the site's image pipeline signs "
                                     "with it. Defaults to 'image-signing'.")


class Compute(Model):
    gpu_network: Name = Field(description="Network of the GPU nodes' primary VNICs.")
    gpu_subnet: Name
    gpu_nsg: Name = Field(description="NSG (by name) of the GPU nodes' primary VNICs.")
    rdma_network: Name = Field(description="Network of the RDMA fabric's secondary VNICs.")
    rdma_subnet: Name
    boot_volume_gbs: StrictInt = Field(512, ge=50, le=32768)
    oke: Oke
    pools: list[Pool] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------- storage
class FileSystem(Model):
    name: Name
    network: Name
    subnet: Name
    key: Name = "storage"
    nsg: Name = Field(description="NSG (by name) of the mount target.")
    export_path: str = Field(pattern=r"^/[A-Za-z0-9/_-]*$")
    throughput_gbps: StrictInt | None = Field(None, ge=1, le=MAX_THROUGHPUT_GBPS, description="Requested mount-target throughput (Gbps, 1-1000); None for the default.")


class BucketSpec(Model):
    name: Name
    key: Name = "storage"
    tier: Literal["Standard", "Archive"] = Field("Standard", description="Storage tier (replaces the bucket).")


class Storage(Model):
    file_systems: list[FileSystem] = Field(default_factory=list)
    buckets: list[BucketSpec] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------- iam
class Iam(Model):
    operators_group: str = Field(description="Existing IAM group of the site's operators.")
    statements: list[str] = Field(
        description="Policy statements; '{compartment:<name>}' becomes 'compartment id <ocid>', '{group}' the operators group, '{dynamic-group}' the GPU nodes' dynamic group, '{region}' the region.")
    statement_budget: StrictInt = Field(50, ge=1, le=MAX_STATEMENTS, description="Most statements a site may attach (1-50: OCI allows 50 statements in one policy). Defaults to 50.")


# --------------------------------------------------------------------------------------------- node bootstrap
class NodeLogging(Model):
    """Node-side logs: how long the journal keeps them and whether rsyslog forwards them."""

    journal_days: StrictInt = Field(ge=1, le=3650, description="Days the node's systemd journal keeps entries (journald MaxRetentionSec).")
    forward: Literal["none", "syslog-tls"] = Field(
        "none", description="'syslog-tls': rsyslog forwards every message to `collector` over TLS (RFC 5425); 'none': logs stay on the node. Defaults to none.")
    collector: str | None = Field(
        None, pattern=r"^[A-Za-z0-9.-]+:[0-9]{1,5}$", description="host:port of the site's syslog collector (required with forward: syslog-tls); keep it inside the site's jurisdiction.")
    basis: str = Field(min_length=1, description="Law and article (or organisation policy) behind these settings.")

    @field_validator("collector")
    @classmethod
    def _collector_port(cls, collector: str | None) -> str | None:
        if collector is not None:
            host, _, port = collector.rpartition(":")
            if not PORT_MIN <= int(port) <= PORT_MAX:
                raise ValueError(f"port {port} of the collector is outside {PORT_MIN}..{PORT_MAX}")
            if len(host) > 253 or any(not 1 <= len(label) <= 63 for label in host.split(".")):
                raise ValueError(f"'{clip(host)}' is not a host name (labels of 1-63 characters, 253 in all)")
        return collector

    @model_validator(mode="after")
    def _collector_when_forwarding(self) -> "NodeLogging":
        if self.forward != "none" and not self.collector:
            raise ValueError(f"forward: {self.forward} needs a collector (host:port)")
        return self


class AuditGroup(Model):
    """A named group of auditd rules; jurisdictions add groups by name (lists of named items merge by name)."""

    name: Name
    rules: list[AuditRule] = Field(
        min_length=1, description="auditd rules in auditctl syntax, one rule per item, each parsed ('-w path -p wa "
                                  "-k key' or '-a always,exit -F ... -S ... -k key'; no other option, no control "
                                  "character).")
    basis: str = Field(min_length=1, description="Law and article (or organisation policy) the group serves "
                                                 "(documentation: it never reaches the nodes).")


class NodeAudit(Model):
    failure: Literal["silent", "printk", "panic"] = Field(
        "printk", description="What the kernel does when auditing fails (auditctl -f 0/1/2). Defaults to printk.")
    immutable: StrictBool = Field(True, description="Lock the audit rules until reboot (auditctl -e 2). Defaults to true.")
    groups: list[AuditGroup] = Field(min_length=1)


class HealthCheck(Model):
    """A periodic check run by a systemd timer; a failing check is logged (and forwarded) as a failed unit."""

    name: Name
    command: Argv = Field(
        min_length=1, max_length=64,
        description="The program and its arguments, as a list run without a shell (e.g. [dcgmi, diag, --run, '1']); "
                    "sitekit quotes each argument into the check's script. Exit status 0 means healthy.")
    unhealthy_output: Arg | None = Field(
        None, description="Text whose presence in the command's output marks the node unhealthy (matched as fixed "
                          "text, like grep -F), e.g. 'state DOWN'; the command's own exit status is then not judged. "
                          "Defaults to none: the exit status decides.")

    @field_validator("command")
    @classmethod
    def _program(cls, command: list[str]) -> list[str]:
        if command and not re.fullmatch(PROGRAM, command[0]):
            raise ValueError(f"{command[0][:40]!r} is not a program: a name on PATH or an absolute path, "
                             "without shell syntax (an argument list runs without a shell)")
        return command
    interval_minutes: StrictInt = Field(ge=1, le=1440, description="Minutes between runs (systemd OnUnitActiveSec).")
    placement: Literal["all", "bare-metal", "oke"] = Field(
        "all", description="Which pools run it: all, bare-metal (cluster networks, RDMA fabric) or oke. Defaults to all.")


class Agent(Model):
    """A systemd service the nodes enable and start at first boot (e.g. the NVIDIA DCGM host engine)."""

    name: Name
    unit: str = Field(pattern=r"^[A-Za-z0-9@._-]+\.service$", description="The systemd unit, e.g. nvidia-dcgm.service.")
    placement: Literal["all", "bare-metal", "oke"] = Field("all", description="Which pools run it. Defaults to all.")


class Bootstrap(Model):
    """Cloud-init user data of GPU nodes, rendered per pool from a Jinja2 template (instance metadata user_data).

    Changing any of this changes the pools' launch metadata (a new instance configuration; OKE node pools
    apply it to nodes created afterwards)."""

    template: str = Field(
        "cloud-init.yaml.j2", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*\.j2$",
        description="Template in templates/ rendering the user data. Defaults to cloud-init.yaml.j2.")
    timezone: Annotated[str, AfterValidator(iana_zone)] = Field("UTC", pattern=r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$",
                          description="IANA time zone of the nodes. Defaults to UTC.")
    time_servers: list[Host] = Field(min_length=1, description="NTP servers (chrony), host names or IPv4 addresses; OCI serves NTP at 169.254.169.254.")
    logging: NodeLogging
    audit: NodeAudit
    agents: list[Agent] = Field(default_factory=list)
    health_checks: list[HealthCheck] = Field(default_factory=list)


class SiteSpec(Model):
    """The effective spec of one site: every layer merged and validated."""

    organisation: Organisation
    tags: Tags
    site: Site
    jurisdiction: Jurisdiction
    network: NetworkSpec
    peering: Peering = Field(default_factory=Peering, description="How this site joins its peers (see site.peers).")
    security: Security
    compute: Compute
    storage: Storage
    iam: Iam
    bootstrap: Bootstrap
    policy: SitePolicy = Field(default_factory=SitePolicy, description="Policy-pack settings (enforcement overrides, waivers).")
