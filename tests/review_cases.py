"""Kinds of change a pull request makes to the sites, as edits of a project repository, for review tests.

`make_repo` commits a copy of the project (code included, so the base plans with its own code); each case edits
the working tree. `reset` puts the working tree back to the commit between cases.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sitekit import ROOT

US = "stacks/Pulumi.us-ashburn.yaml"
BR = "stacks/Pulumi.br-saopaulo.yaml"
BASELINE = "stacks/baseline.yaml"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def make_repo(path: Path) -> Path:
    for name in ("Pulumi.yaml", "__main__.py", "pyproject.toml"):
        shutil.copy(ROOT / name, path / name)
    for folder in ("sitekit", "stacks", "templates", "schema", "policies"):
        shutil.copytree(ROOT / folder, path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    commit(path, "base")
    return path


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", message)


def reset(repo: Path) -> None:
    git(repo, "checkout", "-q", "--", ".")
    git(repo, "clean", "-qfd")


def edit(repo: Path, file: str, old: str, new: str, count: int = 1) -> None:
    path = repo / file
    text = path.read_text()
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, count))


def append(repo: Path, file: str, text: str) -> None:
    path = repo / file
    path.write_text(path.read_text() + text)


@dataclass(frozen=True)
class Case:
    name: str
    site: str  # the site the review looks at
    apply: Callable[[Path], None]


def _new_site(repo: Path) -> None:
    sitekit = str(Path(sys.executable).parent / "sitekit")
    subprocess.run([sitekit, "new-site", "de-frankfurt", "-j", "de", "-r", "eu-frankfurt-1", "--power-mw", "20",
                    "--pue", "1.2", "--commissioned", "2027-01-01", "--energy-reuse", "0.2"], cwd=repo, check=True, capture_output=True)


def _component_code(repo: Path) -> None:
    edit(repo, "sitekit/region/foundation.py", 'description=f"Least-privilege access to AI site {ctx.name}"',
         'description=f"Least-privilege access to the AI site {ctx.name}"')


CASES = [
    Case("pool size", "us-ashburn", lambda r: edit(r, US, "nodes: 2048", "nodes: 1024")),
    Case("pool shape", "us-ashburn", lambda r: edit(r, US, "shape: BM.GPU.H100.8", "shape: BM.GPU.B200.8")),
    Case("pool renamed without alias", "us-ashburn", lambda r: edit(r, US, "- name: frontier", "- name: gb200")),
    Case("pool renamed with alias", "us-ashburn",
         lambda r: edit(r, US, "- name: frontier", "- name: gb200\n      formerNames: [frontier]")),
    Case("reservation AD", "us-ashburn",  # frontier's pool and its declared reservation move to AD-2
         lambda r: edit(r, US, "capacityReservation: declare", "capacityReservation: declare\n      availabilityDomain: 2")),
    Case("network CIDR", "us-ashburn", lambda r: edit(r, US, "storage: 10.64.144.0/24", "storage: 10.64.146.0/24")),
    Case("NSG rule port", "us-ashburn", lambda r: edit(r, BASELINE, "ports: \"22\"", "ports: \"2222\"")),
    Case("tag value", "us-ashburn", lambda r: edit(r, BASELINE, "costCentre: ai-infrastructure", "costCentre: ai-platform")),
    Case("vault type", "us-ashburn", lambda r: (
        edit(r, "stacks/jurisdictions/us.yaml", "    type: VIRTUAL_PRIVATE", "    type: DEFAULT"),
        append(r, US, "  sitekit:overrides:\n    security:\n      keys:\n"
                      "        - {name: storage, rotationDays: null}\n        - {name: compute, rotationDays: null}\n"
                      "        - {name: image-signing, rotationDays: null}\n"))),
    Case("bucket name", "us-ashburn", lambda r: edit(r, BASELINE, "{name: model-registry,", "{name: models,")),
    Case("new site", "de-frankfurt", _new_site),
    Case("site deleted", "br-saopaulo", lambda r: ((r / BR).unlink(), edit(r, US, "    - site: br-saopaulo\n", ""))),
    Case("whitespace only", "us-ashburn", lambda r: edit(r, US, "config:\n", "config:\n\n  # a comment\n")),
    Case("component code", "us-ashburn", _component_code),
    Case("Kubernetes version", "us-ashburn", lambda r: edit(r, BASELINE, "kubernetesVersion: v1.31.1",
                                                            "kubernetesVersion: v1.32.1")),
    Case("region", "br-saopaulo", lambda r: re_edit(r, BR, r"sitekit:region: sa-saopaulo-1", "sitekit:region: sa-vinhedo-1")),
]


def re_edit(repo: Path, file: str, pattern: str, new: str) -> None:
    path = repo / file
    text, n = re.subn(pattern, new, path.read_text(), count=1)
    assert n == 1, f"{pattern!r} not in {file}"
    path.write_text(text)
