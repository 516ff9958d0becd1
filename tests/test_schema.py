"""The committed JSON schemas match the models, every stack file and profile points at its schema with a
modeline and passes it, and the schemas catch the mistakes editors should flag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from sitekit import ROOT
from sitekit.cli.main import app
from sitekit.spec.schema import (
    JURISDICTION_SCHEMA,
    SCHEMAS,
    STACK_SCHEMA,
    render,
    stale,
)

STACK_FILES = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
PROFILES = sorted((ROOT / "stacks/jurisdictions").glob("*.yaml"))
MODELINE = "# yaml-language-server: $schema="


def validator(file: str) -> Draft202012Validator:
    schema = json.loads((ROOT / file).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def plain(path: Path):
    """YAML as JSON would carry it (dates as strings)."""
    return json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))


def errors(file: str, data) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(file).iter_errors(data)]


def test_committed_schemas_are_current():
    assert stale(ROOT) == [], "the spec models changed: run `make docs` (or `sitekit schema --write`) and commit"


def test_schema_command_reports_stale_and_writes(project, monkeypatch):
    monkeypatch.chdir(project)
    (project / STACK_SCHEMA).write_text("{}\n")
    check = CliRunner().invoke(app, ["schema"])
    assert check.exit_code == 1 and "stale: schema/stack.schema.json" in check.output
    wrote = CliRunner().invoke(app, ["schema", "--write"])
    assert wrote.exit_code == 0 and (project / STACK_SCHEMA).read_text() == render(STACK_SCHEMA)
    assert CliRunner().invoke(app, ["schema"]).exit_code == 0


@pytest.mark.parametrize("path", STACK_FILES + PROFILES, ids=lambda p: p.name)
def test_file_starts_with_a_modeline_to_a_schema_it_passes(path):
    first = path.read_text().splitlines()[0]
    assert first.startswith(MODELINE), f"{path.name}: first line must be the schema modeline"
    target = (path.parent / first[len(MODELINE):]).resolve()
    expected = STACK_SCHEMA if path.name.startswith("Pulumi.") else JURISDICTION_SCHEMA
    assert target == (ROOT / expected).resolve()
    assert errors(expected, plain(path)) == []


def test_stack_schema_flags_mistakes():
    data = plain(ROOT / "stacks/Pulumi.us-ashburn.yaml")
    config = data["config"]
    config["sitekit:regon"] = "us-ashburn-1"                       # unknown sitekit key
    config["sitekit:power"] = {"envelopeMw": "sixty", "pue": 1.2}   # wrong type
    config["sitekit:pools"][0]["gpus"] = 8                          # unknown pool field
    del config["sitekit:tenancyId"]                                 # required key
    config["oci:region"] = "us-ashburn-1"                           # other namespaces are Pulumi's: allowed
    found = errors(STACK_SCHEMA, data)
    assert any("sitekit:regon" in e for e in found)
    assert any(e.startswith("config.sitekit:power.envelopeMw") for e in found)
    assert any(e.startswith("config.sitekit:pools.0") and "gpus" in e for e in found)
    assert any("sitekit:tenancyId" in e and "required" in e for e in found)
    assert not any("oci:region" in e for e in found)
    assert len(found) == 4


def test_stack_schema_accepts_partial_overrides_and_secure_values():
    data = plain(ROOT / "stacks/Pulumi.us-ashburn.yaml")
    data["config"]["sitekit:overrides"] = {"bootstrap": {"logging": {"forward": "syslog-tls",
                                                                     "collector": "logs.example:6514"}}}
    data["config"]["sitekit:alertEndpoint"] = {"secure": "v1:abc"}
    assert errors(STACK_SCHEMA, data) == []
    data["config"]["sitekit:overrides"]["bootstrap"]["logging"]["forwrd"] = "x"
    assert len(errors(STACK_SCHEMA, data)) == 1


def test_jurisdiction_schema_requires_a_basis_for_every_rule():
    data = plain(ROOT / "stacks/jurisdictions/de.yaml")
    del data["jurisdiction"]["vault"]["basis"]
    data["jurisdiction"]["shapes"]["basis"] = ""
    data["site"] = {"region": "eu-frankfurt-1"}  # a profile may not set site values
    found = errors(JURISDICTION_SCHEMA, data)
    assert any(e.startswith("jurisdiction.vault") and "'basis' is a required property" in e for e in found)
    assert any(e.startswith("jurisdiction.shapes.basis") for e in found)
    assert any("'site' was unexpected" in e for e in found)


def test_site_schema_matches_an_effective_spec(shipped_sites):
    for site in shipped_sites.values():
        data = json.loads(site.spec.model_dump_json(by_alias=True))
        assert errors("schema/site.schema.json", data) == []


def test_every_schema_file_is_listed():
    assert sorted(p.name for p in (ROOT / "schema").glob("*.json")) == sorted(Path(f).name for f in SCHEMAS)
