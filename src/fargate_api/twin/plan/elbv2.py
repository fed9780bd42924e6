"""Application Load Balancers, listeners, rules and target groups, read from templates.

Values the templates leave out take the ELB API's documented defaults (health check
every 30 s, 5 to become healthy, 300 s deregistration delay...), because that is what
the real ALB would do with the same template.
"""

from __future__ import annotations

from typing import Any, Literal

from fargate_api.templates import Resource, defaults
from fargate_api.templates.network import SECURITY_GROUP, SUBNET
from fargate_api.templates.topology import (
    LOAD_BALANCER,
    TARGET_GROUP,
    listener_rules,
    listeners,
)
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
from fargate_api.twin.plan.reads import (
    Index,
    as_dict,
    as_int,
    as_list,
    as_str,
    get,
    key_of,
    where,
)


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
        if as_str(get(props, "Scheme")) == "internal":
            notices.append(
                Notice(
                    key_of(resource),
                    resource.type,
                    "internal load balancers are not built by the twin",
                )
            )
            continue
        built = [
            _listener(index, listener, used_groups, notices)
            for listener in sorted(listeners(index, resource), key=key_of)
        ]
        balancers.append(
            LoadBalancer(
                key=key_of(resource),
                name=as_str(get(props, "Name")) or resource.logical_id,
                internet_facing=True,
                nodes=_nodes(index, resource, network),
                security_groups=tuple(
                    key_of(index.require(g, resource, "SecurityGroups", types=(SECURITY_GROUP,)))
                    for g in as_list(get(props, "SecurityGroups"))
                ),
                idle_timeout=_attribute(
                    props, "LoadBalancerAttributes", "idle_timeout.timeout_seconds"
                )
                or defaults.IDLE_TIMEOUT,
                listeners=tuple(item for item in built if item is not None),
            )
        )
    groups = [_target_group(g) for _, g in sorted(used_groups.items())]
    return balancers, groups, notices


def _nodes(index: Index, lb: Resource, network: NetworkPlan) -> tuple[LoadBalancerNode, ...]:
    props = lb.properties
    subnet_values = as_list(get(props, "Subnets")) or [
        get(m, "SubnetId") for m in as_list(get(props, "SubnetMappings"))
    ]
    if not subnet_values:
        raise PlanError(
            f"load balancer {lb.logical_id} names no subnets",
            where=where(lb),
            fix="set Subnets to the public subnets",
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
                public_ip=network.allocate_public(),
            )
        )
    return tuple(nodes)


def _attribute(props: dict[str, Any], list_key: str, name: str) -> int | None:
    for item in as_list(get(props, list_key)):
        if get(item, "Key") == name:
            return as_int(get(item, "Value"))
    return None


def _listener(
    index: Index, resource: Resource, used: dict[str, Resource], notices: list[Notice]
) -> Listener | None:
    props = resource.properties
    protocol = (as_str(get(props, "Protocol")) or "HTTP").upper()
    if protocol not in ("HTTP", "HTTPS"):
        notices.append(
            Notice(
                key_of(resource), resource.type, f"{protocol} listeners are not built by the twin"
            )
        )
        return None
    port = as_int(get(props, "Port")) or (443 if protocol == "HTTPS" else 80)
    rules = []
    for rule in listener_rules(index, resource):
        built = _rule(index, rule, used, notices)
        if built is not None:
            rules.append(built)
    return Listener(
        key=key_of(resource),
        port=port,
        protocol="HTTPS" if protocol == "HTTPS" else "HTTP",
        default_actions=_actions(index, resource, get(props, "DefaultActions"), used, notices),
        rules=tuple(sorted(rules, key=lambda r: r.priority)),
    )


def _rule(
    index: Index, resource: Resource, used: dict[str, Resource], notices: list[Notice]
) -> ListenerRule | None:
    props = resource.properties
    paths: list[str] = []
    hosts: list[str] = []
    for condition in as_list(get(props, "Conditions")):
        field = as_str(get(condition, "Field"))
        if field == "path-pattern":
            paths += _values(condition, "PathPatternConfig")
        elif field == "host-header":
            hosts += _values(condition, "HostHeaderConfig")
        else:
            notices.append(
                Notice(
                    key_of(resource),
                    resource.type,
                    f"condition {field!r} is not modelled; the rule is left out",
                )
            )
            return None
    return ListenerRule(
        key=key_of(resource),
        priority=as_int(get(props, "Priority")) or 50000,
        path_patterns=tuple(paths),
        host_patterns=tuple(hosts),
        actions=_actions(index, resource, get(props, "Actions"), used, notices),
    )


