"""The rules, one module per area (compute, data, governance, guardrails, identity, monitoring, network, peering); each rule
is a small named function registered with `policy.model.rule`. Importing `sitekit.policy` imports them all."""
