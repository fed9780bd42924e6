"""FA207: The load balancer writes no access logs.

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

ATTRIBUTE = "access_logs.s3.enabled"


class AccessLogs(Rule):
    meta = RuleMeta(
        id="FA207",
        name="load-balancer-access-logs-disabled",
        severity=Severity.WARNING,
        title="The load balancer writes no access logs",
        why="Access logs are the only per-request record of who called the API, from where, with "
        "which status and latency; without them an abuse or an incident cannot be reconstructed.",
        fix="Enable access_logs.s3.enabled with a bucket that allows the regional ELB account to "
        "write (fargate-api: load_balancer.access_logs).",
        references=References(fsbp=("ELB.5",), checkov=("CKV_AWS_91",)),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for lb in ctx.resources(LOAD_BALANCER):
            if not is_application(lb):
                continue
            value, path = attribute(lb, "LoadBalancerAttributes", ATTRIBUTE)
            if value is None or as_bool(value) is False:  # unknown values are not findings
                yield self.finding(
                    lb,
                    f"load balancer {lb.logical_id} writes no access logs "
                    f"(access_logs.s3.enabled is not true)",
                    path,
                )


RULE = AccessLogs()
