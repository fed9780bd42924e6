"""FA101: the service's tasks must sit in subnets without an internet gateway route.

The whole point of the pattern: tasks have no public path in. A subnet is public because
of its route table, not of any subnet property, so this follows the service's subnets
(through nested-stack parameters) to their route tables and default routes.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.naming import label
from fargate_api.check.rule import Rule
from fargate_api.templates.network import is_public
from fargate_api.templates.topology import SUBNETS_PATH, services


class TasksInPublicSubnets(Rule):
    meta = RuleMeta(
        id="FA101",
        name="tasks-in-public-subnets",
        severity=Severity.ERROR,
        title="Service tasks run in a subnet with an internet gateway route",
        why="Tasks in a public subnet are one security group rule or one AssignPublicIp away "
        "from being reachable from the internet, and their outbound traffic bypasses the "
        "NAT gateways, so it does not come from the fixed egress IPs partners whitelist.",
        fix="Put the service in the private subnets (route 0.0.0.0/0 to a NAT gateway); keep "
        "the public subnets for the load balancer and the NAT gateways.",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for view in services(ctx):
            for index, subnet in enumerate(view.subnets):
                if is_public(ctx, subnet):
                    yield self.finding(
                        view.service,
                        f"service {view.service.logical_id} runs tasks in "
                        f"{label(subnet, view.service)}, whose route table sends 0.0.0.0/0 to "
                        "an internet gateway",
                        (*SUBNETS_PATH, index),
                    )


RULE = TasksInPublicSubnets()
