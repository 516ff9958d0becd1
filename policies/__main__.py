"""sitekit's CrossGuard pack: `pulumi preview -s <site> --policy-pack policies [--policy-pack-config cfg.json]`.

This file only assembles the PolicyPack; the rules live in `sitekit.policy` (see docs/policies.md), and
`pack_args` explains how the pack finds the site (the stack's own sitekit: config). Never import this file:
building a PolicyPack starts its gRPC server and blocks.
"""

import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from pulumi_policy import PolicyPack  # noqa: E402

from sitekit.policy.pack import pack_args  # noqa: E402

PolicyPack(**pack_args(PROJECT))
