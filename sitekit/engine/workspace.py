"""Running the real `pulumi` CLI with no cloud and no credentials: a throwaway PULUMI_HOME holding the stand-in
OCI provider, a local file backend (or another DIY backend URL, such as an S3 bucket on a local server, with its
credentials in the environment), the passphrase secrets provider, and a scratch copy of the project.

Nothing here touches the user's tree, their ~/.pulumi or their stacks: every command runs in the scratch copy
with its own home, and automatic plugin downloads are off, so the stand-in can never be mistaken for the
real provider by a real deployment (it is installed only under the throwaway home).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from sitekit.engine.provider import oci_version
from sitekit.errors import SitekitError

# The CLI version `make pulumi` builds (tools/pulumi/go.mod); a pulumi on PATH of at least MIN_VERSION works.
PULUMI_VERSION = "3.274.1"
MIN_VERSION = (3, 221, 0)  # Python policy packs start through the language host's RunPlugin since 3.221
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder holding this sitekit package
PASSPHRASE = "sitekit-throwaway-passphrase"  # protects only the throwaway backend's test secrets
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", ".pulumi", ".tools", "__pycache__", "*.pyc", ".pytest_cache",
                                     ".hypothesis", "*.egg-info", "review.md", "*.sarif")


class EngineError(SitekitError):
    """The Pulumi CLI is missing or a command failed in a way that is not the user's input."""


