"""What the ECS scheduler knows about a service, its deployments and its tasks.

Plain records with typed states, so that the decisions (service_scheduler.py) can be
tested without a network, and the twin's status reads the same fields ECS's
DescribeServices and DescribeTasks would show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Literal

from fargate_api.twin.plan.model import Service, TaskDefinition

# A task's lastStatus, as ECS names it. PROVISIONING: its ENI is being attached and its
# containers started; DEACTIVATING: its targets drain; STOPPING: SIGTERM was sent.
TaskStatus = Literal["PROVISIONING", "RUNNING", "DEACTIVATING", "STOPPING", "STOPPED"]
# A target's health as the load balancer reports it ("initial" until the first checks).
TargetHealth = Literal["initial", "healthy", "unhealthy", "draining"]
# PRIMARY: the deployment ECS is rolling out; ACTIVE: an older one whose tasks still run;
# INACTIVE: done with, kept only to show what happened.
DeploymentStatus = Literal["PRIMARY", "ACTIVE", "INACTIVE"]
RolloutState = Literal["IN_PROGRESS", "COMPLETED", "FAILED"]
# The task's healthStatus from its containers' health checks (UNKNOWN: none defined).
ContainerHealthStatus = Literal["HEALTHY", "UNHEALTHY", "UNKNOWN"]

ACTIVE_STATUSES: tuple[TaskStatus, ...] = ("PROVISIONING", "RUNNING")
STOPPING_STATUSES: tuple[TaskStatus, ...] = ("DEACTIVATING", "STOPPING")


@dataclass
class TaskRecord:
    id: str
    service: str
    revision: int
    subnet: str
    az: str
    ip: IPv4Address
    public_ip: IPv4Address | None
    started_at: float  # the scheduler's clock, not wall time
    last_status: TaskStatus = "PROVISIONING"
    health: TargetHealth = "initial"
    health_reason: str = ""
    stopped_reason: str = ""
    exit_codes: dict[str, int] = field(default_factory=dict)
    container_reasons: dict[str, str] = field(default_factory=dict)
    container_health: ContainerHealthStatus = "UNKNOWN"
    # Its ENI exists (its containers may still be starting): a failed launch elsewhere
    # must not drop it as never tried.
    eni_attached: bool = False
    # Once healthy, a task that fails later no longer counts against its deployment's
    # circuit breaker (ECS counts tasks that never reached a steady state).
    was_healthy: bool = False

    @property
    def active(self) -> bool:
        return self.last_status in ACTIVE_STATUSES


@dataclass
class Deployment:
    id: str
    revision: int
    status: DeploymentStatus
    rollout_state: RolloutState
    reason: str = ""
    failed_tasks: int = 0


@dataclass
class ServiceState:
    service: Service
    desired: int
    definitions: dict[int, TaskDefinition]  # revision -> task definition
    deployments: list[Deployment]  # the PRIMARY one first

    @property
    def primary(self) -> Deployment:
        return self.deployments[0]

    @property
    def revision(self) -> int:
        return self.primary.revision
