"""FA207: The load balancer writes no access logs.

A per-load-balancer attribute that generic templates leave at its default; the pattern
sets it explicitly.
"""

from __future__ import annotations

from fargate_api.check.findings import References, RuleMeta, Severity
from fargate_api.check.load_balancer_flag import LoadBalancerFlagRule

ATTRIBUTE = "access_logs.s3.enabled"


class AccessLogs(LoadBalancerFlagRule):
    attribute = ATTRIBUTE
    problem = "writes no access logs"
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


RULE = AccessLogs()
