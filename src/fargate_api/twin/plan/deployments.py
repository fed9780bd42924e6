"""How each service deploys, and the CloudWatch alarms its deployments watch.

The settings are read by the reading layer (templates/deployments.py, templates/alarms.py),
the same records `check` judges. What is the twin's own: a traffic-shifting strategy
needs the listener rules and the alternate target group it can actually move weights
between, so a template ECS would reject stops here with the property to fix; and an
alarm runs only when the twin can compute its metrics from HAProxy's counters (the
Application Load Balancer's target group metrics, metric math it knows), otherwise the
deployment goes on without it and `local up` says so.
"""

from __future__ import annotations

from typing import get_args

from fargate_api.templates import Resource
from fargate_api.templates.alarms import AlarmView, MetricStatView, read_alarm
from fargate_api.templates.deployments import DeploymentView, read_deployment
from fargate_api.templates.props import as_str
from fargate_api.twin.cloudwatch.alarms import compile_rule
from fargate_api.twin.plan.elbv2 import require_ip_targets
from fargate_api.twin.plan.errors import PlanError
from fargate_api.twin.plan.model import (
    AlarmRule,
    Comparison,
    DeploymentPlan,
    MetricQuery,
    Notice,
    TrafficShift,
    TreatMissingData,
)
from fargate_api.twin.plan.reads import Index, key_of, where

ALB_NAMESPACE = "AWS/ApplicationELB"
PAUSE_STAGE = "POST_TEST_TRAFFIC_SHIFT"
MINUTE = 60


def read_deployment_plan(
    index: Index, service: Resource
) -> tuple[DeploymentPlan, list[Resource], list[Notice]]:
    """The service's DeploymentPlan, the alarm resources its deployments name (their
    keys are in `alarms` until `read_alarms` drops those the twin cannot evaluate), and
    a notice for each setting not known here, which runs with ECS's default."""
    view = read_deployment(index, service)
    notices = [
        Notice(
            key_of(service),
            service.type,
            f"deployment setting {name} is not known locally (a parameter without a default, "
            "an import...): the twin runs ECS's default",
        )
        for name in sorted(view.unknown)
    ]
    alarms = _watched_alarms(view)
    shifts: tuple[TrafficShift, ...] = ()
    if view.shifts_traffic():
        shifts = _shifts(view)
    return (
        DeploymentPlan(
            strategy="ROLLING" if not view.shifts_traffic() else view.strategy,  # type: ignore[arg-type]
            bake_time=view.bake_time * MINUTE,
            canary_percent=view.canary_percent,
            canary_interval=view.canary_interval_minutes * MINUTE,
            linear_percent=view.linear_percent,
            linear_interval=view.linear_interval_minutes * MINUTE,
            alarms=tuple(key_of(a) for a in alarms),
            alarm_rollback=bool(view.alarms and view.alarms.rollback),
            test_traffic_pause=_test_pause(view),
            shifts=shifts,
        ),
        alarms,
        notices,
    )


def _watched_alarms(view: DeploymentView) -> list[Resource]:
    if view.alarms is None or view.alarms.enable is not True:
        return []
    return [a for a in view.alarms.alarms if a is not None]


def _shifts(view: DeploymentView) -> tuple[TrafficShift, ...]:
    service = view.service
    if not view.advanced:
        raise PlanError(
            f"service {service.logical_id} deploys {view.strategy} but no LoadBalancers entry "
            "has an AdvancedConfiguration",
            where=where(service, "LoadBalancers"),
            fix="give the load balancer entry AdvancedConfiguration with AlternateTargetGroupArn "
            "and ProductionListenerRule, as ECS requires for this strategy",
        )
    shifts = []
    for advanced in view.advanced:
        path = ("LoadBalancers", advanced.index, "AdvancedConfiguration")
        if advanced.primary is None or advanced.alternate is None:
            raise PlanError(
                f"service {service.logical_id}: LoadBalancers[{advanced.index}] needs both "
                "TargetGroupArn and AdvancedConfiguration.AlternateTargetGroupArn pointing at "
                "target groups in these templates",
                where=where(service, *path),
                fix="point both at AWS::ElasticLoadBalancingV2::TargetGroup resources",
            )
        # ECS registers the new revision's tasks with the alternate group (TargetGroupArn
        # itself was checked with the service's other bindings, in ecs.py).
        require_ip_targets(service, advanced.alternate, *path, "AlternateTargetGroupArn")
        # The reading layer keeps only a ListenerRule or a Listener here.
        if advanced.production_rule is None:
            raise PlanError(
                f"service {service.logical_id}: AdvancedConfiguration.ProductionListenerRule "
                "must point at a listener rule in these templates",
                where=where(service, *path),
                fix="set ProductionListenerRule to the Ref of the rule that forwards to both "
                "target groups",
            )
        test = advanced.test_rule
        shifts.append(
            TrafficShift(
                target_group=key_of(advanced.primary),
                alternate_target_group=key_of(advanced.alternate),
                production_rule=key_of(advanced.production_rule),
                test_rule=key_of(test) if test is not None else None,
            )
        )
    return tuple(shifts)


