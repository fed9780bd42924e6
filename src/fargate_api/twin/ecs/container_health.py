"""A container's health as ECS reports it, decided from probe results the twin collects.

ECS takes container health from Docker's health checks; podman's equivalent needs systemd
timers, so the twin runs the probes itself (`podman exec`) and this state machine turns
their results into Docker's statuses with Docker's timing: the first probe one interval
after start, the next one interval after the previous finished, failures inside the
start period not counted until a probe has passed, `retries` consecutive failures to
turn UNHEALTHY, and any pass turning HEALTHY again. Pure, so every edge is unit-tested.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Literal

from fargate_api.twin.plan.model import ContainerHealthCheck

HealthStatus = Literal["UNKNOWN", "STARTING", "HEALTHY", "UNHEALTHY"]
TaskHealth = Literal["HEALTHY", "UNHEALTHY", "UNKNOWN"]
MAX_OUTPUT = 4096  # characters of probe output kept, as Docker keeps 4 KiB


class ContainerHealth:
    """One container's health; UNKNOWN for good when its definition has no HealthCheck."""

    def __init__(self, check: ContainerHealthCheck | None, started_at: float) -> None:
        self.check = check
        self.started_at = started_at
        self._status: HealthStatus = "UNKNOWN" if check is None else "STARTING"
        self.failing_streak = 0
        self.last_output = ""
        self.next_probe_at: float | None = None if check is None else started_at + check.interval

    @property
    def status(self) -> HealthStatus:
        return self._status

    def due(self, now: float) -> bool:
        return self.next_probe_at is not None and now >= self.next_probe_at

    def record(self, now: float, ok: bool, *, duration: float = 0.0, output: str = "") -> None:
        """One finished probe: `now` is when it finished, `duration` how long it ran.

        A probe slower than the check's timeout fails whatever it returned, as Docker
        kills it and counts a failure; the start period is judged on when the probe
        began, so a slow probe that started inside it is still forgiven.
        """
        check = self.check
        if check is None:
            return
        if ok and duration > check.timeout:
            ok = False
            output = f"Health check exceeded timeout ({check.timeout}s)"
        self.last_output = output[:MAX_OUTPUT]
        self.next_probe_at = now + check.interval
        if ok:
            self.failing_streak = 0
            self._status = "HEALTHY"
            return
        began = now - duration
        if self._status == "STARTING" and began - self.started_at < check.start_period:
            return  # still starting up: the failure is not held against the container
        self.failing_streak += 1
        if self.failing_streak >= check.retries:
            self._status = "UNHEALTHY"


def task_health(statuses: Mapping[str, HealthStatus], essential: Set[str]) -> TaskHealth:
    """The task's health from its containers', by ECS's rule: only essential containers
    with a health check count; one UNHEALTHY makes the task UNHEALTHY, all HEALTHY make it
    HEALTHY, and anything else (still starting, or no checks at all) is UNKNOWN."""
    checked = [s for name, s in statuses.items() if name in essential and s != "UNKNOWN"]
    if "UNHEALTHY" in checked:
        return "UNHEALTHY"
    if checked and all(s == "HEALTHY" for s in checked):
        return "HEALTHY"
    return "UNKNOWN"
