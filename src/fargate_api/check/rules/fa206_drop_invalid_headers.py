"""FA206: The load balancer passes on HTTP headers with invalid names.

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

ATTRIBUTE = "routing.http.drop_invalid_header_fields.enabled"


class DropInvalidHeaders(Rule):
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

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for lb in ctx.resources(LOAD_BALANCER):
            if not is_application(lb):
                continue
            value, path = attribute(lb, "LoadBalancerAttributes", ATTRIBUTE)
            if value is None or as_bool(value) is False:  # unknown values are not findings
                yield self.finding(
                    lb,
                    f"load balancer {lb.logical_id} keeps HTTP headers with invalid names "
                    f"(routing.http.drop_invalid_header_fields.enabled is not true)",
                    path,
                )


RULE = DropInvalidHeaders()
