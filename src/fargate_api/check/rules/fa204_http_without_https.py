"""FA204: a public HTTP listener must redirect to HTTPS, not serve the API in clear text.

Credentials and tokens of an API travel in headers; over plain HTTP anyone on the path
reads them. A listener serves when its default action forwards, or when one of its rules
does: a listener shared by several services answers 404 by default and forwards through
each service's rule (in its own stack).
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.load_balancing import read_listener
from fargate_api.templates.props import get
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
            all_listeners = [read_listener(ctx, x) for x in listeners(ctx, lb)]
            has_https = any(x.declared_protocol == "HTTPS" for x in all_listeners)
            for view in all_listeners:
                by_default = any(action.forwards for action in view.default_actions)
                by_rule = [
                    rule.resource.logical_id
                    for rule in view.rules
                    if any(action.forwards for action in rule.actions)
                ]
                if view.declared_protocol != "HTTP" or not (by_default or by_rule):
                    continue
                listener = view.resource
                # As written, so that an unresolved port shows as the parameter it is.
                port = get(listener.properties, "Port")
                also = (
                    " next to the HTTPS listener" if has_https else "; there is no HTTPS listener"
                )
                names = ", ".join(sorted(set(by_rule)))
                how = "" if by_default else f" through its listener rules ({names})"
                yield self.finding(
                    listener,
                    f"listener {listener.logical_id} serves plain HTTP on port {port}{how}{also}",
                    ("Properties", "DefaultActions"),
                )


RULE = HttpWithoutHttps()
