"""FA208: The load balancer has no deletion protection.

A per-load-balancer attribute that generic templates leave at its default; the pattern
sets it explicitly.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.props import as_bool
from fargate_api.check.rule import Rule
from fargate_api.check.topology import LOAD_BALANCER, attribute, is_application

ATTRIBUTE = "deletion_protection.enabled"


class DeletionProtection(Rule):
    meta = RuleMeta(
        id="FA208",
        name="load-balancer-deletion-protection-disabled",
        severity=Severity.WARNING,
        title="The load balancer has no deletion protection",
        why="The load balancer's DNS name is what clients and DNS records point at; deleting it by "
        "mistake (a stack replacement, a console click) takes the API down and the name cannot be"
        " recovered.",
        fix="Set the load balancer attribute deletion_protection.enabled to true for production "
        "(fargate-api: load_balancer.deletion_protection = true).",
        references=References(fsbp=("ELB.6",)),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for lb in ctx.resources(LOAD_BALANCER):
            if not is_application(lb):
                continue
            value, path = attribute(lb, "LoadBalancerAttributes", ATTRIBUTE)
            if value is None or as_bool(value) is False:  # unknown values are not findings
                yield self.finding(
                    lb,
                    f"load balancer {lb.logical_id} can be deleted "
                    f"(deletion_protection.enabled is not true)",
                    path,
                )


RULE = DeletionProtection()
