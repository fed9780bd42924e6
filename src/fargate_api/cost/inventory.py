"""What a template set creates that costs money, counted from the resolved templates.

The estimate prices this inventory and the variants change it; neither looks at the
config, so `cost -t DIR` prices the reference's templates or a hand-edited set the same
way as our own. Values the templates leave unknowable (a parameter without default, say)
fall back to a stated assumption, recorded in `notes`, never to a silent guess.

What a resource *is* (a public NAT gateway and its EIP, an application load balancer, a
task's containers) is read through the reading layer (templates/network.py,
templates/topology.py) that check and the diagram use, so the bill counts the same
things the picture draws; what it *costs* is this package's.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from fargate_api.templates import Resource, ResourceRef, StackSet, Unresolved
from fargate_api.templates.network import (
    EIP,
    NAT_GATEWAY,
    VPC_ENDPOINT,
    is_private_nat,
    nat_gateway,
)
from fargate_api.templates.props import get
from fargate_api.templates.query import StackQuery
from fargate_api.templates.topology import (
    CLUSTER,
    LOAD_BALANCER,
    LOG_GROUP,
    SERVICE,
    TASK_DEFINITION,
    containers,
    is_application,
)

ON_DEMAND = "FARGATE"
SPOT = "FARGATE_SPOT"
DEFAULT_SUBNET_GUESS = 2  # AZs assumed when a subnet list cannot be resolved


@dataclass(frozen=True)
class InterfaceEndpoint:
    name: str  # logical id
    service: str
    subnets: int  # one billed endpoint network interface per subnet (AZ)


@dataclass(frozen=True)
class TaskGroup:
    """One ECS service's running tasks, split between on-demand and spot capacity."""

    service: str  # its label: the ECS service's name (service_label)
    vcpu: float
    memory_gb: float
    architecture: str  # X86_64 | ARM64
    on_demand_tasks: float
    spot_tasks: float

    @property
    def tasks(self) -> float:
        return self.on_demand_tasks + self.spot_tasks


@dataclass(frozen=True)
class LogGroup:
    name: str  # logical id, with its service or stack where two share one
    kind: str  # tasks | flow-logs | other
    retention_days: int | None  # None: never expires
    service: str | None = None  # the label of the service whose tasks write to it


@dataclass(frozen=True)
class Inventory:
    nat_gateways: int
    nat_eips: int  # EIPs attached to the NAT gateways
    other_eips: int
    load_balancers: int
    load_balancer_public_ips: int  # one public IPv4 per AZ of an internet-facing ALB
    private_subnets: int
    interface_endpoints: tuple[InterfaceEndpoint, ...]
    tasks: tuple[TaskGroup, ...]
    log_groups: tuple[LogGroup, ...]
    notes: tuple[str, ...] = field(default=())

    def evolve(self, **changes: Any) -> Inventory:
        return replace(self, **changes)


def _count(value: Any) -> int | None:
    return len(value) if isinstance(value, list) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _memory_gb(value: Any) -> float | None:
    """Task memory: MiB as a number, or a string such as '1 GB'."""
    if isinstance(value, str) and value.strip().upper().endswith("GB"):
        number = _number(value.strip()[:-2])
        return number
    number = _number(value)
    return number / 1024 if number is not None else None


def _vcpu(value: Any) -> float | None:
    """Task CPU: units (1024 per vCPU) as a number, or a string such as '0.25 vCPU'."""
    if isinstance(value, str) and value.strip().lower().endswith("vcpu"):
        return _number(value.strip()[:-4])
    number = _number(value)
    return number / 1024 if number is not None else None


