"""FA409: a rolling deployment watched by the circuit breaker alone."""

from __future__ import annotations

from typing import Any

import pytest

from fargate_api.check.findings import Severity
from unit.check.conftest import CheckText
from unit.check.test_fa406_traffic_shift_without_alarms import check, findings
from unit.templates.deployment_shapes import ref, service_template

CONFIG = ("Properties", "DeploymentConfiguration")


def test_rolling_with_the_breaker_and_no_alarms(check_text: CheckText) -> None:
    report = check(check_text, service_template(strategy="ROLLING", alarms=False))
    (finding,) = findings(report, "FA409")
    assert finding.severity is Severity.INFO and finding.location.resource == "Service"
    assert "rolls back only tasks that fail to start or fail their health checks" in finding.message
    assert finding.location.path == CONFIG and finding.location.line is not None
    assert findings(report, "FA402") == []  # one finding for one gap


def test_disabled_alarms_point_at_the_alarms(check_text: CheckText) -> None:
    alarms = {"AlarmNames": [ref("ResponseTimeAlarm")], "Enable": False, "Rollback": True}
    report = check(check_text, service_template(strategy="ROLLING", deployment={"Alarms": alarms}))
    (finding,) = findings(report, "FA409")
    assert finding.location.path == (*CONFIG, "Alarms")


def test_without_the_breaker_fa402_speaks_instead(check_text: CheckText) -> None:
    template = service_template(
        strategy="ROLLING", alarms=False, deployment={"DeploymentCircuitBreaker": None}
    )
    report = check(check_text, template)
    assert findings(report, "FA409") == [] and len(findings(report, "FA402")) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"Alarms": {"AlarmNames": ["x"], "Enable": ref("Unknown"), "Rollback": True}},
        {"Alarms": {"AlarmNames": {"Fn::ImportValue": "names"}, "Enable": True, "Rollback": True}},
        {"Strategy": ref("Unknown")},
        {"Strategy": "BLUE_GREEN"},  # FA406's concern
        {"DeploymentCircuitBreaker": {"Enable": ref("Unknown"), "Rollback": True}},
    ],
)
def test_unknown_values_and_other_strategies_are_not_findings(
    check_text: CheckText, change: dict[str, Any]
) -> None:
    template = service_template(strategy="ROLLING", alarms=False, deployment=change)
    assert findings(check(check_text, template), "FA409") == []


@pytest.mark.parametrize("controller", [ref("Unknown"), "CODE_DEPLOY", "EXTERNAL"])
def test_other_or_unknown_controllers_are_not_judged(
    check_text: CheckText, controller: object
) -> None:
    template = service_template(strategy="ROLLING", alarms=False)
    template["Resources"]["Service"]["Properties"]["DeploymentController"] = {"Type": controller}
    assert findings(check(check_text, template), "FA409") == []
