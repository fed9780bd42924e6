"""One task's containers, kept the way the ECS agent keeps them on a Fargate host.

The agent starts each container once its `dependsOn` conditions hold, runs the
containers' health checks at their interval (off the scheduler's lock, on a small shared
pool, because a probe may take up to its timeout), and reports exits, containers that
can never start and the task's health to the scheduler on every tick. How a container is
started, probed or stopped is the driver's business: podman (container_runtime.py) or a
local process (process_runtime.py), so both runtimes honour the same task definition.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from fargate_api.twin.ecs.container_dependencies import (
    PENDING,
    ContainerState,
    decide_starts,
    stop_order,
)
from fargate_api.twin.ecs.container_health import ContainerHealth, task_health
from fargate_api.twin.ecs.task_runtime import (
    ContainerExit,
    ContainerView,
    TaskLaunchError,
    TaskObservation,
)
from fargate_api.twin.plan.model import Container, ContainerHealthCheck, TaskDefinition

MEMORY_KILL_CODE = 137
OUT_OF_MEMORY = "OutOfMemoryError: Container killed due to memory usage"


@dataclass(frozen=True)
class DriverState:
    """A started container as its runtime sees it now."""

    running: bool
    exit_code: int | None  # once it exited


class ContainerDriver(Protocol):
    """How one runtime starts, watches, probes and stops a task's containers."""

    def start(self, container: Container, metadata_id: str) -> None:
        """Raises TaskLaunchError with ECS's reason when the container cannot start."""
        ...

    def state(self, container: Container) -> DriverState | None: ...

    def probe(self, container: Container, check: ContainerHealthCheck) -> bool:
        """Runs the health check command once (blocking, bounded by its timeout)."""
        ...

    def memory_killed(self, container: Container) -> bool: ...

    def stop(self, container: Container, timeout: float) -> int | None: ...

    def remove(self) -> None: ...

    def runtime_id(self, container: Container) -> str: ...


class HealthProbes:
    """A small pool shared by every task of a twin, so probes never block a tick."""

    def __init__(self, workers: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="health")

    def submit(self, probe: ProbeCall) -> Future[bool]:
        return self._pool.submit(probe.run)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class ProbeCall:
    driver: ContainerDriver
    container: Container
    check: ContainerHealthCheck

    def run(self) -> bool:
        try:
            return self.driver.probe(self.container, self.check)
        except Exception:  # a probe that cannot even run is a failed probe, as in ECS
            return False


