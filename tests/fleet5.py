"""A fleet of five sites for rollout tests: the three shipped ones, plus us-phoenix and de-frankfurt stamped by
`sitekit new-site`, with us-phoenix peered to the hub us-ashburn. us-ashburn's name sorts first, so the hub (the
default canary of the tests) is the requesting end of that peering and waits for us-phoenix."""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from sitekit.cli.main import app

STAMPED = {"us-phoenix": ("us", "us-phoenix-1"), "de-frankfurt": ("de", "eu-frankfurt-1")}
ENERGY = {"de": ["--commissioned", "2027-01-01", "--energy-reuse", "0.2"]}
"""What new-site needs where the profile sets energy limits (EnEfG § 11: the commissioning day decides)."""
SITES = ["ar-patagonia", "br-saopaulo", "de-frankfurt", "us-ashburn", "us-phoenix"]
WAVES = [["us-phoenix"], ["us-ashburn"], ["ar-patagonia", "br-saopaulo", "de-frankfurt"]]
"""The waves of `--all --canary us-ashburn`: the accepting end first, then the canary, then the rest."""


def add_peer(project: Path, site: str, peer: str) -> None:
    """Name `peer` among `site`'s peers (a new `sitekit:peers` list when it has none)."""
    path = project / f"stacks/Pulumi.{site}.yaml"
    text = path.read_text()
    if "  sitekit:peers:\n" in text:
        text = text.replace("  sitekit:peers:\n", f"  sitekit:peers:\n    - site: {peer}\n", 1)
    else:
        text = text.rstrip("\n") + f"\n  sitekit:peers:\n    - site: {peer}\n"
    path.write_text(text)


def stamp_fleet(project: Path) -> Path:
    """Stamp the two sites into a project copy and peer us-phoenix with us-ashburn."""
    here = Path.cwd()
    os.chdir(project)
    try:
        for name, (code, region) in STAMPED.items():
            done = CliRunner().invoke(app, ["new-site", name, "-j", code, "-r", region, *ENERGY.get(code, [])])
            assert done.exit_code == 0, done.output
    finally:
        os.chdir(here)
    add_peer(project, "us-ashburn", "us-phoenix")
    add_peer(project, "us-phoenix", "us-ashburn")
    return project
