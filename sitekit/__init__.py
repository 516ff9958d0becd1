"""sitekit: one standard AI region on Oracle Cloud, stamped per site with jurisdiction overrides."""

from pathlib import Path

__version__ = "0.1.0"

ROOT = Path(__file__).resolve().parent.parent
"""The project root (where Pulumi.yaml lives)."""
