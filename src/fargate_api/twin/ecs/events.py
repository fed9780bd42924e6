"""What the ECS scheduler is told: requests, and what the effects layer observed.

Each event names one fact; the effects layer (scheduler.py) turns a poll of a process
or of HAProxy's runtime API into these, so the decisions never touch the host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fargate_api.twin.ecs.service_state import AlarmState, ContainerHealthStatus, TargetHealth
from fargate_api.twin.plan.model import TaskDefinition


@dataclass(frozen=True)
class DeployRequested:
    """UpdateService with a new task definition (and perhaps a new desired count)."""

    service: str
    definition: TaskDefinition
    desired: int | None = None


@dataclass(frozen=True)
class ScaleRequested:
    service: str
    desired: int


@dataclass(frozen=True)
class EniAttached:
    """The task's ENI and security groups are in place; its containers are starting."""

    task_id: str


@dataclass(frozen=True)
class TaskStarted:
    """The task's ENI is attached and its containers run."""

    task_id: str


@dataclass(frozen=True)
class TargetsRegistered:
    task_id: str


@dataclass(frozen=True)
class LaunchFailed:
    """Provisioning or registering a task failed for a reason outside the twin's code."""

    task_id: str
    reason: str


@dataclass(frozen=True)
class ContainerExited:
    task_id: str
    container: str
    code: int
    reason: str = ""  # ECS's container reason, e.g. the OutOfMemoryError of a memory kill


@dataclass(frozen=True)
class ContainerCannotStart:
    """A container of a running task can never start: a dependency's condition failed,
    its start timed out, or the runtime refused it."""

    task_id: str
    container: str
    reason: str


@dataclass(frozen=True)
class ContainerHealthObserved:
    """The task's health from its containers' health checks, by ECS's rule."""

    task_id: str
    health: ContainerHealthStatus


@dataclass(frozen=True)
class ObservedTarget:
    health: TargetHealth
    reason: str = ""


@dataclass(frozen=True)
class TargetHealthObserved:
    """The task's targets as the load balancer sees them now, one per target group that
    knows it (none yet right after registration)."""

    task_id: str
    targets: tuple[ObservedTarget, ...]


@dataclass(frozen=True)
class DrainFinished:
    """The deregistration delay is over: the task may be stopped."""

    task_id: str


@dataclass(frozen=True)
class TaskStopped:
    """Every container of the task has exited; the codes of those that had not before."""

    task_id: str
    exit_codes: Mapping[str, int]


@dataclass(frozen=True)
class TaskDeprovisioned:
    """The task's ENI, security group rules and public address are gone."""

    task_id: str


@dataclass(frozen=True)
class ShutdownRequested:
    """`local down`: every task stops at once, without a drain."""

    reason: str


@dataclass(frozen=True)
class AlarmStateChanged:
    """A CloudWatch alarm the twin evaluates changed state (twin/cloudwatch)."""

    alarm: str  # the AlarmRule's key
    state: AlarmState
    reason: str = ""


@dataclass(frozen=True)
class RollbackRequested:
    """`local rollback`: ECS's StopServiceDeployment with stopType ROLLBACK."""

    service: str


@dataclass(frozen=True)
class AzImpaired:
    """An AZ lost power (`local fault az-outage`, like FIS's AZ Availability: Power
    Interruption): its tasks are gone at once, and nothing is placed there until it
    recovers. `reason` is what the stopped tasks show."""

    az: str
    reason: str


@dataclass(frozen=True)
class AzRecovered:
    az: str


@dataclass(frozen=True)
class StopTaskRequested:
    """ECS's StopTask on a service's task (`local fault task-kill`, FIS's
    aws:ecs:stop-task): the service replaces it, since it still wants its desired count."""

    task_id: str
    reason: str


Event = (
    DeployRequested
    | ScaleRequested
    | EniAttached
    | TaskStarted
    | TargetsRegistered
    | LaunchFailed
    | ContainerExited
    | ContainerCannotStart
    | ContainerHealthObserved
    | TargetHealthObserved
    | DrainFinished
    | TaskStopped
    | TaskDeprovisioned
    | ShutdownRequested
    | AlarmStateChanged
    | RollbackRequested
    | AzImpaired
    | AzRecovered
    | StopTaskRequested
)
