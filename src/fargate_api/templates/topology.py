"""The pattern's shape, found in any template set: service -> target group -> listener -> LB.

Check's rules, the diagram and the twin's planner start from an ECS service and need its
task definition, subnets, security groups, target groups and the load balancers in front
of it. Building that view once keeps each reader to its own question, and the defaults
CloudFormation applies (internet-facing, application) in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fargate_api.templates.model import Resource
from fargate_api.templates.network import SECURITY_GROUP, SUBNET
from fargate_api.templates.props import (
    as_dict,
    as_int,
    as_list,
    as_str,
    get,
    key_index,
    key_values,
)
from fargate_api.templates.query import StackQuery
from fargate_api.templates.values import AttributeRef, ResourceRef, Text

SERVICE = "AWS::ECS::Service"
TASK_DEFINITION = "AWS::ECS::TaskDefinition"
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
LISTENER_RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
LOG_GROUP = "AWS::Logs::LogGroup"
CLUSTER = "AWS::ECS::Cluster"
SCALABLE_TARGET = "AWS::ApplicationAutoScaling::ScalableTarget"
SCALING_POLICY = "AWS::ApplicationAutoScaling::ScalingPolicy"

SUBNETS_PATH = ("Properties", "NetworkConfiguration", "AwsvpcConfiguration", "Subnets")
SECURITY_GROUPS_PATH = (
    "Properties",
    "NetworkConfiguration",
    "AwsvpcConfiguration",
    "SecurityGroups",
)


@dataclass(frozen=True)
class TargetLink:
    target_group: Resource
    container_name: str | None
    container_port: int | None
    index: int  # position in the service's LoadBalancers list


@dataclass(frozen=True)
class ServiceView:
    service: Resource
    task_definition: Resource | None
    subnets: list[Resource]
    security_groups: list[Resource]
    targets: list[TargetLink]
    load_balancers: list[Resource] = field(default_factory=list)

    def container_ports(self) -> set[int]:
        return {t.container_port for t in self.targets if t.container_port is not None}


def services(query: StackQuery) -> list[ServiceView]:
    views = []
    for service in query.resources(SERVICE):
        props = service.properties
        subnets, _ = query.deref_all(get(props, *SUBNETS_PATH[1:]))
        groups, _ = query.deref_all(get(props, *SECURITY_GROUPS_PATH[1:]))
        targets = []
        for index, link in enumerate(as_list(get(props, "LoadBalancers"))):
            group = query.deref(get(link, "TargetGroupArn"))
            if group is not None and group.type == TARGET_GROUP:
                targets.append(
                    TargetLink(
                        target_group=group,
                        container_name=as_str(get(link, "ContainerName")),
                        container_port=as_int(get(link, "ContainerPort")),
                        index=index,
                    )
                )
        balancers: list[Resource] = []
        for target in targets:
            for lb in target_group_load_balancers(query, target.target_group):
                if lb not in balancers:
                    balancers.append(lb)
        task = query.deref(get(props, "TaskDefinition"))
        views.append(
            ServiceView(
                service=service,
                task_definition=task if task is not None and task.type == TASK_DEFINITION else None,
                subnets=[s for s in subnets if s.type == SUBNET],
                security_groups=[g for g in groups if g.type == SECURITY_GROUP],
                targets=targets,
                load_balancers=balancers,
            )
        )
    return views


def forwarded_target_groups(query: StackQuery, actions: object) -> list[Resource]:
    groups = []
    for action in as_list(actions):
        values = [get(action, "TargetGroupArn")]
        values += [
            get(t, "TargetGroupArn") for t in as_list(get(action, "ForwardConfig", "TargetGroups"))
        ]
        groups += [g for g in (query.deref(v) for v in values if v is not None) if g is not None]
    return groups


def target_group_load_balancers(query: StackQuery, target_group: Resource) -> list[Resource]:
    balancers: list[Resource] = []
    for listener in query.resources(LISTENER):
        if target_group in forwarded_target_groups(
            query, get(listener.properties, "DefaultActions")
        ):
            lb = query.deref(get(listener.properties, "LoadBalancerArn"))
            if lb is not None and lb not in balancers:
                balancers.append(lb)
    for rule in query.resources(LISTENER_RULE):
        if target_group in forwarded_target_groups(query, get(rule.properties, "Actions")):
            parent = query.deref(get(rule.properties, "ListenerArn"))
            owner = query.deref(get(parent.properties, "LoadBalancerArn")) if parent else None
            if owner is not None and owner not in balancers:
                balancers.append(owner)
    return balancers


def listeners(query: StackQuery, load_balancer: Resource) -> list[Resource]:
    return list(query.referrers(load_balancer, LISTENER, "LoadBalancerArn"))


def listener_rules(query: StackQuery, listener: Resource) -> list[Resource]:
    return list(query.referrers(listener, LISTENER_RULE, "ListenerArn"))


def is_internet_facing(load_balancer: Resource) -> bool:
    """CloudFormation's default scheme is internet-facing."""
    return bool(get(load_balancer.properties, "Scheme") != "internal")


def is_application(load_balancer: Resource) -> bool:
    return bool(get(load_balancer.properties, "Type") in (None, "application"))


def load_balancer_subnets(query: StackQuery, load_balancer: Resource) -> list[Resource]:
    props = load_balancer.properties
    values = as_list(get(props, "Subnets")) + [
        get(m, "SubnetId") for m in as_list(get(props, "SubnetMappings"))
    ]
    found, _ = query.deref_all(values)
    return [s for s in found if s.type == SUBNET]


def containers(task_definition: Resource) -> list[tuple[int, dict[str, object]]]:
    return [
        (i, as_dict(c))
        for i, c in enumerate(as_list(get(task_definition.properties, "ContainerDefinitions")))
    ]


def is_windows(task_definition: Resource) -> bool:
    family = as_str(get(task_definition.properties, "RuntimePlatform", "OperatingSystemFamily"))
    return bool(family and family.upper().startswith("WINDOWS"))


def attribute(resource: Resource, list_key: str, key: str) -> tuple[object, tuple[str | int, ...]]:
    """A LoadBalancerAttributes / TargetGroupAttributes value and the path to point at."""
    items = get(resource.properties, list_key)
    index = key_index(items, key)
    path: tuple[str | int, ...] = ("Properties", list_key)
    if index is not None:
        path = (*path, index, "Value")
    return key_values(items).get(key), path


def references(value: object) -> list[ResourceRef | AttributeRef]:
    """The Refs and GetAtts in a value, also inside a Fn::Sub/Join such as a scalable
    target's ResourceId "service/${Cluster}/${Service.Name}"."""
    if isinstance(value, ResourceRef | AttributeRef):
        return [value]
    if isinstance(value, Text):
        return [p for p in value.parts if isinstance(p, ResourceRef | AttributeRef)]
    return []


def scaled_services(query: StackQuery, target: Resource) -> list[Resource]:
    """The ECS services a scalable target's ResourceId points at, in these templates."""
    found = [query.deref(ref) for ref in references(get(target.properties, "ResourceId"))]
    return [r for r in found if r is not None and r.type == SERVICE]
