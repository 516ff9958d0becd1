"""A deliberately broken copy of us-ashburn, shared by the offline policy tests and the engine tests.

It opens SSH and RDP to the internet, grants manage all-resources in the tenancy, turns off key rotation, and its
profile keeps logs 30 days (a site may not: retention is locked) below the profile's own policy floor of 180.
Expected mandatory failures: SK-NET-003, SK-IAM-001, SK-KEY-002, SK-GOV-003, SK-GOV-006 (SK-NET-004 is waived;
the SK-IAM-001 waiver has expired).
"""

from __future__ import annotations

from pathlib import Path

STACK = "stacks/Pulumi.us-ashburn.yaml"

BAD_OVERRIDES = """\
  sitekit:overrides:
    network:
      nsgs:
        - name: debug
          network: gpu
          rules:
            - {direction: ingress, protocol: tcp, ports: "22", peer: 0.0.0.0/0, description: debug SSH}
            - {direction: ingress, protocol: tcp, ports: "3389", peer: 0.0.0.0/0, description: debug RDP}
    security:
      keys:
        - {name: storage, rotationDays: null}
    iam:
      statements:
        - "Allow group {group} to read all-resources in {compartment:site}"
        - "Allow group {group} to manage all-resources in tenancy"
"""
PROFILE = "stacks/jurisdictions/us.yaml"

WAIVERS = """\
  sitekit:policy:
    waivers:
      - rule: SK-NET-004
        resource: us-ashburn-nsg-debug-ingress-tcp-3389-0-0-0-0-0
        reason: "Vendor remote console during burn-in, approved by security (SEC-118)"
        expires: 2099-12-31
      - rule: SK-IAM-001
        reason: "Break-glass grant during the tenancy migration (SEC-77)"
        expires: 2020-01-31
"""

EXPECTED_FAILURES = {"SK-NET-003", "SK-IAM-001", "SK-KEY-002", "SK-GOV-003", "SK-GOV-006"}


def break_site(root: Path) -> Path:
    """Break the us-ashburn stack and its profile in the project copy at `root`; return `root`."""
    path = root / STACK
    path.write_text(path.read_text() + BAD_OVERRIDES + WAIVERS)
    profile = root / PROFILE
    profile.write_text(profile.read_text().replace("    logDays: 180", "    logDays: 30", 1))
    return root
