"""FA407: an alarm must get the time to fire before ECS moves on.

ECS watches the deployment alarms while it bakes: after production traffic has shifted
(BakeTimeInMinutes), during a canary phase (CanaryBakeTimeInMinutes) and during each
linear step (StepBakeTimeInMinutes). An alarm needs Period x EvaluationPeriods seconds of
data to judge; when the bake ends first, the old revision is gone before the alarm can
fire and nothing is rolled back, and a canary or step that is shorter is followed by the
next shift before the alarm has judged the current one.

A ROLLING deployment is not judged: with deployment alarms, ECS derives the time it
watches them after the rollout from the alarms' own configuration.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.alarms import AlarmView, read_alarm
from fargate_api.templates.deployments import (
    BAKE_TIME_PATH,
    CANARY_INTERVAL_PATH,
    CONFIGURATION_PATH,
    LINEAR_INTERVAL_PATH,
    DeploymentView,
    deployments,
)
from fargate_api.templates.model import PropertyPath
from fargate_api.templates.props import get


class BakeShorterThanAlarmWindow(Rule):
    meta = RuleMeta(
        id="FA407",
        name="bake-shorter-than-alarm-window",
        severity=Severity.WARNING,
        title="A deployment moves on before its alarms can fire",
        why="An alarm needs Period x EvaluationPeriods of data before it can go into ALARM. "
        "When the bake time after the production shift is shorter, ECS removes the old "
        "revision before the alarm can fire, so the alarm cannot roll the deployment back; "
        "when a canary phase or a linear step is shorter, ECS shifts more traffic before the "
        "alarm has judged the current share.",
        fix="Make BakeTimeInMinutes, CanaryBakeTimeInMinutes and StepBakeTimeInMinutes at "
        "least as long as the longest alarm window (fargate-api: [deployment] bake_time, "
        "canary_interval, linear_interval), or shorten the alarms' period or evaluation "
        "periods.",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for view in deployments(ctx):
            if not view.known("controller", "strategy") or not view.shifts_traffic():
                continue
            if view.alarms is None or view.alarms.in_use() is not True:
                continue  # FA406's concern
            # Alarms whose window is unknown are left out: the longest known window is then
            # a lower bound, and a bake shorter than it is short whatever the others say.
            windows = [
                (window, alarm)
                for alarm in (read_alarm(ctx, r) for r in view.alarms.alarms if r is not None)
                if (window := alarm.evaluation_window()) is not None
            ]
            if not windows:
                continue
            window, alarm = max(windows, key=lambda pair: pair[0])
            yield from self._phases(view, window, alarm)

    def _phases(self, view: DeploymentView, window: int, alarm: AlarmView) -> Iterator[Finding]:
        service = view.service
        name = service.logical_id
        judged = (
            f"alarm {alarm.resource.logical_id}'s evaluation window of {window} s "
            f"({alarm.period} s x {alarm.evaluation_periods} periods)"
        )
        if view.known("bake_time") and view.bake_time * 60 < window:
            yield self.finding(
                service,
                f"service {name} bakes for {_minutes(view.bake_time, view.bake_time_minutes)} "
                f"after production traffic shifts, less than {judged}: the old revision is "
                "gone before the alarm can fire, so it cannot roll the deployment back",
                _where(view, BAKE_TIME_PATH),
            )
        if view.strategy == "CANARY" and view.known("canary_interval_minutes"):
            interval = view.canary_interval_minutes
            if interval * 60 < window:
                yield self.finding(
                    service,
                    f"service {name}'s canary phase lasts "
                    f"{_minutes(interval, get(service.properties, *CANARY_INTERVAL_PATH[1:]))}, "
                    f"less than {judged}: ECS shifts the remaining traffic before the alarm "
                    "can judge the canary",
                    _where(view, CANARY_INTERVAL_PATH),
                )
        if view.strategy == "LINEAR" and view.known("linear_interval_minutes"):
            interval = view.linear_interval_minutes
            if interval * 60 < window:
                yield self.finding(
                    service,
                    f"service {name}'s linear steps last "
                    f"{_minutes(interval, get(service.properties, *LINEAR_INTERVAL_PATH[1:]))}, "
                    f"less than {judged}: ECS shifts the next step before the alarm can judge "
                    "the current one",
                    _where(view, LINEAR_INTERVAL_PATH),
                )


def _minutes(value: int, declared: object) -> str:
    return f"{value} min" + (" (the default)" if declared is None else "")


def _where(view: DeploymentView, path: PropertyPath) -> PropertyPath:
    """The setting when the template has it, else DeploymentConfiguration (or Properties)."""
    if get(view.service.properties, *path[1:]) is not None:
        return path
    if "DeploymentConfiguration" in view.service.properties:
        return CONFIGURATION_PATH
    return ("Properties",)


RULE = BakeShorterThanAlarmWindow()