def _version_of(binary: str | os.PathLike) -> tuple[int, ...] | None:
    try:
        text = subprocess.run([str(binary), "version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"v?(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(x) for x in m.groups()) if m else None


def find_pulumi(root: Path) -> Path | None:
    """The `pulumi` to use: $SITEKIT_PULUMI, else the one `make pulumi` built (.pulumi/bin), else one on PATH of
    a compatible version (>= 3.221, with its own Python language host beside it)."""
    explicit = os.environ.get("SITEKIT_PULUMI")
    if explicit:
        return Path(explicit)
    for folder in dict.fromkeys([root, PACKAGE_ROOT]):  # the project's own build, or this sitekit checkout's
        built = folder / ".pulumi" / "bin" / "pulumi"
        if built.exists():
            return built
    found = shutil.which("pulumi")
    if found and (_version_of(found) or (0,)) >= MIN_VERSION:
        return Path(found)
    return None


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self):
        return json.loads(self.stdout)


class Workspace:
    """A scratch project and a throwaway Pulumi home under `folder` (which the caller owns and removes)."""

    def __init__(self, source: Path, folder: Path, pulumi: Path | None = None, python_path: Path | None = None,
                 backend_url: str | None = None, backend_env: Mapping[str, str] | None = None):
        self.source = source.resolve()
        self.folder = folder.resolve()
        self.pulumi = pulumi or find_pulumi(self.source)
        if self.pulumi is None:
            raise EngineError("no pulumi CLI: run `make pulumi` (needs Go 1.26) or put pulumi >= 3.221 on PATH")
        self.project = self.folder / "project"
        self.home = self.folder / "home"
        self.state = self.folder / "state"
        self.python_path = python_path  # a tree whose sitekit comes first (review's base side)
        # The state backend: a file backend under the scratch folder unless a DIY backend URL is given (e.g.
        # s3://bucket?endpoint=...), with the variables it needs (AWS_ACCESS_KEY_ID, ...) added to every command.
        self.backend_url = backend_url or f"file://{self.state}"
        self.backend_env = dict(backend_env or {})
        self.installed = False

    # ---------------------------------------------------------------------------------------- set-up
    def env(self) -> dict[str, str]:
        venv_bin = Path(sys.executable).parent
        path = os.pathsep.join([str(self.pulumi.parent), str(venv_bin), "/usr/local/bin", "/usr/bin", "/bin"])
        env = {"PATH": path, "HOME": str(self.home), "PULUMI_HOME": str(self.home),
               "PULUMI_BACKEND_URL": self.backend_url, "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
               "PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
               "PULUMI_SKIP_CONFIRMATIONS": "true", "PULUMI_COPILOT": "false", "NO_COLOR": "1",
               "LANG": "C.UTF-8", "TMPDIR": str(self.folder)}
        if self.python_path is not None:
            env["PYTHONPATH"] = str(self.python_path)
        env.update(self.backend_env)
        return env

    def copy_project(self, source: Path | None = None, name: str = "project") -> Path:
        """Copy a project tree (default: the workspace's source) into the scratch folder under `name` and make it
        the project the commands run in; the virtualenv is linked, not copied."""
        self.project = self.folder / name
        if self.project.exists():
            shutil.rmtree(self.project)
        shutil.copytree(source or self.source, self.project, ignore=COPY_IGNORE, symlinks=True)
        link = self.project / ".venv"
        if link.is_symlink() or link.exists():
            link.unlink() if link.is_symlink() else shutil.rmtree(link)
        link.symlink_to(Path(sys.prefix), target_is_directory=True)
        return self.project

    def install_provider(self) -> None:
        """Install the stand-in OCI provider into the throwaway home, under pulumi_oci's own version."""
        if self.installed:
            return
        for folder in (self.home, self.state):
            folder.mkdir(parents=True, exist_ok=True)
        launcher = self.folder / "pulumi-resource-oci"
        # The provider is this sitekit's, whatever tree the program comes from (-P: not the working folder).
        # Faults (tests only) are read from a file inside this throwaway home, named here and nowhere else.
        launcher.write_text("#!/bin/sh\n# sitekit's stand-in OCI provider (tests and review only)\n"
                            f"SITEKIT_STANDIN_FAULTS={self.faults_file} PYTHONPATH={PACKAGE_ROOT} "
                            f"exec {sys.executable} -P -m sitekit.engine.provider \"$@\"\n")
        launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        self.run(["plugin", "install", "resource", "oci", oci_version(), "--file", str(launcher)], check=True,
                 cwd=self.folder)
        self.run(["login", self.backend_url], check=True, cwd=self.folder)
        self.installed = True

    @property
    def faults_file(self) -> Path:
        """The stand-in provider's faults (tests only): a JSON list, see `sitekit.engine.provider.fault`."""
        return self.home / "sitekit-standin-faults.json"

    def inject(self, faults: list[dict]) -> None:
        """Make the stand-in fail, exit or hang on the named resources' operations (an empty list: none)."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.faults_file.write_text(json.dumps(faults))
        hit = Path(f"{self.faults_file}.hit")
        if hit.exists():
            hit.unlink()

    # ---------------------------------------------------------------------------------------- commands
    def run(self, args: Sequence[str], check: bool = False, cwd: Path | None = None, timeout: float = 900,
            input: str | None = None) -> Result:
        cmd = [str(self.pulumi), *args]
        done = subprocess.run(cmd, cwd=cwd or self.project, env=self.env(), capture_output=True, text=True,
                              timeout=timeout, input=input)
        result = Result(list(args), done.returncode, done.stdout, done.stderr)
        if check and done.returncode != 0:
            raise EngineError(f"pulumi {' '.join(args)} failed ({done.returncode}):\n{result.output[-4000:]}")
        return result

    def init_stack(self, stack: str) -> None:
        """Create the stack in the workspace's backend (passphrase secrets); the stack file keeps its config."""
        self.install_provider()
        self.run(["stack", "init", stack, "--secrets-provider", "passphrase", "--non-interactive"], check=True)

    def preview(self, stack: str, *extra: str) -> Result:
        return self.run(["preview", "-s", stack, "--non-interactive", "--color", "never", *extra])

    def up(self, stack: str, *extra: str) -> Result:
        return self.run(["up", "-s", stack, "--yes", "--skip-preview", "--non-interactive", "--color", "never",
                         *extra])

    def preview_events(self, stack: str, *extra: str) -> "Preview":
        """`pulumi preview --json` with the engine's event stream (PULUMI_ENABLE_STREAMING_JSON_PREVIEW): the
        steps, the policy violations (which the plain --json digest leaves out) and the diagnostics."""
        cmd = [str(self.pulumi), "preview", "-s", stack, "--json", "--non-interactive", "--color", "never", *extra]
        env = dict(self.env(), PULUMI_ENABLE_STREAMING_JSON_PREVIEW="true")
        done = subprocess.run(cmd, cwd=self.project, env=env, capture_output=True, text=True, timeout=900)
        return Preview.parse(done.returncode, done.stdout, done.stderr)


@dataclass
class Preview:
    """What one `pulumi preview` said, from its event stream."""

    returncode: int
    steps: list[dict]  # resourcePreEvent metadata: op, urn, type, old, new, diffs, detailedDiff...
    violations: list[dict]  # policyEvent: policyName, enforcementLevel, resourceUrn, message
    diagnostics: list[dict]  # diagnosticEvent above debug: severity, message, urn
    summary: dict
    stdout: str
    stderr: str

    @classmethod
    def parse(cls, returncode: int, stdout: str, stderr: str) -> "Preview":
        steps, violations, diagnostics, summary = [], [], [], {}
        for line in stdout.splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            event = json.loads(line)
            if "resourcePreEvent" in event:
                steps.append(event["resourcePreEvent"]["metadata"])
            elif "policyEvent" in event:
                violations.append(event["policyEvent"])
            elif "diagnosticEvent" in event and event["diagnosticEvent"].get("severity") != "debug":
                diagnostics.append(event["diagnosticEvent"])
            elif "summaryEvent" in event:
                summary = event["summaryEvent"]
        return cls(returncode, steps, violations, diagnostics, summary, stdout, stderr)

    def text(self) -> str:
        """Everything the run printed, for asserting that a value never shows."""
        return self.stdout + self.stderr
