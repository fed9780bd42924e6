"""FA102: AssignPublicIp must be DISABLED.

In a private subnet a public IP is useless (no internet gateway route) and in a public
one it exposes the task directly; either way it contradicts the pattern.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.props import get
from fargate_api.templates.topology import SERVICE

PATH = ("Properties", "NetworkConfiguration", "AwsvpcConfiguration", "AssignPublicIp")


class TaskPublicIp(Rule):
    meta = RuleMeta(
        id="FA102",
        name="task-public-ip",
        severity=Severity.ERROR,
        title="Service tasks get a public IP address",
        why="A task with a public IP can be reached from the internet whenever its security "
        "group allows it, bypassing the load balancer, and its outbound traffic does not "
        "use the NAT gateways' fixed IPs.",
        fix="Set NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp to DISABLED.",
        references=References(fsbp=("ECS.2",)),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for service in ctx.resources(SERVICE):
            if get(service.properties, *PATH[1:]) == "ENABLED":
                yield self.finding(
                    service,
                    f"service {service.logical_id} assigns public IP addresses to its tasks",
                    PATH,
                )


RULE = TaskPublicIp()
