"""A team's state backend: an S3-compatible object store (README "State backends"), proved against a real S3
server (SeaweedFS built from Go modules, `s3_server`) on 127.0.0.1, never OCI. A site is deployed with `pulumi
up` into a bucket, its state is read back with a plain S3 client, and two updates race for one stack: the
one that finds the other's lock fails with the CLI's lock message, the other completes, and the state is
intact."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import new_workspace
from s3_server import S3Error

from sitekit.engine.workspace import Result, Workspace

SITE = "br-saopaulo"  # a small site (144 resources)
HUB = "us-ashburn"  # initialised, not deployed: the spoke reads its (empty) outputs
STACK_KEY = f".pulumi/stacks/sitekit/{SITE}.json"
LOCKS = f".pulumi/locks/organization/sitekit/{SITE}/"
LOCKED = re.compile(r"the stack is currently locked by (\d+) lock\(s\)\. Either wait for the other "
                    r"process\(es\) to end or delete the lock file with `pulumi cancel`\.")
"""What the pinned CLI's DIY backend says when a stack holds another process's lock (pkg/backend/diy/lock.go)."""
STACK_REFERENCE = "pulumi:pulumi:StackReference"
TRAIN_NODES = "nodes: 1024"  # the train pool of stacks/Pulumi.br-saopaulo.yaml, edited by the race


@dataclass
class Started:
    """A pulumi command running in the background in a session of its own (`kill()` ends it with its language
    host, program and providers), its output in a file (two of them never block on a pipe)."""

    args: list[str]
    process: subprocess.Popen
    log: Path

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=60)

    def wait(self, timeout: float = 900) -> Result:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        text = self.log.read_text(errors="replace")
        return Result(self.args, self.process.returncode, text, "")


def start_pulumi(ws: Workspace, *args: str, name: str) -> Started:
    """`pulumi ARGS` in the workspace's project with its environment (backend included), not waited for."""
    log = ws.folder / f"{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(ws.pulumi), *args], cwd=ws.project, env=ws.env(), stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return Started(list(args), process, log)


def start_up(ws: Workspace, stack: str, name: str) -> Started:
    return start_pulumi(ws, "up", "-s", stack, "--yes", "--skip-preview", "--non-interactive", "--color", "never",
                        name=name)


def wait_for_lock(backend, started: Started, seconds: float = 300) -> list[str]:
    """The lock objects of the stack once the running update has written its own (one look a quarter second,
    at most `seconds`)."""
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds * 4)):
        if time.monotonic() > deadline or started.process.poll() is not None:
            break
        locks = backend.keys(LOCKS)
        if locks:
            return locks
        time.sleep(0.25)
    raise AssertionError(f"no lock under {LOCKS} while the first update ran:\n{started.log.read_text()[-3000:]}")


def exported(ws: Workspace) -> dict:
    return json.loads(ws.run(["stack", "export", "-s", SITE], check=True).stdout)


def assert_intact(ws: Workspace, backend) -> dict:
    """No lock left, the bucket's checkpoint is the exported state, and a preview has nothing to change."""
    assert backend.keys(LOCKS) == []
    state = exported(ws)
    resources = state["deployment"]["resources"]
    assert len(resources) > 100 and len({r["urn"] for r in resources}) == len(resources)
    assert not state["deployment"].get("pending_operations")
    checkpoint = json.loads(backend.server.get_object(backend.bucket, STACK_KEY))
    assert [r["urn"] for r in checkpoint["checkpoint"]["latest"]["resources"]] == [r["urn"] for r in resources]
    assert_nothing_to_change(ws)
    return state


def assert_nothing_to_change(ws: Workspace) -> None:
    """`pulumi preview`: every resource `same` (the hub's stack reference is read, as in every preview)."""
    preview = ws.preview_events(SITE)
    assert preview.returncode == 0, preview.text()[-3000:]
    ops = {(s["type"] == STACK_REFERENCE, s["op"]) for s in preview.steps}
    assert ops <= {(False, "same"), (True, "read")} and (False, "same") in ops, [
        (s["op"], s["urn"]) for s in preview.steps if s["op"] != "same"]


def train_size(state: dict) -> int:
    (network,) = [r for r in state["deployment"]["resources"]
                  if r["urn"].endswith(f"::{SITE}-cluster-network-train")]
    return network["inputs"]["instancePools"][0]["size"]


