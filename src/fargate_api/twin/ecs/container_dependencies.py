"""`dependsOn` between the containers of one task, decided as the ECS agent decides it.

The runtime observes its containers (not started, running, exited, health) and asks
which may start now and which never can; the rules live here, pure, so that a sidecar
waiting for a database to be HEALTHY or a migration to exit 0 behaves as on Fargate
and every refusal carries the reason ECS would give. The plan has already refused
unknown names, unknown conditions and cycles; here they are programming errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from fargate_api.twin.ecs.container_health import HealthStatus
from fargate_api.twin.plan.model import Container, ContainerDependency

# pending: not started yet; failed: the runtime could not start it (it never will).
Phase = Literal["pending", "running", "exited", "failed"]


@dataclass(frozen=True)
class ContainerState:
    """What the runtime has seen of one container so far."""

    phase: Phase = "pending"
    started_at: float | None = None  # running or exited: when it started
    exit_code: int | None = None  # exited: its code
    health: HealthStatus = "UNKNOWN"


PENDING = ContainerState()


@dataclass(frozen=True)
class Blocked:
    container: str
    reason: str  # ECS-like, e.g. "CannotStartContainerError: dependency 'db' of ..."


@dataclass(frozen=True)
class StartDecision:
    ready: tuple[str, ...]  # not started, every dependency met: start these now
    waiting: tuple[str, ...]  # not started, a dependency may still be met later
    blocked: tuple[Blocked, ...]  # not started, and never will be: the task must stop


def decide_starts(
    containers: Sequence[Container], states: Mapping[str, ContainerState], now: float
) -> StartDecision:
    """Which pending containers start, wait or give up, in start order; a container
    missing from `states` is pending.

    A container behind a blocked dependency is blocked too (it would wait forever). A
    dependency with a StartTimeout that has not reached its condition that long after it
    started gives up its dependents, as the agent does; without one, they wait.
    """
    by_name = {c.name: c for c in containers}
    ready: list[str] = []
    waiting: list[str] = []
    blocked: dict[str, str] = {}
    for wave in start_order(containers):
        for name in wave:
            if states.get(name, PENDING).phase != "pending":
                continue
            verdicts = [
                _verdict(_Edge(name, d), by_name, states, blocked, now)
                for d in by_name[name].depends_on
            ]
            reason = next((v for v in verdicts if v not in {"met", "wait"}), None)
            if reason is not None:
                blocked[name] = reason
            elif all(v == "met" for v in verdicts):
                ready.append(name)
            else:
                waiting.append(name)
    return StartDecision(
        ready=tuple(ready),
        waiting=tuple(waiting),
        blocked=tuple(Blocked(n, r) for n, r in blocked.items()),
    )


@dataclass(frozen=True)
class _Edge:
    dependent: str
    dependency: ContainerDependency


def _verdict(
    edge: _Edge,
    by_name: Mapping[str, Container],
    states: Mapping[str, ContainerState],
    blocked: Mapping[str, str],
    now: float,
) -> str:
    """Returns "met", "wait", or the reason the dependency can never be met."""
    target = edge.dependency.container
    condition = edge.dependency.condition
    prefix = f"CannotStartContainerError: dependency {target!r} of container {edge.dependent!r}"
    if target in blocked:
        return f"{prefix} can never start (condition {condition})"
    state = states.get(target, PENDING)
    if state.phase == "failed":
        return f"{prefix} could not be started (condition {condition})"
    if condition == "START":
        return "wait" if state.phase == "pending" else "met"
    if condition == "COMPLETE":
        if state.phase == "exited":
            return "met"
    elif condition == "SUCCESS":
        if state.phase == "exited":
            if state.exit_code == 0:
                return "met"
            return f"{prefix} exited with code {state.exit_code} (condition SUCCESS)"
    else:  # HEALTHY
        if state.phase == "exited":
            return (
                f"{prefix} exited with code {state.exit_code} before it was healthy "
                "(condition HEALTHY)"
            )
        if state.health == "UNHEALTHY":
            return f"{prefix} is unhealthy (condition HEALTHY)"
        if state.health == "HEALTHY":
            return "met"
    timeout = by_name[target].start_timeout
    if timeout and state.started_at is not None and now >= state.started_at + timeout:
        return (
            f"{prefix} did not reach {condition} within its start timeout of {timeout} s "
            f"(condition {condition})"
        )
    return "wait"


def start_order(containers: Sequence[Container]) -> list[list[str]]:
    """Waves of container names: each wave depends only on earlier ones; in a wave, the
    definition's order. For display, and for deciding in dependency order."""
    remaining = {c.name: {d.container for d in c.depends_on} for c in containers}
    unknown = {t for targets in remaining.values() for t in targets} - remaining.keys()
    if unknown:
        raise ValueError(f"dependencies on unknown containers: {sorted(unknown)}")
    placed: set[str] = set()
    waves: list[list[str]] = []
    while remaining:
        wave = [name for name, targets in remaining.items() if targets <= placed]
        if not wave:
            raise ValueError(f"containers depend on each other in a cycle: {sorted(remaining)}")
        waves.append(wave)
        placed.update(wave)
        for name in wave:
            del remaining[name]
    return waves


def stop_order(containers: Sequence[Container]) -> list[list[str]]:
    """Waves to stop in: dependents before their dependencies, as ECS stops a task, so a
    proxy never loses its app while it still takes requests."""
    return [list(wave) for wave in reversed(start_order(containers))]
