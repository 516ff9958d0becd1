"""sitekit's policy rules: one small named function per rule, shared by the CrossGuard pack (policies/) and
the offline runner (`sitekit policy`). Importing the package registers every rule in `RULES`.

Flow: resources (plan or engine) -> `Res`/`Stack` + `PolicyContext` -> rule functions -> CrossGuard policies
(`pack.build_policies`) -> findings (`runner.evaluate`) -> reports (`render`).
"""

from sitekit.policy.model import RULES, Res, Rule, Stack
from sitekit.policy.rules import (  # noqa: F401  (registers the rules)
    compute,
    data,
    governance,
    guardrails,
    identity,
    monitoring,
    network,
    peering,
)

__all__ = ["RULES", "Res", "Rule", "Stack"]
