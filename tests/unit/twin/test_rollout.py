"""ECS's rolling-update arithmetic, step by step, without a twin."""

from __future__ import annotations

import pytest

from fargate_api.twin.ecs.rollout import Step, TaskView, bounds, failure_threshold, plan_step


def _tasks(*specs: tuple[str, int, bool, str]) -> list[TaskView]:
    return [
        TaskView(id=i, revision=r, healthy=h, unhealthy=False, started=n, az=az)
        for n, (i, r, h, az) in enumerate(specs)
    ]


def _step(
    tasks: list[TaskView],
    *,
    desired: int,
    revision: int,
    minimum: int = 100,
    maximum: int = 200,
    may_launch: bool = True,
) -> Step:
    return plan_step(
        desired=desired,
        primary_revision=revision,
        tasks=tasks,
        draining=0,
        minimum_percent=minimum,
        maximum_percent=maximum,
        may_launch=may_launch,
    )


def test_bounds_round_like_ecs() -> None:
    assert bounds(2, 100, 200) == (2, 4)
    assert bounds(2, 75, 200) == (2, 4)  # ceil(1.5)
    assert bounds(3, 50, 150) == (2, 4)  # ceil(1.5), floor(4.5)
    assert bounds(0, 100, 200) == (0, 0)


def test_default_deploy_starts_new_tasks_first_and_stops_old_only_when_new_are_healthy() -> None:
    old = _tasks(("a", 1, True, "1a"), ("b", 1, True, "1b"))
    step = _step(old, desired=2, revision=2)
    assert step.launch == 2 and step.stop == ()
    starting = old + _tasks(("c", 2, False, "1a"), ("d", 2, False, "1b"))
    step = _step(starting, desired=2, revision=2)
    assert step == Step(launch=0, stop=())
    healthy = old + _tasks(("c", 2, True, "1a"), ("d", 2, True, "1b"))
    step = _step(healthy, desired=2, revision=2)
    assert set(step.stop) == {"a", "b"} and step.launch == 0


def test_half_minimum_stops_one_old_task_at_once() -> None:
    old = _tasks(("a", 1, True, "1a"), ("b", 1, True, "1b"))
    step = _step(old, desired=2, revision=2, minimum=50)
    assert len(step.stop) == 1 and step.launch == 2


def test_maximum_100_percent_waits_for_a_drain_before_launching() -> None:
    old = _tasks(("a", 1, True, "1a"), ("b", 1, True, "1b"))
    step = _step(old, desired=2, revision=2, minimum=50, maximum=100)
    assert len(step.stop) == 1 and step.launch == 0  # the stopping task still counts


def test_unhealthy_old_tasks_go_first_and_do_not_count_as_healthy() -> None:
    tasks = _tasks(("a", 1, False, "1a"), ("b", 1, True, "1b"), ("c", 2, True, "1a"))
    step = _step(tasks, desired=2, revision=2)
    assert step.stop == ("a",) and step.launch == 1


def test_scale_in_keeps_azs_balanced() -> None:
    six = _tasks(*[(f"t{i}", 1, True, "1a" if i < 4 else "1b") for i in range(6)])
    step = _step(six, desired=2, revision=1)
    kept = {t.az for t in six if t.id not in step.stop}
    assert len(step.stop) == 4 and kept == {"1a", "1b"}


def test_no_launch_while_backing_off() -> None:
    step = plan_step(
        desired=2,
        primary_revision=1,
        tasks=[],
        draining=0,
        minimum_percent=100,
        maximum_percent=200,
        may_launch=False,
    )
    assert step.launch == 0


@pytest.mark.parametrize(
    ("desired", "threshold"), [(1, 3), (2, 3), (6, 3), (7, 4), (10, 5), (1000, 200)]
)
def test_circuit_breaker_threshold(desired: int, threshold: int) -> None:
    assert failure_threshold(desired) == threshold


def test_scale_in_stops_unhealthy_then_newest_tasks_of_the_busiest_az() -> None:
    tasks = _tasks(("a", 1, True, "1a"), ("b", 1, False, "1a"), ("c", 1, True, "1a"))
    tasks += _tasks(("d", 1, True, "1b"))
    assert _step(tasks, desired=2, revision=1) == Step(launch=0, stop=("b", "c"))


def test_scale_in_does_not_go_below_the_minimum_healthy() -> None:
    # AZ balance picks a healthy task of 1a; stopping it would leave 1 healthy of 2.
    tasks = _tasks(("a", 1, True, "1a"), ("b", 1, False, "1b"), ("c", 1, True, "1a"))
    assert _step(tasks, desired=2, revision=1) == Step(launch=0, stop=())
    assert _step(tasks, desired=2, revision=1, minimum=50) == Step(launch=0, stop=("c",))
