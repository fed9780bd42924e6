"""FA204: a public HTTP listener must redirect to HTTPS, not serve the API in clear text.

Credentials and tokens of an API travel in headers; over plain HTTP anyone on the path
reads them.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.props import as_list, get
from fargate_api.templates.topology import (
    LOAD_BALANCER,
    is_application,
    is_internet_facing,
    listeners,
)


class HttpWithoutHttps(Rule):
    meta = RuleMeta(
        id="FA204",
        name="http-without-https-redirect",
        severity=Severity.WARNING,
        title="An internet-facing HTTP listener serves requests instead of redirecting to HTTPS",
        why="Requests and responses, including API keys and session tokens in headers, cross "
        "the internet unencrypted and can be read or changed on the way.",
        fix="Add an HTTPS listener with an ACM certificate and make the HTTP listener's "
        "default action a redirect to HTTPS (fargate-api: load_balancer.certificate_arn).",
        references=References(fsbp=("ELB.1",), checkov=("CKV_AWS_2",)),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for lb in ctx.resources(LOAD_BALANCER):
            if not (is_application(lb) and is_internet_facing(lb)):
                continue
            all_listeners = listeners(ctx, lb)
            has_https = any(get(x.properties, "Protocol") == "HTTPS" for x in all_listeners)
            for listener in all_listeners:
                props = listener.properties
                if get(props, "Protocol") != "HTTP" or not _forwards(get(props, "DefaultActions")):
                    continue
                port = get(props, "Port")
                also = (
                    " next to the HTTPS listener" if has_https else "; there is no HTTPS listener"
                )
                yield self.finding(
                    listener,
                    f"listener {listener.logical_id} serves plain HTTP on port {port}{also}",
                    ("Properties", "DefaultActions"),
                )


def _forwards(actions: object) -> bool:
    return any(
        get(action, "Type") == "forward" or get(action, "ForwardConfig") is not None
        for action in as_list(actions)
    )


RULE = HttpWithoutHttps()
