"""What the ECS scheduler needs from whatever runs a task's containers.

Two runtimes exist: containers from their images with podman (container_runtime.py,
what Fargate does) and local shell commands (process_runtime.py, for machines without
podman and for quick iteration). The scheduler's effects layer talks to both through
these types only, so the decisions, the network and the load balancer are the same
whichever runs the code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Protocol

from fargate_api.twin.ecs.service_state import ContainerHealthStatus
from fargate_api.twin.plan.model import Runtime, TaskDefinition

ENDPOINT_ADDRESS = IPv4Address("169.254.170.2")  # task metadata and credentials
TWIN_ACCOUNT = "123456789012"  # the twin has no AWS account; ARNs use this placeholder


class TaskLaunchError(Exception):
    """A task could not start for a reason ECS would report as its stoppedReason
    (ResourceInitializationError, CannotPullContainerError, CannotStartContainerError)."""


@dataclass(frozen=True)
class TaskContext:
    """What a runtime needs to start a task, besides its task definition."""

    task_id: str
    family: str
    revision: int
    cluster: str
    netns: str
    private_ip: IPv4Address
    subnet_cidr: IPv4Network
    az: str
    region: str
    dns_server: IPv4Address | None
    # Variables every container gets on top of its definition's (the twin's FA_* ones).
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def hostname(self) -> str:
        """The private DNS name Fargate gives an awsvpc task: ip-10-0-1-23.ec2.internal."""
        dashed = str(self.private_ip).replace(".", "-")
        if self.region == "us-east-1":
            return f"ip-{dashed}.ec2.internal"
        return f"ip-{dashed}.{self.region}.compute.internal"


@dataclass(frozen=True)
class ContainerExit:
    container: str
    code: int
    reason: str = ""


@dataclass(frozen=True)
class TaskObservation:
    """What changed in a task since it started, as of now; the scheduler ignores what it
    already knows (an exit is reported on every observation once it happened)."""

    exits: tuple[ContainerExit, ...] = ()
    cannot_start: tuple[tuple[str, str], ...] = ()  # (container, reason)
    health: ContainerHealthStatus = "UNKNOWN"
    # ECS moves a task to RUNNING (and registers its targets) only once every essential
    # container has started; one behind a `dependsOn` keeps the task PENDING.
    essentials_started: bool = True


@dataclass(frozen=True)
class ContainerView:
    """One container as `local status` shows it (ECS's DescribeTasks containers)."""

    name: str
    runtime_id: str  # the podman container name, or the process group id
    image: str
    last_status: str  # PENDING, RUNNING, STOPPED
    health: str  # HEALTHY, UNHEALTHY, UNKNOWN
    exit_code: int | None
    reason: str
    essential: bool
    metadata_id: str = ""  # the path of its task metadata endpoint URI (container mode)


class RunningTask(Protocol):
    """A started task's containers: observed on every tick, stopped once."""

    @property
    def credentials_id(self) -> str: ...

    def observe(self, now: float) -> TaskObservation: ...

    def stop(self, timeouts: Sequence[tuple[str, float]]) -> dict[str, int]:
        """SIGTERM each container in order, SIGKILL after its timeout; the exit codes."""
        ...

    def remove(self) -> None:
        """Whatever the containers left on the machine (containers, cgroups) is gone."""
        ...

    def containers(self) -> list[ContainerView]: ...


class TaskRuntime(Protocol):
    kind: Runtime

    def refresh(self) -> None:
        """Reads the state of every container once per tick, before the observations."""
        ...

    def start(self, context: TaskContext, definition: TaskDefinition) -> RunningTask:
        """Starts the containers that need nothing else first; raises TaskLaunchError."""
        ...

    def close(self) -> None:
        """Stops the runtime's helpers (health probes); the tasks are stopped already."""
        ...


def fargate_environment(
    context: TaskContext, metadata_id: str, credentials_id: str | None
) -> dict[str, str]:
    """What Fargate adds to every container's environment."""
    environment = {
        "ECS_CONTAINER_METADATA_URI_V4": f"http://{ENDPOINT_ADDRESS}/v4/{metadata_id}",
        "ECS_CONTAINER_METADATA_URI": f"http://{ENDPOINT_ADDRESS}/v3/{metadata_id}",
        "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE",
        "AWS_REGION": context.region,
        "AWS_DEFAULT_REGION": context.region,
    }
    if credentials_id is not None:
        environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = f"/v2/credentials/{credentials_id}"
    return environment
