"""FA105: VPC endpoints for ECR, S3 and CloudWatch Logs keep AWS traffic off the NAT.

Informational: with NAT gateways the tasks work without endpoints, but every image pull
and log line is billed per GB through NAT and depends on it.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.endpoints import missing_endpoints
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.network import VPC


class NoVpcEndpoints(Rule):
    meta = RuleMeta(
        id="FA105",
        name="no-vpc-endpoints",
        severity=Severity.INFO,
        title="The VPC has no endpoints for ECR, S3 and CloudWatch Logs",
        why="Without endpoints, image pulls, log delivery and S3 access of the tasks go "
        "through the NAT gateways: NAT data processing is billed per GB, and a NAT or AZ "
        "problem also stops deployments and logging.",
        fix="Add interface endpoints for ecr.api, ecr.dkr and logs in the private subnets and "
        "a gateway endpoint for s3 on their route tables (fargate-api: "
        "network.vpc_endpoints = true).",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for vpc in ctx.resources(VPC):
            missing = missing_endpoints(ctx, vpc)
            if missing:
                yield self.finding(
                    vpc,
                    f"VPC {vpc.logical_id} has no VPC endpoint for: {', '.join(missing)}; that "
                    "traffic goes through NAT",
                )


RULE = NoVpcEndpoints()
