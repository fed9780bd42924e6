"""ECS services and task definitions, read from templates.

The twin runs what ECS would run: desired count, the service's subnets and security
groups, its target group bindings, the health check grace period and the deployment
settings; containers bring their environment, port, stop timeout and awslogs target.
Defaults are ECS's own (stopTimeout 30 s, minimum healthy 100 %, maximum 200 %).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fargate_api.metadata_keys import LOCAL, SUPPRESSIONS
from fargate_api.templates import Resource, Text, Unresolved, defaults
from fargate_api.templates.network import SECURITY_GROUP, SUBNET
from fargate_api.templates.props import as_dict, as_int, as_list, as_str, get
from fargate_api.templates.topology import SERVICE, TARGET_GROUP, TASK_DEFINITION
from fargate_api.twin.ecs.images import (
    is_stand_in_image,
    match_run_option,
    stand_in_command,
    substitute_port,
)
from fargate_api.twin.plan.errors import PlanError
from fargate_api.twin.plan.model import (
    DEFAULT_STOP_TIMEOUT,
    Container,
    LogTarget,
    Notice,
    Service,
    ServiceLoadBalancer,
    TaskDefinition,
)
from fargate_api.twin.plan.reads import Index, key_of, require_int, require_str, where


def read_services(
    index: Index, image_commands: Mapping[str, str]
) -> tuple[list[Service], list[TaskDefinition], list[Notice]]:
    notices: list[Notice] = []
    services: list[Service] = []
    definitions: dict[str, TaskDefinition] = {}
    for resource in sorted(index.of_type(SERVICE), key=key_of):
        definition_res = index.require(
            get(resource.properties, "TaskDefinition"),
            resource,
            "TaskDefinition",
            types=(TASK_DEFINITION,),
        )
        key = key_of(definition_res)
        if key not in definitions:
            definitions[key] = _task_definition(index, definition_res, image_commands, notices)
        services.append(_service(index, resource, key))
    if not services:
        raise PlanError(
            "these templates create no ECS service (AWS::ECS::Service)",
            fix="give the twin the whole stack set, including the service template",
        )
    return services, list(definitions.values()), notices


def _service(index: Index, resource: Resource, definition: str) -> Service:
    props = resource.properties
    network = as_dict(get(props, "NetworkConfiguration", "AwsvpcConfiguration"))
    if not network:
        raise PlanError(
            f"service {resource.logical_id} has no AwsvpcConfiguration",
            where=where(resource),
            fix="Fargate services need NetworkConfiguration.AwsvpcConfiguration with subnets",
        )
    subnets = tuple(
        key_of(index.require(s, resource, "NetworkConfiguration", types=(SUBNET,)))
        for s in as_list(network.get("Subnets"))
    )
    if not subnets:
        raise PlanError(f"service {resource.logical_id} names no subnets", where=where(resource))
    groups = tuple(
        key_of(index.require(g, resource, "NetworkConfiguration", types=(SECURITY_GROUP,)))
        for g in as_list(network.get("SecurityGroups"))
    )
    bindings = []
    for i, item in enumerate(as_list(get(props, "LoadBalancers"))):
        group = index.require(
            get(item, "TargetGroupArn"),
            resource,
            "LoadBalancers",
            i,
            "TargetGroupArn",
            types=(TARGET_GROUP,),
        )
        bindings.append(
            ServiceLoadBalancer(
                target_group=key_of(group),
                container_name=require_str(
                    get(item, "ContainerName"), resource, "LoadBalancers", i, "ContainerName"
                ),
                container_port=require_int(
                    get(item, "ContainerPort"), resource, "LoadBalancers", i, "ContainerPort"
                ),
            )
        )
    deployment = as_dict(get(props, "DeploymentConfiguration"))
    breaker = as_dict(deployment.get("DeploymentCircuitBreaker"))
    desired = get(props, "DesiredCount")
    return Service(
        key=key_of(resource),
        name=as_str(get(props, "ServiceName")) or resource.logical_id,
        cluster=_cluster_name(index, get(props, "Cluster")),
        task_definition=definition,
        desired_count=defaults.DESIRED_COUNT
        if desired is None
        else require_int(desired, resource, "DesiredCount"),
        subnets=subnets,
        security_groups=groups,
        assign_public_ip=as_str(network.get("AssignPublicIp")) == "ENABLED",
        load_balancers=tuple(bindings),
        health_check_grace_period=as_int(get(props, "HealthCheckGracePeriodSeconds")) or 0,
        minimum_healthy_percent=_int_or(
            deployment.get("MinimumHealthyPercent"), defaults.MINIMUM_HEALTHY_PERCENT
        ),
        maximum_percent=_int_or(deployment.get("MaximumPercent"), defaults.MAXIMUM_PERCENT),
        circuit_breaker=breaker.get("Enable") in (True, "true"),
        rollback=breaker.get("Rollback") in (True, "true"),
    )


def _int_or(value: Any, default: int) -> int:
    number = as_int(value)
    return default if number is None else number


def _cluster_name(index: Index, value: Any) -> str:
    cluster = index.deref(value)
    if cluster is not None:
        return as_str(get(cluster.properties, "ClusterName")) or cluster.logical_id
    return as_str(value) or "default"


def _task_definition(
    index: Index, resource: Resource, image_commands: Mapping[str, str], notices: list[Notice]
) -> TaskDefinition:
    props = resource.properties
    mode = as_str(get(props, "NetworkMode"))
    if mode not in (None, "awsvpc"):
        raise PlanError(
            f"task definition {resource.logical_id} uses NetworkMode {mode}; Fargate needs awsvpc",
            where=where(resource, "NetworkMode"),
            fix="set NetworkMode: awsvpc",
        )
    local_command = as_str(get(resource.metadata, SUPPRESSIONS, LOCAL, "command"))
    containers = []
    for i, body in enumerate(as_list(get(props, "ContainerDefinitions"))):
        containers.append(
            _container(
                index,
                resource,
                i,
                body=body,
                image_commands=image_commands,
                local_command=local_command,
                notices=notices,
            )
        )
    if not containers:
        raise PlanError(
            f"task definition {resource.logical_id} has no containers", where=where(resource)
        )
    return TaskDefinition(
        key=key_of(resource),
        family=as_str(get(props, "Family")) or resource.logical_id,
        cpu=_text(get(props, "Cpu")),
        memory=_text(get(props, "Memory")),
        containers=tuple(containers),
    )


def _container(
    index: Index,
    resource: Resource,
    i: int,
    *,
    body: Any,
    image_commands: Mapping[str, str],
    local_command: str | None,
    notices: list[Notice],
) -> Container:
    name = require_str(get(body, "Name"), resource, "ContainerDefinitions", i, "Name")
    image = _text(get(body, "Image")) or ""
    port = as_int(get(body, "PortMappings", 0, "ContainerPort"))
    command = match_run_option(image, image_commands) or local_command
    if command is None and is_stand_in_image(image):
        command = stand_in_command()
    if command is None:
        raise PlanError(
            f"container {name!r} runs image {image!r}, and the twin does not know how to "
            "run it without a container runtime",
            where=where(resource, "ContainerDefinitions", i, "Image"),
            fix=f"map it to a local command: `--run '{image}=COMMAND'` ({{port}} becomes "
            f"the container port), or set [local] command in the config",
        )
    environment: dict[str, str] = {}
    for item in as_list(get(body, "Environment")):
        key = as_str(get(item, "Name"))
        value = get(item, "Value")
        if key is None:
            continue
        environment[key] = _text(value) or ""
    for item in as_list(get(body, "Secrets")):
        notices.append(
            Notice(
                key_of(resource),
                resource.type,
                f"secret {get(item, 'Name')} of container {name} is not fetched by the twin; "
                "the variable is unset",
            )
        )
    options = as_dict(get(body, "LogConfiguration", "Options"))
    group = _log_group_name(index, options.get("awslogs-group"))
    return Container(
        name=name,
        image=image,
        command=substitute_port(command, port),
        environment=environment,
        port=port,
        essential=get(body, "Essential") is not False,
        stop_timeout=as_int(get(body, "StopTimeout")) or DEFAULT_STOP_TIMEOUT,
        log=LogTarget(group, _text(options.get("awslogs-stream-prefix"))) if group else None,
    )


def _text(value: Any) -> str | None:
    """A value as text for local use: symbols (physical ids) keep their ${Name} form."""
    if value is None or isinstance(value, Unresolved):
        return None
    if isinstance(value, str | Text):
        return str(value)
    if isinstance(value, bool | int | float):
        return str(value)
    ref_name = getattr(value, "logical_id", None)
    return str(ref_name) if ref_name else str(value)


def _log_group_name(index: Index, value: Any) -> str | None:
    group = index.deref(value)
    if group is not None:
        return as_str(get(group.properties, "LogGroupName")) or group.logical_id
    return _text(value)
