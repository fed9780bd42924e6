"""FA201: the load balancer in front of the service must be internet-facing.

The pattern serves a public API; an internal load balancer makes the stack deploy
cleanly and then answer nobody outside the VPC.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.topology import is_internet_facing, services


class LoadBalancerInternal(Rule):
    meta = RuleMeta(
        id="FA201",
        name="load-balancer-not-internet-facing",
        severity=Severity.WARNING,
        title="The service's load balancer is internal",
        why="A public API behind an internal load balancer is unreachable from the internet; "
        "the mistake only shows after deployment.",
        fix="Set Scheme to internet-facing and place the load balancer in the public subnets, "
        "or ignore this rule for services that are meant to be private.",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        reported = set()
        for view in services(ctx):
            for lb in view.load_balancers:
                if not is_internet_facing(lb) and lb.ref not in reported:
                    reported.add(lb.ref)
                    yield self.finding(
                        lb,
                        f"load balancer {lb.logical_id} in front of service "
                        f"{view.service.logical_id} is internal",
                        ("Properties", "Scheme"),
                    )


RULE = LoadBalancerInternal()
