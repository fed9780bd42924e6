"""FA104: every private subnet of the service needs a way out: NAT, or VPC endpoints.

Without a NAT route, Fargate can still pull images and ship logs through VPC endpoints
(ECR API, ECR Docker, S3, CloudWatch Logs). Without either, tasks fail to start with
"CannotPullContainerError" long after the stack deployed successfully.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.endpoints import missing_endpoints
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates import Resource
from fargate_api.templates.network import SUBNET, has_egress, is_public
from fargate_api.templates.props import get
from fargate_api.templates.topology import services


class PrivateSubnetEgress(Rule):
    meta = RuleMeta(
        id="FA104",
        name="private-subnet-without-egress",
        severity=Severity.ERROR,
        title="A private subnet has neither a NAT route nor the VPC endpoints Fargate needs",
        why="Tasks in a subnet without a NAT default route can only reach AWS through VPC "
        "endpoints; missing the ECR, S3 or CloudWatch Logs endpoint, they cannot pull their "
        "image or write logs, and the service never becomes healthy.",
        fix="Route 0.0.0.0/0 of the subnet's route table to a NAT gateway, or add interface "
        "endpoints for ecr.api, ecr.dkr and logs and a gateway endpoint for s3.",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for subnet in self._subnets(ctx):
            if is_public(ctx, subnet) is not False or has_egress(ctx, subnet) is not False:
                continue
            vpc = ctx.deref(get(subnet.properties, "VpcId"))
            missing = missing_endpoints(ctx, vpc) if vpc is not None else []
            if vpc is None or missing:
                shown = ", ".join(missing) if missing else "ecr.api, ecr.dkr, s3, logs"
                yield self.finding(
                    subnet,
                    f"private subnet {subnet.logical_id} has no default route through a NAT "
                    f"gateway and its VPC has no endpoint for: {shown}",
                )

    @staticmethod
    def _subnets(ctx: CheckContext) -> list[Resource]:
        """The service subnets; all subnets when the set has no ECS service."""
        views = services(ctx)
        if not views:
            return list(ctx.resources(SUBNET))
        found: list[Resource] = []
        for view in views:
            found += [s for s in view.subnets if s not in found]
        return found


RULE = PrivateSubnetEgress()
