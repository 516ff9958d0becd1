"""What a topology-aware scheduler (Kueue) needs to know of OCI's RDMA fabric: the node labels OKE sets, in the
order of the fabric's latency bands, and the Kueue release the manifests are written for.

Sources:
- The node labels: Oracle's oracle-quickstart/oci-hpc-oke, docs/using-rdma-network-locality-when-running-workloads-
  on-oke.md (read at commit 7f65b01d2544873492eded4cb2e7ee9584fd0279): with a dedicated capacity pool and a
  capacity topology for the availability domain, OKE labels bare-metal GPU nodes during bootstrap with
  `oci.oraclecloud.com/rdma.hpc_island_id`, `...network_block_id`, `...local_block_id` and `...host_id` (hashes of
  the instance metadata's rdmaTopologyData); Local Block is the first latency band (Tier-0), Network Block the
  second (Tier-1), HPC Island the third (Tier-2). Its Kueue example Topology lists the three, then
  `kubernetes.io/hostname`. Without a dedicated pool and capacity topology the labels are absent and Kueue finds
  no topology domains.
- The API: Kueue v0.17.0 (sigs.k8s.io/kueue, the Go module proxy's zip; its CRDs vendored under
  tests/schemas/kueue-v0.17.0/): Topology and ResourceFlavor are served as kueue.x-k8s.io/v1beta1 (deprecated)
  and v1beta2 (the storage version); `kubernetes.io/hostname` may only be the lowest level of a Topology.
"""

from __future__ import annotations

KUEUE_VERSION = "v0.17.0"
API_VERSION = "kueue.x-k8s.io/v1beta2"
"""The storage version of Topology and ResourceFlavor in Kueue v0.17.0."""

TOPOLOGY_LEVELS = (
    "oci.oraclecloud.com/rdma.hpc_island_id",
    "oci.oraclecloud.com/rdma.network_block_id",
    "oci.oraclecloud.com/rdma.local_block_id",
    "kubernetes.io/hostname",
)
"""From the widest latency band to one host (a Topology's levels go from the top of the tree down)."""

INSTANCE_TYPE = "node.kubernetes.io/instance-type"
"""The well-known Kubernetes label holding a node's shape (OKE sets the OCI shape name)."""

POOL_LABEL = "sitekit/pool"
"""The label sitekit gives every node of an OKE pool (the node pool's initial node labels): its pool's name, which a
ResourceFlavor selects."""

SOURCE = ("oracle-quickstart/oci-hpc-oke docs/using-rdma-network-locality-when-running-workloads-on-oke.md "
          "(commit 7f65b01d)")
