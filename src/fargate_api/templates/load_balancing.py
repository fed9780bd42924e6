"""Listeners, their actions and rules, and target groups, as typed records.

The twin builds HAProxy from these settings and `check` judges them (a failing task gets
traffic for interval x threshold seconds, a drain shorter than the idle timeout cuts
requests); the diagram labels listeners with them. Reading them once, with the ELB
defaults from defaults.py applied where a template leaves a setting out, keeps a finding
and the twin's behaviour about the same numbers.

Only reading and normalising happens here. A value that is set but cannot be known
without deploying (a parameter without a default, an import) stays None, and a
TargetGroupArn that does not lead to a target group in these templates keeps its value
with `target_group` None: whether that is an error is the reader's call (`check` shrugs,
the twin stops with a message).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fargate_api.templates import defaults
from fargate_api.templates.model import PropertyPath, Resource
from fargate_api.templates.props import as_bool, as_dict, as_int, as_list, as_str, get
from fargate_api.templates.query import StackQuery
from fargate_api.templates.topology import TARGET_GROUP, attribute, listener_rules

IDLE_TIMEOUT_KEY = "idle_timeout.timeout_seconds"
DEREGISTRATION_DELAY_KEY = "deregistration_delay.timeout_seconds"

# Where a condition's values sit when the template uses the *Config form instead of Values.
CONDITION_CONFIGS = {
    "path-pattern": "PathPatternConfig",
    "host-header": "HostHeaderConfig",
    "http-header": "HttpHeaderConfig",
    "http-request-method": "HttpRequestMethodConfig",
    "source-ip": "SourceIpConfig",
}


@dataclass(frozen=True)
class WeightedTarget:
    value: object  # the TargetGroupArn as resolved, for messages about it
    target_group: Resource | None  # None: not a target group in these templates
    weight: int


@dataclass(frozen=True)
class Redirect:
    # ELB's #{protocol}/#{host}/#{port}/#{path}/#{query} placeholders stand for "as requested"
    protocol: str
    host: str
    port: str
    path: str
    query: str
    status_code: int  # 301 or 302


@dataclass(frozen=True)
class FixedResponse:
    status_code: int
    content_type: str
    body: str


@dataclass(frozen=True)
class ListenerAction:
    kind: str | None  # Type as written: "forward", "redirect", "authenticate-oidc"...
    target_groups: tuple[WeightedTarget, ...] = ()  # forward
    redirect: Redirect | None = None
    fixed_response: FixedResponse | None = None
    has_forward_config: bool = False

    @property
    def forwards(self) -> bool:
        """Whether requests reach targets: a forward, or any action carrying a ForwardConfig."""
        return self.kind == "forward" or self.has_forward_config


@dataclass(frozen=True)
class Condition:
    field: str | None  # "path-pattern", "host-header", ...
    values: tuple[str, ...]  # the string values, from Values or the field's *Config
    # False when the field or a value is not a string known statically (a parameter
    # without a value, an import...) or there is no value: `values` then says too little
    # to judge what the condition matches.
    known: bool = True

    @property
    def matches_all(self) -> bool:
        """True when ELB matches every request: a host-header or path-pattern value made of
        `*` only (a path's after the "/" every request path starts with)."""
        if not self.known or self.field not in ("path-pattern", "host-header"):
            return False
        for value in self.values:
            rest = value[1:] if self.field == "path-pattern" and value.startswith("/") else value
            if rest and set(rest) == {"*"}:
                return True
        return False


@dataclass(frozen=True)
class ListenerRuleView:
    resource: Resource
    priority: int | None  # required by CloudFormation; None when missing or unknown
    conditions: tuple[Condition, ...]
    actions: tuple[ListenerAction, ...]  # in Order
    # False when Conditions is set to something other than a list (an unresolved Fn::If,
    # an import): `conditions` is then empty without meaning "no condition".
    conditions_known: bool = True

    @property
    def matches_all(self) -> bool:
        """True when the rule takes every request that reaches it (no condition, or only
        conditions that match everything)."""
        return self.conditions_known and all(c.matches_all for c in self.conditions)


@dataclass(frozen=True)
class ListenerView:
    resource: Resource
    declared_protocol: str | None  # as written; None when left out or unknown
    protocol: str  # upper case, HTTP when left out
    declared_port: int | None  # as written; None when left out or unknown
    port: int  # 443 for HTTPS, else 80, when left out
    default_actions: tuple[ListenerAction, ...]  # in Order
    rules: tuple[ListenerRuleView, ...]  # as found, not by priority


@dataclass(frozen=True)
class HealthCheckView:
    enabled: bool | None  # HealthCheckEnabled; None when left out or unknown
    path: str
    port: int | None  # None: the traffic port
    protocol: Literal["HTTP", "HTTPS"]
    # The ELB default when left out (or 0); None when set to a value not known statically.
    interval: int | None
    timeout: int | None
    healthy_threshold: int | None
    unhealthy_threshold: int | None
    matcher: str  # ELB syntax: "200", "200,202", "200-299"


@dataclass(frozen=True)
class TargetGroupView:
    resource: Resource
    name: str
    target_type: str  # "instance" when left out, as on AWS
    port: int
    protocol: str  # upper case
    health_check: HealthCheckView
    # The ELB default when left out; None when set to a value not known statically.
    deregistration_delay: int | None
    deregistration_delay_path: PropertyPath  # where to point a finding about it


def read_listener(query: StackQuery, listener: Resource) -> ListenerView:
    props = listener.properties
    declared = as_str(get(props, "Protocol"))
    protocol = (declared or "HTTP").upper()
    declared_port = as_int(get(props, "Port"))
    return ListenerView(
        resource=listener,
        declared_protocol=declared,
        protocol=protocol,
        declared_port=declared_port,
        port=declared_port or (443 if protocol == "HTTPS" else 80),
        default_actions=read_actions(query, get(props, "DefaultActions")),
        rules=tuple(read_rule(query, rule) for rule in listener_rules(query, listener)),
    )


def read_rule(query: StackQuery, rule: Resource) -> ListenerRuleView:
    props = rule.properties
    raw_conditions = get(props, "Conditions")
    return ListenerRuleView(
        resource=rule,
        priority=as_int(get(props, "Priority")),
        conditions=tuple(_condition(c) for c in as_list(raw_conditions)),
        actions=read_actions(query, get(props, "Actions")),
        conditions_known=raw_conditions is None or isinstance(raw_conditions, list),
    )


def _condition(raw: object) -> Condition:
    field = as_str(get(raw, "Field"))
    raw_values = get(raw, "Values")
    config = CONDITION_CONFIGS.get(field or "")
    if not as_list(raw_values) and config is not None:
        raw_values = get(raw, config, "Values")
    values = as_list(raw_values)
    strings = tuple(v for v in values if isinstance(v, str))
    known = field is not None and bool(values) and len(strings) == len(values)
    return Condition(field=field, values=strings, known=known)


def read_actions(query: StackQuery, raw: object) -> tuple[ListenerAction, ...]:
    """Every item of an Actions / DefaultActions list, in the Order ELB runs them."""
    ordered = sorted(as_list(raw), key=lambda a: as_int(get(a, "Order")) or 0)
    return tuple(_action(query, item) for item in ordered)


def _action(query: StackQuery, item: object) -> ListenerAction:
    kind = as_str(get(item, "Type"))
    has_forward_config = get(item, "ForwardConfig") is not None
    if kind == "forward":
        targets: list[WeightedTarget] = []
        single = get(item, "TargetGroupArn")
        if single is not None:
            targets.append(_target(query, single, 1))
        for entry in as_list(get(item, "ForwardConfig", "TargetGroups")):
            weight = as_int(get(entry, "Weight"))
            targets.append(
                _target(query, get(entry, "TargetGroupArn"), 1 if weight is None else weight)
            )
        return ListenerAction(kind, tuple(targets), has_forward_config=has_forward_config)
    if kind == "redirect":
        config = as_dict(get(item, "RedirectConfig"))
        redirect = Redirect(
            protocol=as_str(config.get("Protocol")) or "#{protocol}",
            host=as_str(config.get("Host")) or "#{host}",
            port=str(config.get("Port") or "#{port}"),
            path=as_str(config.get("Path")) or "/#{path}",
            query=as_str(config.get("Query")) or "#{query}",
            status_code=301 if as_str(config.get("StatusCode")) == "HTTP_301" else 302,
        )
        return ListenerAction(kind, redirect=redirect, has_forward_config=has_forward_config)
    if kind == "fixed-response":
        config = as_dict(get(item, "FixedResponseConfig"))
        response = FixedResponse(
            status_code=as_int(config.get("StatusCode")) or 200,
            content_type=as_str(config.get("ContentType")) or "text/plain",
            body=as_str(config.get("MessageBody")) or "",
        )
        return ListenerAction(kind, fixed_response=response, has_forward_config=has_forward_config)
    return ListenerAction(kind, has_forward_config=has_forward_config)


def _target(query: StackQuery, value: object, weight: int) -> WeightedTarget:
    found = query.deref(value)
    group = found if found is not None and found.type == TARGET_GROUP else None
    return WeightedTarget(value=value, target_group=group, weight=weight)


def read_target_group(target_group: Resource) -> TargetGroupView:
    props = target_group.properties
    protocol = (as_str(get(props, "Protocol")) or "HTTP").upper()
    check_protocol = (as_str(get(props, "HealthCheckProtocol")) or protocol).upper()
    check_port = as_str(get(props, "HealthCheckPort"))
    delay, delay_path = attribute(target_group, "TargetGroupAttributes", DEREGISTRATION_DELAY_KEY)
    return TargetGroupView(
        resource=target_group,
        name=as_str(get(props, "Name")) or target_group.logical_id,
        target_type=as_str(get(props, "TargetType")) or "instance",
        port=as_int(get(props, "Port")) or 80,
        protocol=protocol,
        health_check=HealthCheckView(
            enabled=as_bool(get(props, "HealthCheckEnabled")),
            path=as_str(get(props, "HealthCheckPath")) or "/",
            port=None if check_port in (None, "traffic-port") else as_int(check_port),
            protocol="HTTPS" if check_protocol == "HTTPS" else "HTTP",
            interval=_seconds(props, "HealthCheckIntervalSeconds", defaults.HEALTH_CHECK_INTERVAL),
            timeout=_seconds(props, "HealthCheckTimeoutSeconds", defaults.HEALTH_CHECK_TIMEOUT),
            healthy_threshold=_seconds(props, "HealthyThresholdCount", defaults.HEALTHY_THRESHOLD),
            unhealthy_threshold=_seconds(
                props, "UnhealthyThresholdCount", defaults.UNHEALTHY_THRESHOLD
            ),
            matcher=str(get(props, "Matcher", "HttpCode") or "200"),
        ),
        deregistration_delay=defaults.DEREGISTRATION_DELAY if delay is None else as_int(delay),
        deregistration_delay_path=delay_path,
    )


def _seconds(props: dict[str, object], key: str, default: int) -> int | None:
    """ELB rejects 0 for these settings, so an empty or zero value reads as left out."""
    raw = get(props, key)
    return default if not raw else as_int(raw)


def idle_timeout(load_balancer: Resource) -> int | None:
    """The ELB default when left out; None when set to a value not known statically."""
    raw, _ = attribute(load_balancer, "LoadBalancerAttributes", IDLE_TIMEOUT_KEY)
    return defaults.IDLE_TIMEOUT if raw is None else as_int(raw)
