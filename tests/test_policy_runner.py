"""The offline runner: shipped sites pass; a deliberately bad site fails with the expected rule ids, at the
lines that produced the values; enforcement overrides, waivers (valid, expired, unknown rule), the report
formats (SARIF validated against the OASIS SARIF 2.1.0 schema) and `sitekit policy` exit codes.

One extra plan: the bad site's (module fixture). Waiver and override cases only change `sitekit:policy`,
which declares no resource, so they re-load the site (fast) and reuse that plan.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import tempfile
from pathlib import Path

import pytest
from broken_site import PROFILE, STACK, WAIVERS, break_site
from jsonschema import Draft4Validator
from typer.testing import CliRunner

from sitekit.cli.main import app
from sitekit.errors import SpecError
from sitekit.policy import RULES
from sitekit.policy.render import markdown
from sitekit.policy.render.json import to_json
from sitekit.policy.render.sarif import to_sarif
from sitekit.policy.runner import evaluate
from sitekit.run.offline import plan_site
from sitekit.spec.loader import load_site
from sitekit.spec.models import EnergyLimit, EnergyRules

SCHEMA = json.loads((Path(__file__).parent / "schemas/sarif-2.1.0.json").read_text())
def write_policy(root: Path, policy_yaml: str) -> None:
    """Replace the `sitekit:policy` block of the us-ashburn stack file (the block ends the file)."""
    path = root / STACK
    text = path.read_text()
    text = text.split("  sitekit:policy:\n")[0]
    path.write_text(text + policy_yaml)


def line_of(root: Path, needle: str) -> int:
    return next(i for i, line in enumerate((root / STACK).read_text().splitlines(), 1) if needle in line)


@pytest.fixture(scope="module")
def bad(tmp_path_factory, make_project):
    """A us-ashburn copy that opens SSH and RDP to the internet, grants manage all-resources in the tenancy,
    turns off key rotation, and whose profile keeps logs 30 days (a site may not: retention is locked) below
    the profile's own policy floor of 180; planned once."""
    root = break_site(make_project(tmp_path_factory.mktemp("bad-site")))
    return root, plan_site(root, "us-ashburn")


def active_ids(result) -> set[str]:
    return {f.rule for f in result.active()}


def test_every_shipped_site_passes_all_mandatory_rules(shipped_sites, shipped_plans):
    for name, plan in shipped_plans.items():
        result = evaluate(shipped_sites[name], plan)
        assert result.passed, [(f.rule, f.resource, f.message) for f in result.findings]
        assert [f for f in result.findings if f.level == "mandatory"] == []
        assert result.waivers == [] and result.waived() == []  # the region passes on its own, nothing waived
        assert set(result.levels) == set(RULES)