@pytest.fixture(scope="module")
def deployed(tmp_path_factory, pulumi_cli, s3_server):
    """br-saopaulo, `pulumi up` into a bucket of the local S3 server."""
    backend = s3_server.backend("sitekit-state-deployed")
    ws = new_workspace(tmp_path_factory, pulumi_cli, "s3-deployed", stacks=[HUB, SITE], backend=backend)
    up = ws.up(SITE)
    assert up.returncode == 0, up.output[-4000:]
    return ws, backend


# ------------------------------------------------------------------------------------------- the server
def test_the_server_refuses_an_unsigned_or_wrongly_signed_request(s3_server, deployed):
    _, backend = deployed
    assert s3_server.request("GET", backend.bucket, query={"list-type": "2"}).status == 200
    wrong = s3_server.request("GET", backend.bucket, query={"list-type": "2"}, secret_key="not-the-secret")
    assert wrong.status == 403 and b"SignatureDoesNotMatch" in wrong.body
    connection = http.client.HTTPConnection("127.0.0.1", s3_server.ports["s3"], timeout=30)
    connection.request("GET", f"/{backend.bucket}?list-type=2")
    assert connection.getresponse().status == 403
    connection.close()


def test_the_cli_with_a_wrong_secret_cannot_read_the_state(tmp_path_factory, pulumi_cli, deployed):
    ws, backend = deployed
    other = Workspace(ws.source, tmp_path_factory.mktemp("s3-wrong-secret"), pulumi=pulumi_cli,
                      backend_url=backend.url, backend_env=dict(backend.env, AWS_SECRET_ACCESS_KEY="wrong"))
    done = other.run(["stack", "ls", "--non-interactive"], cwd=ws.project)
    assert done.returncode != 0
    assert "403" in done.output or "SignatureDoesNotMatch" in done.output, done.output[-2000:]


# ------------------------------------------------------------------------------------------- a deployed site
def test_up_keeps_the_state_in_the_bucket_and_nothing_on_disk(deployed):
    ws, backend = deployed
    keys = backend.keys()
    assert ".pulumi/meta.yaml" in keys
    assert {STACK_KEY, f".pulumi/stacks/sitekit/{HUB}.json"} <= set(keys)  # both stacks, one deployed
    assert [k for k in keys if k.startswith(f".pulumi/history/sitekit/{SITE}/")], keys
    assert not [k for k in keys if k.startswith(".pulumi/locks/")], "a lock was left behind"
    assert not list(ws.state.rglob("*.json")), "the file backend's folder got state"
    state = exported(ws)
    checkpoint = json.loads(backend.server.get_object(backend.bucket, STACK_KEY))
    assert {r["urn"] for r in checkpoint["checkpoint"]["latest"]["resources"]} == {
        r["urn"] for r in state["deployment"]["resources"]}
    assert len(state["deployment"]["resources"]) > 100


def test_a_second_preview_shows_only_same(deployed):
    ws, _ = deployed
    assert_nothing_to_change(ws)


# ------------------------------------------------------------------------------------------- racing updates
def test_an_update_meeting_a_held_lock_fails_and_the_holder_completes(deployed):
    """The first `pulumi up` (with a real change: the train pool halved) writes its lock object; a second one
    started then fails at once with the CLI's lock message naming that object; the first completes, and the
    state holds its change, intact."""
    ws, backend = deployed
    path = ws.project / f"stacks/Pulumi.{SITE}.yaml"
    original = path.read_text()
    before = train_size(exported(ws))
    assert original.count(TRAIN_NODES) == 1
    path.write_text(original.replace(TRAIN_NODES, "nodes: 512"))
    try:
        first = start_up(ws, SITE, "race-first")
        (lock,) = wait_for_lock(backend, first)
        held = json.loads(backend.server.get_object(backend.bucket, lock))
        assert held["pid"] == first.process.pid and set(held) == {"pid", "username", "hostname", "timestamp"}
        second = start_up(ws, SITE, "race-second").wait(timeout=300)
        won = first.wait()
    finally:
        path.write_text(original)
    assert second.returncode != 0
    found = LOCKED.search(second.output)
    assert found and found.group(1) == "1", second.output[-3000:]
    assert f"{backend.bucket}/{lock}" in second.output  # the lock it met, by its object key
    assert f"(pid {first.process.pid})" in second.output
    assert won.returncode == 0, won.output[-4000:]
    path.write_text(original.replace(TRAIN_NODES, "nodes: 512"))
    try:
        after = assert_intact(ws, backend)
    finally:
        path.write_text(original)
    assert train_size(after) != before


