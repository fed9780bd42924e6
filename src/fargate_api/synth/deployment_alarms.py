"""The CloudWatch alarms a deployment watches, and rolls back on.

The circuit breaker only sees tasks that never get healthy; a revision that is healthy
but answers 5xx, or slowly, needs an alarm. Each alarm judges every target group the
service can serve from and returns the worst of them: during a traffic shift the new
revision sits in the other group, and a broken revision there must fire the alarm even
while most requests still reach the old one. The error rate is a rate (5xx per request,
per group), so a canary's small share of traffic breaches it as readily as a full one.
A service on the shared load balancer names it by the LoadBalancerFullName parameter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fargate_api.config import Config
from fargate_api.config.model import DeploymentAlarmsConfig
from fargate_api.synth.deployment import ALTERNATE_TARGET_GROUP, PRIMARY_TARGET_GROUP
from fargate_api.synth.intrinsics import Json, get_att, ref, sub
from fargate_api.synth.template import Template

NAMESPACE = "AWS/ApplicationELB"
LOAD_BALANCER = "PublicLoadBalancer"
# The shared load balancer's metric dimension, as a parameter of each service stack.
LOAD_BALANCER_FULL_NAME = "LoadBalancerFullName"
ERROR_RATE_ALARM = "TargetErrorRateAlarm"
UNHEALTHY_HOSTS_ALARM = "UnhealthyHostsAlarm"
RESPONSE_TIME_ALARM = "ResponseTimeAlarm"
# Metric math ids carry one suffix per target group: a for the primary, b for the alternate.
GROUP_SUFFIXES = ("a", "b")


@dataclass(frozen=True)
class _Group:
    """One target group as the alarms' metric math sees it."""

    logical_id: str
    suffix: str
    load_balancer: Json  # the LoadBalancer dimension's value


@dataclass(frozen=True)
class _Alarm:
    logical_id: str
    name: str  # after the stack name: "<stack>-<name>"
    description: str
    metrics: list[Json]
    threshold: float
    comparison: str


def add_deployment_alarms(t: Template, config: Config, *, shared: bool = False) -> list[str]:
    """The alarms the deployment names, in the order it names them (none when off).
    `shared`: the load balancer is not in this stack but named by LoadBalancerFullName."""
    settings = config.deployment.alarm_settings()
    if settings is None:
        return []
    ids = [PRIMARY_TARGET_GROUP]
    if config.deployment.shifts_traffic:
        ids.append(ALTERNATE_TARGET_GROUP)
    balancer = (
        ref(LOAD_BALANCER_FULL_NAME) if shared else get_att(LOAD_BALANCER, "LoadBalancerFullName")
    )
    groups = [
        _Group(lid, suffix, balancer) for lid, suffix in zip(ids, GROUP_SUFFIXES, strict=False)
    ]
    builders = {
        ERROR_RATE_ALARM: _error_rate,
        UNHEALTHY_HOSTS_ALARM: _unhealthy_hosts,
        RESPONSE_TIME_ALARM: _response_time,
    }
    return [_add(t, builders[lid](groups, settings), settings) for lid in alarm_ids(settings)]


def alarm_ids(settings: DeploymentAlarmsConfig) -> list[str]:
    """The logical ids of the alarms these settings ask for, in the deployment's order."""
    ids = [ERROR_RATE_ALARM]
    if settings.unhealthy_hosts:
        ids.append(UNHEALTHY_HOSTS_ALARM)
    ids.append(RESPONSE_TIME_ALARM)
    return ids


def _error_rate(groups: list[_Group], settings: DeploymentAlarmsConfig) -> _Alarm:
    queries: list[Json] = []
    for group in groups:
        s = group.suffix
        queries += [
            _stat(f"req_{s}", "RequestCount", "Sum", group, settings.period),
            _stat(f"err_{s}", "HTTPCode_Target_5XX_Count", "Sum", group, settings.period),
            {
                "Id": f"rate_{s}",
                # A group without requests has no rate, not an infinite one.
                "Expression": f"IF(req_{s} > 0, 100 * err_{s} / req_{s}, 0)",
                "ReturnData": False,
            },
        ]
    queries.append(_result("rate", groups, "Target 5xx per request, percent (worst target group)"))
    return _Alarm(
        ERROR_RATE_ALARM,
        "target-5xx-rate",
        f"More than {settings.error_rate_percent:g} % of the requests to a target group get a "
        "5xx from its tasks: fails and rolls back a deployment",
        queries,
        settings.error_rate_percent,
        "GreaterThanThreshold",
    )


def _unhealthy_hosts(groups: list[_Group], settings: DeploymentAlarmsConfig) -> _Alarm:
    queries = [
        _stat(f"unhealthy_{g.suffix}", "UnHealthyHostCount", "Maximum", g, settings.period)
        for g in groups
    ]
    queries.append(_result("unhealthy", groups, "Unhealthy targets (most in one target group)"))
    return _Alarm(
        UNHEALTHY_HOSTS_ALARM,
        "unhealthy-hosts",
        "A task of the service fails the load balancer's health checks: fails and rolls back "
        "a deployment",
        queries,
        1.0,
        "GreaterThanOrEqualToThreshold",
    )


def _response_time(groups: list[_Group], settings: DeploymentAlarmsConfig) -> _Alarm:
    queries = [
        _stat(f"p99_{g.suffix}", "TargetResponseTime", "p99", g, settings.period) for g in groups
    ]
    queries.append(_result("p99", groups, "p99 response time, seconds (slowest target group)"))
    return _Alarm(
        RESPONSE_TIME_ALARM,
        "p99-response-time",
        f"The p99 response time of a target group's tasks exceeds "
        f"{settings.p99_response_time:g} s: fails and rolls back a deployment",
        queries,
        settings.p99_response_time,
        "GreaterThanThreshold",
    )


def _add(t: Template, alarm: _Alarm, settings: DeploymentAlarmsConfig) -> str:
    return t.add(
        alarm.logical_id,
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": sub(f"${{AWS::StackName}}-{alarm.name}"),
            "AlarmDescription": alarm.description,
            "Metrics": alarm.metrics,
            "ComparisonOperator": alarm.comparison,
            "Threshold": alarm.threshold,
            "EvaluationPeriods": settings.evaluation_periods,
            "DatapointsToAlarm": settings.datapoints_to_alarm,
            # No requests is no evidence against a revision: an idle service stays OK.
            "TreatMissingData": "notBreaching",
        },
    )


def _result(prefix: str, groups: list[_Group], label: str) -> Json:
    """The one series the alarm judges: the worst of the groups' series `<prefix>_<suffix>`."""
    return {
        "Id": prefix,
        "Expression": _max_of(f"{prefix}_{g.suffix}" for g in groups),
        "Label": label,
        "ReturnData": True,
    }


def _stat(query_id: str, name: str, stat: str, group: _Group, period: int) -> Json:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": NAMESPACE,
                "MetricName": name,
                "Dimensions": [
                    {
                        "Name": "TargetGroup",
                        "Value": get_att(group.logical_id, "TargetGroupFullName"),
                    },
                    {"Name": "LoadBalancer", "Value": group.load_balancer},
                ],
            },
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": False,
    }


def _max_of(ids: Iterable[str]) -> str:
    return f"MAX([{', '.join(ids)}])"
