"""FA406: a blue/green, canary or linear deployment needs alarms that roll it back.

ECS moves production traffic to the new revision once its tasks pass the load balancer's
health checks. Without deployment alarms nothing watches the bake time: a revision that
is healthy but answers with errors (or slowly) gets all the traffic and stays. The
circuit breaker does not help there, since it only counts tasks that fail to start or
fail their health checks.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.deployments import (
    ALARMS_PATH,
    CONFIGURATION_PATH,
    DeploymentView,
    deployments,
)

STRATEGY_NAMES = {"BLUE_GREEN": "blue/green", "CANARY": "canary", "LINEAR": "linear"}


class TrafficShiftWithoutAlarms(Rule):
    meta = RuleMeta(
        id="FA406",
        name="traffic-shift-without-alarms",
        severity=Severity.WARNING,
        title="A blue/green, canary or linear deployment has no alarms that roll it back",
        why="ECS shifts production traffic to the new revision once its tasks pass the load "
        "balancer's health checks. A revision that passes them but serves errors or slow "
        "responses then gets all the traffic and stays: only a CloudWatch alarm named in "
        "DeploymentConfiguration.Alarms can fail the deployment during the bake time and "
        "send the traffic back to the previous revision.",
        fix="Set DeploymentConfiguration.Alarms to {AlarmNames: [alarms on the target "
        "groups' 5xx rate, response time and unhealthy hosts], Enable: true, Rollback: true} "
        "(fargate-api: [deployment] alarms, on by default for these strategies).",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for view in deployments(ctx):
            if not view.known("controller", "strategy") or not view.shifts_traffic():
                continue
            finding = self._problem(view)
            if finding is not None:
                yield finding

    def _problem(self, view: DeploymentView) -> Finding | None:
        service = view.service
        name = service.logical_id
        kind = STRATEGY_NAMES[view.strategy]
        alarms = view.alarms
        if alarms is None:
            configured = "DeploymentConfiguration" in service.properties
            return self.finding(
                service,
                f"service {name} deploys {kind} without deployment alarms: a revision that "
                "passes its health checks but serves errors gets all production traffic and "
                "stays",
                CONFIGURATION_PATH if configured else ("Properties",),
            )
        in_use = alarms.in_use()
        if in_use is None:
            return None  # Enable is a parameter, say
        if not in_use:
            disabled = alarms.enable is False
            return self.finding(
                service,
                f"service {name}'s deployment alarms "
                + ("are disabled (Enable: false)" if disabled else "name no alarm")
                + f": ECS shifts the {kind} deployment's traffic without watching for errors",
                (*ALARMS_PATH, "Enable" if disabled else "AlarmNames"),
            )
        if alarms.rollback is False:
            return self.finding(
                service,
                f"service {name}'s deployment alarms do not roll back (Rollback: false): an "
                f"alarm fails the {kind} deployment but does not return production traffic to "
                "the previous revision",
                (*ALARMS_PATH, "Rollback"),
            )
        return None


RULE = TrafficShiftWithoutAlarms()
