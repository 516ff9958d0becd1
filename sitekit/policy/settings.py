"""Checks of the policy settings a site and its jurisdiction give: every rule id they name must exist, a site
may raise a level but not lower it (it waives instead, with a reason and an expiry), nor change its
jurisdiction's policy section through `sitekit:overrides`, a waiver cannot waive the waiver rules, and a
waiver's resource must be one the site declares.

Problems are bad input (exit 2), each with the file and line that set the value and the nearest rule id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from sitekit.errors import Problem, clip, nearest
from sitekit.policy.model import RULES
from sitekit.spec.layout import stack_file
from sitekit.spec.sources import PathKey, dotted

if TYPE_CHECKING:
    from sitekit.spec.loaded import LoadedSite

UNWAIVABLE = ("SK-GOV-006", "SK-GOV-007")
RANK = {"disabled": 0, "advisory": 1, "mandatory": 2}


def settings_problems(site: "LoadedSite", resource_names: Iterable[str] | None = None) -> list[Problem]:
    problems: list[Problem] = []

    def add(path: PathKey, message: str) -> None:
        origin = site.origin(path)
        problems.append(Problem(origin.file if origin else "?", origin.line if origin else None, dotted(path), message))

    def known(path: PathKey, rule_id: str) -> bool:
        if rule_id not in RULES:
            add(path, f"unknown policy rule '{clip(rule_id)}'; {nearest(rule_id, RULES)}")
            return False
        return True

    stack = stack_file(site.name)
    for path, origin in site.provenance.items():
        if path[:2] == ("jurisdiction", "policy") and len(path) == 4 and origin.file == stack:
            add(path, "a site cannot change its jurisdiction's policy settings: raise a level under "
                      "sitekit:policy.enforcement, or accept a violation with a waiver (reason and expiry)")
    spec = site.spec
    for rule_id in spec.jurisdiction.policy.enforcement:
        known(("jurisdiction", "policy", "enforcement", rule_id), rule_id)
    for rule_id, level in spec.policy.enforcement.items():
        path = ("policy", "enforcement", rule_id)
        if known(path, rule_id):
            floor = spec.jurisdiction.policy.enforcement.get(rule_id, RULES[rule_id].level)
            if RANK[level] < RANK[floor]:
                add(path, f"a site may only raise a level ({rule_id} is {floor} for "
                          f"{spec.jurisdiction.name}); to accept a violation, add a waiver with a reason and an expiry")
    names = sorted(set(resource_names)) if resource_names is not None else None
    for i, waiver in enumerate(spec.policy.waivers):
        path = ("policy", "waivers", i)
        if known(path + ("rule",), waiver.rule) and waiver.rule in UNWAIVABLE:
            add(path + ("rule",), f"{waiver.rule} cannot be waived")
        if names is not None and waiver.resource is not None and waiver.resource not in names:
            hint = nearest(waiver.resource, names)
            add(path + ("resource",), f"no resource named '{clip(waiver.resource)}' in the site; {hint}")
    return problems
