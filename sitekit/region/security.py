"""Security: the site vault and HSM keys, Cloud Guard target, bastion, audit log group, alert topic and
event rules for identity, network and Cloud Guard events (the CIS event types, sitekit/facts/events.py)."""

from __future__ import annotations

import json

import pulumi
import pulumi_oci as oci

from sitekit.facts.events import event_types
from sitekit.naming import Kind
from sitekit.region.context import SiteContext

HOME_EVENTS = ("iam", "cloud-guard")
"""Event categories OCI emits only in the home region (identity; Cloud Guard's reporting region)."""

ROOT_EVENTS = ("iam",)
"""Event categories whose rule lives in the root compartment (the resources they watch live only there)."""

class Security(pulumi.ComponentResource):
    """Vault (type from the jurisdiction) and keys, protected; Cloud Guard target; bastion; log group;
    notification topic (with the secret alert endpoint subscribed when configured) and event rules."""

    def __init__(self, name: str, ctx: SiteContext, opts: pulumi.ResourceOptions | None = None):
        super().__init__("sitekit:index:Security", name, None, opts)
        spec = ctx.spec
        compartment = ctx.compartments["security"]
        tags = ctx.defined_tags
        rule = spec.jurisdiction.vault

        self.vault = oci.kms.Vault(
            ctx.logical(Kind.VAULT), compartment_id=compartment, display_name=ctx.display("vault"),
            vault_type=rule.type, defined_tags=tags, opts=ctx.opts(self, protect=True))
        for key in spec.security.keys:
            rotation = key.rotation_days is not None
            ctx.keys[key.name] = oci.kms.Key(
                ctx.logical(Kind.KEY, key.name), compartment_id=compartment, display_name=ctx.display("key", key.name),
                management_endpoint=self.vault.management_endpoint, protection_mode=rule.key_protection,
                key_shape=oci.kms.KeyKeyShapeArgs(algorithm=key.algorithm, length=key.length),
                is_auto_rotation_enabled=rotation,
                auto_key_rotation_details=oci.kms.KeyAutoKeyRotationDetailsArgs(
                    rotation_interval_in_days=key.rotation_days) if rotation else None,
                defined_tags=tags, opts=ctx.opts(self, protect=True, retain=True))

        self.log_group = oci.logging.LogGroup(
            ctx.logical(Kind.SECURITY_LOGS), compartment_id=compartment, display_name=ctx.display("security-logs"),
            description=f"Security logs of AI site {ctx.name}", defined_tags=tags, opts=ctx.opts(self))

        self.topic = self._topic(ctx, Kind.ALERTS, compartment, ctx.opts(self))
        # OCI emits IAM events, and serves Cloud Guard (its reporting region, normally the home region), only
        # in the home region: a site elsewhere watches IAM and registers its Cloud Guard target from there,
        # with a topic of its own in that region (an event rule notifies a topic of its own region).
        split = spec.site.region != spec.site.home_region
        home = pulumi.ResourceOptions.merge(ctx.opts(self), pulumi.ResourceOptions(provider=ctx.home_provider)) \
            if split else ctx.opts(self)
        at_home = [c for c in spec.security.events if c in HOME_EVENTS]
        home_topic = self._topic(ctx, Kind.ALERTS_HOME, compartment, home) if split and at_home else self.topic
        for category in spec.security.events:
            # identity resources (users, groups, identity providers) live in the root compartment only, and a rule
            # sees the events of its compartment's subtree: the identity rule lives at the root
            oci.events.Rule(
                ctx.logical(Kind.EVENT, category),
                compartment_id=spec.site.tenancy_id if category in ROOT_EVENTS else ctx.compartments["site"],
                display_name=ctx.display("event", category), is_enabled=True,
                description=f"Notify on {category} changes in AI site {ctx.name}",
                condition=json.dumps({"eventType": event_types(category)}),
                actions=oci.events.RuleActionsArgs(action=[oci.events.RuleActionsActionArgs(
                    action_type="ONS", is_enabled=True,
                    topic_id=(home_topic if category in HOME_EVENTS else self.topic).id)]),
                defined_tags=tags, opts=home if category in HOME_EVENTS else ctx.opts(self))

        guard = spec.security.cloud_guard
        oci.cloudguard.Target(
            ctx.logical(Kind.CLOUD_GUARD), compartment_id=ctx.compartments["site"],
            display_name=ctx.display("cloud-guard"), target_resource_id=ctx.compartments["site"],
            target_resource_type="COMPARTMENT",
            target_detector_recipes=[
                oci.cloudguard.TargetTargetDetectorRecipeArgs(detector_recipe_id=guard.configuration_detector_recipe_id),
                oci.cloudguard.TargetTargetDetectorRecipeArgs(detector_recipe_id=guard.activity_detector_recipe_id)],
            target_responder_recipes=[
                oci.cloudguard.TargetTargetResponderRecipeArgs(responder_recipe_id=guard.responder_recipe_id)],
            defined_tags=tags, opts=home)

        b = spec.security.bastion
        self.bastion = oci.bastion.Bastion(
            ctx.logical(Kind.BASTION), bastion_type="standard", compartment_id=compartment,
            target_subnet_id=ctx.subnets[(b.network, b.subnet)].id, name=ctx.display("bastion").replace("-", ""),
            client_cidr_block_allow_lists=[str(c) for c in b.client_cidrs],
            max_session_ttl_in_seconds=b.max_session_ttl_seconds, defined_tags=tags, opts=ctx.opts(self))
        self.register_outputs({"vaultId": self.vault.id})

    def _topic(self, ctx: SiteContext, kind: Kind, compartment, opts: pulumi.ResourceOptions):
        """An alert topic, with the secret alert endpoint subscribed when it is configured."""
        topic = oci.ons.NotificationTopic(
            ctx.logical(kind), compartment_id=compartment, name=ctx.display(kind),
            description=f"Security alerts of AI site {ctx.name}", defined_tags=ctx.defined_tags, opts=opts)
        if ctx.alert_endpoint is not None:
            oci.ons.Subscription(
                ctx.logical(kind, "subscription"), compartment_id=compartment, topic_id=topic.id,
                protocol="HTTPS", endpoint=ctx.alert_endpoint, defined_tags=ctx.defined_tags, opts=opts)
        return topic
