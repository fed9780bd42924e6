"""FA402: deployments roll back by themselves when the new tasks never get healthy.

Without the circuit breaker, a bad image keeps ECS launching and killing tasks for hours
while CloudFormation waits, and the stack update eventually fails with no rollback of the
service itself.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.props import as_bool, get
from fargate_api.templates.topology import SERVICE

BREAKER = ("Properties", "DeploymentConfiguration", "DeploymentCircuitBreaker")
ALARMS = ("Properties", "DeploymentConfiguration", "Alarms")


class CircuitBreaker(Rule):
    meta = RuleMeta(
        id="FA402",
        name="no-deployment-circuit-breaker",
        severity=Severity.WARNING,
        title="The service has no deployment circuit breaker with rollback",
        why="A deployment whose tasks never become healthy keeps replacing them until "
        "CloudFormation times out (hours); with the breaker, ECS stops it after a few failed "
        "tasks and returns to the last working task definition.",
        fix="Set DeploymentConfiguration.DeploymentCircuitBreaker to {Enable: true, "
        "Rollback: true}.",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for service in ctx.resources(SERVICE):
            props = service.properties
            if get(props, "DeploymentController", "Type") not in (None, "ECS"):
                continue
            enable = as_bool(get(props, *BREAKER[1:], "Enable"))
            rollback = as_bool(get(props, *BREAKER[1:], "Rollback"))
            alarms = as_bool(get(props, *ALARMS[1:], "Enable")) and as_bool(
                get(props, *ALARMS[1:], "Rollback")
            )
            if (enable and rollback) or alarms:
                continue
            if enable is None and get(props, *BREAKER[1:], "Enable") is not None:
                continue  # unknown (a parameter)
            message = (
                f"service {service.logical_id}'s circuit breaker stops a failing deployment "
                "but does not roll it back"
                if enable
                else f"service {service.logical_id} has no deployment circuit breaker"
            )
            path = BREAKER if get(props, *BREAKER[1:]) is not None else ("Properties",)
            yield self.finding(service, message, path)


RULE = CircuitBreaker()
