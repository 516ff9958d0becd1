"""Every report's output formats, one registry per report (sitekit/formats.py says how a registry works).

Each command's `--format` choices, default and help come from its report's registry; a renderer is imported
only when its format is asked for. A new format: a renderer (a module of its own where a report has several),
a line here, and a test (tests/test_formats.py renders every registered format).
"""

from __future__ import annotations

from sitekit.formats import Format, Formats

POLICY = Formats(
    "policy results",
    Format("table", "a table per site, for people", "sitekit.policy.render.table:show", console=True),
    Format("json", "for machines", "sitekit.policy.render.json:render"),
    Format("sarif", "SARIF 2.1.0, for code scanning", "sitekit.policy.render.sarif:render"),
    Format("markdown", "for a pull-request comment", "sitekit.policy.render.markdown:render"),
)

REVIEW = Formats(
    "review",
    Format("markdown", "a pull-request comment, cut by layer to fit", "sitekit.review.render:render_markdown"),
    Format("json", "everything, for machines", "sitekit.review.render:dumps"),
)

FLEET = Formats(
    "fleet",
    Format("table", "for people", "sitekit.fleet.text:print_table", console=True),
    Format("json", "for machines", "sitekit.fleet.text:fleet_json"),
)
"""`--html DIR` writes a third view, a static report in a folder (sitekit/fleet/html.py): it takes the capacity
history and the docs' address too, so it is an option of its own, not a format of this report."""

CAPACITY = Formats(
    "fleet --capacity",
    Format("table", "for people", "sitekit.fleet.text:print_capacity", console=True),
    Format("json", "for machines", "sitekit.fleet.text:capacity_json"),
)

PLAN = Formats(
    "plan",
    Format("table", "for people", "sitekit.run.report:print_plans", console=True),
    Format("json", "for machines", "sitekit.run.report:plan_json"),
)

SITES = Formats(
    "sites",
    Format("table", "for people", "sitekit.run.report:print_sites", console=True),
    Format("json", "for machines", "sitekit.run.report:sites_json"),
)

EXPLAIN = Formats(
    "explain",
    Format("table", "a line per value with its origin, for people", "sitekit.spec.explain:print_rows",
           console=True),
    Format("json", "for machines", "sitekit.spec.explain:rows_json"),
)

DRIFT = Formats(
    "drift",
    Format("table", "a summary and a table per drifted site, for people", "sitekit.drift.render:show", console=True),
    Format("json", "the drift JSON (`sitekit fleet --drift FILE` reads it)", "sitekit.drift.render:render_json"),
    Format("markdown", "for an issue or a pull-request comment", "sitekit.drift.render:render_markdown"),
)

REGISTRIES = {"policy": POLICY, "review": REVIEW, "fleet": FLEET, "capacity": CAPACITY, "plan": PLAN,
              "sites": SITES, "explain": EXPLAIN, "drift": DRIFT}

ROLLOUT = Formats(
    "rollout plan",
    Format("table", "the waves, each site with its reason, for people", "sitekit.rollout.plan:render_table"),
    Format("json", "for machines (what `rollout run --from-plan` reads)", "sitekit.rollout.plan:render_json"),
)
