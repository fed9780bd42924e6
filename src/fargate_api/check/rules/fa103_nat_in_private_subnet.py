"""FA103: NAT gateways must sit in public subnets.

A public NAT gateway forwards to the internet through its subnet's internet gateway
route; in a private subnet it has none, and every task behind it loses egress.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.naming import label
from fargate_api.check.rule import Rule
from fargate_api.templates.network import is_public
from fargate_api.templates.props import get


class NatInPrivateSubnet(Rule):
    meta = RuleMeta(
        id="FA103",
        name="nat-in-private-subnet",
        severity=Severity.ERROR,
        title="A NAT gateway sits in a subnet without an internet gateway route",
        why="A public NAT gateway reaches the internet through the internet gateway route of "
        "its own subnet. Without it, the private subnets routed through this NAT gateway "
        "have no egress: image pulls, log delivery and outbound calls fail.",
        fix="Place the NAT gateway in a public subnet (one whose route table sends 0.0.0.0/0 "
        "to the internet gateway).",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for nat in ctx.resources("AWS::EC2::NatGateway"):
            if get(nat.properties, "ConnectivityType") == "private":
                continue
            subnet = ctx.deref(get(nat.properties, "SubnetId"))
            if subnet is not None and is_public(ctx, subnet) is False:
                yield self.finding(
                    nat,
                    f"NAT gateway {nat.logical_id} is in {label(subnet, nat)}, which has no "
                    "default route to an internet gateway",
                    ("Properties", "SubnetId"),
                )


RULE = NatInPrivateSubnet()
