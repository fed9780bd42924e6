# ruff: noqa: E501  (YAML data: one metric per line reads best)
"""CloudWatch alarms as typed records: metric math over target groups, windows, unknowns."""

from __future__ import annotations

import pytest

from fargate_api.templates.alarms import AlarmView, MetricStatView, alarms, as_float, read_alarm
from fargate_api.templates.query import StackQuery
from unit.templates.deployment_shapes import ALARMS, ref, service_query, service_template
from unit.templates.support import query, resource


def test_the_synth_error_rate_alarm_over_both_target_groups() -> None:
    q = service_query(service_template())
    view = read_alarm(q, resource(q, "TargetErrorRateAlarm"))
    assert view.name == "service-target-5xx-rate"  # Sub "${AWS::StackName}-..." resolved
    assert [m.id for m in view.metrics] == [
        "req_a",
        "err_a",
        "rate_a",
        "req_b",
        "err_b",
        "rate_b",
        "rate",
    ]
    assert [m.id for m in view.metrics if m.return_data] == ["rate"]
    err_b = view.metrics[4]
    assert err_b == MetricStatView(
        id="err_b",
        return_data=False,
        expression=None,
        namespace="AWS/ApplicationELB",
        metric_name="HTTPCode_Target_5XX_Count",
        dimensions=err_b.dimensions,
        target_group=resource(q, "ServiceTargetGroupAlternate"),
        load_balancer=resource(q, "PublicLoadBalancer"),
        stat="Sum",
        period=60,
    )
    assert [name for name, _ in err_b.dimensions] == ["TargetGroup", "LoadBalancer"]
    rate_a = view.metrics[2]
    assert rate_a.expression == "IF(req_a > 0, 100 * err_a / req_a, 0)"
    assert (rate_a.target_group, rate_a.stat, rate_a.period) == (None, None, None)
    assert view.metrics[-1].expression == "MAX([rate_a, rate_b])"
    assert (view.threshold, view.comparison) == (5.0, "GreaterThanThreshold")
    # No Period on the alarm nor on the returned expression: its inputs' period.
    assert (view.period, view.evaluation_periods, view.datapoints_to_alarm) == (60, 2, 2)
    assert view.treat_missing_data == "notBreaching"
    assert view.evaluation_window() == 120


def test_every_alarm_of_the_synth_shape() -> None:
    q = service_query(service_template(strategy="ROLLING", period=30, evaluation_periods=4))
    views = {v.resource.logical_id: v for v in alarms(q)}
    assert set(views) == set(ALARMS)
    unhealthy = views["UnhealthyHostsAlarm"]
    assert [(m.id, m.stat) for m in unhealthy.metrics] == [
        ("unhealthy_a", "Maximum"),
        ("unhealthy", None),
    ]
    assert (unhealthy.comparison, unhealthy.threshold) == ("GreaterThanOrEqualToThreshold", 1.0)
    p99 = views["ResponseTimeAlarm"]
    assert p99.metrics[0].stat == "p99" and p99.metrics[0].metric_name == "TargetResponseTime"
    assert p99.metrics[-1].expression == "MAX([p99_a])"  # one group: still a list
    assert {v.evaluation_window() for v in views.values()} == {120}


