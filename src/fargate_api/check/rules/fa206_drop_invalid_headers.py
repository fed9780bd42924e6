"""FA206: The load balancer passes on HTTP headers with invalid names.

A per-load-balancer attribute that generic templates leave at its default; the pattern
sets it explicitly.
"""

from __future__ import annotations

from fargate_api.check.findings import References, RuleMeta, Severity
from fargate_api.check.load_balancer_flag import LoadBalancerFlagRule

ATTRIBUTE = "routing.http.drop_invalid_header_fields.enabled"


class DropInvalidHeaders(LoadBalancerFlagRule):
    attribute = ATTRIBUTE
    problem = "keeps HTTP headers with invalid names"
    meta = RuleMeta(
        id="FA206",
        name="drop-invalid-headers-disabled",
        severity=Severity.WARNING,
        title="The load balancer passes on HTTP headers with invalid names",
        why="Headers with invalid characters reach the application untouched; they are a classic "
        "vector for request smuggling and header-injection attacks against the app and whatever "
        "proxies sit behind it.",
        fix="Set the load balancer attribute routing.http.drop_invalid_header_fields.enabled "
        "to true.",
        references=References(fsbp=("ELB.4",), checkov=("CKV_AWS_131",)),
    )


RULE = DropInvalidHeaders()
