"""Finds the rule plugins: every module in fargate_api.check.rules holds exactly one.

Adding a rule is adding a module; nothing else lists them. The checks below make a
broken plugin fail loudly at import time (and in the tests), never silently vanish.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache
from types import ModuleType

from fargate_api.check import rules as rules_package
from fargate_api.check.rule import Rule

RULE_ID = re.compile(r"^FA\d{3}$")


class RuleRegistryError(Exception):
    """A rule module breaks the plugin contract: a bug in fargate-api, not user input."""


@cache
def load_rules() -> tuple[Rule, ...]:
    found: dict[str, Rule] = {}
    for info in pkgutil.iter_modules(rules_package.__path__):
        module = importlib.import_module(f"{rules_package.__name__}.{info.name}")
        rule = rule_of(module)
        if rule.meta.id in found:
            raise RuleRegistryError(f"rule id {rule.meta.id} is used twice ({info.name})")
        found[rule.meta.id] = rule
    return tuple(found[rule_id] for rule_id in sorted(found))


def rule_of(module: ModuleType) -> Rule:
    name = module.__name__.rsplit(".", 1)[-1]
    rule = getattr(module, "RULE", None)
    if not isinstance(rule, Rule):
        raise RuleRegistryError(f"rule module {name} has no RULE = <Rule instance>")
    rule_id = rule.meta.id
    if not RULE_ID.match(rule_id):
        raise RuleRegistryError(
            f"rule module {name}: id {rule_id!r} is not FA followed by 3 digits"
        )
    if not name.startswith(rule_id.lower() + "_"):
        raise RuleRegistryError(f"rule module {name} must be named {rule_id.lower()}_<name>")
    return rule
