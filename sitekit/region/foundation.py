"""Foundation: the site compartment and its children, the defined tags, IAM (home region only)."""

from __future__ import annotations

import re

import pulumi
import pulumi_oci as oci

from sitekit.naming import CHILD_COMPARTMENTS, Kind
from sitekit.region.context import DEFINED_TAG_KEYS, GPU_ROLE, SiteContext
from sitekit.spec.guardrails import allowed_regions, confine, grants_group


class Foundation(pulumi.ComponentResource):
    """Compartments, tag namespace and tags, the GPU nodes' dynamic group and the site's IAM policy.

    Every child is an IAM object, so the component must be given the home-region provider.
    """

    def __init__(self, name: str, ctx: SiteContext, opts: pulumi.ResourceOptions | None = None):
        super().__init__("sitekit:index:Foundation", name, None, opts)
        spec = ctx.spec
        here = pulumi.ResourceOptions(parent=self)

        self.namespace = oci.identity.TagNamespace(
            ctx.logical(Kind.TAG_NAMESPACE), compartment_id=spec.site.parent_compartment_id,
            name=ctx.tag_namespace, description=f"Defined tags of site {ctx.name}", opts=here)
        # Not cost-tracking: a tenancy has 10 cost-tracking keys at most, and a namespace per site would use
        # them up by the sixth site. Cost per site comes from the site compartment in Cost Analysis.
        self.tags = [
            oci.identity.Tag(ctx.logical(Kind.TAG, key), tag_namespace_id=self.namespace.id, name=key,
                             description=f"sitekit {key}", is_cost_tracking=False, opts=here)
            for key in DEFINED_TAG_KEYS
        ]
        ctx.tag_definitions = list(self.tags)

        self.site_compartment = oci.identity.Compartment(
            ctx.logical(Kind.COMPARTMENT), compartment_id=spec.site.parent_compartment_id, name=ctx.display(),
            description=f"AI site {ctx.name} ({spec.jurisdiction.name}, {spec.site.region})",
            enable_delete=True, defined_tags=ctx.defined_tags, opts=ctx.opts(self, protect=True))
        ctx.compartments["site"] = self.site_compartment.id
        for child in CHILD_COMPARTMENTS:
            comp = oci.identity.Compartment(
                ctx.logical(Kind.COMPARTMENT, child), compartment_id=self.site_compartment.id,
                name=child, description=f"{child} of AI site {ctx.name}", enable_delete=True,
                defined_tags=ctx.defined_tags, opts=ctx.opts(self, protect=True))
            ctx.compartments[child] = comp.id

        self.gpu_nodes = oci.identity.DynamicGroup(
            ctx.logical(Kind.DYNAMIC_GROUP, "gpu-nodes"), compartment_id=spec.site.tenancy_id,
            name=ctx.display("gpu-nodes"), description=f"GPU nodes of AI site {ctx.name}",
            # only the bare-metal GPU nodes: their launch details carry node-role gpu, OKE's nodes do not
            matching_rule=ctx.compartments["compute"].apply(
                lambda c: f"ALL {{instance.compartment.id = '{c}', tag.{ctx.node_role_tag}.value = '{GPU_ROLE}'}}"),
            defined_tags=ctx.defined_tags, opts=ctx.opts(self))

        # One Output per statement, waiting only for what it names (compartments, the OKE cluster): a statement
        # that names none is known in a first preview, so the policy pack can judge it before anything exists.
        self.ctx = ctx
        site_templates = [t for t in spec.iam.statements if not names_cluster(t)]
        self.cluster_templates = [t for t in spec.iam.statements if names_cluster(t)]
        self.policy = oci.identity.Policy(
            ctx.logical(Kind.POLICY), compartment_id=self.site_compartment.id, name=ctx.display("policy"),
            description=f"Least-privilege access to AI site {ctx.name}",
            statements=[self._statement(t) for t in site_templates], defined_tags=ctx.defined_tags,
            # the statements name the dynamic group as text; OCI refuses a statement naming a missing group
            opts=ctx.opts(self, depends_on=[self.gpu_nodes]))
        # Buckets, file systems, OKE and boot volumes use the site's keys only once this policy allows it.
        ctx.key_grants = [self.policy]
        self.register_outputs({"siteCompartmentId": self.site_compartment.id})

    def _statement(self, template: str, cluster: pulumi.Output[str] | None = None) -> pulumi.Output[str] | str:
        ctx, spec = self.ctx, self.ctx.spec
        needed = compartments_named(template)

        def render(ids: list[str]) -> str:
            return render_statements([template], dict(zip(needed, ids)), spec.iam.operators_group,
                                     ctx.display("gpu-nodes"), spec.site.region, ids[len(needed)] if cluster is not None else None)[0]

        if grants_group(template):  # issue 21: the operators act only in the allowed regions (request.region)
            plain = render
            def render(ids: list[str]) -> str:  # noqa: E306
                return confine(plain(ids), allowed_regions(spec, ctx.site.crossing))
        waits = [ctx.compartments[n] for n in needed] + ([cluster] if cluster is not None else [])
        return pulumi.Output.all(*waits).apply(render) if waits else render([])

    def grant_cluster(self, cluster: oci.containerengine.Cluster) -> oci.identity.Policy | None:
        """The statements that name the site's OKE cluster (`{cluster}`: the workload identity grants of its
        add-ons, bound to this cluster by `request.principal.cluster_id`), in a policy of their own that waits for
        the cluster. They cannot join the site policy: the cluster waits for that one (its key grants)."""
        if not self.cluster_templates:
            return None
        ctx = self.ctx
        self.cluster_policy = oci.identity.Policy(
            ctx.logical(Kind.POLICY, "oke"), compartment_id=self.site_compartment.id, name=ctx.display("policy", "oke"),
            description=f"What the OKE cluster of AI site {ctx.name} may do as workload identities",
            statements=[self._statement(t, cluster.id) for t in self.cluster_templates],
            defined_tags=ctx.defined_tags, opts=ctx.opts(self))
        return self.cluster_policy


_TOKEN = re.compile(r"\{(compartment:[a-z]+|group|dynamic-group|region|cluster)\}")


def compartments_named(template: str) -> list[str]:
    """The compartments a statement template names ('{compartment:network}' -> 'network'), in order."""
    return list(dict.fromkeys(t.split(":", 1)[1] for t in _TOKEN.findall(template) if t.startswith("compartment:")))


def names_cluster(template: str) -> bool:
    """Whether a statement template names the site's OKE cluster ('{cluster}')."""
    return "cluster" in _TOKEN.findall(template)


def render_statements(templates: list[str], compartments: dict[str, str], group: str, dynamic_group: str,
                      region: str, cluster: str | None = None) -> list[str]:
    """Fill statement templates: '{compartment:X}' -> 'compartment id <ocid>', '{group}', '{region}', '{cluster}'
    (the OKE cluster's OCID)..."""

    def one(match: re.Match[str]) -> str:
        token = match.group(1)
        if token.startswith("compartment:"):
            return f"compartment id {compartments[token.split(':', 1)[1]]}"
        return {"group": group, "dynamic-group": dynamic_group, "region": region, "cluster": cluster}[token]

    return [_TOKEN.sub(one, t) for t in templates]
