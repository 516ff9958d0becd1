"""Entry point Pulumi runs (`pulumi up -s <site>`); `sitekit plan <site>` runs this same file offline."""

from pathlib import Path

from sitekit.region.program import main

main(Path(__file__).resolve().parent)
