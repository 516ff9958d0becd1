"""Checks of the policy settings a site and its jurisdiction give: every rule id they name must exist, a
waiver cannot waive the waiver rules, and a waiver's resource must be one the site declares.

Problems are bad input (exit 2), each with the file and line that set the value and the nearest rule id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from ..errors import Problem, nearest
from ..sources import PathKey, dotted
from .model import RULES

if TYPE_CHECKING:
    from ..loader import LoadedSite

UNWAIVABLE = ("SK-GOV-006", "SK-GOV-007")


def settings_problems(site: "LoadedSite", resource_names: Iterable[str] | None = None) -> list[Problem]:
    problems: list[Problem] = []

    def add(path: PathKey, message: str) -> None:
        origin = site.origin(path)
        problems.append(Problem(origin.file if origin else "?", origin.line if origin else None, dotted(path), message))

    def known(path: PathKey, rule_id: str) -> bool:
        if rule_id not in RULES:
            add(path, f"unknown policy rule '{rule_id}'; {nearest(rule_id, RULES)}")
            return False
        return True

    spec = site.spec
    for rule_id in spec.jurisdiction.policy.enforcement:
        known(("jurisdiction", "policy", "enforcement", rule_id), rule_id)
    for rule_id in spec.policy.enforcement:
        known(("policy", "enforcement", rule_id), rule_id)
    names = sorted(set(resource_names)) if resource_names is not None else None
    for i, waiver in enumerate(spec.policy.waivers):
        path = ("policy", "waivers", i)
        if known(path + ("rule",), waiver.rule) and waiver.rule in UNWAIVABLE:
            add(path + ("rule",), f"{waiver.rule} cannot be waived")
        if names is not None and waiver.resource is not None and waiver.resource not in names:
            add(path + ("resource",), f"no resource named '{waiver.resource}' in the site; {nearest(waiver.resource, names)}")
    return problems
