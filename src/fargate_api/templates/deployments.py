"""How an ECS service deploys: strategy, bake time, traffic shifts, alarms and hooks.

`check` judges a deployment (does an alarm get the time to fire before the old revision is
gone? does a shift wait for the previous one?) and the twin runs it (weights moved on the
production rule, bake time, rollback on an alarm). Both must read the same
DeploymentConfiguration with the same ECS defaults (defaults.py) for what a template leaves
out, or the twin would rehearse a deployment that `check` did not judge.

A setting left out reads as what ECS does without it. A setting that is present but cannot
be known statically (a parameter without a default, an import, an undecidable Fn::If)
also holds the default in its field, and the field's name is in `DeploymentView.unknown`:
readers that judge or run a value look there first, so an unknown never turns into a
finding or a silently different deployment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from fargate_api.templates import defaults
from fargate_api.templates.alarms import ALARM, as_float
from fargate_api.templates.model import PropertyPath, Resource
from fargate_api.templates.props import as_bool, as_dict, as_int, as_list, as_str, get
from fargate_api.templates.query import StackQuery
from fargate_api.templates.topology import LISTENER, LISTENER_RULE, SERVICE, TARGET_GROUP
from fargate_api.templates.values import Text

IAM_ROLE = "AWS::IAM::Role"
CONTROLLERS = ("ECS", "CODE_DEPLOY", "EXTERNAL")
SHIFTING_STRATEGIES = ("BLUE_GREEN", "CANARY", "LINEAR")
STRATEGIES = ("ROLLING", *SHIFTING_STRATEGIES)

_Number = TypeVar("_Number", int, float)

# Where findings about a deployment point.
CONFIGURATION_PATH: PropertyPath = ("Properties", "DeploymentConfiguration")
ALARMS_PATH: PropertyPath = (*CONFIGURATION_PATH, "Alarms")
BAKE_TIME_PATH: PropertyPath = (*CONFIGURATION_PATH, "BakeTimeInMinutes")
CANARY_INTERVAL_PATH: PropertyPath = (
    *CONFIGURATION_PATH,
    "CanaryConfiguration",
    "CanaryBakeTimeInMinutes",
)
LINEAR_INTERVAL_PATH: PropertyPath = (
    *CONFIGURATION_PATH,
    "LinearConfiguration",
    "StepBakeTimeInMinutes",
)


@dataclass(frozen=True)
class LifecycleHookView:
    stages: tuple[str, ...]  # LifecycleStages as written, e.g. ("POST_TEST_TRAFFIC_SHIFT",)
    target_type: str  # "AWS_LAMBDA" when left out, "" when not known statically
    timeout_minutes: int | None  # TimeoutConfiguration.TimeoutInMinutes
    timeout_action: str | None  # TimeoutConfiguration.Action: "ROLLBACK" or "CONTINUE"


@dataclass(frozen=True)
class AdvancedLoadBalancerView:
    """A LoadBalancers entry with AdvancedConfiguration: the two target groups ECS moves
    the production (and test) listener rule's forward weights between. Each resource is
    None when its value does not lead to one of that kind in these templates."""

    index: int  # position in the service's LoadBalancers list
    primary: Resource | None  # TargetGroupArn: production before the first deployment
    alternate: Resource | None  # AlternateTargetGroupArn
    production_rule: Resource | None  # a ListenerRule (a Listener: its default action)
    test_rule: Resource | None
    role: Resource | None  # the IAM role ECS assumes to change the rules' weights


@dataclass(frozen=True)
class DeploymentAlarmsView:
    names: tuple[object, ...]  # AlarmNames as resolved (a Ref to an alarm: a ResourceRef)
    # The AWS::CloudWatch::Alarm each name refers to (Ref, or its literal AlarmName); None
    # when the name is not one of the alarms in these templates.
    alarms: tuple[Resource | None, ...]
    enable: bool | None  # None when left out (CloudFormation requires it) or not known
    rollback: bool | None

    def in_use(self) -> bool | None:
        """Whether ECS watches alarms during a deployment (Enable true and at least one
        name); None when that is not known statically."""
        if self.enable is None:
            return None
        return self.enable and bool(self.names)


@dataclass(frozen=True)
class DeploymentView:
    service: Resource
    controller: str  # DeploymentController.Type, "ECS" when left out
    strategy: str  # upper case; "ROLLING" when left out or not recognised
    declared_strategy: str | None  # Strategy as written; None when left out or not known
    bake_time_minutes: int | None  # BakeTimeInMinutes as written
    # Effective minutes: as written, else ECS's default (15 for BLUE_GREEN, CANARY and
    # LINEAR; 0 for ROLLING, where ECS derives its own watch time from deployment alarms).
    bake_time: int
    # Effective, whatever the strategy: as written, else ECS's defaults (5.0 % / 10 min,
    # 10.0 % / 6 min); the intervals are the bake time of the canary phase and of each step.
    canary_percent: float
    canary_interval_minutes: int
    linear_percent: float
    linear_interval_minutes: int
    alarms: DeploymentAlarmsView | None  # None when DeploymentConfiguration.Alarms is left out
    circuit_breaker: bool | None  # DeploymentCircuitBreaker.Enable; None: left out or unknown
    circuit_breaker_rollback: bool | None
    hooks: tuple[LifecycleHookView, ...]
    advanced: tuple[AdvancedLoadBalancerView, ...]  # LoadBalancers with AdvancedConfiguration
    # Names of the fields above ("controller", "strategy", "bake_time", "canary_percent",
    # "canary_interval_minutes", "linear_percent", "linear_interval_minutes") whose template
    # value is set but not known statically: those fields hold ECS's default.
    unknown: frozenset[str] = field(default_factory=frozenset)

    def shifts_traffic(self) -> bool:
        """Whether ECS itself moves traffic between two target groups: a BLUE_GREEN, CANARY
        or LINEAR strategy under the ECS controller (CodeDeploy's blue/green is not read
        from DeploymentConfiguration)."""
        return self.controller == "ECS" and self.strategy in SHIFTING_STRATEGIES

    def known(self, *fields: str) -> bool:
        """True when none of the named fields is in `unknown`."""
        return not self.unknown.intersection(fields)


def deployments(query: StackQuery) -> list[DeploymentView]:
    """The deployment of every ECS service in the stack sets."""
    return [read_deployment(query, service) for service in query.resources(SERVICE)]


def read_deployment(query: StackQuery, service: Resource) -> DeploymentView:
    props = service.properties
    unknown: set[str] = set()

    raw_controller = _at(props, "DeploymentController", "Type")
    controller = _choice(raw_controller, CONTROLLERS)
    if raw_controller is not None and controller is None:
        unknown.add("controller")

    raw_strategy = _at(props, "DeploymentConfiguration", "Strategy")
    declared_strategy = as_str(raw_strategy)
    strategy = _choice(raw_strategy, STRATEGIES)
    if raw_strategy is not None and strategy is None:
        unknown.add("strategy")
    strategy = strategy or defaults.DEPLOYMENT_STRATEGY

    raw_bake = _at(props, "DeploymentConfiguration", "BakeTimeInMinutes")
    bake_time_minutes = as_int(raw_bake)
    if raw_bake is not None and bake_time_minutes is None:
        unknown.add("bake_time")
    if raw_bake is None and "strategy" in unknown:
        unknown.add("bake_time")  # the default depends on the strategy
    shifting = strategy in SHIFTING_STRATEGIES
    bake_time = bake_time_minutes
    if bake_time is None:
        bake_time = defaults.BAKE_TIME_MINUTES if shifting else 0

    def setting(
        path: tuple[str, ...], read: Callable[[object], _Number | None], default: _Number, name: str
    ) -> _Number:
        raw = _at(props, *path)
        value = read(raw)
        if raw is not None and value is None:
            unknown.add(name)
        return default if value is None else value

    canary = ("DeploymentConfiguration", "CanaryConfiguration")
    linear = ("DeploymentConfiguration", "LinearConfiguration")
    return DeploymentView(
        service=service,
        controller=controller or defaults.DEPLOYMENT_CONTROLLER,
        strategy=strategy,
        declared_strategy=declared_strategy,
        bake_time_minutes=bake_time_minutes,
        bake_time=bake_time,
        canary_percent=setting(
            (*canary, "CanaryPercent"), as_float, defaults.CANARY_PERCENT, "canary_percent"
        ),
        canary_interval_minutes=setting(
            (*canary, "CanaryBakeTimeInMinutes"),
            as_int,
            defaults.CANARY_BAKE_MINUTES,
            "canary_interval_minutes",
        ),
        linear_percent=setting(
            (*linear, "StepPercent"), as_float, defaults.LINEAR_STEP_PERCENT, "linear_percent"
        ),
        linear_interval_minutes=setting(
            (*linear, "StepBakeTimeInMinutes"),
            as_int,
            defaults.LINEAR_BAKE_MINUTES,
            "linear_interval_minutes",
        ),
        alarms=_alarms(query, _at(props, "DeploymentConfiguration", "Alarms")),
        circuit_breaker=as_bool(
            _at(props, "DeploymentConfiguration", "DeploymentCircuitBreaker", "Enable")
        ),
        circuit_breaker_rollback=as_bool(
            _at(props, "DeploymentConfiguration", "DeploymentCircuitBreaker", "Rollback")
        ),
        hooks=tuple(
            _hook(item) for item in as_list(_at(props, "DeploymentConfiguration", "LifecycleHooks"))
        ),
        advanced=_advanced(query, props),
        unknown=frozenset(unknown),
    )


def _at(value: object, *path: str) -> object:
    """The value at `path`: None when left out. Where a mapping should be but a marker (an
    Unresolved Fn::If, say) is, that marker: set, but not known statically."""
    for key in path:
        if value is None:
            return None
        if not isinstance(value, dict):
            return value
        value = value.get(key)
    return value


def _choice(raw: object, allowed: tuple[str, ...]) -> str | None:
    """An enum value, upper-cased; None when left out, unknown or not one of `allowed`."""
    text = as_str(raw)
    return text.upper() if text is not None and text.upper() in allowed else None


def _alarms(query: StackQuery, raw: object) -> DeploymentAlarmsView | None:
    if raw is None:
        return None
    raw_names = _at(raw, "AlarmNames")
    names: tuple[object, ...] = (
        tuple(raw_names)
        if isinstance(raw_names, list)
        else (() if raw_names is None else (raw_names,))
    )
    return DeploymentAlarmsView(
        names=names,
        alarms=tuple(_alarm_resource(query, name) for name in names),
        enable=as_bool(_at(raw, "Enable")),
        rollback=as_bool(_at(raw, "Rollback")),
    )


def _alarm_resource(query: StackQuery, name: object) -> Resource | None:
    """The alarm a name refers to: a Ref to it, or a name equal to its AlarmName."""
    found = query.deref(name)
    if found is not None:
        return found if found.type == ALARM else None
    if not isinstance(name, str | Text):
        return None
    for alarm in query.resources(ALARM):
        if get(alarm.properties, "AlarmName") == name:
            return alarm
    return None


def _hook(item: object) -> LifecycleHookView:
    raw_type = get(item, "TargetType")
    timeout = get(item, "TimeoutConfiguration")
    return LifecycleHookView(
        stages=tuple(s for s in as_list(get(item, "LifecycleStages")) if isinstance(s, str)),
        target_type=defaults.LIFECYCLE_HOOK_TARGET_TYPE
        if raw_type is None
        else (as_str(raw_type) or ""),
        timeout_minutes=as_int(get(timeout, "TimeoutInMinutes")),
        timeout_action=as_str(get(timeout, "Action")),
    )


def _advanced(query: StackQuery, props: dict[str, object]) -> tuple[AdvancedLoadBalancerView, ...]:
    views = []
    for index, entry in enumerate(as_list(get(props, "LoadBalancers"))):
        raw = get(entry, "AdvancedConfiguration")
        if raw is None:
            continue
        config = as_dict(raw)  # a marker instead of a mapping: every part unknown
        views.append(
            AdvancedLoadBalancerView(
                index=index,
                primary=_typed(query, get(entry, "TargetGroupArn"), TARGET_GROUP),
                alternate=_typed(query, config.get("AlternateTargetGroupArn"), TARGET_GROUP),
                production_rule=_typed(
                    query, config.get("ProductionListenerRule"), LISTENER_RULE, LISTENER
                ),
                test_rule=_typed(query, config.get("TestListenerRule"), LISTENER_RULE, LISTENER),
                role=_typed(query, config.get("RoleArn"), IAM_ROLE),
            )
        )
    return tuple(views)


def _typed(query: StackQuery, value: object, *types: str) -> Resource | None:
    found = query.deref(value)
    return found if found is not None and found.type in types else None
