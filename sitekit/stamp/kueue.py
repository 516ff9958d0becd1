"""The Kubernetes objects a topology-aware scheduler needs for a site's OKE GPU pools: one Kueue `Topology` over the
RDMA locality labels OCI sets (`facts/kueue.py`), and a `ResourceFlavor` per pool selecting the pool's nodes (by
the `sitekit/pool` label the node pool gives them, and the shape) on that topology. Rendered as YAML files next to
the plan (`sitekit kueue SITE --out DIR`); an existing file is kept unless --force. The files are checked against
the CRD schemas of the pinned Kueue release in the tests (tests/schemas/kueue-v0.17.0/).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from sitekit.atomic import write_atomic
from sitekit.errors import Problem, SpecError
from sitekit.facts.kueue import API_VERSION, INSTANCE_TYPE, KUEUE_VERSION, POOL_LABEL, SOURCE, TOPOLOGY_LEVELS
from sitekit.spec.layout import stack_file

TOPOLOGY = "oci-rdma"
"""The Topology's name (cluster-scoped: one per site's cluster)."""

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
"""A Kubernetes object name (RFC 1123 subdomain, at most 253 characters)."""


def manifests(spec: Any) -> dict[str, dict[str, Any]]:
    """File name -> object: the Topology, then a ResourceFlavor per OKE pool, in the spec's order. A site with no
    OKE pool, or a pool whose name is no Kubernetes name, is bad input."""
    site = spec.site.name
    labels = {"app.kubernetes.io/managed-by": "sitekit", "sitekit/site": site}
    out: dict[str, dict[str, Any]] = {
        "topology.yaml": {"apiVersion": API_VERSION, "kind": "Topology",
                          "metadata": {"name": TOPOLOGY, "labels": labels},
                          "spec": {"levels": [{"nodeLabel": level} for level in TOPOLOGY_LEVELS]}}}
    problems = []
    pools = [p for p in spec.compute.pools if p.placement == "oke"]
    if not pools:
        problems.append(Problem(stack_file(site), None, "compute.pools",
                                "no OKE pool (placement: oke): Kueue schedules pods on OKE nodes only"))
    for pool in pools:
        if not DNS_SUBDOMAIN.fullmatch(pool.name):
            problems.append(Problem(stack_file(site), None, f"compute.pools.{pool.name}.name",
                                    f"'{pool.name}' is no Kubernetes object name (it ends with '-')"))
            continue
        out[f"resourceflavor-{pool.name}.yaml"] = {
            "apiVersion": API_VERSION, "kind": "ResourceFlavor",
            "metadata": {"name": pool.name, "labels": {**labels, POOL_LABEL: pool.name}},
            "spec": {"nodeLabels": {POOL_LABEL: pool.name, INSTANCE_TYPE: pool.shape}, "topologyName": TOPOLOGY}}
    if problems:
        raise SpecError(problems)
    return out


def render(site: str, obj: dict[str, Any]) -> str:
    """One object as YAML, after a comment saying what rendered it and what it rests on."""
    head = (f"# Rendered by `sitekit kueue {site}` for Kueue {KUEUE_VERSION} ({API_VERSION}). OKE sets the topology\n"
            "# labels on bare-metal GPU nodes of a dedicated capacity pool with a capacity topology; source:\n"
            f"# {SOURCE}\n")
    return head + yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)


def write(spec: Any, out: Path, force: bool = False) -> list[Path]:
    """Write every manifest into `out`; without `force` nothing is written when any file exists (each named)."""
    files = {out / name: render(spec.site.name, obj) for name, obj in manifests(spec).items()}
    existing = [p for p in files if p.exists() or p.is_symlink()]
    if existing and not force:
        raise SpecError([Problem(str(p), None, "", "the file exists; pass --force to overwrite it") for p in existing])
    for path, text in files.items():
        write_atomic(path, text)
    return list(files)
