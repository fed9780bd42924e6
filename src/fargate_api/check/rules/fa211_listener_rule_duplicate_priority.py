"""FA211: two rules on one listener with the same priority.

A listener's rule priorities must be distinct: CloudFormation creates the first rule and
fails the second with "Priority ... is currently in use", which rolls the stack back at
deploy time, after everything before it was created. The rules often live in different
stacks (one per service behind a shared listener), where no single template shows both.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.naming import label, labels
from fargate_api.check.rule import Rule
from fargate_api.templates import Resource
from fargate_api.templates.load_balancing import read_listener
from fargate_api.templates.topology import LISTENER


class ListenerRuleDuplicatePriority(Rule):
    meta = RuleMeta(
        id="FA211",
        name="listener-rule-duplicate-priority",
        severity=Severity.ERROR,
        title="Two rules on one listener have the same priority",
        why="Priorities on a listener must be unique: the deploy creates one rule and fails on "
        "the other (PriorityInUse), rolling its stack back.",
        fix="Give each rule on the listener its own priority (fargate-api: [[services]] "
        "priority, or leave it out for 10, 20, ... in the services' order).",
        references=References(
            docs=(
                "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/"
                "aws-resource-elasticloadbalancingv2-listenerrule.html",
            )
        ),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for listener in ctx.resources(LISTENER):
            by_priority: dict[int, list[Resource]] = {}
            for view in read_listener(ctx, listener).rules:
                if view.priority is not None:
                    by_priority.setdefault(view.priority, []).append(view.resource)
            for priority, rules in sorted(by_priority.items()):
                if len(rules) < 2:
                    continue
                for rule in rules:
                    others = labels([r for r in rules if r is not rule], rule)
                    yield self.finding(
                        rule,
                        f"rule {rule.logical_id} on listener {label(listener, rule)} has "
                        f"priority {priority}, as does {others}: the deploy fails on "
                        "whichever is created second",
                        ("Properties", "Priority"),
                    )


RULE = ListenerRuleDuplicatePriority()
