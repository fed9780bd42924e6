"""FA408: a canary phase or linear step shorter than the target groups' drain window."""

from __future__ import annotations

from typing import Any

import pytest

from fargate_api.check.findings import Severity
from unit.check.conftest import CheckText
from unit.check.test_fa406_traffic_shift_without_alarms import check, findings
from unit.templates.deployment_shapes import GROUPS, ref, service_template

CONFIG = ("Properties", "DeploymentConfiguration")


def test_a_canary_phase_shorter_than_the_drain(check_text: CheckText) -> None:
    report = check(check_text, service_template(strategy="CANARY", delay="900"))
    (finding,) = findings(report, "FA408")
    assert finding.severity is Severity.WARNING and finding.location.resource == "Service"
    assert "canary phase lasts 10 min (the default) (600 s)" in finding.message
    assert "ServiceTargetGroup's deregistration delay of 900 s" in finding.message
    assert finding.location.path == CONFIG and finding.location.line is not None


def test_a_linear_step_shorter_than_the_default_drain(check_text: CheckText) -> None:
    template = service_template(
        strategy="LINEAR", deployment={"LinearConfiguration": {"StepBakeTimeInMinutes": 4}}
    )
    for group in GROUPS.values():
        del template["Resources"][group]["Properties"]["TargetGroupAttributes"]
    (finding,) = findings(check(check_text, template), "FA408")
    assert "linear steps last 4 min (240 s)" in finding.message and "of 300 s" in finding.message
    assert finding.location.path == (*CONFIG, "LinearConfiguration", "StepBakeTimeInMinutes")


def test_the_longest_drain_of_the_two_groups_counts(check_text: CheckText) -> None:
    template = service_template(strategy="CANARY")
    attributes = template["Resources"]["ServiceTargetGroupAlternate"]["Properties"][
        "TargetGroupAttributes"
    ]
    attributes[0]["Value"] = "700"
    (finding,) = findings(check(check_text, template), "FA408")
    assert "ServiceTargetGroupAlternate's deregistration delay of 700 s" in finding.message


def test_without_advanced_configuration_the_service_groups_count(check_text: CheckText) -> None:
    template = service_template(strategy="CANARY", delay="900")
    del template["Resources"]["Service"]["Properties"]["LoadBalancers"][0]["AdvancedConfiguration"]
    assert len(findings(check(check_text, template), "FA408")) == 1


@pytest.mark.parametrize(
    "template",
    [
        service_template(strategy="CANARY", delay="600"),  # equal is enough
        service_template(strategy="BLUE_GREEN", delay="3600"),  # one shift, nothing to wait for
        service_template(strategy="ROLLING", delay="3600"),
        service_template(strategy="CANARY", delay={"Fn::ImportValue": "delay"}),
        service_template(
            strategy="LINEAR",
            delay="900",
            deployment={"LinearConfiguration": {"StepBakeTimeInMinutes": ref("UnknownNumber")}},
        ),
        service_template(strategy="CANARY", delay="900", deployment={"Strategy": ref("Unknown")}),
    ],
    ids=["equal", "blue-green", "rolling", "unknown-delay", "unknown-step", "unknown-strategy"],
)
def test_no_finding(check_text: CheckText, template: dict[str, Any]) -> None:
    assert findings(check(check_text, template), "FA408") == []


def test_a_target_group_that_cannot_be_followed_is_not_judged(check_text: CheckText) -> None:
    template = service_template(strategy="CANARY", delay="900")
    entry = template["Resources"]["Service"]["Properties"]["LoadBalancers"][0]
    entry["TargetGroupArn"] = {"Fn::ImportValue": "blue"}
    entry["AdvancedConfiguration"]["AlternateTargetGroupArn"] = ref("Unknown")
    assert findings(check(check_text, template), "FA408") == []
