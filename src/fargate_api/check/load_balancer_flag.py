"""The shape shared by rules that want one ALB attribute switched on.

Drop-invalid-headers, access logs and deletion protection are each a boolean
LoadBalancerAttribute that generic templates leave at its default (off); only the
attribute and the wording differ, so the walk over load balancers lives here once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding
from fargate_api.check.rule import Rule
from fargate_api.templates.props import as_bool
from fargate_api.templates.topology import LOAD_BALANCER, attribute, is_application


class LoadBalancerFlagRule(Rule):
    attribute: ClassVar[str]
    problem: ClassVar[str]  # what it means that the flag is off, e.g. "writes no access logs"

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for lb in ctx.resources(LOAD_BALANCER):
            if not is_application(lb):
                continue
            value, path = attribute(lb, "LoadBalancerAttributes", self.attribute)
            if value is None or as_bool(value) is False:  # unknown values are not findings
                yield self.finding(
                    lb,
                    f"load balancer {lb.logical_id} {self.problem} ({self.attribute} is not true)",
                    path,
                )
