"""Sites joined into one private network: the links a site's components build, validated across the fleet
before any resource is declared.

A site names its peers (`sitekit:peers: [{site, transfer}]`); each peer is read leniently from its own stack
file (its region, jurisdiction, address plan and peers: loading it whole would validate the whole fleet
recursively), and every problem is reported at the line of this site's `peers` entry:
- the peer's stack file can be read: a region, a jurisdiction and an address plan whose supernet and networks
  are CIDRs (a malformed plan is named, never met as a crash; the peer's own load lists its problems);
- the peer exists and is not the site itself; each peer is named once;
- both ends agree: the peer names this site back;
- no range overlaps: the peered networks of both sites are disjoint (the supernet check covers the rest);
- no fabric exposure: the baseline's `peering.networks` may name a GPU or RDMA network only where
  `peering.fabric` names it too (`validate.check_site` refuses it there);
- residency: the site's data (whatever its class) may reach a peer in another jurisdiction only where its
  profile lets that class cross to that jurisdiction (`residency.crossBorder`, with basis; never personal data),
  or under a transfer mechanism the site's jurisdiction accepts, declared on the peer entry: the one meaning
  `Residency.crossing` states, which SK-PEER-003, SK-STK-001 and `sitekit fleet --capacity` read too.

Which end connects: the site whose name sorts first requests the connection (its remote peering connection
names the peer's); the other accepts. So the accepting site is deployed first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import TYPE_CHECKING, Any

from sitekit.errors import Problem, clip, nearest
from sitekit.spec.layout import list_jurisdictions, list_sites
from sitekit.spec.merge import Origin
from sitekit.spec.sources import dotted, kind_of
from sitekit.spec.stackfiles import declared_plans, shared_facts

if TYPE_CHECKING:
    from sitekit.spec.loaded import LoadedSite



def requests(site: str, peer: str) -> bool:
    """Whether `site` is the requesting end of its peering with `peer`: the name that sorts first requests, so
    the other (the accepting end) is deployed first."""
    return site < peer


@dataclass(frozen=True)
class PeerLink:
    """One peering as this site's components build it."""

    site: str  # the peer
    region: str
    jurisdiction: str
    requestor: bool  # this site connects to the peer (its name sorts first)
    ranges: dict[str, IPv4Network] = field(default_factory=dict)  # the peer's peered networks


@dataclass(frozen=True)
class _PeerFile:
    region: str
    jurisdiction: str
    peers: tuple[str, ...]
    networks: dict[str, IPv4Network]


def _read_peer(root, name: str) -> _PeerFile | str:
    """What this site needs of a peer, from its stack file as written, or why it cannot be read (the peer's own
    load reports its problems in full)."""

    values = shared_facts(root, name).values  # read once per process, shared with every site naming it
    if values is None:
        return "its stack file has problems of its own"
    region, jurisdiction = values.get("region"), values.get("jurisdiction")
    if not isinstance(region, str) or not isinstance(jurisdiction, str):
        return "its stack file names no region or no jurisdiction"
    plans = declared_plans(values)
    if not plans:
        return "its stack file declares no sitekit:addressPlan"
    networks: dict[str, IPv4Network] = {}
    for where, plan in plans.items():  # the overrides' plan (listed last) wins, as in the merge
        why = _plan_problem(plan)
        if why:
            return f"its {where}{why}"
        networks = {key: IPv4Network(cidr) for key, cidr in plan["networks"].items()}
    peers = values.get("peers") if isinstance(values.get("peers"), list) else []
    return _PeerFile(region, jurisdiction,
                     tuple(p["site"] for p in peers if isinstance(p, dict) and isinstance(p.get("site"), str)),
                     networks)


def _plan_problem(plan: Any) -> str | None:
    """Why an address plan as written is not {supernet: CIDR, networks: {name: CIDR}} (said after where it is)."""
    if not isinstance(plan, dict):
        return f" is {kind_of(plan)}, not a mapping"
    networks = plan.get("networks")
    if not isinstance(networks, dict):
        return f".networks is {kind_of(networks)}, not a mapping of network names to CIDRs"
    for key, cidr in [("supernet", plan.get("supernet"))] + [(f"networks.{k}", v) for k, v in networks.items()]:
        if not isinstance(cidr, str):
            return f".{clip(key)} is {kind_of(cidr)}, not a CIDR"
        try:
            IPv4Network(cidr)
        except ValueError:
            return f".{clip(key)} ('{clip(cidr)}') is not a CIDR"
    return None


def peer_links(site: "LoadedSite") -> tuple[list[PeerLink], list[Problem]]:
    """The site's links to its peers, and every problem with them."""

    spec = site.spec
    known = list_sites(site.root)
    peered = spec.peering.networks
    mine = {n: spec.site.address_plan.networks[n] for n in peered if n in spec.site.address_plan.networks}
    links: list[PeerLink] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, peer in enumerate(spec.site.peers):
        path = ("site", "peers", peer.site)  # as messages name it; provenance addresses the entry by index
        origin = site.origin(("site", "peers", i)) or Origin(f"stacks/Pulumi.{site.name}.yaml", None)

        def bad(message: str, key: tuple = path) -> None:
            problems.append(Problem(origin.file, origin.line, dotted(key), message))

        if peer.site in seen:
            bad(f"'{peer.site}' is named twice")
            continue
        seen.add(peer.site)
        if peer.site == site.name:
            bad("a site cannot peer with itself")
            continue
        if peer.site not in known:
            bad(f"no such site '{peer.site}'; {nearest(peer.site, [k for k in known if k != site.name])}")
            continue
        other = _read_peer(site.root, peer.site)
        if isinstance(other, str):
            bad(f"site '{peer.site}' cannot be read: {other}; `sitekit plan {peer.site}` lists its problems")
            continue
        if site.name not in other.peers:
            bad(f"'{peer.site}' does not name '{site.name}' among its peers; both ends of a peering name each "
                f"other (add `- site: {site.name}` to sitekit:peers in stacks/Pulumi.{peer.site}.yaml)")
        theirs = {n: other.networks[n] for n in peered if n in other.networks}
        for a, ra in mine.items():
            for b, rb in theirs.items():
                if ra.overlaps(rb):
                    bad(f"this site's {a} network ({ra}) overlaps {peer.site}'s {b} network ({rb}); peered sites "
                        "need disjoint ranges")
        j = spec.jurisdiction
        # a peer of an unknown jurisdiction is its own load's problem, not this site's
        if other.jurisdiction != j.code and other.jurisdiction in list_jurisdictions(site.root) \
                and not j.residency.crossing(j.tags.data_classification, other.jurisdiction):
            accepted = j.residency.transfer_mechanisms
            if peer.transfer is None:
                bad(f"data here is classified '{clip(j.tags.data_classification)}' and {peer.site} is in jurisdiction "
                    f"'{clip(other.jurisdiction)}', which {j.code}'s residency.crossBorder does not open to it: declare "
                    f"the transfer under which it may go there (transfer: {{mechanism, reference}}; {j.code} "
                    f"accepts: {', '.join(accepted) or 'none'})")
            elif peer.transfer.mechanism not in accepted:
                bad(f"transfer mechanism '{peer.transfer.mechanism}' is not one {j.code} accepts; "
                    f"{nearest(peer.transfer.mechanism, accepted) if accepted else 'it accepts none'}",
                    path + ("transfer", "mechanism"))
        links.append(PeerLink(peer.site, other.region, other.jurisdiction, requests(site.name, peer.site), theirs))
    return links, problems