def split_tasks(desired: float, strategy: list[Any]) -> tuple[float, float]:
    """(on-demand, spot) tasks for a capacity provider strategy: base first, then weights."""
    items = [s for s in strategy if isinstance(s, dict)]
    if not items:
        return desired, 0.0
    counts = {ON_DEMAND: 0.0, SPOT: 0.0}
    remaining = desired
    for item in items:
        base = min(_number(item.get("Base")) or 0.0, remaining)
        provider = SPOT if item.get("CapacityProvider") == SPOT else ON_DEMAND
        counts[provider] += base
        remaining -= base
    weights = {ON_DEMAND: 0.0, SPOT: 0.0}
    for item in items:
        provider = SPOT if item.get("CapacityProvider") == SPOT else ON_DEMAND
        weights[provider] += _number(item.get("Weight")) or 0.0
    total = weights[ON_DEMAND] + weights[SPOT]
    if total > 0:
        counts[ON_DEMAND] += remaining * weights[ON_DEMAND] / total
        counts[SPOT] += remaining * weights[SPOT] / total
    else:
        counts[ON_DEMAND] += remaining
    return counts[ON_DEMAND], counts[SPOT]


def from_stack_set(stack_set: StackSet) -> Inventory:
    """Counts the billable resources of a loaded, resolved stack set."""
    notes: list[str] = []
    query = StackQuery([stack_set])
    nats = list(stack_set.resources(NAT_GATEWAY))
    public_nats = [r for r in nats if not is_private_nat(r)]
    eip_ids = {(e.stack, e.logical_id) for e in stack_set.resources(EIP)}
    nat_eip_ids = {
        (eip.stack, eip.logical_id)
        for eip in (nat_gateway(query, r).eip for r in public_nats)
        if eip is not None
    }
    # Every public NAT gateway holds one public IPv4: an EIP of the set, or one from outside.
    nat_eips = len(public_nats)

    albs = [r for r in stack_set.resources(LOAD_BALANCER) if is_application(r)]
    public_ips = 0
    for alb in albs:
        if alb.properties.get("Scheme", "internet-facing") != "internet-facing":
            continue
        subnets = _count(alb.properties.get("Subnets")) or _count(
            alb.properties.get("SubnetMappings")
        )
        if subnets is None:
            subnets = DEFAULT_SUBNET_GUESS
            notes.append(
                f"{alb.logical_id}: subnets unknown from the templates; assumed "
                f"{DEFAULT_SUBNET_GUESS} AZs (one public IPv4 each)"
            )
        public_ips += subnets

    endpoints: list[InterfaceEndpoint] = []
    for r in stack_set.resources(VPC_ENDPOINT):
        if r.properties.get("VpcEndpointType", "Gateway") != "Interface":
            continue
        subnets = _count(r.properties.get("SubnetIds"))
        if subnets is None:
            subnets = DEFAULT_SUBNET_GUESS
            notes.append(f"{r.logical_id}: subnets unknown; assumed {DEFAULT_SUBNET_GUESS}")
        service = r.properties.get("ServiceName")
        name = re.sub(r"^com\.amazonaws\.[a-z0-9-]+\.", "", str(service))
        endpoints.append(InterfaceEndpoint(r.logical_id, name, subnets))

    tasks, private_subnets, task_log_groups = _tasks(stack_set, notes)
    flow_log_groups = {
        (r.stack, r.properties["LogGroupName"].logical_id)
        for r in stack_set.resources("AWS::EC2::FlowLog")
        if isinstance(r.properties.get("LogGroupName"), ResourceRef)
    }
    log_groups = []
    resources = list(stack_set.resources(LOG_GROUP))
    shared = _shared_ids(resources)
    for r in resources:
        key = (r.stack, r.logical_id)
        kind = (
            "tasks"
            if key in task_log_groups
            else "flow-logs"
            if key in flow_log_groups
            else "other"
        )
        retention = _number(r.properties.get("RetentionInDays"))
        service = task_log_groups.get(key)
        name = r.logical_id
        if r.logical_id in shared:
            name = f"{r.logical_id} ({service or _stack_label(r)})"
        log_groups.append(
            LogGroup(name, kind, int(retention) if retention else None, service=service)
        )

    return Inventory(
        nat_gateways=len(nats),
        nat_eips=nat_eips,
        other_eips=len(eip_ids - nat_eip_ids),
        load_balancers=len(albs),
        load_balancer_public_ips=public_ips,
        private_subnets=private_subnets or len(nats) or DEFAULT_SUBNET_GUESS,
        interface_endpoints=tuple(endpoints),
        tasks=tuple(tasks),
        log_groups=tuple(log_groups),
        notes=tuple(notes),
    )


