"""ECS's rolling-update arithmetic, as a pure function: which tasks to start and stop now.

ECS keeps, during a deployment, at least minimumHealthyPercent of the desired count
healthy and at most maximumPercent running, starting tasks of the new (PRIMARY)
revision and stopping old (ACTIVE) ones only as new ones become healthy. The same rule
also covers steady state (replace what is missing) and scaling (stop the surplus).
Keeping it pure lets the unit tests walk through deployments step by step.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskView:
    id: str
    revision: int
    healthy: bool  # healthy target in every target group (RUNNING, for no load balancer)
    unhealthy: bool  # reported unhealthy by a load balancer
    started: float
    az: str = ""


@dataclass(frozen=True)
class Step:
    launch: int
    stop: tuple[str, ...]


def bounds(desired: int, minimum_percent: int, maximum_percent: int) -> tuple[int, int]:
    """(minimum healthy, maximum running), rounded the way ECS documents it."""
    low = math.ceil(desired * minimum_percent / 100)
    high = math.floor(desired * maximum_percent / 100)
    return low, max(high, 1 if desired else 0)


def plan_step(
    *,
    desired: int,
    primary_revision: int,
    tasks: Sequence[TaskView],
    draining: int,
    minimum_percent: int,
    maximum_percent: int,
    may_launch: bool,
) -> Step:
    """One scheduling decision; `draining` tasks still count towards the maximum."""
    low, high = bounds(desired, minimum_percent, maximum_percent)
    new = [t for t in tasks if t.revision == primary_revision]
    old = [t for t in tasks if t.revision != primary_revision]
    healthy = sum(t.healthy for t in tasks)
    stop: list[str] = []
    surplus = _surplus(new, max(len(new) - desired, 0))
    for task in surplus:
        if not task.healthy or healthy - 1 >= min(low, desired):
            stop.append(task.id)
            healthy -= task.healthy
    # Old tasks go as soon as that keeps enough healthy tasks: unhealthy ones first.
    for task in sorted(old, key=lambda t: (t.healthy, t.started)):
        if not task.healthy:
            stop.append(task.id)
        elif healthy - 1 >= low:
            stop.append(task.id)
            healthy -= 1
    running = len(tasks) + draining  # a task being stopped still runs while it drains
    wanted_new = max(desired - (len(new) - len(surplus)), 0)
    launch = min(wanted_new, max(high - running, 0)) if may_launch else 0
    return Step(launch=launch, stop=tuple(stop))


def _surplus(tasks: Sequence[TaskView], count: int) -> list[TaskView]:
    """Scale-in as ECS does it: keep the AZs balanced (take from the AZ with the most
    tasks), and within an AZ stop unhealthy, then newest tasks first."""
    remaining = list(tasks)
    chosen: list[TaskView] = []
    for _ in range(count):
        per_az = Counter(t.az for t in remaining)
        busiest = max(per_az.values())
        candidates = [t for t in remaining if per_az[t.az] == busiest]
        pick = min(candidates, key=lambda t: (t.healthy, -t.started))
        chosen.append(pick)
        remaining.remove(pick)
    return chosen


def failure_threshold(desired: int) -> int:
    """The deployment circuit breaker's threshold: half the desired count, 3 to 200."""
    return min(max(math.ceil(desired * 0.5), 3), 200)