def test_bad_site_fails_with_the_expected_rules(bad):
    root, plan = bad
    write_policy(root, WAIVERS)
    result = evaluate(load_site(root, "us-ashburn"), plan)
    assert not result.passed
    # (advisory: SK-MON-003, the alert topic has no subscriber while the secret alertEndpoint is unset;
    # SK-CMP-006, the GPU shapes' Secure Boot support is unknown; SK-CMP-007, the capacity catalog knows no
    # region's GPU shapes yet)
    assert active_ids(result) == {"SK-NET-003", "SK-IAM-001", "SK-KEY-002", "SK-GOV-003", "SK-GOV-006", "SK-MON-003",
                                  "SK-CMP-006", "SK-CMP-007"}
    # the expired waiver of SK-IAM-001 waives nothing; the current one waives exactly the RDP rule
    assert [(f.rule, f.resource) for f in result.waived()] == [
        ("SK-NET-004", "us-ashburn-nsg-debug-ingress-tcp-3389-0-0-0-0-0")]
    by_rule = {f.rule: f for f in result.active()}
    assert by_rule["SK-NET-003"].resource == "us-ashburn-nsg-debug-ingress-tcp-22-0-0-0-0-0"
    # each finding points at the line that produced the offending value
    assert (by_rule["SK-NET-003"].file, by_rule["SK-NET-003"].line) == (STACK, line_of(root, 'ports: "22"'))
    assert (by_rule["SK-KEY-002"].file, by_rule["SK-KEY-002"].line) == (STACK, line_of(root, "rotationDays: null"))
    profile_line = next(i for i, line in enumerate((root / PROFILE).read_text().splitlines(), 1) if "logDays: 30" in line)
    assert (by_rule["SK-GOV-003"].file, by_rule["SK-GOV-003"].line) == (PROFILE, profile_line)
    assert by_rule["SK-GOV-006"].line == line_of(root, "rule: SK-IAM-001")
    assert "expired on 2020-01-31" in by_rule["SK-GOV-006"].message
    assert (by_rule["SK-IAM-001"].file, by_rule["SK-IAM-001"].line) == (STACK, line_of(root, "in tenancy"))
    # five flow logs and five bucket logs are below the jurisdiction's floor of 180 days
    assert sum(f.rule == "SK-GOV-003" for f in result.active()) == len(plan.of_type("oci:Logging/log:Log"))


def test_a_site_raises_levels_but_cannot_lower_them(bad):
    root, plan = bad
    write_policy(root, "  sitekit:policy:\n    enforcement:\n      SK-DATA-005: mandatory\n")
    result = evaluate(load_site(root, "us-ashburn"), plan)
    assert result.levels["SK-DATA-005"] == "mandatory"  # raised by the site (default advisory)
    assert result.levels["SK-DATA-004"] == "mandatory"  # raised by stacks/jurisdictions/us.yaml
    assert result.levels["SK-NET-003"] == "mandatory"
    write_policy(root, "  sitekit:policy:\n    enforcement:\n      SK-NET-003: advisory\n")
    with pytest.raises(SpecError) as exc:
        evaluate(load_site(root, "us-ashburn"), plan)
    [problem] = exc.value.problems
    assert (problem.key, problem.line) == ("policy.enforcement.SK-NET-003", line_of(root, "SK-NET-003: advisory"))
    assert "may only raise" in problem.message and "waiver" in problem.message


def test_policy_pack_config_sets_levels_as_under_the_cli(bad):
    """--policy-pack-config wins over jurisdiction and site, as it does under the Pulumi CLI."""
    root, plan = bad
    write_policy(root, WAIVERS)
    site = load_site(root, "us-ashburn")
    lowered = {rule: {"enforcementLevel": "advisory"} for rule in ("SK-NET-003", "SK-IAM-001", "SK-GOV-006")}
    result = evaluate(site, plan, config={**lowered, "SK-KEY-002": {"enforcementLevel": "disabled"},
                                          "SK-GOV-003": {"minLogDays": 30}})
    assert result.passed  # what is left is advisory
    assert {f.rule: f.level for f in result.active()} == {
        "SK-NET-003": "advisory", "SK-IAM-001": "advisory", "SK-GOV-006": "advisory", "SK-MON-003": "advisory",
        "SK-CMP-006": "advisory", "SK-CMP-007": "advisory"}
    assert result.levels["SK-KEY-002"] == "disabled"
    result = evaluate(site, plan, config={"all": {"enforcementLevel": "advisory"}})
    assert result.passed and {f.level for f in result.active()} == {"advisory"}


