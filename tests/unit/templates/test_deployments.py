"""An ECS service's deployment as a typed record, with ECS's defaults and unknowns marked."""

from __future__ import annotations

import pytest

from fargate_api.templates import ResourceRef, Unresolved, defaults
from fargate_api.templates.deployments import (
    DeploymentAlarmsView,
    DeploymentView,
    LifecycleHookView,
    deployments,
    read_deployment,
)
from fargate_api.templates.query import StackQuery
from unit.templates.deployment_shapes import ALARMS, ref, service_query, service_template
from unit.templates.support import query, resource


def _read(template: dict[str, object]) -> tuple[StackQuery, DeploymentView]:
    q = service_query(template)
    return q, read_deployment(q, resource(q, "Service"))


def test_the_synth_blue_green_shape_reads_whole() -> None:
    q, view = _read(service_template())
    assert (view.controller, view.strategy, view.declared_strategy) == (
        "ECS",
        "BLUE_GREEN",
        "BLUE_GREEN",
    )
    assert view.shifts_traffic() and view.unknown == frozenset()
    assert (view.bake_time_minutes, view.bake_time) == (15, 15)
    assert (view.circuit_breaker, view.circuit_breaker_rollback) == (True, True)
    assert view.hooks == (LifecycleHookView(("POST_TEST_TRAFFIC_SHIFT",), "PAUSE", 5, "CONTINUE"),)
    (advanced,) = view.advanced
    assert advanced.index == 0
    assert advanced.primary is resource(q, "ServiceTargetGroup")
    assert advanced.alternate is resource(q, "ServiceTargetGroupAlternate")
    assert advanced.production_rule is resource(q, "ProductionListenerRule")
    assert advanced.test_rule is resource(q, "TestListenerRule")
    assert advanced.role is resource(q, "ECSInfrastructureRole")
    alarms = view.alarms
    assert alarms is not None
    assert alarms.names == tuple(ResourceRef("service.json", a) for a in ALARMS)
    assert alarms.alarms == tuple(resource(q, a) for a in ALARMS)
    assert (alarms.enable, alarms.rollback, alarms.in_use()) == (True, True, True)
    assert deployments(q) == [view]


def test_without_a_test_listener_there_is_no_test_rule_and_no_hook() -> None:
    _, view = _read(service_template(test_listener=False))
    assert view.advanced[0].test_rule is None and view.hooks == ()


def test_a_service_that_says_nothing_gets_ecs_defaults() -> None:
    _, view = _read(service_template(strategy="ROLLING", alarms=False))
    assert (view.controller, view.strategy, view.declared_strategy) == ("ECS", "ROLLING", None)
    assert not view.shifts_traffic()
    assert (view.bake_time_minutes, view.bake_time) == (None, 0)
    assert (view.canary_percent, view.canary_interval_minutes) == (5.0, 10)
    assert (view.linear_percent, view.linear_interval_minutes) == (10.0, 6)
    assert view.alarms is None and view.hooks == () and view.advanced == ()
    bare = query("Resources:\n  Service: {Type: AWS::ECS::Service}\n")
    empty = read_deployment(bare, resource(bare, "Service"))
    assert (empty.circuit_breaker, empty.circuit_breaker_rollback, empty.alarms) == (None,) * 3


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"Strategy": "CANARY", "BakeTimeInMinutes": None}, (15, 5.0, 10, 10.0, 6)),
        (
            {
                "Strategy": "canary",
                "BakeTimeInMinutes": "0",
                "CanaryConfiguration": {"CanaryPercent": "12.5", "CanaryBakeTimeInMinutes": 3},
            },
            (0, 12.5, 3, 10.0, 6),
        ),
        (
            {
                "Strategy": "LINEAR",
                "BakeTimeInMinutes": 30,
                "LinearConfiguration": {"StepPercent": 25, "StepBakeTimeInMinutes": "2"},
            },
            (30, 5.0, 10, 25.0, 2),
        ),
    ],
)
def test_canary_and_linear_settings_with_their_defaults(
    config: dict[str, object], expected: tuple[object, ...]
) -> None:
    _, view = _read(service_template(deployment=config))
    assert view.strategy == str(config["Strategy"]).upper() and view.shifts_traffic()
    assert (
        view.bake_time,
        view.canary_percent,
        view.canary_interval_minutes,
        view.linear_percent,
        view.linear_interval_minutes,
    ) == expected
    assert view.unknown == frozenset()


