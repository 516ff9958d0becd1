"""The pulumi_oci service modules the components declare resources from, and loading them ahead of a run.

pulumi_oci imports each service module lazily, on its first use: for sitekit that is during the first site a
process plans, and it is most of the objects pulumi_oci makes (about 240k, a second of CPU). A run over many
sites loads them once, up front (`load`), so that its collector can be frozen over them and worker processes
forked from it share them instead of each loading its own (`sitekit.run.batch`). `SERVICES` is checked against
what planning a site really loads (tests/test_batch.py), so a component that starts using another service is
caught there.
"""

from __future__ import annotations

SERVICES = ("bastion", "cloudguard", "containerengine", "core", "events", "filestorage", "identity", "kms", "limits",
            "logging", "objectstorage", "ons")
"""The `pulumi_oci.<service>` modules a site's components use."""


def load() -> None:
    """Load every service module in `SERVICES` now (each loads on its first read of a non-introspection
    attribute)."""
    import pulumi_oci  # heavy: deferred

    for name in SERVICES:
        module = getattr(pulumi_oci, name)
        getattr(module, "__all__", None)  # any attribute but the introspection ones (`__name__`...) loads it
