"""FA108: the VPC's default security group must be emptied.

CloudFormation cannot change the default group's rules, so the accepted way is a custom
resource that revokes them (CDK's restrictDefaultSecurityGroup does exactly this). We
look for any custom resource that is handed the VPC's DefaultSecurityGroup attribute.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates import AttributeRef, Resource
from fargate_api.templates.network import VPC
from fargate_api.templates.props import walk


class DefaultSecurityGroup(Rule):
    meta = RuleMeta(
        id="FA108",
        name="default-security-group-open",
        severity=Severity.WARNING,
        title="The VPC's default security group keeps its default rules",
        why="The default security group allows all traffic between its members and all "
        "egress. Anything launched without an explicit group lands in it, quietly connected "
        "to everything else that did the same.",
        fix="Add a custom resource that revokes the default group's rules (as CDK's "
        "restrictDefaultSecurityGroup does), passing it Fn::GetAtt VPC.DefaultSecurityGroup.",
        references=References(fsbp=("EC2.2",)),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        lockdowns = [r for r in ctx.resources() if _is_custom(r)]
        for vpc in ctx.resources(VPC):
            wanted = AttributeRef(vpc.stack, vpc.logical_id, "DefaultSecurityGroup")
            if not any(value == wanted for r in lockdowns for _, value in walk(r.properties)):
                yield self.finding(
                    vpc,
                    f"nothing revokes the rules of VPC {vpc.logical_id}'s default security group",
                )


def _is_custom(resource: Resource) -> bool:
    return resource.type.startswith("Custom::") or resource.type == (
        "AWS::CloudFormation::CustomResource"
    )


RULE = DefaultSecurityGroup()