def _shared_ids(resources: list[Resource]) -> set[str]:
    """Logical ids that more than one of `resources` has (one per stack, say)."""
    counts = Counter(resource.logical_id for resource in resources)
    return {logical_id for logical_id, count in counts.items() if count > 1}


def _stack_label(resource: Resource) -> str:
    """The nested stack's logical id, or the root template's file name."""
    return resource.stack.rsplit("/", 1)[-1]


def service_labels(services: list[Resource]) -> dict[tuple[str, str], str]:
    """What each ECS service is called in the estimate: its ServiceName as resolved (a
    parameter's default included), else its logical id, qualified by its stack where
    several services share one. Keyed by (stack, logical id)."""
    shared = _shared_ids(services)
    labels = {}
    for service in services:
        name = get(service.properties, "ServiceName")
        if not isinstance(name, str) or not name:
            name = service.logical_id
            if name in shared:
                name = f"{_stack_label(service)}/{name}"
        labels[(service.stack, service.logical_id)] = name
    return labels


def _tasks(
    stack_set: StackSet, notes: list[str]
) -> tuple[list[TaskGroup], int, dict[tuple[str, str], str]]:
    """The services' task groups, the private subnets they use and their log groups
    (each with the label of the service whose tasks write to it)."""
    groups: list[TaskGroup] = []
    subnets = 0
    log_groups: dict[tuple[str, str], str] = {}
    clusters = list(stack_set.resources(CLUSTER))
    services = list(stack_set.resources(SERVICE))
    labels = service_labels(services)
    for service in services:
        label = labels[(service.stack, service.logical_id)]
        props = service.properties
        task_def = stack_set.resource(props.get("TaskDefinition"))
        if task_def is None or task_def.type != TASK_DEFINITION:
            notes.append(f"{label}: task definition not in the templates; not priced")
            continue
        for _, container in containers(task_def):
            group = get(container, "LogConfiguration", "Options", "awslogs-group")
            if isinstance(group, ResourceRef):
                log_groups.setdefault((group.stack, group.logical_id), label)
        vcpu = _vcpu(task_def.properties.get("Cpu"))
        memory = _memory_gb(task_def.properties.get("Memory"))
        desired = _number(props.get("DesiredCount"))
        if desired is None:
            desired = 1.0
            detail = props.get("DesiredCount")
            why = f" ({detail})" if isinstance(detail, Unresolved) else ""
            notes.append(f"{label}: desired count unknown{why}; assumed 1 task")
        if vcpu is None or memory is None:
            notes.append(f"{label}: task CPU or memory unknown; not priced")
            continue
        platform = task_def.properties.get("RuntimePlatform") or {}
        arch = str(platform.get("CpuArchitecture", "X86_64")).upper()
        strategy = props.get("CapacityProviderStrategy")
        if not isinstance(strategy, list) and "LaunchType" not in props and clusters:
            default = clusters[0].properties.get("DefaultCapacityProviderStrategy")
            strategy = default if isinstance(default, list) else []
        on_demand, spot = split_tasks(desired, strategy if isinstance(strategy, list) else [])
        network = (props.get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or {}
        subnets = max(subnets, _count(network.get("Subnets")) or 0)
        groups.append(
            TaskGroup(
                service=label,
                vcpu=vcpu,
                memory_gb=memory,
                architecture="ARM64" if arch == "ARM64" else "X86_64",
                on_demand_tasks=on_demand,
                spot_tasks=spot,
            )
        )
    return groups, subnets, log_groups
