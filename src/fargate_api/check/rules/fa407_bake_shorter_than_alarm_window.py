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
from fargate_api.check.deployment_timing import (
    finding_path,
    longest,
    minutes_text,
    shift_interval,
    shifting_deployments,
)
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.alarms import AlarmView, read_alarm
from fargate_api.templates.deployments import BAKE_TIME_PATH, DeploymentView

# What a canary phase or linear step shorter than the alarm window lets happen.
TOO_SOON = {
    "CANARY": "ECS shifts the remaining traffic before the alarm can judge the canary",
    "LINEAR": "ECS shifts the next step before the alarm can judge the current one",
}


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
        for view in shifting_deployments(ctx):
            if view.alarms is None or view.alarms.in_use() is not True:
                continue  # FA406's concern
            alarms = (read_alarm(ctx, r) for r in view.alarms.alarms if r is not None)
            widest = longest(alarms, AlarmView.evaluation_window)
            if widest is not None:
                yield from self._phases(view, *widest)

    def _phases(self, view: DeploymentView, window: int, alarm: AlarmView) -> Iterator[Finding]:
        service = view.service
        name = service.logical_id
        judged = (
            f"alarm {alarm.resource.logical_id}'s evaluation window of {window} s "
            f"({alarm.period} s x {alarm.evaluation_periods} periods)"
        )
        if view.known("bake_time") and view.bake_time * 60 < window:
            bake = minutes_text(view.bake_time, view.bake_time_minutes is not None)
            yield self.finding(
                service,
                f"service {name} bakes for {bake} after production traffic shifts, less than "
                f"{judged}: the old revision is gone before the alarm can fire, so it cannot "
                "roll the deployment back",
                finding_path(view, BAKE_TIME_PATH),
            )
        interval = shift_interval(view)
        if interval is not None and interval.minutes * 60 < window:
            yield self.finding(
                service,
                f"service {name}'s {interval.lasts} {interval.describe()}, less than {judged}: "
                + TOO_SOON[view.strategy],
                interval.path,
            )


RULE = BakeShorterThanAlarmWindow()
