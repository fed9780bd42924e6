"""Which Application Load Balancers, listeners, rules and target groups the twin builds.

The settings themselves, with the ELB API's defaults for what a template leaves out, are
read by the reading layer (templates/load_balancing.py), the same records `check` judges.
What is the twin's own: it builds ALBs (not NLBs or GWLBs) with HTTP/HTTPS listeners
and path/host rules, registers tasks by IP, and must run a concrete value where `check`
may shrug at an unknown one, so it falls back to the default or stops with a message
naming the resource and property.

`Scheme: internal` is built like an internet-facing balancer, nodes in its own subnets,
but its nodes get no public address: the internet gateway has nothing to translate to
them, so they are reachable from inside the VPC only, as on AWS, whatever subnets
(public or private) they sit in.

A target group's TargetType matters only to what registers with it. Fargate tasks
(awsvpc) register by IP, so a service binding to an `instance`, `lambda` or `alb` group
is refused where the binding is read (ecs.py, deployments.py: `require_ip_targets`).
A group no service registers with, such as the placeholder a widely copied VPC template
forwards its listener's default action to, is built whatever its type, without targets:
the ALB answers 503 for it, and so does the twin's empty backend.
"""

from __future__ import annotations

from typing import Any

from fargate_api.templates import Resource, defaults
from fargate_api.templates.load_balancing import (
    DEREGISTRATION_DELAY_KEY,
    IDLE_TIMEOUT_KEY,
    ListenerAction,
    ListenerRuleView,
    WeightedTarget,
    read_listener,
    read_target_group,
)
from fargate_api.templates.network import SECURITY_GROUP, SUBNET
from fargate_api.templates.props import as_int, as_list, as_str, get
from fargate_api.templates.topology import LOAD_BALANCER, TARGET_GROUP, listeners
from fargate_api.twin.plan.dns import certificate_names
from fargate_api.twin.plan.ec2 import NetworkPlan
from fargate_api.twin.plan.errors import PlanError
from fargate_api.twin.plan.model import (
    Action,
    HealthCheck,
    Listener,
    ListenerRule,
    LoadBalancer,
    LoadBalancerNode,
    Notice,
    TargetGroup,
    WeightedTargetGroup,
)
from fargate_api.twin.plan.reads import Index, key_of, where


def read_load_balancers(
    index: Index, network: NetworkPlan
) -> tuple[list[LoadBalancer], list[TargetGroup], list[Notice]]:
    notices: list[Notice] = []
    balancers: list[LoadBalancer] = []
    used_groups: dict[str, Resource] = {}
    for resource in sorted(index.of_type(LOAD_BALANCER), key=key_of):
        props = resource.properties
        if (as_str(get(props, "Type")) or "application") != "application":
            notices.append(
                Notice(
                    key_of(resource),
                    resource.type,
                    "only Application Load Balancers run in the twin",
                )
            )
            continue
        internet_facing = as_str(get(props, "Scheme")) != "internal"
        built = [
            _listener(index, listener, used_groups, notices)
            for listener in sorted(listeners(index, resource), key=key_of)
        ]
        balancers.append(
            LoadBalancer(
                key=key_of(resource),
                name=as_str(get(props, "Name")) or resource.logical_id,
                internet_facing=internet_facing,
                nodes=_nodes(index, resource, network, internet_facing=internet_facing),
                security_groups=tuple(
                    key_of(index.require(g, resource, "SecurityGroups", types=(SECURITY_GROUP,)))
                    for g in as_list(get(props, "SecurityGroups"))
                ),
                idle_timeout=_first_attribute(props, "LoadBalancerAttributes", IDLE_TIMEOUT_KEY)
                or defaults.IDLE_TIMEOUT,
                listeners=tuple(item for item in built if item is not None),
            )
        )
    groups = [_target_group(g, notices) for _, g in sorted(used_groups.items())]
    return balancers, groups, notices


def _nodes(
    index: Index, lb: Resource, network: NetworkPlan, *, internet_facing: bool
) -> tuple[LoadBalancerNode, ...]:
    props = lb.properties
    subnet_values = as_list(get(props, "Subnets")) or [
        get(m, "SubnetId") for m in as_list(get(props, "SubnetMappings"))
    ]
    if not subnet_values:
        raise PlanError(
            f"load balancer {lb.logical_id} names no subnets",
            where=where(lb),
            fix="set Subnets to the public subnets"
            if internet_facing
            else "set Subnets to the subnets the load balancer serves (private ones, usually)",
        )
    nodes = []
    for value in subnet_values:
        subnet_res = index.require(value, lb, "Subnets", types=(SUBNET,))
        subnet = network.subnet(key_of(subnet_res))
        nodes.append(
            LoadBalancerNode(
                subnet=subnet.key,
                az=subnet.az,
                private_ip=network.allocate_private(subnet.key),
                public_ip=network.allocate_public() if internet_facing else None,
            )
        )
    return tuple(nodes)


def _listener(
    index: Index, resource: Resource, used: dict[str, Resource], notices: list[Notice]
) -> Listener | None:
    view = read_listener(index, resource)
    if view.protocol not in ("HTTP", "HTTPS"):
        notices.append(
            Notice(
                key_of(resource),
                resource.type,
                f"{view.protocol} listeners are not built by the twin",
            )
        )
        return None
    rules = []
    for rule in view.rules:
        built = _rule(index, rule, used, notices)
        if built is not None:
            rules.append(built)
    return Listener(
        key=key_of(resource),
        port=view.port,
        protocol="HTTPS" if view.protocol == "HTTPS" else "HTTP",
        default_actions=_actions(index, resource, view.default_actions, used, notices),
        rules=tuple(sorted(rules, key=lambda r: r.priority)),
        certificate_names=certificate_names(index, resource) if view.protocol == "HTTPS" else (),
    )


