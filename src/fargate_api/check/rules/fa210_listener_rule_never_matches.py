"""FA210: a listener rule that an earlier rule on the same listener always wins against.

The load balancer evaluates a listener's rules by priority, lowest number first, and the
first rule that matches takes the request. A rule whose requests an earlier rule matches
too never receives any: its service gets no traffic, although every resource deploys and
looks right in the console (a "/*" rule ahead of "/api/*", a host rule ahead of the same
host with a path). Judged only on host-header and path-pattern conditions with values
known statically; an earlier rule with another kind of condition (headers, query string,
method, source address) may let requests through, so it is not judged.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.naming import label
from fargate_api.check.route_patterns import covers
from fargate_api.check.rule import Rule
from fargate_api.templates.load_balancing import ListenerRuleView, read_listener
from fargate_api.templates.topology import LISTENER


class ListenerRuleNeverMatches(Rule):
    meta = RuleMeta(
        id="FA210",
        name="listener-rule-never-matches",
        severity=Severity.WARNING,
        title="A listener rule never matches: an earlier rule takes every request it would",
        why="The load balancer tries a listener's rules by priority and the first match wins; "
        "when a rule with a lower priority number matches everything a later rule matches, "
        "the later rule's target never receives a request, and nothing fails to say so.",
        fix="Give the narrower rule the lower priority number (more specific paths and hosts "
        "first), or narrow the earlier rule's conditions (fargate-api: [[services]] priority, "
        "paths and hosts).",
        references=References(
            docs=(
                "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/"
                "listener-update-rules.html",
            )
        ),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for listener in ctx.resources(LISTENER):
            rules = [r for r in read_listener(ctx, listener).rules if r.priority is not None]
            rules.sort(key=_priority)
            for later in rules:
                earlier = next(
                    (
                        rule
                        for rule in rules
                        if _priority(rule) < _priority(later) and covers(rule, later)
                    ),
                    None,
                )
                if earlier is None:
                    continue
                here = later.resource
                yield self.finding(
                    here,
                    f"rule {here.logical_id} (priority {later.priority}) on listener "
                    f"{label(listener, here)} never matches: rule "
                    f"{label(earlier.resource, here)} comes first (priority "
                    f"{earlier.priority}: {describe(earlier)}) and matches every request it "
                    "would",
                    ("Properties", "Priority"),
                )


def _priority(rule: ListenerRuleView) -> int:
    return rule.priority if rule.priority is not None else 0


def describe(rule: ListenerRuleView) -> str:
    """'path-pattern /api/*, /v1/*; host-header api.example.com' or 'no condition'."""
    parts = [f"{c.field} {', '.join(c.values)}" for c in rule.conditions]
    return "; ".join(parts) or "no condition"


RULE = ListenerRuleNeverMatches()
