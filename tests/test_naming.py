"""The table of logical-name kinds (sitekit/naming.py `Kind`): a name built through it reads back as its kind,
key and spec item (Hypothesis-bounded); every name the shipped plans register is one of its kinds and leads
to a spec item the site declares; a name whose key names no item of the site leads nowhere."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sitekit.naming import Kind, Read, logical, read, spec_path

_site = st.from_regex(r"[a-z][a-z0-9]{0,7}(-[a-z0-9]{1,5}){0,2}", fullmatch=True)
_name = st.from_regex(r"[a-z][a-z0-9-]{0,30}", fullmatch=True)
"""A data key as the spec takes one (spec/types.py `Name`)."""


def _shadowed(site: str, kind: Kind, name: str) -> bool:
    """Whether a longer kind's word begins `name` (bucket 'log-x' is read as the log of bucket 'x')."""
    return any(k != kind and k.startswith(kind + "-") and (name == logical(site, k) or
                                                           name.startswith(logical(site, k) + "-")) for k in Kind)


def _apart(items: list[str]) -> bool:
    """No item is another followed by '-' and more (which would make a key read two ways)."""
    return not any(a != b and a.startswith(b + "-") for a in items for b in items)


@pytest.mark.parametrize("kind", list(Kind), ids=str)
@settings(max_examples=25, deadline=None)
@given(data=st.data(), site=_site)
def test_a_name_built_through_the_table_reads_back_as_its_kind_key_and_spec_item(data, site, kind):
    parts = kind.spec.split(".") if kind.spec else []
    lists: dict[tuple, dict[str, str | int]] = {}
    route: tuple = ()
    keys: list[str] = []
    for part in parts:
        if not part.startswith("<"):
            route += (part,)
            continue
        item, siblings = data.draw(_name), data.draw(st.lists(_name, max_size=3))
        assume(_apart([item] + siblings))
        by_index = part == "<rule>"  # an NSG rule has no name: a path addresses it by its index
        lists[route] = {key: (i if by_index else key) for i, key in enumerate(dict.fromkeys(siblings + [item]))}
        route += (lists[route][item],)
        keys.append(item)
    expected = route if kind.spec else None
    if not keys:  # no spec list behind the key: whatever follows the word, the kind's fixed item (or none)
        keys = data.draw(st.lists(_name, max_size=2))
    elif kind.partial and len(keys) == 1 and data.draw(st.booleans()):  # a pool's second fabric block: the pool
        keys, expected = keys + ["block", str(data.draw(st.integers(2, 99)))], route
    elif kind.partial and len(keys) > 1 and data.draw(st.booleans()):  # an NSG named alone, or a peering rule of it: the NSG
        tail = data.draw(st.sampled_from([[], ["peer", "ar-patagonia", "storage", "tcp", "443"]]))
        rest = "-".join(tail)
        assume(not any(rest == r or rest.startswith(r + "-") for r in lists[route[:4]]))  # no rule's key
        keys, expected = keys[:1] + tail, route[:3]
    name = logical(site, kind, *keys)
    assume(not _shadowed(site, kind, name))

    assert read(site, name) == Read(kind, "-".join(keys) or None)
    assert spec_path(site, name, lambda path: lists.get(path, {})) == expected


def test_the_longest_kind_word_wins():
    """A bucket log is never read as a bucket whose name begins 'log-'; a kind whose word begins another's is
    read as itself (compute-cluster, not the compute component)."""
    assert read("s", "s-bucket-log-datasets") == Read(Kind.BUCKET_LOG, "datasets")
    assert read("s", "s-compute-cluster-train") == Read(Kind.COMPUTE_CLUSTER, "train")
    assert read("s", "s-compute") == Read(Kind.COMPUTE, None)
    assert read("s", "s") is None and read("s", "oci-s-us-ashburn-1") is None and read("s", "t-vcn-gpu") is None


def test_a_bucket_name_that_names_no_bucket_points_nowhere(shipped_sites):
    """'<site>-bucket-lifecycle-checkpoints' is a name of kind bucket, key 'lifecycle-checkpoints': no bucket of
    the site has that name, so it leads to no spec item (the old tables answered storage.buckets.lifecycle-
    checkpoints, a path that does not exist); a site that declares the bucket gets its item."""
    site = shipped_sites["us-ashburn"]
    name = "us-ashburn-bucket-lifecycle-checkpoints"
    assert read(site.name, name) == Read(Kind.BUCKET, "lifecycle-checkpoints")
    assert "checkpoints" in site.items(("storage", "buckets"))
    assert spec_path(site.name, name, site.items) is None
    declared = {("storage", "buckets"): {"lifecycle-checkpoints": "lifecycle-checkpoints"}}
    assert spec_path(site.name, name, lambda p: declared.get(p, {})) == ("storage", "buckets", "lifecycle-checkpoints")


@pytest.mark.parametrize("name, path", [
    ("us-ashburn-subnet-services-oke-api", ("network", "networks", "services", "subnets", "oke-api")),
    ("us-ashburn-flow-log-gpu-nodes", ("network", "networks", "gpu", "subnets", "nodes")),
    ("us-ashburn-nsg-fss-ingress-udp-111-gpu", ("network", "nsgs", "fss", "rules", 2)),
    ("us-ashburn-nsg-fss-peer-ar-patagonia-storage-tcp-111", ("network", "nsgs", "fss")),
    ("us-ashburn-nsg-oke-api", ("network", "nsgs", "oke-api")),
    ("us-ashburn-policy-oke", ("iam", "statements")),
    ("us-ashburn-tag-cost-centre", ("tags",)),
    ("us-ashburn-drg", None),
    ("us-ashburn-subnet-gpu", None),
    ("us-ashburn-vcn-gpu-x", None),
])
def test_names_of_the_shipped_us_ashburn_lead_to_their_spec_items(shipped_sites, name, path):
    site = shipped_sites["us-ashburn"]
    assert spec_path(site.name, name, site.items) == path


def test_every_name_the_shipped_plans_register_is_a_kind_of_the_table(shipped_plans, shipped_sites):
    """Each resource but the providers ('oci-<site>-<region>') and the root component (named after the site) is
    '<site>-<kind>...' of a `Kind` row; a kind with a spec item leads to one the site declares (it has a file
    and line); and every row names something some shipped site registers."""
    used: set[Kind] = set()
    for site_name, plan in shipped_plans.items():
        site = shipped_sites[site_name]
        for res in plan.resources:
            if res.type.startswith("pulumi:providers:") or res.name == site_name:
                continue
            found = read(site_name, res.name)
            assert found is not None, f"{res.name} ({res.type}) is no kind of sitekit.naming.Kind"
            used.add(found.kind)
            if found.kind.spec is not None:
                path = found.kind.spec_path(found.key, site.items)
                assert path in site.provenance, f"{res.name}: {path} is not declared by {site_name}"
    assert set(Kind) - used == set(), "rows of sitekit.naming.Kind no shipped plan uses"