class TaskAgent:
    """Implements RunningTask for any driver."""

    def __init__(
        self,
        definition: TaskDefinition,
        driver: ContainerDriver,
        probes: HealthProbes,
        *,
        started_at: float,
        time_scale: float = 1.0,
        credentials_id: str | None = None,
    ) -> None:
        self.definition = definition
        self.driver = driver
        self.probes = probes
        self.time_scale = time_scale
        self._credentials_id = credentials_id or uuid.uuid4().hex
        self.metadata_ids = {c.name: uuid.uuid4().hex for c in definition.containers}
        self._lock = threading.Lock()
        self._started: dict[str, float] = {}  # container -> when it was started
        self._exits: dict[str, ContainerExit] = {}
        self._cannot_start: dict[str, str] = {}
        self._health: dict[str, ContainerHealth] = {}
        self._probing: dict[str, Future[bool]] = {}
        self._stopping = False
        self._created_at = started_at

    @property
    def credentials_id(self) -> str:
        return self._credentials_id

    # ------------------------------------------------------------ start
    def start_ready(self, now: float, *, launching: bool = False) -> None:
        """Starts every container whose dependencies hold now, and marks those that can
        never start. At the task's launch (`launching`) a failed start raises
        TaskLaunchError, so the task fails to start as a whole; later, the container is
        recorded as one that cannot start and its dependents are blocked."""
        decision = decide_starts(self.definition.containers, self._states(), now)
        for blocked in decision.blocked:
            self._cannot_start.setdefault(blocked.container, blocked.reason)
        by_name = {c.name: c for c in self.definition.containers}
        for name in decision.ready:
            if name in self._cannot_start:
                continue
            container = by_name[name]
            try:
                self.driver.start(container, self.metadata_ids[name])
            except TaskLaunchError as exc:
                if launching:
                    raise
                self._cannot_start[name] = str(exc)
                continue
            self._started[name] = now
            if container.health_check is not None:
                self._health[name] = ContainerHealth(self._scaled(container.health_check), now)

    def _scaled(self, check: ContainerHealthCheck) -> ContainerHealthCheck:
        """--time-scale shortens the interval and the start period, as it does the load
        balancer's checks; retries are counts and stay, and the driver bounds the
        timeout itself (a probe needs a moment whatever the scale)."""
        scale = self.time_scale
        return dataclasses.replace(
            check,
            interval=max(1, round(check.interval * scale)) if scale != 1.0 else check.interval,
            start_period=round(check.start_period * scale),
        )

    def _states(self) -> dict[str, ContainerState]:
        states: dict[str, ContainerState] = {}
        for container in self.definition.containers:
            name = container.name
            if name not in self._started:
                failed = name in self._cannot_start
                states[name] = ContainerState(phase="failed") if failed else PENDING
                continue
            health = self._health.get(name)
            exit_ = self._exits.get(name)
            states[name] = ContainerState(
                phase="exited" if exit_ else "running",
                started_at=self._started[name],
                exit_code=exit_.code if exit_ else None,
                health=health.status if health else "UNKNOWN",
            )
        return states

    # ------------------------------------------------------------ observe
    def observe(self, now: float) -> TaskObservation:
        with self._lock:
            if self._stopping:
                return self._observation()
            for container in self.definition.containers:
                if container.name in self._started and container.name not in self._exits:
                    self._watch(container, now)
            self.start_ready(now)
            return self._observation()

    def _watch(self, container: Container, now: float) -> None:
        state = self.driver.state(container)
        if state is not None and not state.running and state.exit_code is not None:
            reason = ""
            if state.exit_code == MEMORY_KILL_CODE and self.driver.memory_killed(container):
                reason = OUT_OF_MEMORY
            self._exits[container.name] = ContainerExit(container.name, state.exit_code, reason)
            return
        health = self._health.get(container.name)
        if health is None:
            return
        future = self._probing.get(container.name)
        if future is not None:
            if not future.done():
                return
            del self._probing[container.name]
            health.record(now, future.result())
        if health.due(now):
            check = container.health_check
            assert check is not None
            self._probing[container.name] = self.probes.submit(
                ProbeCall(self.driver, container, check)
            )

    def _observation(self) -> TaskObservation:
        essential = {c.name for c in self.definition.containers if c.essential}
        statuses = {name: h.status for name, h in self._health.items()}
        return TaskObservation(
            exits=tuple(self._exits.values()),
            cannot_start=tuple(self._cannot_start.items()),
            health=task_health(statuses, essential),
            essentials_started=essential <= self._started.keys(),
        )

    # ------------------------------------------------------------ stop
    def stop(self, timeouts: Sequence[tuple[str, float]]) -> dict[str, int]:
        with self._lock:
            self._stopping = True
        codes: dict[str, int] = {}
        by_name = {c.name: c for c in self.definition.containers}
        timeout_of = dict(timeouts)
        for wave in stop_order(self.definition.containers):
            names = [n for n in wave if n in self._started and n in timeout_of]
            if not names:
                continue
            # One wave at once, as ECS signals a task's containers together: two that
            # ignore SIGTERM take the longer stopTimeout, not the sum of both.
            with ThreadPoolExecutor(max_workers=len(names)) as pool:
                stopping = {
                    n: pool.submit(self.driver.stop, by_name[n], timeout_of[n]) for n in names
                }
            for name, future in stopping.items():
                code = future.result()
                if code is not None:
                    codes[name] = code
        return codes

    def remove(self) -> None:
        self.driver.remove()

    def containers(self) -> list[ContainerView]:
        with self._lock:
            views = []
            for container in self.definition.containers:
                exit_ = self._exits.get(container.name)
                health = self._health.get(container.name)
                if exit_ is not None:
                    status = "STOPPED"
                elif container.name in self._started:
                    status = "RUNNING"
                else:
                    status = "PENDING"
                views.append(
                    ContainerView(
                        name=container.name,
                        runtime_id=self.driver.runtime_id(container),
                        image=container.image,
                        last_status=status,
                        # ECS says UNKNOWN until the first verdict; STARTING is Docker's.
                        health=_ecs_health(health),
                        exit_code=exit_.code if exit_ else None,
                        reason=(exit_.reason if exit_ else "")
                        or self._cannot_start.get(container.name, ""),
                        essential=container.essential,
                        metadata_id=self.metadata_ids[container.name],
                    )
                )
            return views


def _ecs_health(health: ContainerHealth | None) -> str:
    if health is None or health.status == "STARTING":
        return "UNKNOWN"
    return health.status
