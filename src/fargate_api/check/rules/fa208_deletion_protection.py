"""FA208: The load balancer has no deletion protection.

A per-load-balancer attribute that generic templates leave at its default; the pattern
sets it explicitly.
"""

from __future__ import annotations

from fargate_api.check.findings import References, RuleMeta, Severity
from fargate_api.check.load_balancer_flag import LoadBalancerFlagRule

ATTRIBUTE = "deletion_protection.enabled"


class DeletionProtection(LoadBalancerFlagRule):
    attribute = ATTRIBUTE
    problem = "can be deleted"
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


RULE = DeletionProtection()
