"""FA407: a deployment must bake long enough for its alarms to fire."""

from __future__ import annotations

from typing import Any

import pytest

from fargate_api.check.findings import Severity
from unit.check.conftest import CheckText
from unit.check.test_fa406_traffic_shift_without_alarms import check, findings
from unit.templates.deployment_shapes import ref, service_template

CONFIG = ("Properties", "DeploymentConfiguration")


def test_a_bake_shorter_than_the_alarm_window(check_text: CheckText) -> None:
    report = check(check_text, service_template(deployment={"BakeTimeInMinutes": 1}))
    (finding,) = findings(report, "FA407")
    assert finding.severity is Severity.WARNING and finding.location.resource == "Service"
    assert "bakes for 1 min after production traffic shifts" in finding.message
    assert "evaluation window of 120 s (60 s x 2 periods)" in finding.message
    assert finding.location.path == (*CONFIG, "BakeTimeInMinutes")
    assert finding.location.line is not None


def test_the_default_bake_against_a_long_window(check_text: CheckText) -> None:
    template = service_template(
        period=300, evaluation_periods=4, deployment={"BakeTimeInMinutes": None}
    )
    (finding,) = findings(check(check_text, template), "FA407")
    assert "bakes for 15 min (the default)" in finding.message and "1200 s" in finding.message
    assert finding.location.path == CONFIG
    # 20 minutes cover the 1200 s window.
    longer = service_template(
        period=300, evaluation_periods=4, deployment={"BakeTimeInMinutes": 20}
    )
    assert findings(check(check_text, longer), "FA407") == []


@pytest.mark.parametrize(
    ("strategy", "config", "words", "key"),
    [
        (
            "CANARY",
            {"CanaryConfiguration": {"CanaryBakeTimeInMinutes": 1}},
            "canary phase lasts 1 min",
            "CanaryConfiguration",
        ),
        (
            "LINEAR",
            {"LinearConfiguration": {"StepPercent": 20, "StepBakeTimeInMinutes": 1}},
            "linear steps last 1 min",
            "LinearConfiguration",
        ),
    ],
)
def test_a_canary_or_step_shorter_than_the_alarm_window(
    check_text: CheckText, strategy: str, config: dict[str, Any], words: str, key: str
) -> None:
    report = check(check_text, service_template(strategy=strategy, deployment=config))
    (finding,) = findings(report, "FA407")
    assert words in finding.message and "before the alarm can judge" in finding.message
    assert finding.location.path[:3] == (*CONFIG, key)


def test_the_default_canary_phase_against_a_long_window(check_text: CheckText) -> None:
    template = service_template(
        strategy="CANARY", period=300, evaluation_periods=3, deployment={"BakeTimeInMinutes": 60}
    )
    (finding,) = findings(check(check_text, template), "FA407")
    assert "canary phase lasts 10 min (the default)" in finding.message
    assert finding.location.path == CONFIG


def test_the_longest_known_window_counts_even_when_another_is_unknown(
    check_text: CheckText,
) -> None:
    template = service_template(deployment={"BakeTimeInMinutes": 3})
    resources = template["Resources"]
    resources["ResponseTimeAlarm"]["Properties"]["EvaluationPeriods"] = ref("UnknownNumber")
    resources["UnhealthyHostsAlarm"]["Properties"]["EvaluationPeriods"] = 5  # 300 s
    (finding,) = findings(check(check_text, template), "FA407")
    assert "alarm UnhealthyHostsAlarm's evaluation window of 300 s" in finding.message


@pytest.mark.parametrize(
    "template",
    [
        service_template(period=ref("UnknownNumber"), deployment={"BakeTimeInMinutes": 0}),
        service_template(evaluation_periods=ref("Unknown"), deployment={"BakeTimeInMinutes": 0}),
        service_template(  # the default 15 min would be short for 1200 s: unknown is not 15
            period=300, evaluation_periods=4, deployment={"BakeTimeInMinutes": ref("UnknownNumber")}
        ),
        service_template(deployment={"Strategy": ref("Unknown"), "BakeTimeInMinutes": 0}),
        service_template(
            strategy="CANARY",
            deployment={
                "BakeTimeInMinutes": 60,
                "CanaryConfiguration": {"CanaryBakeTimeInMinutes": ref("UnknownNumber")},
            },
            period=600,
        ),
        service_template(
            deployment={
                "BakeTimeInMinutes": 0,
                "Alarms": {
                    "AlarmNames": [{"Fn::ImportValue": "a"}, "elsewhere"],
                    "Enable": True,
                    "Rollback": True,
                },
            }
        ),
        service_template(
            deployment={
                "BakeTimeInMinutes": 0,
                "Alarms": {
                    "AlarmNames": [ref("ResponseTimeAlarm")],
                    "Enable": ref("Unknown"),
                    "Rollback": True,
                },
            }
        ),
    ],
    ids=["period", "evaluation-periods", "bake", "strategy", "canary", "names", "enable"],
)
def test_unknown_values_are_not_findings(check_text: CheckText, template: dict[str, Any]) -> None:
    assert findings(check(check_text, template), "FA407") == []


def test_rolling_and_disabled_alarms_are_not_judged(check_text: CheckText) -> None:
    # ECS derives a rolling deployment's watch time from its alarms.
    rolling = service_template(strategy="ROLLING", period=3600, evaluation_periods=24)
    assert findings(check(check_text, rolling), "FA407") == []
    disabled = service_template(
        deployment={
            "BakeTimeInMinutes": 0,
            "Alarms": {"AlarmNames": [ref("ResponseTimeAlarm")], "Enable": False, "Rollback": True},
        }
    )
    report = check(check_text, disabled)
    assert findings(report, "FA407") == [] and len(findings(report, "FA406")) == 1
