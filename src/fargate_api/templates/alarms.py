"""CloudWatch alarms as typed records: what each one measures, and how long it takes to fire.

`check` compares an alarm's evaluation window with a deployment's bake time (an alarm that
cannot fire before the old revision is gone cannot roll anything back), and the twin
evaluates the same alarms from HAProxy's counters. Both need the same reading of a
template's alarm: which metrics over which target group, with which statistic and period,
and ECS's alarms are mostly metric math over several target groups. Reading it once here
keeps the finding and the twin's behaviour about the same numbers.

A single-metric alarm (MetricName, Statistic, Period on the alarm) reads as one metric
entry with id "m1" that returns data, so readers handle one shape. A value that is set but
cannot be known without deploying (a parameter without a default, an import) reads as None,
never as a default: a window that is not known is not judged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fargate_api.templates import defaults
from fargate_api.templates.model import Resource
from fargate_api.templates.props import as_bool, as_int, as_list, as_str, get
from fargate_api.templates.query import StackQuery
from fargate_api.templates.topology import LOAD_BALANCER, TARGET_GROUP, references

ALARM = "AWS::CloudWatch::Alarm"
SINGLE_METRIC_ID = "m1"  # the id a single-metric alarm's metric gets in `metrics`


@dataclass(frozen=True)
class MetricStatView:
    """One entry of an alarm's Metrics: a metric stat or a metric math expression."""

    id: str
    return_data: bool  # ReturnData; CloudWatch's default (true) when left out
    expression: str | None  # metric math; None for a metric stat
    namespace: str | None
    metric_name: str | None
    dimensions: tuple[tuple[str, object], ...]  # (Name, Value as resolved), in template order
    # The resource the TargetGroup dimension names (GetAtt X.TargetGroupFullName), and the
    # one the LoadBalancer dimension names; None when it is not one in these templates.
    target_group: Resource | None
    load_balancer: Resource | None
    stat: str | None  # Stat / Statistic / ExtendedStatistic: "Sum", "Maximum", "p99", ...
    period: int | None  # seconds


@dataclass(frozen=True)
class AlarmView:
    resource: Resource
    name: object  # AlarmName as resolved; None when CloudFormation generates it
    metrics: tuple[MetricStatView, ...]  # in template order
    threshold: float | None
    comparison: str | None  # ComparisonOperator, e.g. "GreaterThanThreshold"
    # Seconds: the alarm's Period, else the period of the entry that returns data, else the
    # longest period of its metric stats (metric math is evaluated at its inputs' period).
    period: int | None
    evaluation_periods: int | None
    datapoints_to_alarm: int | None  # DatapointsToAlarm, else EvaluationPeriods
    treat_missing_data: str  # "missing" when left out, as CloudWatch does

    def evaluation_window(self) -> int | None:
        """Seconds of data the alarm judges (Period x EvaluationPeriods); None if unknown."""
        if self.period is None or self.evaluation_periods is None:
            return None
        return self.period * self.evaluation_periods


def alarms(query: StackQuery) -> list[AlarmView]:
    """Every CloudWatch metric alarm in the stack sets."""
    return [read_alarm(query, alarm) for alarm in query.resources(ALARM)]


def read_alarm(query: StackQuery, resource: Resource) -> AlarmView:
    props = resource.properties
    metrics = tuple(_metric(query, entry) for entry in as_list(get(props, "Metrics")))
    if not metrics and (get(props, "MetricName") is not None or "Namespace" in props):
        metrics = (_single_metric(query, props),)
    evaluation_periods = as_int(get(props, "EvaluationPeriods"))
    datapoints = get(props, "DatapointsToAlarm")
    return AlarmView(
        resource=resource,
        name=get(props, "AlarmName"),
        metrics=metrics,
        threshold=as_float(get(props, "Threshold")),
        comparison=as_str(get(props, "ComparisonOperator")),
        period=_alarm_period(props, metrics),
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=evaluation_periods if datapoints is None else as_int(datapoints),
        treat_missing_data=as_str(get(props, "TreatMissingData")) or defaults.TREAT_MISSING_DATA,
    )


def _alarm_period(props: dict[str, object], metrics: tuple[MetricStatView, ...]) -> int | None:
    if get(props, "Period") is not None:
        return as_int(get(props, "Period"))
    returned = [m for m in metrics if m.return_data]
    if len(returned) == 1 and returned[0].period is not None:
        return returned[0].period
    stats = [m for m in metrics if m.expression is None]
    if any(m.period is None for m in stats):
        return None  # one input's period is unknown: so is the longest
    periods = [m.period for m in stats if m.period is not None]
    return max(periods) if periods else None


def _metric(query: StackQuery, entry: object) -> MetricStatView:
    return_data = as_bool(get(entry, "ReturnData"))
    expression = as_str(get(entry, "Expression"))
    stat = get(entry, "MetricStat")
    metric = get(stat, "Metric")
    dimensions = _dimensions(get(metric, "Dimensions"))
    period = get(entry, "Period") if expression is not None else get(stat, "Period")
    return MetricStatView(
        id=as_str(get(entry, "Id")) or "",
        return_data=True if return_data is None else return_data,
        expression=expression,
        namespace=as_str(get(metric, "Namespace")),
        metric_name=as_str(get(metric, "MetricName")),
        dimensions=dimensions,
        target_group=_dimension_resource(query, dimensions, "TargetGroup", TARGET_GROUP),
        load_balancer=_dimension_resource(query, dimensions, "LoadBalancer", LOAD_BALANCER),
        stat=as_str(get(stat, "Stat")),
        period=as_int(period),
    )


def _single_metric(query: StackQuery, props: dict[str, object]) -> MetricStatView:
    """The alarm's own metric, read as the Metrics entry it stands for."""
    stat = as_str(get(props, "Statistic")) or as_str(get(props, "ExtendedStatistic"))
    entry = {
        "Id": SINGLE_METRIC_ID,
        "MetricStat": {"Metric": props, "Period": get(props, "Period"), "Stat": stat},
    }
    return _metric(query, entry)


def _dimensions(raw: object) -> tuple[tuple[str, object], ...]:
    named = ((as_str(get(item, "Name")), get(item, "Value")) for item in as_list(raw))
    return tuple((name, value) for name, value in named if name is not None)


def _dimension_resource(
    query: StackQuery, dimensions: tuple[tuple[str, object], ...], name: str, type_: str
) -> Resource | None:
    """The resource of type `type_` a dimension's value is made from: GetAtt
    TG.TargetGroupFullName, or a Sub/Join around it."""
    for key, value in dimensions:
        if key != name:
            continue
        for ref in references(value):
            found = query.deref(ref)
            if found is not None and found.type == type_:
                return found
    return None


def as_float(value: object) -> float | None:
    """A known, finite number (int, float or numeric string) as a float, like props.as_int."""
    if isinstance(value, bool):
        return None
    number: float | None = None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    return number if number is not None and math.isfinite(number) else None