def test_defaults_are_ecs_documented_values() -> None:
    assert (defaults.BAKE_TIME_MINUTES, defaults.CANARY_PERCENT, defaults.CANARY_BAKE_MINUTES) == (
        15,
        5.0,
        10,
    )
    assert (defaults.LINEAR_STEP_PERCENT, defaults.LINEAR_BAKE_MINUTES) == (10.0, 6)


def test_unknown_settings_hold_the_default_and_are_named() -> None:
    _, view = _read(
        service_template(
            deployment={
                "Strategy": ref("Unknown"),
                "BakeTimeInMinutes": None,
                "CanaryConfiguration": {
                    "CanaryPercent": {"Fn::ImportValue": "percent"},
                    "CanaryBakeTimeInMinutes": ref("UnknownNumber"),
                },
                "LinearConfiguration": {"StepPercent": "many", "StepBakeTimeInMinutes": 4},
            }
        )
    )
    assert (view.strategy, view.declared_strategy, view.bake_time) == ("ROLLING", None, 0)
    assert view.unknown == {
        "strategy",
        "bake_time",  # its default depends on the strategy
        "canary_percent",
        "canary_interval_minutes",
        "linear_percent",
    }
    assert (view.canary_percent, view.canary_interval_minutes) == (5.0, 10)
    assert view.linear_interval_minutes == 4 and view.known("linear_interval_minutes")
    assert not view.known("strategy", "controller")


def test_an_undecidable_deployment_configuration_is_unknown_not_default() -> None:
    template = service_template()
    template["Conditions"] = {"Maybe": {"Fn::Equals": [ref("Unknown"), "yes"]}}
    service = template["Resources"]["Service"]["Properties"]
    service["DeploymentConfiguration"] = {"Fn::If": ["Maybe", {"Strategy": "CANARY"}, {}]}
    service["DeploymentController"] = {"Type": ref("Unknown")}
    _, view = _read(template)
    assert {"controller", "strategy", "bake_time"} <= view.unknown
    assert view.controller == "ECS" and view.strategy == "ROLLING"
    alarms = view.alarms
    assert alarms is not None and alarms.in_use() is None
    assert isinstance(alarms.names[0], Unresolved) and alarms.alarms == (None,)
    assert view.circuit_breaker is None and view.hooks == ()


def test_only_the_ecs_controller_shifts_traffic() -> None:
    template = service_template()
    props = template["Resources"]["Service"]["Properties"]
    props["DeploymentController"] = {"Type": "CODE_DEPLOY"}
    _, view = _read(template)
    assert view.controller == "CODE_DEPLOY" and view.strategy == "BLUE_GREEN"
    assert not view.shifts_traffic()


def test_alarm_names_by_ref_by_literal_name_and_unknown() -> None:
    literal = "service-unhealthy-hosts"  # the Sub "${AWS::StackName}-unhealthy-hosts" resolved
    names = [
        ref("TargetErrorRateAlarm"),
        literal,
        {"Fn::Sub": "${AWS::StackName}-p99-response-time"},
        "someone-elses-alarm",
        {"Fn::ImportValue": "alarm"},
        ref("ServiceTargetGroup"),  # a Ref, but not to an alarm
    ]
    _, view = _read(
        service_template(
            deployment={"Alarms": {"AlarmNames": names, "Enable": "true", "Rollback": "false"}}
        )
    )
    alarms = view.alarms
    assert alarms is not None
    assert alarms.names[1] == literal and isinstance(alarms.names[4], Unresolved)
    assert [a.logical_id if a else None for a in alarms.alarms] == [
        "TargetErrorRateAlarm",
        "UnhealthyHostsAlarm",
        "ResponseTimeAlarm",
        None,
        None,
        None,
    ]
    assert (alarms.enable, alarms.rollback) == (True, False)


