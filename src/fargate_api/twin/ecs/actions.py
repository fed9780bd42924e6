"""What the ECS scheduler asks the effects layer to do, in order.

Each action carries what the effects layer needs beyond the task's own record (kept by
the scheduler), so a test can read a decision in full from the action alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address


@dataclass(frozen=True)
class LaunchTask:
    """Attach an ENI in `subnet` with `ip`, apply the service's security groups, map
    the public address if any, and start the containers of `revision`."""

    task_id: str
    service: str
    revision: int
    subnet: str
    ip: IPv4Address
    public_ip: IPv4Address | None


@dataclass(frozen=True)
class Target:
    target_group: str
    ip: IPv4Address
    port: int


@dataclass(frozen=True)
class RegisterTargets:
    task_id: str
    targets: tuple[Target, ...]


@dataclass(frozen=True)
class StartDrain:
    """Set the task's targets draining and report DrainFinished after the target groups'
    deregistration delay; this takes that long, so it must not block the scheduler."""

    task_id: str
    target_groups: tuple[str, ...]


@dataclass(frozen=True)
class StopTask:
    """Deregister the targets, then SIGTERM each container and SIGKILL it after its
    timeout (seconds, already scaled); report TaskStopped with the exit codes."""

    task_id: str
    deregister: tuple[str, ...]  # target groups
    timeouts: tuple[tuple[str, float], ...]  # (container, stop timeout) in stop order


@dataclass(frozen=True)
class Deprovision:
    """Remove the task's security group rules, public address and ENI, whatever of them
    exists; report TaskDeprovisioned even when that fails."""

    task_id: str


@dataclass(frozen=True)
class ShiftTraffic:
    """ModifyRule on a listener rule (or the listener's default action): the forward
    weights of its target groups, as ECS sets them during a traffic-shifting deployment."""

    rule: str  # a ListenerRule's plan key, or a Listener's for its default action
    weights: tuple[tuple[str, int], ...]  # (target group key, ELB weight 0..999)


@dataclass(frozen=True)
class Record:
    """A line for the service's event log."""

    text: str


@dataclass(frozen=True)
class PublishState:
    """Something a waiting client polls for changed: write the state file now."""


Action = (
    LaunchTask
    | RegisterTargets
    | StartDrain
    | StopTask
    | Deprovision
    | ShiftTraffic
    | Record
    | PublishState
)
