"""The `sitekit` command line, assembled: every command module registers its commands on `cli.app.app`.

The console script is `sitekit.cli.main:app`; tests invoke the same `app`. The imports below are in the order
the commands are listed by `sitekit --help`.
"""

# isort: off
from sitekit.cli import sites, fleet, capacity, stamp, policy, review, rollout, drift  # noqa: F401  (each registers its commands)
# isort: on
from sitekit.cli.app import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover - console entry
    app()
