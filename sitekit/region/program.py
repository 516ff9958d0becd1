"""The Pulumi program: stack config -> validated site spec -> one AiRegion, and its stack outputs.

`__main__.py` at the project root calls `main()`; `pulumi up -s <site>` and `sitekit plan <site>` run the
same file.
"""

from __future__ import annotations

import contextvars
import json
from pathlib import Path
from typing import Any

import pulumi

from sitekit.errors import SpecError
from sitekit.spec.loader import load_site
from sitekit.spec.stackconfig import KEYS, NAMESPACE, from_engine, integer_from_config
from sitekit.spec.stackfiles import SECRET


def read_config() -> tuple[dict[str, Any], pulumi.Output[str] | None]:
    """The stack's `sitekit:` values through pulumi.Config; secrets stay Outputs and are only flagged."""
    cfg = pulumi.Config(NAMESPACE)
    values: dict[str, Any] = {}
    secret = None
    for key in KEYS:
        if key.kind == "secret":
            secret = cfg.get_secret(key.name)
            if secret is not None:
                values[key.name] = SECRET
        elif key.kind in ("object", "array"):
            text = cfg.get(key.name)
            if text is not None:
                try:
                    values[key.name] = from_engine(json.loads(text))
                except (ValueError, RecursionError):  # `pulumi config set sitekit:images gpu` gives text, not JSON: the spec refuses it
                    values[key.name] = text
        elif key.kind == "integer":
            # read as text and converted as the offline loader does: get_int would raise on "true" or "abc"
            value = cfg.get(key.name)
            if value is not None:
                values[key.name] = integer_from_config(value)
        else:
            value = cfg.get(key.name)
            if value is not None:
                values[key.name] = value
    return values, secret


# A site already loaded from this very stack file by the offline planner (`offline.plan_site`), handed to the
# program so it is not loaded twice; under the engine nothing is handed over and the program loads it.
HANDOFF: contextvars.ContextVar[Any] = contextvars.ContextVar("sitekit_site", default=None)


def main(root: Path) -> None:
    """Declare the site of the current stack; `root` is the project folder (where Pulumi.yaml is)."""
    from sitekit.region.ai_region import AiRegion  # heavy: deferred

    values, alert_endpoint = read_config()
    stack = pulumi.get_stack()
    try:
        handed = HANDOFF.get()
        site = handed if handed is not None and handed.name == stack and handed.root == root.resolve() \
            else load_site(root, stack, values=values)
    except SpecError as exc:
        for problem in exc.problems:
            pulumi.log.error(str(problem))
        raise pulumi.RunError(f"the spec of site '{stack}' is invalid ({len(exc.problems)} problems)") from None
    region = AiRegion(stack, site, alert_endpoint=alert_endpoint)
    for key, value in region.outputs.items():
        pulumi.export(key, value)
