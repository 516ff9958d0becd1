"""The table of OCI types (sitekit/oci/types.py): every type a shipped site plans has a row; every row names a
real pulumi-oci type (a taggable one takes defined tags); the stateful rows are exactly what the region
protects; each row links to the provider's replace-on-change facts instead of copying them."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pulumi_oci

from sitekit.facts import replace_on_change
from sitekit.oci import fakes
from sitekit.oci import types as T

TABLE = "sitekit/oci/types.py TYPES"
OCI = Path(pulumi_oci.__file__).parent


def _is_oci(type_: str) -> bool:
    return type_.startswith("oci:") or type_ == T.OCI_PROVIDER


def rowless(plans) -> str:
    """What the table lacks for the types these plans declare, one line per type naming the table and the
    sites that plan it; empty when every OCI type has a row."""
    sites: dict[str, set[str]] = {}
    for site, plan in plans.items():
        for r in plan.resources:
            if _is_oci(r.type) and r.type not in T.TYPES:
                sites.setdefault(r.type, set()).add(site)
    return "\n".join(f"{TABLE} has no row for {t} (planned by {', '.join(sorted(s))}): add one"
                     for t, s in sorted(sites.items()))


def _init_source(token: str) -> str:
    """The `_internal_init` of the pulumi-oci class of `token` (read as text: no module import); asserts the
    class registers exactly that token."""
    if token == T.OCI_PROVIDER:
        path, cls, registered = OCI / "provider.py", "Provider", token.rsplit(":", 1)[-1]
    else:
        module, name = token.split(":")[1].split("/")
        path = OCI / module.lower() / (re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() + ".py")
        cls, registered = token.rsplit(":", 1)[-1], token
    assert path.is_file(), f"{TABLE}: {token} is no pulumi-oci type (no {path.name})"
    text = path.read_text()
    assert f"super({cls}, __self__).__init__(\n            '{registered}'," in text, token
    start, end = text.index("def _internal_init"), text.find("def get(")  # the provider has no get()
    return text[start:end if end > start else None]


def test_every_type_a_shipped_site_plans_has_a_row(shipped_plans):
    assert rowless(shipped_plans) == ""


def test_a_type_without_a_row_is_named_with_the_table():
    new = SimpleNamespace(type="oci:Core/vlan:Vlan")
    plans = {"xx-one": SimpleNamespace(resources=[new]), "xx-two": SimpleNamespace(resources=[new])}
    assert rowless(plans) == f"{TABLE} has no row for oci:Core/vlan:Vlan (planned by xx-one, xx-two): add one"


def test_rows_are_real_pulumi_oci_types_and_taggable_ones_take_defined_tags():
    for token, row in T.TYPES.items():
        assert row.token == token
        init = _init_source(token)
        if row.taggable:
            assert "defined_tags" in init, f"{TABLE}: {token} is taggable but its class takes no defined_tags"


def test_every_constant_has_a_row_and_every_row_a_constant():
    constants = {name: v for name, v in vars(T).items() if name.isupper() and isinstance(v, str) and _is_oci(v)}
    assert sorted(constants.values()) == sorted(T.TYPES), set(constants.values()) ^ set(T.TYPES)
    assert all(getattr(T, row.name) == token for token, row in T.TYPES.items())
    assert T.TYPES[T.VCN].name == "VCN" and T.TYPES[T.NSG].name == "NSG"


def test_views_are_read_from_the_table():
    assert T.STATEFUL == {T.BUCKET, T.FILE_SYSTEM, T.VOLUME, T.BOOT_VOLUME, T.VAULT, T.KEY, T.COMPARTMENT,
                          T.CAPACITY_RESERVATION}
    assert T.GPU_TYPES >= {T.CLUSTER_NETWORK, T.GPU_MEMORY_CLUSTER, T.INSTANCE_CONFIGURATION, T.NODE_POOL}
    assert T.TAG_NAMESPACE not in T.TAGGABLE and T.TAG not in T.TAGGABLE
    assert T.KEY_INPUTS[T.VCN] == T.TYPES[T.VCN].key_inputs and T.EXPORT not in T.KEY_INPUTS


def test_every_taggable_type_the_program_declares_is_checked(shipped_plans):
    exempt = {T.TAG_NAMESPACE, T.TAG}  # they cannot carry tags of the namespace they create
    declared = {r.type for plan in shipped_plans.values() for r in plan.resources if r.type.startswith("oci:")}
    taggable = {t for t in declared if "defined_tags" in _init_source(t)}
    assert taggable - exempt <= T.TAGGABLE, taggable - exempt - T.TAGGABLE
    assert T.BUCKET in taggable and T.NSG_RULE not in taggable


def test_stateful_rows_are_what_the_region_protects(shipped_plans):
    """Every resource of a stateful type is planned with protect=True, and nothing else is."""
    wrong = sorted(f"{site}: {r.name} ({r.type}) protect={r.protect}"
                   for site, plan in shipped_plans.items() for r in plan.resources
                   if _is_oci(r.type) and r.protect != (r.type in T.STATEFUL))
    assert wrong == [], f"{TABLE} `stateful` and the region's protect=True disagree:\n" + "\n".join(wrong)
    protected = {r.type for plan in shipped_plans.values() for r in plan.resources if r.protect}
    assert protected == {r.type for plan in shipped_plans.values() for r in plan.resources} & T.STATEFUL


def test_rows_link_the_replacement_facts_and_the_fakes_answer_from_them():
    assert T.TYPES[T.VCN].replacement is replace_on_change.facts(T.VCN) is not None
    assert T.TYPES[T.OCI_PROVIDER].replacement is None
    assert fakes.computed_outputs(T.MOUNT_TARGET, "fs") == {"exportSetId": "ocid1.exportset.oc1..fs"}
    assert fakes.computed_outputs(T.BUCKET, "b") == {}
