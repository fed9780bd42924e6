"""How the twin reads a service's deployment strategy and the alarms it watches, from our
synth and from templates shaped otherwise, including those it must refuse or can only
partly run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fargate_api.config.loader import parse_config
from fargate_api.synth import synthesize, write_templates
from fargate_api.twin.plan.errors import PlanError
from fargate_api.twin.plan.load import load_plan
from fargate_api.twin.plan.model import DeploymentPlan, TrafficShift

CANARY = """
[deployment]
strategy = "canary"
canary_percent = 20.0
canary_interval = 5
bake_time = 7
test_listener_port = 8080
test_traffic_time = 2
"""


def _synth(tmp_path: Path, text: str) -> Path:
    config = parse_config(text, Path("fargate-api.toml"))
    write_templates(synthesize(config), tmp_path)
    return tmp_path / "parent.yml"


def _edit_service(tmp_path: Path, edit: Any) -> None:
    path = tmp_path / "service.yml"
    template = yaml.safe_load(path.read_text())
    edit(template)
    path.write_text(yaml.safe_dump(template, sort_keys=False))


def test_a_canary_config_reaches_the_twin_as_ecs_would_run_it(tmp_path: Path) -> None:
    plan = load_plan(_synth(tmp_path, CANARY))
    (service,) = plan.services
    deployment = service.deployment
    assert (deployment.strategy, deployment.canary_percent) == ("CANARY", 20.0)
    assert (deployment.canary_interval, deployment.bake_time) == (300, 420)
    assert deployment.test_traffic_pause == 120  # the PAUSE hook's timeout, CONTINUE
    assert deployment.shifts == (
        TrafficShift(
            target_group="ServiceStack/ServiceTargetGroup",
            alternate_target_group="ServiceStack/ServiceTargetGroupAlternate",
            production_rule="ServiceStack/ProductionListenerRule",
            test_rule="ServiceStack/TestListenerRule",
        ),
    )
    assert deployment.alarm_rollback is True
    assert set(deployment.alarms) == {a.key for a in plan.alarms}
    assert len(plan.alarms) == 3
    error_rate = next(a for a in plan.alarms if a.key.endswith("TargetErrorRateAlarm"))
    assert error_rate.threshold == 5.0 and error_rate.treat_missing_data == "notBreaching"
    groups = {q.target_group for q in error_rate.queries if q.target_group}
    assert groups == {"ServiceStack/ServiceTargetGroup", "ServiceStack/ServiceTargetGroupAlternate"}
    # The alarms it evaluates are not listed among what it does not build.
    assert not [n for n in plan.notices if n.type == "AWS::CloudWatch::Alarm"]


def test_the_default_rolls_without_alarms(tmp_path: Path) -> None:
    plan = load_plan(_synth(tmp_path, ""))
    assert plan.services[0].deployment == DeploymentPlan()
    assert plan.alarms == ()


def test_rolling_with_alarms_watches_them_on_its_one_target_group(tmp_path: Path) -> None:
    plan = load_plan(_synth(tmp_path, "[deployment]\nalarms = true\n"))
    deployment = plan.services[0].deployment
    assert deployment.strategy == "ROLLING" and deployment.shifts == ()
    assert len(deployment.alarms) == 3 and deployment.alarm_rollback
    targets = {q.target_group for a in plan.alarms for q in a.queries if q.target_group}
    assert targets == {"ServiceStack/ServiceTargetGroup"}


def test_blue_green_without_advanced_configuration_is_refused(tmp_path: Path) -> None:
    parent = _synth(tmp_path, '[deployment]\nstrategy = "blue_green"\n')

    def drop(template: dict[str, Any]) -> None:
        del template["Resources"]["Service"]["Properties"]["LoadBalancers"][0][
            "AdvancedConfiguration"
        ]

    _edit_service(tmp_path, drop)
    with pytest.raises(PlanError, match="AdvancedConfiguration") as caught:
        load_plan(parent)
    assert "service.yml" in (caught.value.where or "")


def test_an_alarm_the_twin_cannot_compute_is_named_and_left_out(tmp_path: Path) -> None:
    parent = _synth(tmp_path, '[deployment]\nstrategy = "canary"\n')

    def cpu_alarm(template: dict[str, Any]) -> None:
        alarm = template["Resources"]["ResponseTimeAlarm"]["Properties"]
        for metric in alarm["Metrics"]:
            if "MetricStat" in metric:
                metric["MetricStat"]["Metric"]["Namespace"] = "AWS/ECS"
                metric["MetricStat"]["Metric"]["MetricName"] = "CPUUtilization"

    _edit_service(tmp_path, cpu_alarm)
    plan = load_plan(parent)
    assert len(plan.alarms) == 2
    assert not any(k.endswith("ResponseTimeAlarm") for k in plan.services[0].deployment.alarms)
    (notice,) = [n for n in plan.notices if n.resource.endswith("ResponseTimeAlarm")]
    assert "not evaluated" in notice.reason and "AWS/ApplicationELB" in notice.reason


def test_metric_math_the_twin_does_not_run_is_named(tmp_path: Path) -> None:
    parent = _synth(tmp_path, '[deployment]\nstrategy = "linear"\n')

    def anomaly(template: dict[str, Any]) -> None:
        alarm = template["Resources"]["TargetErrorRateAlarm"]["Properties"]
        returned = next(m for m in alarm["Metrics"] if m.get("ReturnData", True) is True)
        returned["Expression"] = "ANOMALY_DETECTION_BAND(rate_a, 2)"

    _edit_service(tmp_path, anomaly)
    plan = load_plan(parent)
    (notice,) = [n for n in plan.notices if n.resource.endswith("TargetErrorRateAlarm")]
    assert "ANOMALY_DETECTION_BAND" in notice.reason


def test_a_strategy_from_a_parameter_without_default_runs_ecs_default_with_a_notice(
    tmp_path: Path,
) -> None:
    parent = _synth(tmp_path, "")

    def parameterise(template: dict[str, Any]) -> None:
        template["Parameters"]["Strategy"] = {"Type": "String"}
        config = template["Resources"]["Service"]["Properties"]["DeploymentConfiguration"]
        config["Strategy"] = {"Ref": "Strategy"}

    _edit_service(tmp_path, parameterise)
    plan = load_plan(parent)
    assert plan.services[0].deployment.strategy == "ROLLING"
    assert any("strategy" in n.reason and "ECS's default" in n.reason for n in plan.notices)
