"""FA406: blue/green, canary and linear deployments need alarms that roll them back."""

from __future__ import annotations

from typing import Any

import pytest

from fargate_api.check import Report
from fargate_api.check.findings import Finding, Severity
from unit.check.conftest import CheckText
from unit.templates.deployment_shapes import as_text, ref, service_template

DEPLOYMENT_RULES = {"FA406", "FA407", "FA408", "FA409"}


def check(check_text: CheckText, template: dict[str, Any]) -> Report:
    return check_text(files={"service.json": as_text(template)})


def findings(report: Report, rule: str) -> list[Finding]:
    return [f for f in report.active if f.rule_id == rule]


@pytest.mark.parametrize(
    ("strategy", "test_listener"),
    [
        ("BLUE_GREEN", True),
        ("BLUE_GREEN", False),
        ("CANARY", False),
        ("LINEAR", True),
        ("ROLLING", False),
    ],
)
def test_the_synth_shapes_have_no_deployment_findings(
    check_text: CheckText, strategy: str, test_listener: bool
) -> None:
    report = check(check_text, service_template(strategy=strategy, test_listener=test_listener))
    assert [f.message for f in report.active if f.rule_id in DEPLOYMENT_RULES] == []


@pytest.mark.parametrize("strategy", ["BLUE_GREEN", "CANARY", "LINEAR"])
def test_a_traffic_shift_without_alarms(check_text: CheckText, strategy: str) -> None:
    report = check(check_text, service_template(strategy=strategy, alarms=False))
    (finding,) = findings(report, "FA406")
    assert finding.severity is Severity.WARNING and finding.location.resource == "Service"
    assert "without deployment alarms" in finding.message
    assert finding.location.path == ("Properties", "DeploymentConfiguration")
    assert finding.location.line is not None


@pytest.mark.parametrize(
    ("alarms", "words", "key"),
    [
        (
            {"AlarmNames": [ref("ResponseTimeAlarm")], "Enable": False, "Rollback": True},
            "are disabled",
            "Enable",
        ),
        ({"AlarmNames": [], "Enable": True, "Rollback": True}, "name no alarm", "AlarmNames"),
        (
            {"AlarmNames": [ref("ResponseTimeAlarm")], "Enable": "true", "Rollback": "false"},
            "do not roll back",
            "Rollback",
        ),
    ],
)
def test_alarms_that_do_not_watch_or_do_not_roll_back(
    check_text: CheckText, alarms: dict[str, Any], words: str, key: str
) -> None:
    report = check(check_text, service_template(strategy="CANARY", deployment={"Alarms": alarms}))
    (finding,) = findings(report, "FA406")
    assert words in finding.message and "canary" in finding.message
    assert finding.location.path == ("Properties", "DeploymentConfiguration", "Alarms", key)


def test_no_deployment_configuration_at_all_points_at_the_properties(check_text: CheckText) -> None:
    template = service_template(alarms=False)
    props = template["Resources"]["Service"]["Properties"]
    del props["DeploymentConfiguration"]
    props["DeploymentController"] = {"Type": "ECS"}
    assert findings(check(check_text, template), "FA406") == []  # ROLLING by default
    props["DeploymentConfiguration"] = {"Strategy": "LINEAR"}
    (finding,) = findings(check(check_text, template), "FA406")
    assert finding.location.path == ("Properties", "DeploymentConfiguration")


@pytest.mark.parametrize(
    "change",
    [
        {"Strategy": ref("Unknown"), "Alarms": None},
        {
            "Strategy": "BLUE_GREEN",
            "Alarms": {"AlarmNames": ["x"], "Enable": ref("Unknown"), "Rollback": True},
        },
        {
            "Strategy": "BLUE_GREEN",
            "Alarms": {"AlarmNames": ["x"], "Enable": True, "Rollback": ref("Unknown")},
        },
        {"Strategy": "BLUE_GREEN", "Alarms": {"Fn::ImportValue": "alarms"}},
        {
            "Strategy": "BLUE_GREEN",
            "Alarms": {
                "AlarmNames": {"Fn::ImportValue": "names"},
                "Enable": True,
                "Rollback": True,
            },
        },
        {"Strategy": "ROLLING", "Alarms": None},  # FA409's concern, not this rule's
    ],
)
def test_unknown_values_and_rolling_are_not_findings(
    check_text: CheckText, change: dict[str, Any]
) -> None:
    report = check(check_text, service_template(deployment=change))
    assert findings(report, "FA406") == []


@pytest.mark.parametrize("controller", [ref("Unknown"), "CODE_DEPLOY", "EXTERNAL"])
def test_other_or_unknown_controllers_are_not_judged(
    check_text: CheckText, controller: object
) -> None:
    template = service_template(alarms=False)
    template["Resources"]["Service"]["Properties"]["DeploymentController"] = {"Type": controller}
    assert findings(check(check_text, template), "FA406") == []