def test_a_jurisdiction_lowers_a_level_and_names_only_real_rules(bad):
    root, plan = bad
    write_policy(root, WAIVERS)
    profile = root / "stacks/jurisdictions/us.yaml"
    shipped = profile.read_text()
    try:
        profile.write_text(shipped.replace("      SK-DATA-004: mandatory", "      SK-NET-003: advisory"))
        result = evaluate(load_site(root, "us-ashburn"), plan)
        assert {f.rule: f.level for f in result.active()}["SK-NET-003"] == "advisory"
        assert result.levels["SK-DATA-004"] == "advisory"  # back to the rule's default
        profile.write_text(shipped.replace("      SK-DATA-004: mandatory", "      SK-DATA-044: mandatory"))
        with pytest.raises(SpecError) as exc:
            evaluate(load_site(root, "us-ashburn"), plan)
        [problem] = exc.value.problems
        assert (problem.file, problem.key) == ("stacks/jurisdictions/us.yaml", "jurisdiction.policy.enforcement.SK-DATA-044")
        assert problem.line == shipped.splitlines().index("      SK-DATA-004: mandatory     # object events feed the "
                                                          "security event pipeline (organisation policy LG-1)") + 1
    finally:
        profile.write_text(shipped)


def test_a_waiver_for_a_whole_rule_and_the_report_lists_it(bad):
    root, plan = bad
    write_policy(root, "  sitekit:policy:\n    waivers:\n      - rule: SK-GOV-003\n"
                       "        reason: \"Log archive moves to the central bucket by March (LOG-9)\"\n"
                       "        expires: \"2099-03-31\"\n")
    result = evaluate(load_site(root, "us-ashburn"), plan)
    assert "SK-GOV-003" not in active_ids(result)
    assert {f.rule for f in result.waived()} == {"SK-GOV-003"}
    report = to_json([result])["sites"][0]
    assert report["waivers"] == [{"rule": "SK-GOV-003", "resource": None, "expires": "2099-03-31", "expired": False,
                                  "reason": "Log archive moves to the central bucket by March (LOG-9)",
                                  "waivedFindings": len(result.waived())}]
    assert "Log archive moves to the central bucket" in markdown.render([result])


@pytest.mark.parametrize("policy_yaml, key, hint, needle", [
    ("  sitekit:policy:\n    waivers:\n      - rule: SK-NTE-003\n        reason: \"a typo in the rule id here\"\n"
     "        expires: 2099-01-01\n", "policy.waivers.0.rule", "did you mean 'SK-NET-003'?", "rule: SK-NTE-003"),
    ("  sitekit:policy:\n    enforcement:\n      SK-DAAT-004: advisory\n", "policy.enforcement.SK-DAAT-004",
     "did you mean 'SK-DATA-004'?", "SK-DAAT-004: advisory"),
    ("  sitekit:policy:\n    waivers:\n      - rule: SK-NET-003\n        resource: us-ashburn-nsg-debug-ingress\n"
     "        reason: \"a resource that does not exist\"\n        expires: 2099-01-01\n", "policy.waivers.0.resource",
     "did you mean", "resource: us-ashburn-nsg-debug-ingress"),
    ("  sitekit:policy:\n    waivers:\n      - rule: SK-GOV-006\n        reason: \"waive the waiver rule itself\"\n"
     "        expires: 2099-01-01\n", "policy.waivers.0.rule", "cannot be waived", "rule: SK-GOV-006"),
])
def test_bad_policy_settings_are_bad_input(bad, policy_yaml, key, hint, needle):
    root, plan = bad
    write_policy(root, policy_yaml)
    with pytest.raises(SpecError) as exc:
        evaluate(load_site(root, "us-ashburn"), plan)
    [problem] = exc.value.problems
    assert (problem.file, problem.key, problem.line) == (STACK, key, line_of(root, needle))
    assert hint in problem.message


def test_a_waiver_without_reason_or_expiry_is_refused(project):
    write_policy(project, "  sitekit:policy:\n    waivers:\n      - rule: SK-NET-003\n        reason: \"\"\n")
    with pytest.raises(SpecError) as exc:
        load_site(project, "us-ashburn")
    assert {p.key for p in exc.value.problems} == {"policy.waivers.0.reason", "policy.waivers.0.expires"}


