"""terraform-provider-oci's replace-on-change facts per pulumi-oci type token, as the JSON beside this module
(`oci-replace-on-change.json`) records them, with their source (`source()`: commits, generator, caveats).

Read as they are: which input paths force a replacement (`forceNew`, `nestedForceNew`), which only under a
CustomizeDiff (`conditionalForceNew`), which keep their old value when dropped (`optionalComputed`) and which
the provider compares ignoring case (`ignoreCase`). The judgement of a change is sitekit/oci/replacement.py;
the table of OCI types (sitekit/oci/types.py) links each type to its row here.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FACTS = Path(__file__).resolve().parent / "oci-replace-on-change.json"


@dataclass(frozen=True)
class Facts:
    force_new: frozenset[str]
    nested_force_new: frozenset[str]
    conditional: frozenset[str]
    optional_computed: frozenset[str]
    ignore_case: frozenset[str]

    def forces(self, template: str) -> bool:
        return template in self.force_new or template in self.nested_force_new


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    return json.loads(FACTS.read_text())


def source() -> dict[str, Any]:
    """Where the facts come from (commits, generator, caveats)."""
    return _table()["source"]


@functools.lru_cache(maxsize=None)
def facts(type_: str) -> Facts | None:
    """The facts of one type token, or None for a type the table does not cover."""
    row = _table()["resources"].get(type_)
    if row is None:
        return None
    return Facts(frozenset(row["forceNew"]), frozenset(row["nestedForceNew"]),
                 frozenset(row["conditionalForceNew"]), frozenset(row["optionalComputed"]),
                 frozenset(row["ignoreCase"]))
