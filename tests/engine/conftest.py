"""End-to-end tests under the real Pulumi CLI (`make engine-test`): a local file backend, the passphrase secrets
provider, the stand-in OCI provider in a throwaway PULUMI_HOME, and a scratch copy of the project.

Every test here is marked `engine`; `make test` deselects them. Without a pulumi CLI they skip with the reason,
except under `make engine-test` (SITEKIT_ENGINE_TESTS=required), where a missing CLI is an error: CI never
skips them silently. Each shipped site is previewed once per run (with the policy pack) and shared.

`s3_server` is a real S3 server (SeaweedFS, built by `make s3`) on 127.0.0.1 for the run; `s3_backend` gives a
test a fresh bucket on it as a Pulumi DIY backend, and `new_workspace(..., backend=s3_backend)` keeps the
workspace's stacks there.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from s3_server import S3Backend, S3Server, find_weed

from sitekit import ROOT
from sitekit.engine.workspace import Workspace, find_pulumi
from sitekit.spec.layout import list_sites

SHIPPED = list_sites(ROOT)
SITEKIT = str(Path(sys.executable).parent / "sitekit")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.engine)


@pytest.fixture(scope="session")
def pulumi_cli() -> Path:
    found = find_pulumi(ROOT)
    if found is None:
        message = "no pulumi CLI: run `make pulumi` (needs Go), or `make engine-test`, which builds it"
        if os.environ.get("SITEKIT_ENGINE_TESTS") == "required":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def new_workspace(tmp_path_factory, pulumi_cli: Path, name: str, stacks=SHIPPED, prepare=None,
                  backend: S3Backend | None = None) -> Workspace:
    """A scratch copy of the project (edited by `prepare(project)` first, if given) with its stacks
    initialised in a fresh file backend, or in `backend` (a bucket of `s3_server`). `pulumi stack init`
    rewrites the stack files (an encryption salt last, scalars quoted), so edits that append to a stack file
    belong in `prepare`."""
    ws = Workspace(ROOT, tmp_path_factory.mktemp(name), pulumi=pulumi_cli,
                   backend_url=backend.url if backend else None, backend_env=backend.env if backend else None)
    ws.copy_project()
    if prepare is not None:
        prepare(ws.project)
    for stack in stacks:
        ws.init_stack(stack)
    return ws


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """SeaweedFS's S3 gateway on free ports of 127.0.0.1 for the whole run, with one signed identity; stopped
    (with anything it started) at the end."""
    weed = find_weed(ROOT)
    if weed is None:
        message = "no weed (SeaweedFS): run `make s3` (needs Go), or `make engine-test`, which builds it"
        if os.environ.get("SITEKIT_ENGINE_TESTS") == "required":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = S3Server.start(weed, tmp_path_factory.mktemp("s3-server"))
    try:
        yield server
    finally:
        server.stop()


_buckets = itertools.count(1)


@pytest.fixture
def s3_backend(s3_server) -> S3Backend:
    """A fresh bucket on `s3_server` as a Pulumi DIY backend: `.url` to `pulumi login`, `.env` the credentials;
    `new_workspace(..., backend=s3_backend)` uses both. For any test that needs a team's backend (rollouts)."""
    return s3_server.backend(f"sitekit-state-{next(_buckets)}")


@pytest.fixture(scope="session")
def shipped_ws(tmp_path_factory, pulumi_cli) -> Workspace:
    return new_workspace(tmp_path_factory, pulumi_cli, "engine-shipped")


@pytest.fixture(scope="session")
def shipped_previews(shipped_ws):
    """{site: Preview} of `pulumi preview --json --policy-pack policies` for every shipped site, run once."""
    return {site: shipped_ws.preview_events(site, "--policy-pack", "policies") for site in SHIPPED}


def sitekit(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """The sitekit CLI as a user runs it, in the project at `cwd`."""
    return subprocess.run([SITEKIT, *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def sitekit_json(*args: str, cwd: Path = ROOT):
    done = sitekit(*args, "--format", "json", cwd=cwd)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)
