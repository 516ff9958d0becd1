"""`.github/workflows/drift.yml` (issue 19): scheduled and on demand, every site, read-only credentials, the report
kept as an artifact, one issue updated (never one per run). actionlint runs over it in tests/test_review.py."""

from __future__ import annotations

import yaml

from sitekit import ROOT

WORKFLOW = ROOT / ".github/workflows/drift.yml"


def test_the_drift_workflow_runs_every_site_read_only_and_keeps_one_issue():
    text = WORKFLOW.read_text()
    data = yaml.safe_load(text)
    on = data[True]  # YAML 1.1 reads the key `on` as true
    assert "schedule" in on and "workflow_dispatch" in on and "pull_request" not in on and "push" not in on
    assert data["permissions"] == {"contents": "read", "issues": "write"}
    (job,) = data["jobs"].values()
    secrets = " ".join(str(v) for v in job["env"].values()) + text.split("OCI credentials")[1].split("- name")[0]
    assert "secrets.DRIFT_OCI_CONFIG" in secrets and "secrets.OCI_CONFIG" not in secrets  # not the deploy user's
    assert "secrets.AWS_ACCESS_KEY_ID" not in secrets
    run = "\n".join(s.get("run", "") for s in job["steps"])
    assert "sitekit drift --all" in run and "--json-output drift.json" in run
    assert "pulumi up" not in run and "pulumi refresh" not in run  # sitekit drift reads; nothing here writes
    assert any(s.get("uses", "").startswith("actions/upload-artifact@") for s in job["steps"])
    assert "gh issue list --label sitekit-drift --state open" in run
    assert run.count("gh issue create") == 1 and "gh issue edit" in run
