"""Guardrails: what OCI itself enforces for the site (issue 21), planned by spec/guardrails.py. A compartment
quota policy (in the root compartment, where OCI keeps quotas), and a Security Zone with its jurisdiction's
recipe on the compartment that holds data. Quotas and zones are control-plane objects of the home region: the
component is given the home-region provider. The IAM region conditions are the site policy's own
(region/foundation.py)."""

from __future__ import annotations

import pulumi
import pulumi_oci as oci

from sitekit.naming import Kind
from sitekit.region.context import SiteContext
from sitekit.spec.guardrails import ZONE_COMPARTMENT, ZONE_POLICIES, basis_tags, quota_statements


def zone_policy_ids(collections) -> list[str]:
    """The OCIDs of the recipe's policies among those `cloudguard.get_security_policies` found: by the short name
    ("deny public_buckets"), which OCI returns as `friendly_name` (Oracle's landing-zone security-zones module,
    oci-landing-zones/terraform-oci-modules-security, matches there), or as `display_name`. A name found under
    neither leaves the recipe short, which SK-GRD-003 reports."""
    return sorted({p.id for c in collections or [] for p in c.items or []
                   if p.friendly_name in ZONE_POLICIES or p.display_name in ZONE_POLICIES})


class Guardrails(pulumi.ComponentResource):
    def __init__(self, name: str, ctx: SiteContext, opts: pulumi.ResourceOptions | None = None):
        super().__init__("sitekit:index:Guardrails", name, None, opts)
        spec, tags = ctx.spec, ctx.defined_tags
        j = spec.jurisdiction
        statements = quota_statements(spec, ctx.site.catalog, ctx.display(), ctx.site.crossing)
        self.quota = oci.limits.Quota(
            ctx.logical(Kind.QUOTA), compartment_id=spec.site.tenancy_id, name=ctx.display("quota"),
            description=f"Guardrails of AI site {ctx.name}: GPU shapes and services it does not use, regions "
                        f"{j.name} does not allow (sitekit guardrails; each statement's basis in the freeform tag "
                        "basis-<what it zeroes>)",
            statements=[s.statement for s in statements], freeform_tags=basis_tags(statements), defined_tags=tags,
            opts=ctx.opts(self))

        policies = oci.cloudguard.get_security_policies_output(
            compartment_id=spec.site.tenancy_id, opts=pulumi.InvokeOutputOptions(parent=self))
        chosen = policies.security_policy_collections.apply(zone_policy_ids)
        self.recipe = oci.cloudguard.SecurityRecipe(
            ctx.logical(Kind.ZONE_RECIPE, j.code), compartment_id=ctx.compartments["security"],
            display_name=ctx.display("zone-recipe", j.code),
            description=f"Security Zone recipe of {j.name}: {', '.join(ZONE_POLICIES)}",
            security_policies=chosen, defined_tags=tags, opts=ctx.opts(self))
        self.zone = oci.cloudguard.SecurityZone(
            ctx.logical(Kind.ZONE, ZONE_COMPARTMENT), compartment_id=ctx.compartments[ZONE_COMPARTMENT],
            display_name=ctx.display("zone", ZONE_COMPARTMENT), security_zone_recipe_id=self.recipe.id,
            description=f"Security Zone of AI site {ctx.name}'s {ZONE_COMPARTMENT} compartment",
            defined_tags=tags, opts=ctx.opts(self))
        self.register_outputs({})
