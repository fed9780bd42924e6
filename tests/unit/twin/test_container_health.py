"""Container health with Docker's timing, and the task's health by ECS's rule."""

from __future__ import annotations

import pytest

from fargate_api.twin.ecs.container_health import (
    MAX_OUTPUT,
    ContainerHealth,
    HealthStatus,
    task_health,
)
from fargate_api.twin.plan.model import ContainerHealthCheck

CHECK = ContainerHealthCheck(("CMD", "true"), interval=10, timeout=5, retries=3, start_period=0)


def test_no_check_is_unknown_and_never_probed() -> None:
    health = ContainerHealth(None, started_at=100.0)
    assert health.status == "UNKNOWN"
    assert not health.due(10_000.0) and health.next_probe_at is None
    health.record(200.0, ok=False)
    assert health.status == "UNKNOWN"


def test_first_probe_comes_one_interval_after_start() -> None:
    health = ContainerHealth(CHECK, started_at=100.0)
    assert health.status == "STARTING"
    assert not health.due(109.9)
    assert health.due(110.0)


def test_next_probe_is_one_interval_after_the_last_finished() -> None:
    health = ContainerHealth(CHECK, started_at=100.0)
    health.record(112.0, ok=True, duration=2.0)
    assert health.next_probe_at == 122.0
    assert not health.due(121.0) and health.due(122.0)


def test_retries_consecutive_failures_turn_unhealthy() -> None:
    health = ContainerHealth(CHECK, started_at=0.0)
    health.record(10.0, ok=False)
    health.record(20.0, ok=False)
    assert (health.status, health.failing_streak) == ("STARTING", 2)
    health.record(30.0, ok=False, output="connection refused")
    assert (health.status, health.failing_streak) == ("UNHEALTHY", 3)
    assert health.last_output == "connection refused"


def test_a_success_turns_healthy_and_resets_the_streak() -> None:
    health = ContainerHealth(CHECK, started_at=0.0)
    health.record(10.0, ok=False)
    health.record(20.0, ok=False)
    health.record(30.0, ok=True, output="ok")
    assert (health.status, health.failing_streak, health.last_output) == ("HEALTHY", 0, "ok")
    health.record(40.0, ok=False)
    health.record(50.0, ok=False)
    assert (health.status, health.failing_streak) == ("HEALTHY", 2)  # 2 of 3: still healthy
    health.record(60.0, ok=False)
    assert (health.status, health.failing_streak) == ("UNHEALTHY", 3)
    health.record(70.0, ok=True)
    assert (health.status, health.failing_streak) == ("HEALTHY", 0)


def test_failures_in_the_start_period_do_not_count() -> None:
    check = ContainerHealthCheck(("CMD", "true"), interval=10, retries=1, start_period=30)
    health = ContainerHealth(check, started_at=0.0)
    health.record(10.0, ok=False)
    health.record(20.0, ok=False)
    assert (health.status, health.failing_streak) == ("STARTING", 0)
    # Judged on when the probe began: started at 29 s, inside the period.
    health.record(31.0, ok=False, duration=2.0)
    assert (health.status, health.failing_streak) == ("STARTING", 0)
    health.record(41.0, ok=False)
    assert (health.status, health.failing_streak) == ("UNHEALTHY", 1)


def test_a_success_ends_the_start_period() -> None:
    check = ContainerHealthCheck(("CMD", "true"), interval=10, retries=1, start_period=300)
    health = ContainerHealth(check, started_at=0.0)
    health.record(10.0, ok=True)
    health.record(20.0, ok=False)
    assert health.status == "UNHEALTHY"


def test_a_probe_slower_than_the_timeout_fails_whatever_it_returned() -> None:
    health = ContainerHealth(_check(retries=1), started_at=0.0)
    health.record(16.0, ok=True, duration=6.0, output="fine")
    assert (health.status, health.last_output) == (
        "UNHEALTHY",
        "Health check exceeded timeout (5s)",
    )
    health.record(31.0, ok=True, duration=5.0)  # exactly the timeout still passes
    assert (health.status, health.failing_streak) == ("HEALTHY", 0)


def _check(retries: int) -> ContainerHealthCheck:
    return ContainerHealthCheck(("CMD", "true"), interval=10, timeout=5, retries=retries)


def test_output_is_kept_short() -> None:
    health = ContainerHealth(CHECK, started_at=0.0)
    health.record(10.0, ok=True, output="x" * (MAX_OUTPUT + 10))
    assert len(health.last_output) == MAX_OUTPUT


@pytest.mark.parametrize(
    ("statuses", "essential", "expected"),
    [
        ({}, set(), "UNKNOWN"),
        ({"app": "UNKNOWN"}, {"app"}, "UNKNOWN"),  # no checks at all
        ({"app": "HEALTHY"}, {"app"}, "HEALTHY"),
        ({"app": "HEALTHY", "log": "UNKNOWN"}, {"app", "log"}, "HEALTHY"),  # unchecked: ignored
        ({"app": "HEALTHY", "db": "STARTING"}, {"app", "db"}, "UNKNOWN"),
        ({"app": "HEALTHY", "db": "UNHEALTHY"}, {"app", "db"}, "UNHEALTHY"),
        ({"app": "STARTING", "db": "UNHEALTHY"}, {"app", "db"}, "UNHEALTHY"),
        ({"app": "HEALTHY", "side": "UNHEALTHY"}, {"app"}, "HEALTHY"),  # not essential
        ({"side": "HEALTHY"}, set(), "UNKNOWN"),  # only non-essential containers checked
    ],
)
def test_task_health_follows_ecs(
    statuses: dict[str, HealthStatus], essential: set[str], expected: str
) -> None:
    assert task_health(statuses, essential) == expected
