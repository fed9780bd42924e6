"""FA302: from the load balancer, the service's security group opens the container port only.

All protocols from the load balancer's group looks harmless, but it makes every port
the task listens on (debug servers, metrics, admin endpoints) reachable through it.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.naming import label, ports_text
from fargate_api.check.rule import Rule
from fargate_api.templates.network import ingress_rules
from fargate_api.templates.props import get
from fargate_api.templates.topology import services


class ServiceSgPorts(Rule):
    meta = RuleMeta(
        id="FA302",
        name="service-sg-beyond-container-port",
        severity=Severity.ERROR,
        title="The service's security group opens more than the container port",
        why="Only the container port serves the load balancer; other ports or all protocols "
        "expose whatever else listens in the task (metrics, debug or admin endpoints).",
        fix="Allow only TCP on the container port (the port in the service's LoadBalancers) "
        "from the load balancer's security group.",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for view in services(ctx):
            ports = view.container_ports()
            lb_groups = []
            for lb in view.load_balancers:
                found, _ = ctx.deref_all(get(lb.properties, "SecurityGroups"))
                lb_groups += found
            if not lb_groups:
                continue
            for group in view.security_groups:
                for rule in ingress_rules(ctx, group):
                    if rule.peer not in lb_groups:
                        continue  # other sources are FA301's concern
                    if rule.all_traffic or (ports and rule.only_ports(ports) is False):
                        wanted = f"port {ports_text(ports)}" if ports else "the container port"
                        yield self.finding(
                            rule.origin,
                            f"security group {label(group, rule.origin)} of service "
                            f"{view.service.logical_id} allows {rule.describe()}; the "
                            f"container listens on {wanted} only",
                            rule.path,
                        )


RULE = ServiceSgPorts()
