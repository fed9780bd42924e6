"""The ECS scheduler under injected faults, with made-up times: an AZ that loses power
(`local fault az-outage`) and ECS's StopTask (`local fault task-kill`).

As on AWS, a task in an AZ without power is gone at once (no drain: nothing there
answers), ECS places its replacement in a healthy AZ, and a task stopped with StopTask
is replaced because the service still wants its desired count.

The plan and the host's answers are test_ecs_service_state.py's, so that a change to how
the tests play the effects layer is made once.
"""

from __future__ import annotations

from collections.abc import Sequence

from tests.unit.twin.test_ecs_service_state import (
    SVC,
    TG,
    WEB,
    _core,
    _health,
    _start,
)
from tests.unit.twin.test_ecs_service_state import _plan as _service_plan
from tests.unit.twin.test_ecs_service_state import _stable as _deployed

from fargate_api.twin.ecs.actions import (
    Action,
    LaunchTask,
    PublishState,
    Record,
    StartDrain,
    StopTask,
)
from fargate_api.twin.ecs.events import (
    AzImpaired,
    AzRecovered,
    ScaleRequested,
    StopTaskRequested,
    TaskDeprovisioned,
    TaskStarted,
    TaskStopped,
)
from fargate_api.twin.ecs.service_scheduler import ServiceScheduler
from fargate_api.twin.plan.model import TaskDefinition, TwinPlan

POWER = "Task stopped: its AZ 1a lost power (fault injected)"
# The web container alone: a StopTask names each container's stop timeout.
V1 = TaskDefinition(key="s/Task", family="app", cpu=None, memory=None, containers=(WEB,))


def _plan(*, desired: int = 2, subnets: Sequence[str] = ("A", "B", "C")) -> TwinPlan:
    return _service_plan(desired=desired, subnets=subnets, definition=V1)


def _launched(actions: Sequence[Action]) -> list[LaunchTask]:
    return [a for a in actions if isinstance(a, LaunchTask)]


def _run_healthy(core: ServiceScheduler, now: float) -> list[LaunchTask]:
    """Launches what the scheduler wants and plays a host on which all of it works."""
    actions = core.reconcile(SVC, now)
    _start(core, actions, now)
    for launch in _launched(actions):
        _health(core, launch.task_id, "healthy", now)
    return _launched(actions)


def _stable(core: ServiceScheduler) -> dict[str, str]:
    """task id -> AZ, once the first deployment completed."""
    _deployed(core)
    return {t.id: t.az for t in core.tasks}


def _remove(core: ServiceScheduler, task_id: str, now: float) -> None:
    core.handle(TaskStopped(task_id, {"web": 137}), now)
    core.handle(TaskDeprovisioned(task_id), now)


def test_a_power_loss_stops_the_tasks_of_that_az_at_once_without_a_drain() -> None:
    core = _core(_plan(desired=3))
    assert _stable(core) == {"t1": "1a", "t2": "1b", "t3": "1a"}
    actions = core.handle(AzImpaired("1a", POWER), 10.0)
    assert actions == [
        Record("AZ 1a impaired: ECS places no task there until it recovers"),
        StopTask("t1", (TG,), (("web", 10.0),)),
        StopTask("t3", (TG,), (("web", 10.0),)),
        PublishState(),
    ]
    assert not any(isinstance(a, StartDrain) for a in actions)
    stopped = {t.id: (t.last_status, t.stopped_reason) for t in core.tasks}
    assert stopped == {
        "t1": ("STOPPING", POWER),
        "t2": ("RUNNING", ""),
        "t3": ("STOPPING", POWER),
    }
    assert core.impaired_azs == {"1a"}
    # The service did nothing wrong: no back-off, nothing against the circuit breaker.
    assert core.failures(SVC) == 0
    assert core.retry_after(SVC) == 0.0
    assert core.services[SVC].primary.failed_tasks == 0


def test_replacements_go_to_the_healthy_az_even_when_the_impaired_one_is_emptier() -> None:
    core = _core(_plan(desired=3))
    _stable(core)
    core.handle(AzImpaired("1a", POWER), 10.0)
    launches = _launched(core.reconcile(SVC, 10.0))
    assert [(launch.task_id, launch.subnet) for launch in launches] == [("t4", "B"), ("t5", "B")]
    _remove(core, "t1", 11.0)
    _remove(core, "t3", 11.0)
    assert [t.id for t in core.stopped] == ["t3", "t1"]
    assert core.stopped[0].stopped_reason == POWER


