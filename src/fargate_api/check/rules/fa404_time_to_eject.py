"""FA404: a dead task must stop receiving requests within seconds, not a minute.

The time is HealthCheckIntervalSeconds x UnhealthyThresholdCount; every request routed
to the task meanwhile fails.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.load_balancing import read_target_group
from fargate_api.templates.topology import TARGET_GROUP

MAX_EJECT_SECONDS = 30


class TimeToEject(Rule):
    meta = RuleMeta(
        id="FA404",
        name="slow-unhealthy-detection",
        severity=Severity.WARNING,
        title="A failing task keeps receiving requests for more than 30 seconds",
        why="Until the load balancer has seen UnhealthyThresholdCount failed checks, "
        "HealthCheckIntervalSeconds apart, it keeps sending a share of all requests to a "
        "task that cannot answer them.",
        fix=f"Keep HealthCheckIntervalSeconds x UnhealthyThresholdCount at {MAX_EJECT_SECONDS} s "
        "or less, e.g. 10 s x 2 or 5 s x 3.",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for group in ctx.resources(TARGET_GROUP):
            props = group.properties
            read = read_target_group(group)
            if read.target_type == "lambda" or read.health_check.enabled is False:
                continue
            interval = read.health_check.interval
            threshold = read.health_check.unhealthy_threshold
            if interval is None or threshold is None:
                continue
            seconds = interval * threshold
            if seconds > MAX_EJECT_SECONDS:
                key = (
                    "UnhealthyThresholdCount"
                    if "UnhealthyThresholdCount" in props
                    else "HealthCheckIntervalSeconds"
                )
                yield self.finding(
                    group,
                    f"target group {group.logical_id} keeps routing to a failing task for "
                    f"{seconds} s (UnhealthyThresholdCount {threshold} x "
                    f"HealthCheckIntervalSeconds {interval} s)",
                    ("Properties", key) if key in props else ("Properties",),
                )


RULE = TimeToEject()
