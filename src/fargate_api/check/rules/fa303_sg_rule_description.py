"""FA303: every security group rule says why it exists.

Rules without descriptions are the ones nobody dares to delete; audits ask for them.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.network import SECURITY_GROUP, egress_rules, ingress_rules
from fargate_api.templates.props import get

STANDALONE = ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress")


class SgRuleDescription(Rule):
    meta = RuleMeta(
        id="FA303",
        name="sg-rule-without-description",
        severity=Severity.INFO,
        title="A security group rule has no description",
        why="A rule without a description cannot be reviewed: nobody knows whether it is still "
        "needed, so it stays forever.",
        fix="Add a Description to every ingress and egress rule saying what it allows and why.",
        references=References(checkov=("CKV_AWS_23",)),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for group in ctx.resources(SECURITY_GROUP):
            # CloudFormation's implicit egress has no text to describe.
            rules = [*ingress_rules(ctx, group), *egress_rules(ctx, group, implicit=False)]
            for rule in rules:
                if rule.origin is group and not rule.description:
                    yield self.finding(
                        group,
                        f"a rule of security group {group.logical_id} ({rule.describe()}) "
                        "has no description",
                        rule.path,
                    )
        for resource in ctx.resources(*STANDALONE):
            if not get(resource.properties, "Description"):
                yield self.finding(
                    resource, f"security group rule {resource.logical_id} has no description"
                )


RULE = SgRuleDescription()