def test_a_task_being_started_in_the_az_is_stopped_too() -> None:
    core = _core(_plan(desired=2))
    core.reconcile(SVC, 0.0)  # t1 in A (1a), t2 in B (1b), both PROVISIONING
    actions = core.handle(AzImpaired("1a", POWER), 1.0)
    assert [a.task_id for a in actions if isinstance(a, StopTask)] == ["t1"]
    # Its late start report changes nothing.
    assert core.handle(TaskStarted("t1"), 2.0) == []
    task = core.task("t1")
    assert task is not None and task.last_status == "STOPPING"


def test_with_every_az_impaired_nothing_is_launched_and_the_service_backs_off() -> None:
    core = _core(_plan(desired=2))
    _stable(core)
    core.handle(AzImpaired("1a", POWER), 10.0)
    core.handle(AzImpaired("1b", POWER.replace("1a", "1b")), 10.0)
    actions = core.reconcile(SVC, 10.0)
    assert actions == [
        Record("no subnet of service svc is in a healthy AZ (impaired: 1a, 1b)"),
    ]
    assert core.retry_after(SVC) == 11.0
    assert core.reconcile(SVC, 10.5) == []  # backing off: not even the record again
    assert _launched(core.reconcile(SVC, 11.0)) == []
    assert core.retry_after(SVC) == 13.0  # 1, 2, 4... as for failing launches
    # Power comes back in 1b: the service launches there at once, without waiting.
    assert core.handle(AzRecovered("1b"), 12.0) == [
        Record("AZ 1b recovered: ECS places tasks there again"),
        PublishState(),
    ]
    assert core.retry_after(SVC) == 0.0
    assert core.failures(SVC) == 0
    launches = _launched(core.reconcile(SVC, 12.0))
    assert [launch.subnet for launch in launches] == ["B", "B"]


def test_a_recovered_az_takes_tasks_again() -> None:
    core = _core(_plan(desired=2, subnets=("A", "B")))
    _stable(core)
    core.handle(AzImpaired("1a", POWER), 10.0)
    _remove(core, "t1", 10.5)
    assert [launch.subnet for launch in _run_healthy(core, 11.0)] == ["B"]
    core.handle(AzRecovered("1a"), 20.0)
    assert core.impaired_azs == set()
    core.handle(ScaleRequested(SVC, 3), 21.0)
    # ECS's spread again: 1a has none of the service's tasks, 1b two.
    assert [launch.subnet for launch in _launched(core.reconcile(SVC, 21.0))] == ["A"]


def test_recovering_an_az_that_was_not_impaired_changes_nothing() -> None:
    core = _core(_plan())
    _stable(core)
    assert core.handle(AzRecovered("1a"), 1.0) == []


def test_stop_task_deregisters_then_stops_and_the_service_replaces_it() -> None:
    core = _core(_plan(desired=2))
    _stable(core)
    actions = core.handle(StopTaskRequested("t2", "stopped by a fault (aws:ecs:stop-task)"), 5.0)
    assert actions == [
        Record("task t2 stopped by StopTask: stopped by a fault (aws:ecs:stop-task)"),
        StopTask("t2", (TG,), (("web", 10.0),)),
    ]
    assert core.task("t2") is not None
    assert core.failures(SVC) == 0
    launches = _launched(core.reconcile(SVC, 5.0))
    assert [(launch.task_id, launch.subnet) for launch in launches] == [("t3", "B")]
    _remove(core, "t2", 6.0)
    assert core.stopped[0].stopped_reason == "stopped by a fault (aws:ecs:stop-task)"


def test_stop_task_on_a_task_that_is_stopping_or_gone_does_nothing() -> None:
    core = _core(_plan(desired=2))
    _stable(core)
    core.handle(StopTaskRequested("t1", "first"), 5.0)
    assert core.handle(StopTaskRequested("t1", "second"), 5.5) == []
    task = core.task("t1")
    assert task is not None and task.stopped_reason == "first"
    _remove(core, "t1", 6.0)
    assert core.handle(StopTaskRequested("t1", "third"), 7.0) == []
    assert core.handle(StopTaskRequested("nope", "x"), 7.0) == []
