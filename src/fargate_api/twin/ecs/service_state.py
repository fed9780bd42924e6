"""What the ECS scheduler knows about a service, its deployments and its tasks.

Plain records with typed states, so that the decisions (service_scheduler.py) can be
tested without a network, and the twin's status reads the same fields ECS's
DescribeServices and DescribeTasks would show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Literal

from fargate_api.twin.ecs.traffic_shift import LifecycleStage
from fargate_api.twin.plan.model import Service, Strategy, TaskDefinition

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

# ECS's status of a service deployment (DescribeServiceDeployments), beside rolloutState.
DeploymentOutcome = Literal[
    "IN_PROGRESS", "SUCCESSFUL", "STOPPED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"
]
AlarmState = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]

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
    # The target groups it was registered in: with blue/green, canary and linear the two
    # revisions of a service sit in different target groups.
    target_groups: tuple[str, ...] = ()

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
    started_at: float = 0.0
    # Traffic-shifting deployments (strategy other than ROLLING) only:
    strategy: Strategy = "ROLLING"
    outcome: DeploymentOutcome = "IN_PROGRESS"
    stage: LifecycleStage | None = None
    stage_since: float = 0.0
    step: int = -1  # index of the production step reached (traffic_shift.production_steps)
    production_percent: float = 0.0  # the revision's share of production traffic
    test_percent: float = 0.0
    target_groups: tuple[str, ...] = ()  # where its tasks register, one per LoadBalancers entry
    triggered_alarms: tuple[str, ...] = ()
    watch_alarms: bool = False  # the service names deployment alarms (Alarms.Enable)


@dataclass
class ServiceState:
    service: Service
    desired: int
    definitions: dict[int, TaskDefinition]  # revision -> task definition
    deployments: list[Deployment]  # the PRIMARY one first
    # The target group of each LoadBalancers entry that production traffic reaches now;
    # a traffic-shifting deployment swaps them when it completes.
    live_groups: tuple[str, ...] = ()

    @property
    def primary(self) -> Deployment:
        return self.deployments[0]

    @property
    def revision(self) -> int:
        return self.primary.revision
