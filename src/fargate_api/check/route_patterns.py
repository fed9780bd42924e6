"""Whether one listener rule's conditions match every request another's match.

The load balancer tries a listener's rules by priority and the first match wins, so a
rule whose requests an earlier rule already takes never sees traffic. Deciding that is a
judgement with ELB's matching semantics (host-header and path-pattern globs, `*` any run
of characters, `?` exactly one; host names compared without case), made here so that
the rule module only reports it.

Every answer errs towards "no": a `False` only means "not shown to shadow", so an
unknown value, a condition type this module does not model, or a cover that needs the
union of several patterns never turns into a finding.
"""

from __future__ import annotations

from fargate_api.route_globs import glob_covers
from fargate_api.templates.load_balancing import Condition, ListenerRuleView

PATH_PATTERN = "path-pattern"
HOST_HEADER = "host-header"
GLOB_FIELDS = (PATH_PATTERN, HOST_HEADER)


def covers(earlier: ListenerRuleView, later: ListenerRuleView) -> bool:
    """True when every request `later` matches is matched by `earlier` too.

    Conditions are ANDed and a condition's values ORed. Each condition of `earlier` must
    hold for all of `later`'s requests: it does when it matches everything, or when
    `later` has a known condition of the same field whose every pattern one of its
    patterns covers. An `earlier` condition on headers, query strings, methods or source
    addresses narrows `earlier` in a way not judged here: then False.
    """
    if not earlier.conditions_known:
        return False
    for condition in earlier.conditions:
        if not condition.known or condition.field not in GLOB_FIELDS:
            return False
        if condition.matches_all:
            continue
        if not any(_condition_covers(condition, other) for other in later.conditions):
            return False
    return True


def _condition_covers(earlier: Condition, later: Condition) -> bool:
    if later.field != earlier.field or not later.known:
        return False
    fold = earlier.field == HOST_HEADER
    patterns = [_norm(v, fold) for v in earlier.values]
    return all(any(glob_covers(p, _norm(v, fold)) for p in patterns) for v in later.values)


def _norm(value: str, fold: bool) -> str:
    return value.lower() if fold else value
