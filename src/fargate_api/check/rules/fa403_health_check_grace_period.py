"""FA403: a service behind a load balancer needs a health check grace period.

Without one, ECS counts failed load balancer health checks from the first second, so an
application that takes a while to start is killed before it ever serves, in a loop.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.props import as_int, as_list, get
from fargate_api.templates.topology import SERVICE

KEY = "HealthCheckGracePeriodSeconds"


class HealthCheckGracePeriod(Rule):
    meta = RuleMeta(
        id="FA403",
        name="no-health-check-grace-period",
        severity=Severity.WARNING,
        title="The service has no health check grace period",
        why="ECS acts on load balancer health checks from the moment a task starts; an app "
        "that needs some seconds to boot is marked unhealthy and replaced before it is ready, "
        "which turns a slow start into a restart loop during deploys and scale-out.",
        fix=f"Set {KEY} on the service to a bit more than the application's start-up time.",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for service in ctx.resources(SERVICE):
            props = service.properties
            if not as_list(get(props, "LoadBalancers")):
                continue
            if KEY in props and as_int(props[KEY]) != 0:
                continue  # set (or a parameter we cannot see)
            where = ("Properties", KEY) if KEY in props else ("Properties",)
            yield self.finding(
                service,
                f"service {service.logical_id} is behind a load balancer but has no health "
                "check grace period",
                where,
            )


RULE = HealthCheckGracePeriod()
