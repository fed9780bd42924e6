"""What a `local fault` request means for the running twin, checked before anything is
touched: which AZ, which tasks, for how long, and which AWS FIS action it imitates.

Pure: the twin's plan and its running tasks go in, a FaultTarget or a UserError (exit 2,
with the values that would have been valid) comes out, so every refusal is a unit test
and a bad request can never leave a fault half-injected.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from fargate_api.errors import UserError
from fargate_api.twin.daemon.contracts import FaultAction, FaultRequest
from fargate_api.twin.plan.model import Service, TwinPlan

# AWS FIS caps an action's duration at 12 hours; one second is the shortest that means
# anything at the daemon's half-second tick.
MIN_DURATION = 1.0
MAX_DURATION = 43200.0
MAX_LATENCY_MS = 60000
RANGE_TEXT = f"{MIN_DURATION:g}-{MAX_DURATION:g} seconds (AWS FIS's longest action: 12 hours)"

FIS_ACTIONS: dict[FaultAction, str] = {
    # A scenario of FIS's scenario library, not a single action: it cuts the AZ's
    # subnets off (aws:network:disrupt-connectivity) and stops what runs there.
    "az-outage": "scenario AZ Availability: Power Interruption",
    "task-kill": "aws:ecs:stop-task",
    "network-latency": "aws:ecs:task-network-latency",
    "network-blackhole": "aws:ecs:task-network-blackhole-port",
    "cpu-stress": "aws:ecs:task-cpu-stress",
    # FIS has no NAT gateway action: an experiment takes a NAT gateway out with
    # aws:network:disrupt-connectivity on the NAT gateway's subnet. The twin narrows
    # that to the NAT gateway alone, so the load balancer node beside it keeps serving.
    "nat-gateway-loss": "aws:network:disrupt-connectivity (the NAT gateway's subnet)",
}

CPU_STRESS_NEEDS_CONTAINERS = (
    "cpu-stress needs the container runtime: tasks run from their images with podman "
    "(`local up --runtime container`)"
)

# The request fields each action reads; any other one set is a mistake worth saying.
_FIELDS: dict[FaultAction, frozenset[str]] = {
    "az-outage": frozenset({"duration", "az"}),
    "nat-gateway-loss": frozenset({"duration", "az"}),
    "task-kill": frozenset({"task", "service", "percent"}),
    "network-latency": frozenset({"duration", "task", "service", "ms", "jitter_ms"}),
    "network-blackhole": frozenset({"duration", "task", "service", "port", "protocol", "traffic"}),
    "cpu-stress": frozenset({"duration", "task", "percent"}),
}
_FIELD_ORDER = (
    "duration", "az", "task", "service", "percent", "ms", "jitter_ms", "port", "protocol",
    "traffic",
)  # fmt: skip
_OPTION_NAMES = {
    "duration": "--duration",
    "az": "AZ",
    "task": "TASK",
    "service": "--service",
    "percent": "--percent",
    "ms": "--ms",
    "jitter_ms": "--jitter",
    "port": "--port",
    "protocol": "--protocol",
    "traffic": "--traffic",
}


@dataclass(frozen=True)
class TaskTarget:
    """A running task a fault may hit."""

    id: str
    service: str  # the service's key
    az: str


@dataclass(frozen=True)
class FaultTarget:
    """A checked request: what to hit, for how long, and what FIS calls it."""

    action: FaultAction
    fis_action: str
    target: str  # for humans: "us-east-1a", "task 1a2b3c4d", "service api (2 tasks)"
    duration: float | None  # None: nothing to heal (task-kill)
    az: str | None = None
    tasks: tuple[str, ...] = ()
    percent: int | None = None
    ms: int | None = None
    jitter_ms: int = 0
    port: int | None = None
    protocol: Literal["tcp", "udp"] = "tcp"
    traffic: Literal["ingress", "egress", "both"] = "both"


def availability_zones(plan: TwinPlan) -> list[str]:
    return sorted({subnet.az for subnet in plan.subnets})


def nat_azs(plan: TwinPlan) -> list[str]:
    return sorted({plan.subnet(nat.subnet).az for nat in plan.nat_gateways})


def resolve(
    request: FaultRequest,
    plan: TwinPlan,
    running: Sequence[TaskTarget],
    *,
    runtime: Literal["container", "process"],
    rng: random.Random | None = None,
) -> FaultTarget:
    """The request checked against the twin; UserError naming the valid values."""
    action = request.action
    if action == "cpu-stress" and runtime != "container":
        raise UserError(
            CPU_STRESS_NEEDS_CONTAINERS,
            fix="`local down`, then `local up --runtime container` (podman must be installed)",
        )
    _check_fields(request)
    duration = _duration(request)
    fis = FIS_ACTIONS[action]
    if action in ("az-outage", "nat-gateway-loss"):
        az = _az(request, plan)
        return FaultTarget(action, fis, az, duration, az=az)
    if action == "task-kill":
        tasks, target = _tasks(request, plan, running, default_service=True)
        if request.task is not None and request.percent is not None:
            raise UserError(
                "--percent picks among a service's tasks, not with a TASK",
                fix="drop --percent, or use --service instead of TASK",
            )
        if request.task is None:
            count = _kill_count(request.percent, len(tasks))
            chosen = (rng or random.Random()).sample(sorted(tasks), count)
            target = f"{target}: {count} of {len(tasks)} tasks"
            tasks = tuple(sorted(chosen))
        return FaultTarget(action, fis, target, None, tasks=tasks, percent=request.percent)
    tasks, target = _tasks(request, plan, running, default_service=action != "cpu-stress")
    if action == "network-latency":
        ms = _latency(request)
        return FaultTarget(
            action, fis, target, duration, tasks=tasks, ms=ms, jitter_ms=request.jitter_ms
        )
    if action == "network-blackhole":
        if request.port is not None and not 1 <= request.port <= 65535:
            raise UserError(f"--port {request.port} is not a port", fix="use 1-65535")
        return FaultTarget(
            action,
            fis,
            target,
            duration,
            tasks=tasks,
            port=request.port,
            protocol=request.protocol,
            traffic=request.traffic,
        )
    percent = _percent(request.percent, "cpu-stress needs --percent: the CPU load to add")
    return FaultTarget(action, fis, target, duration, tasks=tasks, percent=percent)


def _check_fields(request: FaultRequest) -> None:
    allowed = _FIELDS[request.action]
    defaults = FaultRequest.model_fields
    stray = [
        name
        for name in _FIELD_ORDER
        if name not in allowed and getattr(request, name) != defaults[name].default
    ]
    if stray:
        raise UserError(
            f"{request.action} does not take {', '.join(_OPTION_NAMES[n] for n in stray)}",
            fix=f"{request.action} takes: "
            + ", ".join(_OPTION_NAMES[n] for n in _FIELD_ORDER if n in allowed),
        )


def _duration(request: FaultRequest) -> float | None:
    if request.action == "task-kill":
        return None  # checked by _check_fields: ECS replaces a stopped task, nothing heals
    duration = request.duration
    if duration is None:
        raise UserError(f"{request.action} needs --duration", fix=f"use {RANGE_TEXT}")
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise UserError(f"duration {duration:g} s is out of range", fix=f"use {RANGE_TEXT}")
    return duration


def _az(request: FaultRequest, plan: TwinPlan) -> str:
    zones = availability_zones(plan)
    if request.az is None:
        raise UserError(f"{request.action} needs an AZ", fix="use one of: " + ", ".join(zones))
    if request.az not in zones:
        raise UserError(
            f"the twin has no subnet in AZ {request.az!r}", fix="use one of: " + ", ".join(zones)
        )
    if request.action == "nat-gateway-loss":
        with_nat = nat_azs(plan)
        if not with_nat:
            raise UserError(
                "the twin has no NAT gateway",
                fix='nat-gateway-loss needs a config with `nat = "single"` or per-AZ NAT',
            )
        if request.az not in with_nat:
            raise UserError(
                f"there is no NAT gateway in {request.az}",
                fix="NAT gateways are in: " + ", ".join(with_nat),
            )
    return request.az


def _service(name: str, plan: TwinPlan) -> Service:
    for service in plan.services:
        if name in (service.name, service.key):
            return service
    raise UserError(
        f"no service named {name!r}",
        fix="use one of: " + (", ".join(s.name for s in plan.services) or "(no services)"),
    )


def _tasks(
    request: FaultRequest,
    plan: TwinPlan,
    running: Sequence[TaskTarget],
    *,
    default_service: bool,
) -> tuple[tuple[str, ...], str]:
    """The tasks a task action hits, and how to name them: TASK (an id or a unique prefix
    of one) or every running task of --service; the only service when neither is given
    and the action may take a whole service."""
    ids = ", ".join(t.id for t in running) or "(no task is running)"
    if request.task is not None and request.service is not None:
        raise UserError("name a TASK or --service, not both", fix=f"running tasks: {ids}")
    if request.task is not None:
        matches = [t for t in running if t.id.startswith(request.task)]
        if len(matches) != 1:
            how = "no running task matches" if not matches else "more than one task matches"
            raise UserError(f"{how} {request.task!r}", fix=f"use one of: {ids}")
        return (matches[0].id,), f"task {matches[0].id[:8]}"
    if request.service is None:
        if not default_service:
            raise UserError(f"{request.action} needs a TASK", fix=f"use one of: {ids}")
        if len(plan.services) != 1:
            raise UserError(
                "these templates have several services",
                fix="name a TASK or --service: " + ", ".join(s.name for s in plan.services),
            )
        service = plan.services[0]
    else:
        service = _service(request.service, plan)
    mine = tuple(t.id for t in running if t.service == service.key)
    if not mine:
        raise UserError(
            f"service {service.name} has no running task", fix="see `local status`; try again"
        )
    return mine, f"service {service.name}"


def _kill_count(percent: int | None, running: int) -> int:
    """FIS's selectionMode PERCENT(P): P percent of the targets, rounded up, at least one;
    without --percent, one task (COUNT(1))."""
    if percent is None:
        return 1
    _percent(percent, "")
    return min(max(math.ceil(running * percent / 100), 1), running)


def _percent(percent: int | None, missing: str) -> int:
    if percent is None:
        raise UserError(missing, fix="use --percent 1-100")
    if not 1 <= percent <= 100:
        raise UserError(f"--percent {percent} is out of range", fix="use 1-100")
    return percent


def _latency(request: FaultRequest) -> int:
    ms = request.ms
    if ms is None:
        raise UserError(
            "network-latency needs --ms: the delay to add", fix=f"use 1-{MAX_LATENCY_MS}"
        )
    if not 1 <= ms <= MAX_LATENCY_MS:
        raise UserError(f"--ms {ms} is out of range", fix=f"use 1-{MAX_LATENCY_MS}")
    if not 0 <= request.jitter_ms <= ms:
        raise UserError(
            f"--jitter {request.jitter_ms} is out of range", fix=f"use 0-{ms} (at most --ms)"
        )
    return ms