def _rule(
    index: Index, view: ListenerRuleView, used: dict[str, Resource], notices: list[Notice]
) -> ListenerRule | None:
    resource = view.resource
    paths: list[str] = []
    hosts: list[str] = []
    for condition in view.conditions:
        if condition.field == "path-pattern":
            paths += condition.values
        elif condition.field == "host-header":
            hosts += condition.values
        else:
            notices.append(
                Notice(
                    key_of(resource),
                    resource.type,
                    f"condition {condition.field!r} is not modelled; the rule is left out",
                )
            )
            return None
    return ListenerRule(
        key=key_of(resource),
        # CloudFormation requires a priority; without a known one the rule goes last.
        priority=view.priority or 50000,
        path_patterns=tuple(paths),
        host_patterns=tuple(hosts),
        actions=_actions(index, resource, view.actions, used, notices),
    )


def _actions(
    index: Index,
    owner: Resource,
    read: tuple[ListenerAction, ...],
    used: dict[str, Resource],
    notices: list[Notice],
) -> tuple[Action, ...]:
    actions: list[Action] = []
    for item in read:
        if item.kind == "forward":
            groups = tuple(
                WeightedTargetGroup(_tg_key(index, owner, target, used), target.weight)
                for target in item.target_groups
            )
            actions.append(Action("forward", target_groups=groups))
        elif item.redirect is not None:
            redirect = item.redirect
            actions.append(
                Action(
                    "redirect",
                    redirect_protocol=redirect.protocol,
                    redirect_host=redirect.host,
                    redirect_port=redirect.port,
                    redirect_path=redirect.path,
                    redirect_query=redirect.query,
                    status_code=redirect.status_code,
                )
            )
        elif item.fixed_response is not None:
            response = item.fixed_response
            actions.append(
                Action(
                    "fixed-response",
                    status_code=response.status_code,
                    content_type=response.content_type,
                    body=response.body,
                )
            )
        else:
            notices.append(
                Notice(key_of(owner), owner.type, f"action {item.kind!r} is skipped by the twin")
            )
    return tuple(actions)


def _tg_key(
    index: Index, owner: Resource, target: WeightedTarget, used: dict[str, Resource]
) -> str:
    # A value that leads to no target group stops the plan, naming the property.
    group = target.target_group or index.require(
        target.value, owner, "TargetGroupArn", types=(TARGET_GROUP,)
    )
    used[key_of(group)] = group
    return key_of(group)


def require_ip_targets(service: Resource, group: Resource, *path: str | int) -> None:
    """Refuses a service's binding (the LoadBalancers property at `path`) to a target group
    its tasks cannot register with: Fargate tasks (awsvpc) register by IP only."""
    target_type = read_target_group(group).target_type
    if target_type != "ip":
        raise PlanError(
            f"service {service.logical_id} ({where(service, *path)}) registers with target "
            f"group {group.logical_id}, which has TargetType {target_type}; Fargate tasks "
            "(awsvpc) register by IP",
            where=where(group, "TargetType"),
            fix="set TargetType: ip",
        )


def _target_group(resource: Resource, notices: list[Notice]) -> TargetGroup:
    view = read_target_group(resource)
    if view.target_type != "ip":
        # Said before the services are read: should one register with this group, ecs.py or
        # deployments.py refuses the plan (require_ip_targets), so no plan carries this
        # notice for a group a service uses.
        notices.append(
            Notice(
                key_of(resource),
                resource.type,
                f"TargetType {view.target_type}: no ECS service registers with it, so the twin "
                "serves it without targets (503), as an ALB does",
            )
        )
    check = view.health_check
    # The twin has to run some health check: a value it cannot know takes ELB's default.
    return TargetGroup(
        key=key_of(resource),
        name=view.name,
        port=view.port,
        protocol=view.protocol,
        health_check=HealthCheck(
            path=check.path,
            port=check.port,
            protocol=check.protocol,
            interval=check.interval or defaults.HEALTH_CHECK_INTERVAL,
            timeout=check.timeout or defaults.HEALTH_CHECK_TIMEOUT,
            healthy_threshold=check.healthy_threshold or defaults.HEALTHY_THRESHOLD,
            unhealthy_threshold=check.unhealthy_threshold or defaults.UNHEALTHY_THRESHOLD,
            matcher=check.matcher,
        ),
        deregistration_delay=_delay(resource),
    )


def _first_attribute(props: dict[str, Any], list_key: str, name: str) -> int | None:
    # Kept apart from the reading layer's `attribute()`: with a key listed twice the twin
    # has always run the first value, where `check` (and load_balancing.py) judge the last.
    for item in as_list(get(props, list_key)):
        if get(item, "Key") == name:
            return as_int(get(item, "Value"))
    return None


def _delay(resource: Resource) -> int:
    value = _first_attribute(resource.properties, "TargetGroupAttributes", DEREGISTRATION_DELAY_KEY)
    return defaults.DEREGISTRATION_DELAY if value is None else value
