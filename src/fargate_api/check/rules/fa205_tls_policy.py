"""FA205: HTTPS listeners must use a TLS 1.2+ security policy.

Without SslPolicy the listener gets ELBSecurityPolicy-2016-08, which still accepts
TLS 1.0 and 1.1.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.props import get
from fargate_api.templates.topology import LISTENER

MODERN_MARKERS = ("TLS13", "TLS-1-2", "FS-1-2")


class TlsPolicy(Rule):
    meta = RuleMeta(
        id="FA205",
        name="outdated-tls-policy",
        severity=Severity.WARNING,
        title="An HTTPS listener allows TLS versions older than 1.2",
        why="TLS 1.0 and 1.1 have known weaknesses and are refused by current compliance "
        "baselines; a listener that offers them lets clients downgrade.",
        fix="Set SslPolicy to a TLS 1.2+ policy, e.g. ELBSecurityPolicy-TLS13-1-2-2021-06.",
        references=References(fsbp=("ELB.17",), checkov=("CKV_AWS_103",)),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for listener in ctx.resources(LISTENER):
            props = listener.properties
            if get(props, "Protocol") not in ("HTTPS", "TLS"):
                continue
            policy = get(props, "SslPolicy")
            if policy is None:
                yield self.finding(
                    listener,
                    f"listener {listener.logical_id} has no SslPolicy, so it uses "
                    "ELBSecurityPolicy-2016-08 (TLS 1.0 and 1.1 allowed)",
                )
            elif isinstance(policy, str) and not any(m in policy for m in MODERN_MARKERS):
                yield self.finding(
                    listener,
                    f"listener {listener.logical_id} uses {policy}, which allows TLS before 1.2",
                    ("Properties", "SslPolicy"),
                )


RULE = TlsPolicy()
