"""FA203: the load balancer's security group opens only the listener ports.

Anything else reaches no listener, so it can only widen what an attacker may probe
(and, with all protocols open, it also covers ICMP and UDP).
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.naming import label, ports_text
from fargate_api.check.rule import Rule
from fargate_api.templates.load_balancing import read_listener
from fargate_api.templates.network import ingress_rules
from fargate_api.templates.props import get
from fargate_api.templates.topology import LOAD_BALANCER, is_application, listeners


class LoadBalancerSgPorts(Rule):
    meta = RuleMeta(
        id="FA203",
        name="load-balancer-sg-beyond-listeners",
        severity=Severity.ERROR,
        title="The load balancer's security group allows more than the listener ports",
        why="Only the listener ports do anything on a load balancer; opening other ports or "
        "all protocols to the internet is pure exposure and fails audits (unrestricted "
        "ingress on unauthorized ports).",
        fix="Allow only TCP on the listener ports (80, and 443 with HTTPS), from the ranges "
        "that should reach the API.",
        references=References(fsbp=("EC2.18", "EC2.19")),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for lb in ctx.resources(LOAD_BALANCER):
            if not is_application(lb):
                continue
            ports = {read_listener(ctx, x).declared_port for x in listeners(ctx, lb)}
            if not ports or None in ports:
                continue
            known = {p for p in ports if p is not None}
            groups, _ = ctx.deref_all(get(lb.properties, "SecurityGroups"))
            for group in groups:
                for rule in ingress_rules(ctx, group):
                    if rule.only_ports(known) is False:
                        yield self.finding(
                            rule.origin,
                            f"security group {label(group, rule.origin)} of load balancer "
                            f"{lb.logical_id} allows {rule.describe()}; its listeners use "
                            f"only port {ports_text(known)}",
                            rule.path,
                        )


RULE = LoadBalancerSgPorts()
