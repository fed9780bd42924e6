"""FA107: the VPC must have flow logs.

They are the only record of who talked to the tasks and the NAT gateways; they cannot
be turned on after an incident for the traffic that already happened.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.network import VPC


class VpcFlowLogs(Rule):
    meta = RuleMeta(
        id="FA107",
        name="vpc-flow-logs",
        severity=Severity.WARNING,
        title="The VPC has no flow logs",
        why="Without flow logs there is no record of accepted and rejected connections to the "
        "load balancer, the tasks and the NAT gateways, for incident response or for "
        "debugging security group rules.",
        fix="Add an AWS::EC2::FlowLog with ResourceType VPC, TrafficType ALL, to CloudWatch "
        "Logs (with a retention) or S3.",
        references=References(fsbp=("EC2.6",)),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for vpc in ctx.resources(VPC):
            if not any(ctx.referrers(vpc, "AWS::EC2::FlowLog", "ResourceId")):
                yield self.finding(vpc, f"VPC {vpc.logical_id} has no flow log")


RULE = VpcFlowLogs()