@pytest.mark.parametrize(
    ("alarms", "in_use"),
    [
        ({"AlarmNames": [], "Enable": True, "Rollback": True}, False),
        ({"AlarmNames": ["x"], "Enable": False, "Rollback": True}, False),
        ({"AlarmNames": ["x"], "Enable": {"Ref": "Unknown"}, "Rollback": True}, None),
        ({"AlarmNames": {"Ref": "Unknown"}, "Enable": True, "Rollback": True}, True),
    ],
)
def test_alarms_in_use(alarms: dict[str, object], in_use: bool | None) -> None:
    _, view = _read(service_template(alarms=False, deployment={"Alarms": alarms}))
    assert isinstance(view.alarms, DeploymentAlarmsView)
    assert view.alarms.in_use() is in_use


def test_advanced_configuration_that_leads_nowhere_reads_none() -> None:
    template = service_template()
    entry = template["Resources"]["Service"]["Properties"]["LoadBalancers"][0]
    entry["AdvancedConfiguration"] = {
        "AlternateTargetGroupArn": {"Fn::ImportValue": "green"},
        "ProductionListenerRule": "arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/x",
        "TestListenerRule": ref("ServiceTargetGroup"),  # the wrong kind of resource
        "RoleArn": ref("Unknown"),
    }
    q, view = _read(template)
    (advanced,) = view.advanced
    assert advanced.primary is resource(q, "ServiceTargetGroup")
    assert (advanced.alternate, advanced.production_rule, advanced.test_rule, advanced.role) == (
        None,
    ) * 4
    entry["AdvancedConfiguration"] = ref("Unknown")
    _, unknown = _read(template)
    assert unknown.advanced[0].alternate is None and unknown.advanced[0].primary is not None


def test_hook_defaults() -> None:
    hooks = [
        {"LifecycleStages": ["PRE_SCALE_UP", 3], "HookTargetArn": "arn:aws:lambda:x"},
        {"LifecycleStages": ["POST_SCALE_UP"], "TargetType": ref("Unknown")},
    ]
    _, view = _read(service_template(deployment={"LifecycleHooks": hooks}))
    assert view.hooks == (
        LifecycleHookView(("PRE_SCALE_UP",), "AWS_LAMBDA", None, None),
        LifecycleHookView(("POST_SCALE_UP",), "", None, None),
    )


PARENT = """
Resources:
  Monitoring:
    Type: AWS::CloudFormation::Stack
    Properties: {TemplateURL: monitoring.yml}
  App:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: app.yml
      Parameters:
        ErrorAlarm: !GetAtt Monitoring.Outputs.ErrorAlarm
        Role: !GetAtt Monitoring.Outputs.Role
"""
MONITORING = """
Resources:
  Errors:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/ApplicationELB
      MetricName: HTTPCode_Target_5XX_Count
      Statistic: Sum
      Period: 60
      EvaluationPeriods: 3
      Threshold: 10
      ComparisonOperator: GreaterThanThreshold
  Role:
    Type: AWS::IAM::Role
    Properties: {AssumeRolePolicyDocument: {}}
Outputs:
  ErrorAlarm: {Value: !Ref Errors}
  Role: {Value: !GetAtt Role.Arn}
"""
APP = """
Parameters:
  ErrorAlarm: {Type: String}
  Role: {Type: String}
Resources:
  Blue: {Type: AWS::ElasticLoadBalancingV2::TargetGroup}
  Green: {Type: AWS::ElasticLoadBalancingV2::TargetGroup}
  Service:
    Type: AWS::ECS::Service
    Properties:
      LoadBalancers:
        - TargetGroupArn: !Ref Blue
          AdvancedConfiguration: {AlternateTargetGroupArn: !Ref Green, RoleArn: !Ref Role}
      DeploymentConfiguration:
        Strategy: LINEAR
        Alarms: {AlarmNames: [!Ref ErrorAlarm], Enable: true, Rollback: true}
"""


def test_alarms_and_roles_are_followed_across_nested_stacks() -> None:
    q = query(
        root="parent.yml",
        files={"parent.yml": PARENT, "monitoring.yml": MONITORING, "app.yml": APP},
    )
    service = next(q.resources("AWS::ECS::Service"))
    view = read_deployment(q, service)
    assert view.alarms is not None
    (alarm,) = view.alarms.alarms
    assert alarm is not None and alarm.logical_id == "Errors" and alarm.stack != service.stack
    assert view.advanced[0].role is not None and view.advanced[0].role.logical_id == "Role"
    assert view.advanced[0].alternate is not None and view.strategy == "LINEAR"
