"""FA604: a parent passes exactly the parameters its nested stack declares.

CloudFormation rejects an undeclared parameter and a missing required one only when the
nested stack is created, deep inside a deployment; both are visible in the files.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.rule import Rule


class NestedStackParameters(Rule):
    meta = RuleMeta(
        id="FA604",
        name="nested-stack-parameter-mismatch",
        severity=Severity.ERROR,
        title="A nested stack gets a parameter it does not declare, or misses a required one",
        why="The deployment fails when CloudFormation creates the nested stack, after the "
        "stacks before it were already created, and then rolls everything back.",
        fix="Pass every child parameter that has no Default, and only parameters the child "
        "template declares.",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for link in ctx.links():
            parent = ctx.stack_resource(link.parent, link.resource)
            if parent is None:
                continue
            for name in link.undeclared:
                yield self.finding(
                    parent,
                    f"nested stack {link.resource} is passed {name}, which its template does "
                    "not declare",
                    ("Properties", "Parameters", name),
                )
            for name in link.missing:
                yield self.finding(
                    parent,
                    f"nested stack {link.resource} needs parameter {name} (no default), which "
                    "is not passed",
                    ("Properties", "Parameters"),
                )


RULE = NestedStackParameters()
