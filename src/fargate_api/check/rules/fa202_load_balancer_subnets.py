"""FA202: an internet-facing load balancer must sit in subnets with an internet gateway route.

Otherwise it gets public IPs that lead nowhere: connections from the internet time out.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.naming import label
from fargate_api.check.rule import Rule
from fargate_api.templates.network import is_public
from fargate_api.templates.topology import LOAD_BALANCER, is_internet_facing, load_balancer_subnets


class LoadBalancerSubnets(Rule):
    meta = RuleMeta(
        id="FA202",
        name="load-balancer-in-private-subnet",
        severity=Severity.ERROR,
        title="An internet-facing load balancer sits in a subnet without an internet gateway route",
        why="The load balancer's nodes in that subnet cannot answer the internet: requests "
        "resolved to them time out, so a share of all requests fails.",
        fix="Give the load balancer the public subnets (route 0.0.0.0/0 to the internet gateway).",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for lb in ctx.resources(LOAD_BALANCER):
            if not is_internet_facing(lb):
                continue
            for subnet in load_balancer_subnets(ctx, lb):
                if is_public(ctx, subnet) is False:
                    yield self.finding(
                        lb,
                        f"internet-facing load balancer {lb.logical_id} uses "
                        f"{label(subnet, lb)}, which has no route to an internet gateway",
                        ("Properties", "Subnets"),
                    )


RULE = LoadBalancerSubnets()