def test_sarif_validates_and_points_at_the_lines(bad):
    root, plan = bad
    write_policy(root, WAIVERS)
    result = evaluate(load_site(root, "us-ashburn"), plan)
    sarif = to_sarif([result])
    Draft4Validator.check_schema(SCHEMA)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in Draft4Validator(SCHEMA).iter_errors(sarif)]
    assert errors == []
    run = sarif["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == sorted(RULES)
    by_rule = {}
    for item in run["results"]:
        by_rule.setdefault(item["ruleId"], item)
        assert run["tool"]["driver"]["rules"][item["ruleIndex"]]["id"] == item["ruleId"]
    ssh = by_rule["SK-NET-003"]["locations"][0]["physicalLocation"]
    assert ssh == {"artifactLocation": {"uri": STACK, "uriBaseId": "%SRCROOT%"},
                   "region": {"startLine": line_of(root, 'ports: "22"')}}
    assert by_rule["SK-NET-003"]["level"] == "error"
    assert by_rule["SK-NET-004"]["suppressions"][0]["justification"].startswith("Vendor remote console")
    assert run["properties"]["sites"][0]["waivers"][1]["expired"] is True
    bad_schema = dict(sarif, version="2.0.0")
    assert list(Draft4Validator(SCHEMA).iter_errors(bad_schema))  # the schema does reject a wrong log


def test_cli_exit_codes_and_formats(bad, shipped_plans, monkeypatch):
    root, plan = bad
    write_policy(root, WAIVERS)
    plans = {"bad": plan, "good": shipped_plans["us-ashburn"]}
    current = {"plan": plans["bad"]}
    monkeypatch.setattr("sitekit.run.offline.plan_site", lambda r, s, site=None: current["plan"])
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(Path(tempfile.mkdtemp())))  # a patched plan is never cached for others
    monkeypatch.chdir(root)
    runner = CliRunner()

    result = runner.invoke(app, ["policy", "us-ashburn", "--format", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["sites"][0]["passed"] is False
    assert len(report["sites"][0]["waivers"]) == 2

    result = runner.invoke(app, ["policy", "us-ashburn", "--format", "markdown"])
    assert result.exit_code == 1 and "| **mandatory** | SK-NET-003 |" in result.stdout
    assert "2020-01-31 **expired**" in result.stdout

    result = runner.invoke(app, ["policy", "us-ashburn"])
    assert result.exit_code == 1 and "FAILED" in result.stdout and "waivers of us-ashburn" in result.stdout

    config = root / "policy-config.json"
    config.write_text(json.dumps({"all": {"enforcementLevel": "advisory"}}))
    result = runner.invoke(app, ["policy", "us-ashburn", "--config", str(config)])
    assert result.exit_code == 0 and "0 mandatory, 21 advisory, 1 waived" in result.stdout
    config.write_text(json.dumps({"SK-NTE-003": {"enforcementLevel": "advisory"}}))
    result = runner.invoke(app, ["policy", "us-ashburn", "--config", str(config)])
    assert result.exit_code == 2 and "SK-NTE-003: unknown policy rule; did you mean 'SK-NET-003'?" in result.stderr

    write_policy(root, "  sitekit:policy:\n    enforcement:\n      SK-NTE-003: advisory\n")
    result = runner.invoke(app, ["policy", "us-ashburn", "-f", "sarif"])
    assert result.exit_code == 2
    assert re.search(r"stacks/Pulumi.us-ashburn.yaml:\d+: policy.enforcement.SK-NTE-003: unknown policy rule "
                     r"'SK-NTE-003'; did you mean 'SK-NET-003'\?", result.stderr)

    result = runner.invoke(app, ["policy", "us-ashbrn"])
    assert result.exit_code == 2 and "did you mean 'us-ashburn'?" in result.stderr


def test_cli_passes_for_shipped_sites(shipped_plans, monkeypatch, tmp_path):
    monkeypatch.setattr("sitekit.run.offline.plan_site", lambda r, s, site=None: shipped_plans[s])
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(Path(tempfile.mkdtemp())))  # a patched plan is never cached for others
    out = tmp_path / "policy.sarif"
    result = CliRunner().invoke(app, ["policy", "--all", "--format", "sarif", "--output", str(out)])
    assert result.exit_code == 0, result.output
    sarif = json.loads(out.read_text())
    assert list(Draft4Validator(SCHEMA).iter_errors(sarif)) == []
    # only advisories: SK-MON-003 per alert topic (no shipped stack file sets the secret alertEndpoint),
    # SK-CMP-006 per GPU instance configuration (the GPU shapes' Secure Boot support is unknown) and SK-CMP-007 per
    # GPU-shaped resource (the capacity catalog knows no region's GPU shapes yet)
    results = sarif["runs"][0]["results"]
    assert {(r["ruleId"], r["level"]) for r in results} == {("SK-MON-003", "warning"), ("SK-CMP-006", "warning"),
                                                            ("SK-CMP-007", "warning")}
    assert sum(r["ruleId"] == "SK-CMP-007" for r in results) == sum(  # once per shape: a second block shares it
        len([r for r in p.of_type(t) if "-block-" not in r.name]) for p in shipped_plans.values() for t in (
            "oci:Core/instanceConfiguration:InstanceConfiguration", "oci:ContainerEngine/nodePool:NodePool"))
    assert [s["site"] for s in sarif["runs"][0]["properties"]["sites"]] == sorted(shipped_plans)
    # an existing report is the user's file: kept unless --force
    out.write_text("mine")
    refused = CliRunner().invoke(app, ["policy", "--all", "--format", "sarif", "--output", str(out)])
    assert refused.exit_code == 2 and "file exists; pass --force" in refused.stderr and out.read_text() == "mine"
    forced = CliRunner().invoke(app, ["policy", "--all", "-f", "sarif", "-o", str(out), "--force"])
    assert forced.exit_code == 0 and json.loads(out.read_text())["version"] == "2.1.0"


def _line(root: Path, file: str, needle: str) -> int:
    return next(i for i, line in enumerate((root / file).read_text().splitlines(), 1) if needle in line)


def test_findings_point_at_baseline_jurisdiction_or_stack_lines(shipped_sites, root):
    """The value's own file and line: a baseline NSG rule, a jurisdiction's vault type, a site's pool shape."""
    from sitekit.policy.runner import Finding, SiteResult, locate

    site = shipped_sites["us-ashburn"]
    cases = [
        ("SK-NET-003", "us-ashburn-nsg-gpu-nodes-ingress-tcp-22-services", "stacks/baseline.yaml",
         'ports: "22", peer: services'),
        ("SK-KEY-003", "us-ashburn-vault", "stacks/jurisdictions/us.yaml", "type: VIRTUAL_PRIVATE"),
        ("SK-CMP-002", "us-ashburn-node-pool-serve", STACK, "shape: BM.GPU.H200.8"),
        ("SK-KEY-002", "us-ashburn-key-storage", "stacks/baseline.yaml", "{name: storage, rotationDays: 90}"),
        ("SK-NET-007", "us-ashburn-subnet-gpu-nodes", "stacks/baseline.yaml", "{name: nodes, prefix: 19}"),
    ]
    for rule_id, resource, file, needle in cases:
        origin = locate(site, RULES[rule_id], resource, "")
        assert (origin.file, origin.line) == (file, _line(root, file, needle)), rule_id
    nowhere = locate(site, RULES["SK-GOV-002"], "no-such-resource", "")
    assert (nowhere.file, nowhere.line) == (STACK, None)
    tenancy = locate(site, RULES["SK-GOV-005"], "no-such-resource", "")
    assert (tenancy.file, tenancy.line) == (STACK, _line(root, STACK, "  sitekit:tenancyId:"))

    finding = Finding("SK-NET-003", "mandatory", "high", "NSG rule allows TCP 22 from 0.0.0.0/0", "urn:x",
                      "us-ashburn-nsg-gpu-nodes-ingress-tcp-22-services", T_NSG_RULE, "stacks/baseline.yaml", 69)
    sarif = to_sarif([SiteResult("us-ashburn", "us", STACK, findings=[finding])])
    assert list(Draft4Validator(SCHEMA).iter_errors(sarif)) == []
    [item] = sarif["runs"][0]["results"]
    assert item["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "stacks/baseline.yaml"
    assert item["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] == STACK


T_NSG_RULE = "oci:Core/networkSecurityGroupSecurityRule:NetworkSecurityGroupSecurityRule"


def over_energy_limits(site):
    """us-ashburn as if its profile set an energy limit its PUE breaks (SK-STK-004 anchors at site.power.pue)."""
    spec = site.spec
    energy = EnergyRules(basis="a test's limit", limits=[EnergyLimit(name="pue", max_pue=1.1, basis="a test's")])
    power = spec.site.power.model_copy(update={"commissioned": datetime.date(2027, 1, 1)})
    return dataclasses.replace(site, spec=spec.model_copy(update={
        "jurisdiction": spec.jurisdiction.model_copy(update={"energy": energy}),
        "site": spec.site.model_copy(update={"power": power})}))


def test_every_finding_points_at_a_line_that_exists(bad, shipped_sites, shipped_plans, root):
    """Every rule's findings (the shipped sites, the bad site, each policy corpus case run offline against
    us-ashburn) point at a file of the project and, when they name a line, one of its lines. A rule that points at
    an item of a spec list (`points_at`) names the item first in each message, so it lands on the item's line."""
    from corpus import load_cases, offline_plan

    bad_root, bad_plan = bad
    write_policy(bad_root, WAIVERS)
    runs = [(root, shipped_sites[name], plan) for name, plan in shipped_plans.items()]
    runs += [(bad_root, load_site(bad_root, "us-ashburn"), bad_plan)]
    runs += [(root, shipped_sites["us-ashburn"], offline_plan(case)) for case in load_cases()]
    runs += [(root, over_energy_limits(shipped_sites["us-ashburn"]), shipped_plans["us-ashburn"])]
    seen: set[str] = set()
    for project, site, plan in runs:
        for f in evaluate(site, plan).findings:
            seen.add(f.rule)
            lines = (project / f.file).read_text().splitlines()
            assert f.line is None or 1 <= f.line <= len(lines), (f.rule, f.resource, f.file, f.line)
            item = RULES[f.rule].points_at
            if item != "resource":
                index = item.index_in(f.message)
                assert index is not None, f"{f.rule} declares points_at={item} but its message names no item"
                origin = site.origin(item.path + (index,))
                assert (f.file, f.line) == (origin.file, origin.line), (f.rule, f.message)
    # SK-GOV-007 speaks only when the pack cannot load a site's context, which the offline runner always has
    assert set(RULES) - seen == {"SK-GOV-007"}


def test_policy_pack_config_takes_the_cli_forms_and_refuses_bad_values(bad):
    """`{"all": "advisory"}` and `{"SK-X": "disabled"}` are the CLI's short forms; a level or a parameter the
    CLI would refuse (its config schema) is bad input, never a crash or a silent no-op."""
    root, plan = bad
    write_policy(root, WAIVERS)
    site = load_site(root, "us-ashburn")
    result = evaluate(site, plan, config={"all": "advisory", "SK-KEY-002": "disabled"})
    assert result.passed and result.levels["SK-KEY-002"] == "disabled"
    assert {f.level for f in result.active()} == {"advisory"}
    result = evaluate(site, plan, config={"SK-DATA-004": {"enforcementLevel": "remediate"}})
    assert result.levels["SK-DATA-004"] == "mandatory"  # validation-only policies remediate as mandatory
    for config, key, hint in (
            ({"SK-GOV-003": {"enforcementLevel": "blocking"}}, "SK-GOV-003.enforcementLevel", "advisory, disabled"),
            ({"SK-GOV-003": {"minLogDays": "a lot"}}, "SK-GOV-003.minLogDays", "integer"),
            ({"SK-GOV-003": {"minLogDays": 400}}, "SK-GOV-003.minLogDays", "at most 180"),
            ({"SK-GOV-003": {"minLogDay": 90}}, "SK-GOV-003.minLogDay", "did you mean 'minLogDays'?"),
            ({"SK-CMP-002": {"approvedShapes": "BM.GPU.H100.8"}}, "SK-CMP-002.approvedShapes", "array"),
            ({"SK-NET-003": {"minLogDays": 90}}, "SK-NET-003.minLogDays", "takes no parameters"),
            ({"SK-NET-003": 3}, "SK-NET-003", "an enforcement level or an object")):
        with pytest.raises(SpecError) as exc:
            evaluate(site, plan, config=config)
        [problem] = exc.value.problems
        assert problem.key == key and hint in problem.message, (config, str(problem))


def test_cli_reads_the_short_config_forms(bad, monkeypatch):
    root, plan = bad
    write_policy(root, WAIVERS)
    monkeypatch.setattr("sitekit.run.offline.plan_site", lambda r, s, site=None: plan)
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(Path(tempfile.mkdtemp())))  # a patched plan is never cached for others
    monkeypatch.chdir(root)
    config = root / "short-config.json"
    config.write_text(json.dumps({"all": "advisory"}))
    result = CliRunner().invoke(app, ["policy", "us-ashburn", "--config", str(config)])
    assert result.exit_code == 0 and "0 mandatory, 21 advisory, 1 waived" in result.stdout, result.output
    config.write_text(json.dumps({"SK-GOV-003": {"minLogDays": "a lot"}}))
    result = CliRunner().invoke(app, ["policy", "us-ashburn", "--config", str(config)])
    assert result.exit_code == 2 and "SK-GOV-003.minLogDays" in result.stderr


def test_cli_output_that_cannot_be_written_is_bad_input(shipped_plans, monkeypatch, tmp_path):
    monkeypatch.setattr("sitekit.run.offline.plan_site", lambda r, s, site=None: shipped_plans[s])
    monkeypatch.setenv("SITEKIT_CACHE_DIR", str(Path(tempfile.mkdtemp())))  # a patched plan is never cached for others
    for fmt in ("json", "table"):
        result = CliRunner().invoke(app, ["policy", "us-ashburn", "-f", fmt, "-o", str(tmp_path / "no/such/dir.out")])
        assert result.exit_code == 2 and "cannot write" in result.stderr, (fmt, result.output)


def test_a_site_cannot_lower_its_jurisdictions_policy_through_overrides(project, shipped_plans):
    """`sitekit:overrides` may change jurisdiction values, but not the policy settings the pack enforces: a
    site raises levels under sitekit:policy and accepts a violation only by a waiver with reason and expiry."""
    path = project / STACK
    path.write_text(path.read_text() + "  sitekit:overrides:\n    jurisdiction:\n      policy:\n"
                    "        enforcement:\n          SK-DATA-004: advisory\n"
                    "        parameters:\n          minLogDays: 30\n")
    with pytest.raises(SpecError) as exc:
        evaluate(load_site(project, "us-ashburn"), shipped_plans["us-ashburn"])
    assert {(p.file, p.key, p.line) for p in exc.value.problems} == {
        (STACK, "jurisdiction.policy.enforcement.SK-DATA-004", line_of(project, "SK-DATA-004: advisory")),
        (STACK, "jurisdiction.policy.parameters.minLogDays", line_of(project, "minLogDays: 30"))}
    assert all("waiver" in p.message for p in exc.value.problems)
