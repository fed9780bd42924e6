"""FA301: the service's security group admits traffic from the load balancer's group only.

The tasks have no public IP, but anything else in the VPC (or a peered network, or a
VPN) that a CIDR rule admits can still reach them past the load balancer.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.naming import label, labels
from fargate_api.check.rule import Rule
from fargate_api.templates import Resource
from fargate_api.templates.network import SECURITY_GROUP, ingress_rules
from fargate_api.templates.props import get
from fargate_api.templates.topology import services


class ServiceSgSource(Rule):
    meta = RuleMeta(
        id="FA301",
        name="service-sg-open-beyond-load-balancer",
        severity=Severity.ERROR,
        title="The service's security group admits traffic that does not come from the "
        "load balancer",
        why="Requests that reach the tasks directly skip the load balancer's TLS, header "
        "checks, access logs and health-based routing; any host the rule admits can call the "
        "container port unobserved.",
        fix="Allow ingress to the service's security group only with SourceSecurityGroupId "
        "set to the load balancer's security group.",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for view in services(ctx):
            lb_groups = _load_balancer_groups(ctx, view.load_balancers)
            if not lb_groups:
                continue
            for group in view.security_groups:
                for rule in ingress_rules(ctx, group):
                    if rule.peer in lb_groups:
                        continue
                    if rule.peer is None and rule.cidr is None:
                        continue  # a source we cannot follow (imported, a parameter)
                    yield self.finding(
                        rule.origin,
                        f"security group {label(group, rule.origin)} of service "
                        f"{view.service.logical_id} allows {rule.describe()}; only "
                        f"{labels(lb_groups, rule.origin)} (the load balancer) should reach "
                        "the tasks",
                        rule.path,
                    )


def _load_balancer_groups(ctx: CheckContext, balancers: list[Resource]) -> list[Resource]:
    groups: list[Resource] = []
    for lb in balancers:
        found, _ = ctx.deref_all(get(lb.properties, "SecurityGroups"))
        groups += [g for g in found if g.type == SECURITY_GROUP and g not in groups]
    return groups


RULE = ServiceSgSource()