def _test_pause(view: DeploymentView) -> int:
    """A PAUSE hook after the test traffic shift, resolved by its timeout with CONTINUE,
    holds the deployment there: the window in which only the test listener reaches the
    new revision. A hook that waits for a person (ROLLBACK on timeout, or a Lambda) is
    not played by the twin, which continues at once."""
    for hook in view.hooks:
        if (
            PAUSE_STAGE in hook.stages
            and hook.target_type == "PAUSE"
            and hook.timeout_action == "CONTINUE"
            and hook.timeout_minutes
        ):
            return hook.timeout_minutes * MINUTE
    return 0


def read_alarms(index: Index, wanted: list[Resource]) -> tuple[list[AlarmRule], list[Notice]]:
    """The alarms deployments watch, as the twin evaluates them; a notice for each it
    cannot, saying why."""
    rules: list[AlarmRule] = []
    notices: list[Notice] = []
    seen: set[str] = set()
    for resource in wanted:
        key = key_of(resource)
        if key in seen:
            continue
        seen.add(key)
        view = read_alarm(index, resource)
        rule, why = _rule(view)
        if rule is None:
            notices.append(
                Notice(
                    key, resource.type, f"not evaluated, so no deployment rolls back on it: {why}"
                )
            )
        else:
            rules.append(rule)
    return rules, notices


def _rule(view: AlarmView) -> tuple[AlarmRule | None, str]:
    comparisons: tuple[str, ...] = get_args(Comparison)
    if view.comparison not in comparisons:
        return None, f"comparison {view.comparison!r} is not one of {', '.join(comparisons)}"
    if view.threshold is None or view.period is None or not view.evaluation_periods:
        return None, "its threshold, period or evaluation periods are not known"
    queries = []
    for metric in view.metrics:
        query, why = _query(metric)
        if query is None:
            return None, why
        queries.append(query)
    missing = view.treat_missing_data
    treat: TreatMissingData = missing if missing in get_args(TreatMissingData) else "missing"  # type: ignore[assignment]
    rule = AlarmRule(
        key=key_of(view.resource),
        name=as_str(view.name) or view.resource.logical_id,
        queries=tuple(queries),
        threshold=view.threshold,
        comparison=view.comparison,  # type: ignore[arg-type]
        period=view.period,
        evaluation_periods=view.evaluation_periods,
        datapoints_to_alarm=view.datapoints_to_alarm or view.evaluation_periods,
        treat_missing_data=treat,
    )
    try:
        compile_rule(rule)
    except ValueError as exc:  # AlarmRuleError, MetricMathError, MetricError
        return None, str(exc)
    return rule, ""


def _query(metric: MetricStatView) -> tuple[MetricQuery | None, str]:
    if metric.expression is not None:
        return MetricQuery(metric.id, metric.return_data, expression=metric.expression), ""
    if metric.namespace != ALB_NAMESPACE or metric.target_group is None:
        return None, (
            f"metric {metric.id} is not an Application Load Balancer target group metric "
            "(AWS/ApplicationELB with a TargetGroup dimension in these templates)"
        )
    return (
        MetricQuery(
            metric.id,
            metric.return_data,
            metric=metric.metric_name,
            target_group=key_of(metric.target_group),
            stat=metric.stat,
        ),
        "",
    )