def test_two_updates_started_together_never_both_run(deployed):
    """Both started at once: Pulumi's DIY lock is check, write, check again, so either one wins and the other
    fails on the lock, or each sees the other's lock and both back off; never both. No update waits (the DIY
    backend has no queue). Whatever happened, a retry completes and the state is intact. (After the test
    above, whose edit is undone, the winner brings the train pool back: a real change again.)"""
    ws, backend = deployed
    racers = [start_up(ws, SITE, f"together-{n}") for n in (1, 2)]
    results = [r.wait() for r in racers]
    succeeded = [r for r in results if r.returncode == 0]
    failed = [r for r in results if r.returncode != 0]
    assert len(succeeded) <= 1
    for result in failed:
        assert LOCKED.search(result.output), result.output[-3000:]
    if not succeeded:
        retry = ws.up(SITE)
        assert retry.returncode == 0, retry.output[-3000:]
    assert_intact(ws, backend)


def test_pulumi_cancel_clears_a_lock_left_by_a_killed_update(deployed):
    """An update killed while it holds the lock leaves the lock object; the next update fails on it until
    `pulumi cancel` deletes it; then it completes and the state is intact."""
    ws, backend = deployed
    killed = start_up(ws, SITE, "killed")
    wait_for_lock(backend, killed)
    killed.kill()
    assert backend.keys(LOCKS), "the killed update's lock should still be there"
    blocked = ws.up(SITE)
    assert blocked.returncode != 0 and LOCKED.search(blocked.output), blocked.output[-3000:]
    cancel = ws.run(["cancel", "-s", SITE, "--yes", "--non-interactive"])
    assert cancel.returncode == 0, cancel.output
    assert backend.keys(LOCKS) == []
    up = ws.up(SITE)
    assert up.returncode == 0, up.output[-3000:]
    assert_intact(ws, backend)


def test_listing_a_missing_bucket_is_an_error(s3_server):
    with pytest.raises(S3Error):
        s3_server.list_objects("sitekit-no-such-bucket")


# ------------------------------------------------------------------------------------------- racing rollouts
@pytest.fixture(scope="module")
def hub_on_s3(tmp_path_factory, pulumi_cli, s3_server):
    """us-ashburn (the hub: the accepting end of its peerings, so it needs no other stack) in a bucket of its own,
    nothing deployed yet: two rollouts of it race from the start."""
    backend = s3_server.backend("sitekit-state-rollouts")
    return new_workspace(tmp_path_factory, pulumi_cli, "s3-rollouts", stacks=[HUB], backend=backend), backend


def test_two_rollouts_racing_for_one_stack_never_both_apply(hub_on_s3):
    """Issue 18: two `sitekit rollout run` of us-ashburn started together on the S3 backend. Each previews (no
    lock) and saves its plan, then applies it; the DIY lock lets at most one apply run, and the other fails (on
    the lock, or, once the first has applied, because its saved plan no longer matches the state). Either way
    the state is intact afterwards: no lock, no pending operation, and a preview has nothing to change."""
    import subprocess
    import sys

    from sitekit.engine.workspace import PACKAGE_ROOT

    ws, backend = hub_on_s3
    env = dict(ws.env(), PYTHONPATH=str(PACKAGE_ROOT), PULUMI_BACKEND_URL=backend.url, **backend.env)
    command = [sys.executable, "-c", "from sitekit.cli.main import app; app()", "rollout", "run", HUB, "--all",
               "--canary", "none", "--no-progress"]
    racers = [subprocess.Popen(command + ["--journal", str(ws.project / f"race-{n}.json")], cwd=ws.project, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for n in (1, 2)]
    outputs = [r.communicate(timeout=1800)[0] for r in racers]
    codes = [r.returncode for r in racers]
    assert codes.count(0) <= 1, outputs
    for code, output in zip(codes, outputs):
        if code != 0:
            assert code == 1 and output.splitlines()[0].startswith("rollout: FAILED"), output[-3000:]
            assert LOCKED.search(output) or "plan" in output, output[-3000:]
    if 0 not in codes:  # both backed off: the next rollout applies
        again = subprocess.run(command, cwd=ws.project, env=env, capture_output=True, text=True, timeout=1800)
        assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]
    assert backend.keys(f".pulumi/locks/organization/sitekit/{HUB}/") == []
    state = json.loads(ws.run(["stack", "export", "-s", HUB], check=True).stdout)
    assert not state["deployment"].get("pending_operations") and len(state["deployment"]["resources"]) > 100
    preview = ws.preview_events(HUB)
    assert preview.returncode == 0 and {s["op"] for s in preview.steps} <= {"same", "read"}, preview.text()[-3000:]
