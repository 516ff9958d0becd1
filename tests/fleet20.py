"""A fleet of twenty sites for the fleet report's browser test: the three shipped ones and seventeen stamped by
`sitekit new-site` (jurisdictions and regions in turn, as bench/scale_bench.py stamps them, each with its own power
envelope so no two history lines coincide), the stamped US sites peered with the hub us-ashburn (eight peering
connections at the hub, the most labels a site's network diagram draws), committed to git over three commits so
the history charts have twenty series and a change in them."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from fleet5 import add_peer
from typer.testing import CliRunner

from sitekit.cli.main import app

PLACES = [("us", "us-ashburn-1"), ("br", "sa-saopaulo-1"), ("de", "eu-frankfurt-1"), ("ae", "me-dubai-1"),
          ("us", "us-phoenix-1"), ("br", "sa-vinhedo-1"), ("de", "eu-stockholm-1"), ("ae", "me-abudhabi-1"),
          ("us", "us-chicago-1"), ("us", "us-sanjose-1")]
STAMPED = {f"s{i:02d}-{PLACES[i % len(PLACES)][0]}": PLACES[i % len(PLACES)] for i in range(17)}
HUB_PEERS = ["ar-patagonia", "br-saopaulo"] + sorted(s for s, (code, _) in STAMPED.items() if code == "us")


def git(project: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(project), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                   check=True, capture_output=True)


def commit(project: Path, message: str) -> None:
    git(project, "add", "-A")
    git(project, "commit", "-qm", message)


def shrink_first_pool(stack: Path, by: int) -> None:
    stack.write_text(re.sub(r"nodes: (\d+)", lambda m: f"nodes: {int(m.group(1)) - by}", stack.read_text(), count=1))


def stamp_fleet20(project: Path) -> Path:
    """Stamp the seventeen sites into a project copy, peer the US ones with us-ashburn, commit three times."""
    git(project, "init", "-q", "-b", "main")
    commit(project, "shipped sites")
    here = Path.cwd()
    os.chdir(project)
    try:
        for i, (name, (code, region)) in enumerate(STAMPED.items()):
            done = CliRunner().invoke(app, ["new-site", name, "-j", code, "-r", region, "--power-mw", str(10 + 2 * i)])
            assert done.exit_code == 0, done.output
    finally:
        os.chdir(here)
    for name in HUB_PEERS[2:]:
        add_peer(project, "us-ashburn", name)
        add_peer(project, name, "us-ashburn")
    commit(project, "seventeen stamped sites")
    for name in list(STAMPED)[:5]:
        shrink_first_pool(project / f"stacks/Pulumi.{name}.yaml", 2)
    commit(project, "five sites shrink their first pool")
    return project
