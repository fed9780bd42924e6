"""FA106: subnets must not hand out public IPs by default.

In this pattern nothing launched in a subnet needs a public IP: the load balancer and
NAT gateways get theirs explicitly. A default public IP turns any future instance or
task placed there into an internet-facing one.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.network import SUBNET
from fargate_api.templates.props import as_bool, get


class MapPublicIpOnLaunch(Rule):
    meta = RuleMeta(
        id="FA106",
        name="map-public-ip-on-launch",
        severity=Severity.WARNING,
        title="A subnet assigns public IP addresses on launch",
        why="Every network interface created in the subnet gets a public IP unless told "
        "otherwise, so a later resource (an instance, a task with default settings) is "
        "exposed without anyone deciding it.",
        fix="Set MapPublicIpOnLaunch to false; the ALB and the NAT gateways (through their "
        "Elastic IPs) do not need it.",
        references=References(fsbp=("EC2.15",)),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for subnet in ctx.resources(SUBNET):
            if as_bool(get(subnet.properties, "MapPublicIpOnLaunch")):
                yield self.finding(
                    subnet,
                    f"subnet {subnet.logical_id} gives every new network interface a public IP",
                    ("Properties", "MapPublicIpOnLaunch"),
                )


RULE = MapPublicIpOnLaunch()
