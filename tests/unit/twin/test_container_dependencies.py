"""`dependsOn` as the ECS agent resolves it: who starts, who waits, who never can."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fargate_api.twin.ecs.container_dependencies import (
    PENDING,
    Blocked,
    ContainerState,
    StartDecision,
    decide_starts,
    start_order,
    stop_order,
)
from fargate_api.twin.ecs.container_health import HealthStatus
from fargate_api.twin.plan.model import (
    Container,
    ContainerDependency,
    ContainerHealthCheck,
    DependencyCondition,
)


def _container(
    name: str, *deps: tuple[str, DependencyCondition], timeout: int | None = None
) -> Container:
    return Container(
        name=name,
        image=f"example/{name}:1",
        command=None,
        environment={},
        port=None,
        essential=True,
        stop_timeout=30,
        log=None,
        health_check=ContainerHealthCheck(("CMD", "true")),
        depends_on=tuple(ContainerDependency(n, c) for n, c in deps),
        start_timeout=timeout,
    )


def running(at: float = 0.0, health: HealthStatus = "UNKNOWN") -> ContainerState:
    return ContainerState("running", started_at=at, health=health)


def exited(code: int, at: float = 0.0) -> ContainerState:
    return ContainerState("exited", started_at=at, exit_code=code)


def _decide(condition: DependencyCondition, db: ContainerState, now: float = 1.0) -> StartDecision:
    containers = [_container("db", timeout=60), _container("app", ("db", condition))]
    return decide_starts(containers, {"db": db}, now)


def test_containers_without_dependencies_start_together_first() -> None:
    containers = [_container("db"), _container("cache"), _container("app", ("db", "START"))]
    assert decide_starts(containers, {}, 0.0) == StartDecision(
        ready=("db", "cache"), waiting=("app",), blocked=()
    )


def test_started_containers_are_not_decided_again() -> None:
    containers = [_container("db"), _container("app", ("db", "START"))]
    decision = decide_starts(containers, {"db": running(), "app": running()}, 0.0)
    assert decision == StartDecision(ready=(), waiting=(), blocked=())


@pytest.mark.parametrize(
    ("condition", "db", "outcome"),
    [
        ("START", PENDING, "waiting"),
        ("START", running(), "ready"),
        ("START", exited(1), "ready"),  # it did start
        ("COMPLETE", running(), "waiting"),
        ("COMPLETE", exited(0), "ready"),
        ("COMPLETE", exited(3), "ready"),
        ("SUCCESS", running(), "waiting"),
        ("SUCCESS", exited(0), "ready"),
        ("SUCCESS", exited(1), "blocked"),
        ("HEALTHY", running(health="STARTING"), "waiting"),
        ("HEALTHY", running(health="HEALTHY"), "ready"),
        ("HEALTHY", running(health="UNHEALTHY"), "blocked"),
        ("HEALTHY", exited(0), "blocked"),
        ("HEALTHY", PENDING, "waiting"),
    ],
)
def test_each_condition(condition: DependencyCondition, db: ContainerState, outcome: str) -> None:
    decision = _decide(condition, db)
    assert ("app" in decision.ready, "app" in decision.waiting, bool(decision.blocked)) == (
        outcome == "ready",
        outcome == "waiting",
        outcome == "blocked",
    )


def test_reasons_say_which_dependency_and_why() -> None:
    (blocked,) = _decide("SUCCESS", exited(1)).blocked
    assert blocked == Blocked(
        "app",
        "CannotStartContainerError: dependency 'db' of container 'app' exited with code 1 "
        "(condition SUCCESS)",
    )
    (blocked,) = _decide("HEALTHY", exited(0)).blocked
    assert blocked.reason == (
        "CannotStartContainerError: dependency 'db' of container 'app' exited with code 0 "
        "before it was healthy (condition HEALTHY)"
    )
    (blocked,) = _decide("HEALTHY", running(health="UNHEALTHY")).blocked
    assert blocked.reason == (
        "CannotStartContainerError: dependency 'db' of container 'app' is unhealthy "
        "(condition HEALTHY)"
    )


def test_a_dependency_that_could_not_start_blocks_its_dependents() -> None:
    (blocked,) = _decide("START", ContainerState("failed")).blocked
    assert blocked.reason == (
        "CannotStartContainerError: dependency 'db' of container 'app' could not be started "
        "(condition START)"
    )


def test_the_dependencys_start_timeout_gives_up_its_dependents() -> None:
    # db has StartTimeout 60 and started at 10: its dependents wait until 70.
    assert _decide("HEALTHY", running(10.0, "STARTING"), now=69.9).waiting == ("app",)
    (blocked,) = _decide("HEALTHY", running(10.0, "STARTING"), now=70.0).blocked
    assert blocked.reason == (
        "CannotStartContainerError: dependency 'db' of container 'app' did not reach HEALTHY "
        "within its start timeout of 60 s (condition HEALTHY)"
    )
    # A condition already met does not time out, and START never does.
    assert _decide("HEALTHY", running(10.0, "HEALTHY"), now=500.0).ready == ("app",)
    assert _decide("START", running(10.0), now=500.0).ready == ("app",)


def test_without_a_start_timeout_dependents_wait_forever() -> None:
    containers = [_container("db"), _container("app", ("db", "SUCCESS"))]
    decision = decide_starts(containers, {"db": running(0.0)}, 1e9)
    assert decision.waiting == ("app",) and not decision.blocked


def test_blocking_carries_down_the_chain() -> None:
    containers = [
        _container("migrate"),
        _container("app", ("migrate", "SUCCESS")),
        _container("proxy", ("app", "START")),
    ]
    decision = decide_starts(containers, {"migrate": exited(2)}, 0.0)
    assert [b.container for b in decision.blocked] == ["app", "proxy"]
    assert decision.blocked[1].reason == (
        "CannotStartContainerError: dependency 'app' of container 'proxy' can never start "
        "(condition START)"
    )


def test_every_dependency_must_hold() -> None:
    containers = [
        _container("db"),
        _container("cache"),
        _container("app", ("db", "HEALTHY"), ("cache", "START")),
    ]
    states = {"db": running(health="HEALTHY"), "cache": PENDING}
    assert decide_starts(containers, states, 0.0).waiting == ("app",)
    states["cache"] = running()
    assert decide_starts(containers, states, 0.0).ready == ("app",)


def test_start_and_stop_order() -> None:
    containers = [
        _container("proxy", ("app", "HEALTHY")),
        _container("app", ("db", "HEALTHY"), ("migrate", "SUCCESS")),
        _container("db"),
        _container("migrate", ("db", "HEALTHY")),
        _container("log"),
    ]
    assert start_order(containers) == [["db", "log"], ["migrate"], ["app"], ["proxy"]]
    assert stop_order(containers) == [["proxy"], ["app"], ["migrate"], ["db", "log"]]


def test_orders_refuse_what_the_plan_refuses() -> None:
    with pytest.raises(ValueError, match="cycle"):
        start_order([_container("a", ("b", "START")), _container("b", ("a", "START"))])
    with pytest.raises(ValueError, match="unknown"):
        stop_order([_container("a", ("ghost", "START"))])
    with pytest.raises(ValueError, match="unknown"):
        decide_starts([_container("a", ("ghost", "START"))], {}, 0.0)


def test_a_container_missing_from_the_states_is_pending() -> None:
    containers = [_container("db"), _container("app", ("db", "START"))]
    assert decide_starts(containers, {}, 0.0) == decide_starts(
        containers, {"db": PENDING, "app": replace(PENDING)}, 0.0
    )
