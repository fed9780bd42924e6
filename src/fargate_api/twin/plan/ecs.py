"""ECS services and task definitions, read from templates.

The twin runs what ECS would run: desired count, the service's subnets and security
groups, its target group bindings, the health check grace period and the deployment
settings; containers bring their environment, port, stop timeout and awslogs target.
Defaults are ECS's own (stopTimeout 30 s, minimum healthy 100 %, maximum 200 %).

Two runtimes read the same task definition. "process" runs each container as a local
shell command, so a container without one is an error here. "container" runs the image
with podman, as Fargate does, so everything the container definition hands the runtime
(entry point, command, user, limits, health check, dependencies, secrets, mounts) is
read, and the task definitions ECS itself would refuse at RegisterTaskDefinition are
refused here, before anything is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, get_args

from fargate_api.metadata_keys import LOCAL, SUPPRESSIONS
from fargate_api.templates import Resource, Text, Unresolved, defaults
from fargate_api.templates.network import SECURITY_GROUP, SUBNET
from fargate_api.templates.props import as_bool, as_dict, as_int, as_list, as_str, get
from fargate_api.templates.topology import SERVICE, TARGET_GROUP, TASK_DEFINITION
from fargate_api.twin.ecs.images import (
    is_stand_in_image,
    match_run_option,
    stand_in_command,
    substitute_port,
)
from fargate_api.twin.plan.elbv2 import require_ip_targets
from fargate_api.twin.plan.errors import PlanError
from fargate_api.twin.plan.model import (
    DEFAULT_STOP_TIMEOUT,
    Container,
    ContainerDependency,
    ContainerHealthCheck,
    DependencyCondition,
    LogTarget,
    MountPoint,
    Notice,
    Runtime,
    SecretReference,
    Service,
    ServiceLoadBalancer,
    TaskDefinition,
    Ulimit,
)
from fargate_api.twin.plan.reads import Index, key_of, require_int, require_str, where

CONDITIONS: tuple[DependencyCondition, ...] = get_args(DependencyCondition)
HEALTH_CHECK_KINDS = ("CMD", "CMD-SHELL")
# ECS's RegisterTaskDefinition bounds for HealthCheck, seconds (retries: a count).
HEALTH_CHECK_BOUNDS = {
    "Interval": (5, 300),
    "Timeout": (2, 60),
    "Retries": (1, 10),
    "StartPeriod": (0, 300),
}


def read_services(
    index: Index, image_commands: Mapping[str, str], *, runtime: Runtime = "process"
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
            definitions[key] = _task_definition(
                index, definition_res, image_commands, notices, runtime
            )
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
        require_ip_targets(resource, group, "LoadBalancers", i, "TargetGroupArn")
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
    index: Index,
    resource: Resource,
    image_commands: Mapping[str, str],
    notices: list[Notice],
    runtime: Runtime,
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
                runtime=runtime,
            )
        )
    if not containers:
        raise PlanError(
            f"task definition {resource.logical_id} has no containers", where=where(resource)
        )
    volumes = _volumes(resource)
    _check_names(resource, containers)
    _check_mounts(resource, containers, volumes)
    _check_dependencies(resource, containers)
    return TaskDefinition(
        key=key_of(resource),
        family=as_str(get(props, "Family")) or resource.logical_id,
        cpu=_text(get(props, "Cpu")),
        memory=_text(get(props, "Memory")),
        containers=tuple(containers),
        volumes=volumes,
        task_role=_text(get(props, "TaskRoleArn")),
        execution_role=_text(get(props, "ExecutionRoleArn")),
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
    runtime: Runtime = "process",
) -> Container:
    name = require_str(get(body, "Name"), resource, "ContainerDefinitions", i, "Name")
    image = _text(get(body, "Image")) or ""
    port = as_int(get(body, "PortMappings", 0, "ContainerPort"))
    command = match_run_option(image, image_commands) or local_command
    if runtime == "process":
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
    secrets = _secrets(resource, i, body)
    if runtime == "process":
        for secret in secrets:
            notices.append(
                Notice(
                    key_of(resource),
                    resource.type,
                    f"secret {secret.name} of container {name} is not fetched by the twin; "
                    "the variable is unset",
                )
            )
    options = as_dict(get(body, "LogConfiguration", "Options"))
    group = _log_group_name(index, options.get("awslogs-group"))
    return Container(
        name=name,
        image=image,
        command=None if command is None else substitute_port(command, port),
        environment=environment,
        port=port,
        essential=get(body, "Essential") is not False,
        stop_timeout=as_int(get(body, "StopTimeout")) or DEFAULT_STOP_TIMEOUT,
        log=LogTarget(group, _text(options.get("awslogs-stream-prefix"))) if group else None,
        entry_point=_words(get(body, "EntryPoint")),
        command_args=_words(get(body, "Command")),
        working_directory=_text(get(body, "WorkingDirectory")),
        user=_text(get(body, "User")),
        read_only_root=as_bool(get(body, "ReadonlyRootFilesystem")) is True,
        init_process=as_bool(get(body, "LinuxParameters", "InitProcessEnabled")) is True,
        cpu=_optional_int(body, resource, i, "Cpu"),
        memory=_optional_int(body, resource, i, "Memory"),
        memory_reservation=_optional_int(body, resource, i, "MemoryReservation"),
        health_check=_health_check(resource, i, body),
        depends_on=_depends_on(resource, i, body),
        secrets=secrets,
        mount_points=_mount_points(resource, i, body),
        ulimits=_ulimits(resource, i, body),
        port_mappings=_port_mappings(body),
        start_timeout=_optional_int(body, resource, i, "StartTimeout"),
    )


def _words(value: Any) -> tuple[str, ...] | None:
    """EntryPoint/Command as ECS hands them to the runtime: absent stays None (the image's
    own ENTRYPOINT/CMD then apply), which is not the same as an empty list."""
    if value is None:
        return None
    return tuple(_text(word) or "" for word in as_list(value))


def _optional_int(body: Any, resource: Resource, i: int, *path: str) -> int | None:
    value = get(body, *path)
    if value is None:
        return None
    return require_int(value, resource, "ContainerDefinitions", i, *path)


def _port_mappings(body: Any) -> tuple[int, ...]:
    """Every known container port; one the twin cannot resolve is left out, as `port` is."""
    numbers = (as_int(get(item, "ContainerPort")) for item in as_list(get(body, "PortMappings")))
    return tuple(n for n in numbers if n is not None)


def _health_check(resource: Resource, i: int, body: Any) -> ContainerHealthCheck | None:
    check = get(body, "HealthCheck")
    if check is None:
        return None
    path: tuple[str | int, ...] = ("ContainerDefinitions", i, "HealthCheck")
    command = tuple(_text(word) or "" for word in as_list(get(check, "Command")))
    if not command or command[0] not in HEALTH_CHECK_KINDS or len(command) < 2:
        shown = list(command) if command else get(check, "Command")
        raise PlanError(
            f"container {get(body, 'Name')!r} has the health check command {shown!r}; ECS "
            'runs only ["CMD", executable, args...] or ["CMD-SHELL", "shell command"]',
            where=where(resource, *path, "Command"),
            fix='write it as ["CMD-SHELL", "curl -f http://localhost/ || exit 1"] '
            'or ["CMD", "/bin/check", "--arg"]',
        )
    numbers: dict[str, int] = {}
    defaults_ = ContainerHealthCheck(command=command)
    fallback = {
        "Interval": defaults_.interval,
        "Timeout": defaults_.timeout,
        "Retries": defaults_.retries,
        "StartPeriod": defaults_.start_period,
    }
    for key, (low, high) in HEALTH_CHECK_BOUNDS.items():
        value = get(check, key)
        number = fallback[key] if value is None else require_int(value, resource, *path, key)
        if not low <= number <= high:
            raise PlanError(
                f"container {get(body, 'Name')!r} has HealthCheck.{key} {number}; ECS accepts "
                f"{low} to {high}",
                where=where(resource, *path, key),
                fix=f"set HealthCheck.{key} between {low} and {high}",
            )
        numbers[key] = number
    return ContainerHealthCheck(
        command=command,
        interval=numbers["Interval"],
        timeout=numbers["Timeout"],
        retries=numbers["Retries"],
        start_period=numbers["StartPeriod"],
    )


def _depends_on(resource: Resource, i: int, body: Any) -> tuple[ContainerDependency, ...]:
    dependencies = []
    for j, item in enumerate(as_list(get(body, "DependsOn"))):
        path = ("ContainerDefinitions", i, "DependsOn", j)
        target = require_str(get(item, "ContainerName"), resource, *path, "ContainerName")
        condition = as_str(get(item, "Condition"))
        matched = next((c for c in CONDITIONS if c == (condition or "").upper()), None)
        if matched is None:
            raise PlanError(
                f"container {get(body, 'Name')!r} depends on {target!r} with condition "
                f"{get(item, 'Condition')!r}, which ECS does not know",
                where=where(resource, *path, "Condition"),
                fix=f"use one of {', '.join(CONDITIONS)}",
            )
        dependencies.append(ContainerDependency(container=target, condition=matched))
    return tuple(dependencies)


def _secrets(resource: Resource, i: int, body: Any) -> tuple[SecretReference, ...]:
    secrets = []
    for j, item in enumerate(as_list(get(body, "Secrets"))):
        path = ("ContainerDefinitions", i, "Secrets", j)
        name = require_str(get(item, "Name"), resource, *path, "Name")
        value_from = _text(get(item, "ValueFrom"))
        if not value_from:
            raise PlanError(
                f"secret {name} of container {get(body, 'Name')!r} has no ValueFrom",
                where=where(resource, *path),
                fix="set ValueFrom to the SSM parameter or Secrets Manager secret (ARN or name)",
            )
        secrets.append(SecretReference(name=name, value_from=value_from))
    return tuple(secrets)


def _mount_points(resource: Resource, i: int, body: Any) -> tuple[MountPoint, ...]:
    mounts = []
    for j, item in enumerate(as_list(get(body, "MountPoints"))):
        path = ("ContainerDefinitions", i, "MountPoints", j)
        mounts.append(
            MountPoint(
                source_volume=require_str(
                    get(item, "SourceVolume"), resource, *path, "SourceVolume"
                ),
                container_path=require_str(
                    get(item, "ContainerPath"), resource, *path, "ContainerPath"
                ),
                read_only=as_bool(get(item, "ReadOnly")) is True,
            )
        )
    return tuple(mounts)


def _ulimits(resource: Resource, i: int, body: Any) -> tuple[Ulimit, ...]:
    limits = []
    for j, item in enumerate(as_list(get(body, "Ulimits"))):
        path = ("ContainerDefinitions", i, "Ulimits", j)
        limits.append(
            Ulimit(
                name=require_str(get(item, "Name"), resource, *path, "Name"),
                soft=require_int(get(item, "SoftLimit"), resource, *path, "SoftLimit"),
                hard=require_int(get(item, "HardLimit"), resource, *path, "HardLimit"),
            )
        )
    return tuple(limits)


def _volumes(resource: Resource) -> tuple[str, ...]:
    return tuple(
        require_str(get(item, "Name"), resource, "Volumes", j, "Name")
        for j, item in enumerate(as_list(get(resource.properties, "Volumes")))
    )


def _check_names(resource: Resource, containers: Sequence[Container]) -> None:
    seen: set[str] = set()
    for i, container in enumerate(containers):
        if container.name in seen:
            raise PlanError(
                f"task definition {resource.logical_id} has two containers named "
                f"{container.name!r}",
                where=where(resource, "ContainerDefinitions", i, "Name"),
                fix="give every container of the task its own Name",
            )
        seen.add(container.name)


def _check_mounts(
    resource: Resource, containers: Sequence[Container], volumes: tuple[str, ...]
) -> None:
    for i, container in enumerate(containers):
        for j, mount in enumerate(container.mount_points):
            if mount.source_volume not in volumes:
                known = ", ".join(volumes) or "none"
                raise PlanError(
                    f"container {container.name!r} mounts volume {mount.source_volume!r}, "
                    f"which the task definition does not declare (Volumes: {known})",
                    where=where(
                        resource, "ContainerDefinitions", i, "MountPoints", j, "SourceVolume"
                    ),
                    fix=f"add {{Name: {mount.source_volume}}} to the task definition's Volumes, "
                    "or mount one of its volumes",
                )


def _check_dependencies(resource: Resource, containers: Sequence[Container]) -> None:
    by_name = {c.name: c for c in containers}
    for i, container in enumerate(containers):
        for j, dependency in enumerate(container.depends_on):
            path = ("ContainerDefinitions", i, "DependsOn", j)
            target = by_name.get(dependency.container)
            if target is None:
                raise PlanError(
                    f"container {container.name!r} depends on {dependency.container!r}, which "
                    f"is not a container of task definition {resource.logical_id}",
                    where=where(resource, *path, "ContainerName"),
                    fix=f"name one of {', '.join(repr(n) for n in by_name)}",
                )
            if dependency.condition == "HEALTHY" and target.health_check is None:
                raise PlanError(
                    f"container {container.name!r} waits for {target.name!r} to be HEALTHY, "
                    f"but {target.name!r} has no HealthCheck",
                    where=where(resource, *path, "Condition"),
                    fix=f"give {target.name!r} a HealthCheck, or depend on it with START",
                )
    cycle = _find_cycle(containers)
    if cycle:
        first = next(i for i, c in enumerate(containers) if c.name == cycle[0])
        raise PlanError(
            f"the containers of task definition {resource.logical_id} depend on each other in "
            f"a cycle: {' -> '.join(cycle)}",
            where=where(resource, "ContainerDefinitions", first, "DependsOn"),
            fix="remove one DependsOn entry of the cycle; a container cannot wait for itself",
        )


def _find_cycle(containers: Sequence[Container]) -> list[str]:
    """The first dependency cycle, as names from a container back to itself; [] if none."""
    edges = {c.name: [d.container for d in c.depends_on] for c in containers}
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> list[str]:
        if name in trail:
            return [*trail[trail.index(name) :], name]
        if name in done or name not in edges:
            return []
        for target in edges[name]:
            found = visit(target, [*trail, name])
            if found:
                return found
        done.add(name)
        return []

    for container in containers:
        found = visit(container.name, [])
        if found:
            return found
    return []


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
