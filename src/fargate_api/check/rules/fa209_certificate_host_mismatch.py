"""FA209: an HTTPS listener routes a host that none of its certificates names.

The load balancer picks the certificate by the name the client asks for (SNI) and falls
back to the listener's default certificate when none matches, so a client of a host the
certificates do not cover gets a name mismatch and refuses the connection, while the rule
looks fine in the console. Judged only when every certificate of the listener is an ACM
certificate of these templates with known names: one given as an ARN or a parameter may
well cover the host.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.certificates import (
    CertificateView,
    https_listeners,
    listener_certificates,
)
from fargate_api.templates.load_balancing import read_listener

HOST_HEADER = "host-header"


class CertificateHostMismatch(Rule):
    meta = RuleMeta(
        id="FA209",
        name="certificate-host-mismatch",
        severity=Severity.ERROR,
        title="An HTTPS listener routes a host name that its certificates do not cover",
        why="The load balancer presents its default certificate to a client whose host no "
        "certificate of the listener names; the client sees a name mismatch and refuses the "
        "connection, so the rule's service is unreachable over HTTPS.",
        fix="Add the host to the certificate (SubjectAlternativeNames; a `*.` wildcard covers "
        "one label), or attach a certificate for it with "
        "AWS::ElasticLoadBalancingV2::ListenerCertificate (fargate-api: [[services]] hosts "
        "become names of the domain's certificate).",
        references=References(
            docs=(
                "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/"
                "https-listener-certificates.html",
            )
        ),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for listener in https_listeners(ctx):
            attached = listener_certificates(ctx, listener)
            known = [c.certificate for c in attached if c.certificate is not None]
            if not attached or len(known) != len(attached):
                continue  # an ARN or a parameter: its names are unknown
            if not all(c.names_known for c in known):
                continue
            for rule in read_listener(ctx, listener).rules:
                for index, condition in enumerate(rule.conditions):
                    if condition.field != HOST_HEADER:
                        continue
                    for host in condition.values:
                        if any(c.covers(host) for c in known):
                            continue
                        yield self.finding(
                            rule.resource,
                            f"rule {rule.resource.logical_id} routes host {host} on HTTPS "
                            f"listener {listener.logical_id}, but {_describe(known)} not "
                            "cover it: its clients get a certificate for another name",
                            ("Properties", "Conditions", index),
                        )


def _describe(known: list[CertificateView]) -> str:
    """'certificate Certificate (api.example.com) does' or '... certificates ... do'."""
    parts = "; ".join(f"{c.resource.logical_id} ({', '.join(c.names)})" for c in known)
    return f"certificate {parts} does" if len(known) == 1 else f"certificates {parts} do"


RULE = CertificateHostMismatch()
