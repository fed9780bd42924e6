"""The pattern's shape, found in any template set: service -> target group -> listener -> LB.

Most pattern rules start from an ECS service and need its task definition, subnets,
security groups, target groups and the load balancers in front of it. Building that view
once keeps each rule to its one question.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fargate_api.check.context import CheckContext
from fargate_api.check.props import as_dict, as_int, as_list, as_str, get, key_index, key_values
from fargate_api.templates import Resource

SERVICE = "AWS::ECS::Service"
TASK_DEFINITION = "AWS::ECS::TaskDefinition"
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
LISTENER_RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
SUBNET = "AWS::EC2::Subnet"
VPC = "AWS::EC2::VPC"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
LOG_GROUP = "AWS::Logs::LogGroup"

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


def services(ctx: CheckContext) -> list[ServiceView]:
    views = []
    for service in ctx.resources(SERVICE):
        props = service.properties
        subnets, _ = ctx.deref_all(get(props, *SUBNETS_PATH[1:]))
        groups, _ = ctx.deref_all(get(props, *SECURITY_GROUPS_PATH[1:]))
        targets = []
        for index, link in enumerate(as_list(get(props, "LoadBalancers"))):
            group = ctx.deref(get(link, "TargetGroupArn"))
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
            for lb in target_group_load_balancers(ctx, target.target_group):
                if lb not in balancers:
                    balancers.append(lb)
        task = ctx.deref(get(props, "TaskDefinition"))
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


def forwarded_target_groups(ctx: CheckContext, actions: object) -> list[Resource]:
    groups = []
    for action in as_list(actions):
        values = [get(action, "TargetGroupArn")]
        values += [
            get(t, "TargetGroupArn") for t in as_list(get(action, "ForwardConfig", "TargetGroups"))
        ]
        groups += [g for g in (ctx.deref(v) for v in values if v is not None) if g is not None]
    return groups


def target_group_load_balancers(ctx: CheckContext, target_group: Resource) -> list[Resource]:
    balancers: list[Resource] = []
    for listener in ctx.resources(LISTENER):
        if target_group in forwarded_target_groups(ctx, get(listener.properties, "DefaultActions")):
            lb = ctx.deref(get(listener.properties, "LoadBalancerArn"))
            if lb is not None and lb not in balancers:
                balancers.append(lb)
    for rule in ctx.resources(LISTENER_RULE):
        if target_group in forwarded_target_groups(ctx, get(rule.properties, "Actions")):
            parent = ctx.deref(get(rule.properties, "ListenerArn"))
            owner = ctx.deref(get(parent.properties, "LoadBalancerArn")) if parent else None
            if owner is not None and owner not in balancers:
                balancers.append(owner)
    return balancers


def listeners(ctx: CheckContext, load_balancer: Resource) -> list[Resource]:
    return list(ctx.referrers(load_balancer, LISTENER, "LoadBalancerArn"))


def is_internet_facing(load_balancer: Resource) -> bool:
    """CloudFormation's default scheme is internet-facing."""
    return bool(get(load_balancer.properties, "Scheme") != "internal")


def is_application(load_balancer: Resource) -> bool:
    return bool(get(load_balancer.properties, "Type") in (None, "application"))


def load_balancer_subnets(ctx: CheckContext, load_balancer: Resource) -> list[Resource]:
    props = load_balancer.properties
    values = as_list(get(props, "Subnets")) + [
        get(m, "SubnetId") for m in as_list(get(props, "SubnetMappings"))
    ]
    found, _ = ctx.deref_all(values)
    return [s for s in found if s.type == SUBNET]


def containers(task_definition: Resource) -> list[tuple[int, dict[str, object]]]:
    return [
        (i, as_dict(c))
        for i, c in enumerate(as_list(get(task_definition.properties, "ContainerDefinitions")))
    ]


def is_windows(task_definition: Resource) -> bool:
    family = as_str(get(task_definition.properties, "RuntimePlatform", "OperatingSystemFamily"))
    return bool(family and family.upper().startswith("WINDOWS"))


def resources_in_vpc(ctx: CheckContext, vpc: Resource, type_: str) -> list[Resource]:
    return list(ctx.referrers(vpc, type_, "VpcId"))


def attribute(resource: Resource, list_key: str, key: str) -> tuple[object, tuple[str | int, ...]]:
    """A LoadBalancerAttributes / TargetGroupAttributes value and the path to point at."""
    items = get(resource.properties, list_key)
    index = key_index(items, key)
    path: tuple[str | int, ...] = ("Properties", list_key)
    if index is not None:
        path = (*path, index, "Value")
    return key_values(items).get(key), path
