"""The Pulumi project file and the program's config surface (`sitekit/spec/stackconfig.py` is the one key list)."""

from __future__ import annotations

import yaml

from sitekit import ROOT
from sitekit.spec.stackconfig import KEYS

PULUMI_TYPES = {"string": "string", "integer": "integer"}


def test_pulumi_yaml_is_the_sitekit_python_project_reading_stacks():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "sitekit" and project["stackConfigDir"] == "stacks"
    assert project["runtime"]["name"] == "python" and project["runtime"]["options"]["virtualenv"] == ".venv"
    assert (ROOT / project.get("main", "__main__.py")).is_file()


def test_pulumi_yaml_declares_every_scalar_key_with_its_type_and_a_description():
    """Pulumi project config can declare strings and integers (not objects); the rest sitekit validates."""
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    scalar = {k.name: PULUMI_TYPES[k.kind] for k in KEYS if k.kind in PULUMI_TYPES}
    assert set(declared) == set(scalar)
    for name, kind in scalar.items():
        assert declared[name]["type"] == kind, name
        assert len(declared[name]["description"]) > 20, name
    for key in KEYS:  # a required key has no default; an optional scalar key has one (Pulumi needs either)
        if key.name in declared:
            assert ("default" in declared[key.name]) is (not key.required), key.name