def _values(condition: Any, config_key: str) -> list[str]:
    values = as_list(get(condition, "Values")) or as_list(get(condition, config_key, "Values"))
    return [v for v in values if isinstance(v, str)]


def _actions(
    index: Index, owner: Resource, raw: Any, used: dict[str, Resource], notices: list[Notice]
) -> tuple[Action, ...]:
    actions: list[Action] = []
    ordered = sorted(as_list(raw), key=lambda a: as_int(get(a, "Order")) or 0)
    for item in ordered:
        kind = as_str(get(item, "Type"))
        if kind == "forward":
            groups: list[WeightedTargetGroup] = []
            single = get(item, "TargetGroupArn")
            if single is not None:
                groups.append(WeightedTargetGroup(_tg_key(index, owner, single, used), 1))
            for entry in as_list(get(item, "ForwardConfig", "TargetGroups")):
                weight = as_int(get(entry, "Weight"))
                groups.append(
                    WeightedTargetGroup(
                        _tg_key(index, owner, get(entry, "TargetGroupArn"), used),
                        1 if weight is None else weight,
                    )
                )
            actions.append(Action("forward", target_groups=tuple(groups)))
        elif kind == "redirect":
            config = as_dict(get(item, "RedirectConfig"))
            actions.append(
                Action(
                    "redirect",
                    redirect_protocol=as_str(config.get("Protocol")) or "#{protocol}",
                    redirect_host=as_str(config.get("Host")) or "#{host}",
                    redirect_port=str(config.get("Port") or "#{port}"),
                    redirect_path=as_str(config.get("Path")) or "/#{path}",
                    redirect_query=as_str(config.get("Query")) or "#{query}",
                    status_code=301 if as_str(config.get("StatusCode")) == "HTTP_301" else 302,
                )
            )
        elif kind == "fixed-response":
            config = as_dict(get(item, "FixedResponseConfig"))
            actions.append(
                Action(
                    "fixed-response",
                    status_code=as_int(config.get("StatusCode")) or 200,
                    content_type=as_str(config.get("ContentType")) or "text/plain",
                    body=as_str(config.get("MessageBody")) or "",
                )
            )
        else:
            notices.append(
                Notice(key_of(owner), owner.type, f"action {kind!r} is skipped by the twin")
            )
    return tuple(actions)


def _tg_key(index: Index, owner: Resource, value: Any, used: dict[str, Resource]) -> str:
    group = index.require(value, owner, "TargetGroupArn", types=(TARGET_GROUP,))
    used[key_of(group)] = group
    return key_of(group)


def _target_group(resource: Resource) -> TargetGroup:
    props = resource.properties
    target_type = as_str(get(props, "TargetType")) or "instance"
    if target_type != "ip":
        raise PlanError(
            f"target group {resource.logical_id} has TargetType {target_type}; Fargate tasks "
            "(awsvpc) register by IP",
            where=where(resource, "TargetType"),
            fix="set TargetType: ip",
        )
    port = as_int(get(props, "Port")) or 80
    protocol = (as_str(get(props, "Protocol")) or "HTTP").upper()
    check_protocol: Literal["HTTP", "HTTPS"] = (
        "HTTPS"
        if (as_str(get(props, "HealthCheckProtocol")) or protocol).upper() == "HTTPS"
        else "HTTP"
    )
    check_port = as_str(get(props, "HealthCheckPort"))
    return TargetGroup(
        key=key_of(resource),
        name=as_str(get(props, "Name")) or resource.logical_id,
        port=port,
        protocol=protocol,
        health_check=HealthCheck(
            path=as_str(get(props, "HealthCheckPath")) or "/",
            port=None if check_port in (None, "traffic-port") else as_int(check_port),
            protocol=check_protocol,
            interval=as_int(get(props, "HealthCheckIntervalSeconds"))
            or defaults.HEALTH_CHECK_INTERVAL,
            timeout=as_int(get(props, "HealthCheckTimeoutSeconds"))
            or defaults.HEALTH_CHECK_TIMEOUT,
            healthy_threshold=as_int(get(props, "HealthyThresholdCount"))
            or defaults.HEALTHY_THRESHOLD,
            unhealthy_threshold=as_int(get(props, "UnhealthyThresholdCount"))
            or defaults.UNHEALTHY_THRESHOLD,
            matcher=str(get(props, "Matcher", "HttpCode") or "200"),
        ),
        deregistration_delay=_delay(props),
    )


def _delay(props: dict[str, Any]) -> int:
    value = _attribute(props, "TargetGroupAttributes", "deregistration_delay.timeout_seconds")
    return defaults.DEREGISTRATION_DELAY if value is None else value