SINGLE = """
Parameters:
  Unknown: {Type: String}
  UnknownNumber: {Type: Number}
Resources:
  Tg: {Type: AWS::ElasticLoadBalancingV2::TargetGroup}
  Lb: {Type: AWS::ElasticLoadBalancingV2::LoadBalancer}
  Single:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/ApplicationELB
      MetricName: TargetResponseTime
      ExtendedStatistic: p99
      Dimensions:
        - {Name: TargetGroup, Value: !Sub "${Tg.TargetGroupFullName}"}
        - {Name: LoadBalancer, Value: !GetAtt Tg.LoadBalancerArns}
        - {Value: no-name}
      Period: 300
      EvaluationPeriods: "3"
      Threshold: "1.5"
      ComparisonOperator: GreaterThanThreshold
  Plain:
    Type: AWS::CloudWatch::Alarm
    Properties:
      MetricName: CPUUtilization
      Namespace: AWS/ECS
      Statistic: Average
      Period: 60
      EvaluationPeriods: 5
      DatapointsToAlarm: 3
      Threshold: 80
  Unknowns:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmName: !ImportValue name
      MetricName: RequestCount
      Namespace: AWS/ApplicationELB
      Statistic: Sum
      Period: !Ref UnknownNumber
      EvaluationPeriods: 2
      DatapointsToAlarm: !Ref UnknownNumber
      Threshold: !Ref Unknown
      TreatMissingData: !Ref Unknown
      Dimensions: [{Name: TargetGroup, Value: !ImportValue tg}]
  MathPeriods:
    Type: AWS::CloudWatch::Alarm
    Properties:
      EvaluationPeriods: 2
      Metrics:
        - {Id: a, ReturnData: false, MetricStat: {Metric: {MetricName: X, Namespace: N}, Period: 60, Stat: Sum}}
        - {Id: b, ReturnData: false, MetricStat: {Metric: {MetricName: Y, Namespace: N}, Period: 300, Stat: Sum}}
        - {Id: e, Expression: a + b}
  ReturnedPeriod:
    Type: AWS::CloudWatch::Alarm
    Properties:
      EvaluationPeriods: 2
      Metrics:
        - {Id: a, ReturnData: false, MetricStat: {Metric: {MetricName: X, Namespace: N}, Period: 60, Stat: Sum}}
        - {Id: e, Expression: a * 2, Period: 120, ReturnData: true}
  UnknownInput:
    Type: AWS::CloudWatch::Alarm
    Properties:
      EvaluationPeriods: 2
      Metrics:
        - {Id: a, ReturnData: false, MetricStat: {Metric: {MetricName: X, Namespace: N}, Period: !Ref UnknownNumber, Stat: Sum}}
        - {Id: b, ReturnData: false, MetricStat: {Metric: {MetricName: Y, Namespace: N}, Period: 60, Stat: Sum}}
        - {Id: e, Expression: a + b}
"""


def _alarms() -> tuple[StackQuery, dict[str, AlarmView]]:
    q = query(SINGLE)
    return q, {v.resource.logical_id: v for v in alarms(q)}


def test_a_single_metric_alarm_is_one_metric_m1() -> None:
    q, views = _alarms()
    single = views["Single"]
    (metric,) = single.metrics
    assert (metric.id, metric.return_data, metric.expression) == ("m1", True, None)
    assert (metric.namespace, metric.metric_name, metric.stat, metric.period) == (
        "AWS/ApplicationELB",
        "TargetResponseTime",
        "p99",
        300,
    )
    assert metric.target_group is resource(q, "Tg")  # through a Sub
    assert metric.load_balancer is None  # the dimension's value is not a load balancer
    assert len(metric.dimensions) == 2  # the one without a Name is dropped
    assert (single.threshold, single.period, single.evaluation_periods) == (1.5, 300, 3)
    assert single.name is None and single.treat_missing_data == "missing"
    assert single.datapoints_to_alarm == 3 and single.evaluation_window() == 900
    plain = views["Plain"]
    assert plain.metrics[0].stat == "Average" and plain.datapoints_to_alarm == 3
    assert plain.evaluation_window() == 300 and plain.comparison is None


def test_unknown_values_read_as_none_never_as_a_default() -> None:
    _, views = _alarms()
    unknowns = views["Unknowns"]
    assert unknowns.period is None and unknowns.evaluation_window() is None
    assert unknowns.threshold is None and unknowns.datapoints_to_alarm is None
    assert unknowns.treat_missing_data == "missing"
    assert unknowns.metrics[0].target_group is None
    assert unknowns.name is not None  # set, though not known: CloudFormation does not name it
    # One input's period unknown: so is the alarm's.
    assert views["UnknownInput"].period is None


def test_the_alarm_period_of_metric_math() -> None:
    _, views = _alarms()
    assert views["MathPeriods"].period == 300  # the longest input
    assert views["MathPeriods"].metrics[-1].return_data  # CloudWatch's default
    assert views["ReturnedPeriod"].period == 120  # the returned expression's own Period


def test_the_alarm_period_wins_over_its_metrics() -> None:
    template = service_template()
    alarm = template["Resources"]["ResponseTimeAlarm"]["Properties"]
    alarm["Period"] = 10
    q = service_query(template)
    assert read_alarm(q, resource(q, "ResponseTimeAlarm")).period == 10


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, 5.0), ("2.5", 2.5), (" 7 ", 7.0), (True, None), ("nan", None), ("x", None), (None, None)],
)
def test_as_float(value: object, expected: float | None) -> None:
    assert as_float(value) == expected


def test_unknown_periods_in_the_synth_shape_do_not_crash() -> None:
    q = service_query(
        service_template(period=ref("UnknownNumber"), evaluation_periods=ref("Unknown"))
    )
    views = alarms(q)
    assert {v.period for v in views} == {None}
    assert {v.evaluation_window() for v in views} == {None}
