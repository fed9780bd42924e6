"""FA409: a rolling deployment watched by the circuit breaker alone.

The circuit breaker counts tasks that fail to start or fail their health checks. A new
revision that starts, passes the health check path and then answers real requests with
errors is a successful deployment to it; only a deployment alarm on the target group's
error rate or response time can fail and roll back that one.

The rule speaks only where FA402 is silent about the same service (breaker and rollback
on): without the breaker, FA402 already reports that nothing rolls the deployment back.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.deployments import ALARMS_PATH, CONFIGURATION_PATH, deployments


class RollingWithoutAlarms(Rule):
    meta = RuleMeta(
        id="FA409",
        name="rolling-without-alarms",
        severity=Severity.INFO,
        title="A rolling deployment rolls back only tasks that fail their health checks",
        why="The deployment circuit breaker sees tasks that do not start or fail their "
        "health checks. A revision that passes them but serves errors or slow responses "
        "completes its rollout and stays; a deployment alarm on the target group's 5xx rate "
        "or response time would fail the deployment and roll it back.",
        fix="Name CloudWatch alarms in DeploymentConfiguration.Alarms with Enable: true and "
        "Rollback: true (fargate-api: [deployment] alarms = true).",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for view in deployments(ctx):
            if not view.known("controller", "strategy"):
                continue
            if view.controller != "ECS" or view.strategy != "ROLLING":
                continue
            if not (view.circuit_breaker and view.circuit_breaker_rollback):
                continue  # FA402 reports the missing breaker or rollback
            alarms = view.alarms
            if alarms is not None and alarms.in_use() is not False:
                continue  # in use, or Enable is not known
            service = view.service
            yield self.finding(
                service,
                f"service {service.logical_id} rolls back only tasks that fail to start or "
                "fail their health checks: a revision that passes them and serves errors "
                "completes its rollout",
                ALARMS_PATH if alarms is not None else CONFIGURATION_PATH,
            )


RULE = RollingWithoutAlarms()
