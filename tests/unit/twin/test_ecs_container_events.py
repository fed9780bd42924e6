"""What the ECS scheduler decides from its task agents' reports: a container that exited
(with ECS's reason), one that cannot start, the task's health from its containers'
checks, and a deployment that waits for that health.

Built like test_ecs_service_state.py: the tests play the effects layer and assert the
exact actions and states that come back. The last test plays the real effects layer
(scheduler.py) with fakes of the host, to see an observation reach the decisions.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any, cast

import pytest

from fargate_api.twin.ecs.actions import (
    Action,
    Deprovision,
    LaunchTask,
    PublishState,
    Record,
    RegisterTargets,
    StartDrain,
    StopTask,
)
from fargate_api.twin.ecs.events import (
    ContainerCannotStart,
    ContainerExited,
    ContainerHealthObserved,
    DeployRequested,
    DrainFinished,
    ObservedTarget,
    TargetHealthObserved,
    TargetsRegistered,
    TaskDeprovisioned,
    TaskStarted,
    TaskStopped,
)
from fargate_api.twin.ecs.scheduler import Scheduler
from fargate_api.twin.ecs.service_scheduler import ServiceScheduler, has_container_checks
from fargate_api.twin.ecs.task_agent import OUT_OF_MEMORY
from fargate_api.twin.ecs.task_runtime import (
    ContainerView,
    TaskContext,
    TaskObservation,
)
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.model import (
    Container,
    ContainerHealthCheck,
    Service,
    ServiceLoadBalancer,
    Subnet,
    TaskDefinition,
    TwinPlan,
)

SVC = "s/Svc"
TG = "s/Tg"
CHECK = ContainerHealthCheck(("CMD-SHELL", "curl -f localhost"), interval=10, retries=3)
WEB = Container(
    name="web", image="web", command="serve", environment={}, port=80, essential=True,
    stop_timeout=10, log=None,
)  # fmt: skip
SIDECAR = replace(WEB, name="sidecar", essential=False, stop_timeout=4)
TIMEOUTS = (("web", 10.0), ("sidecar", 4.0))
PLAIN = TaskDefinition(key="s/Task", family="app", cpu=None, memory=None, containers=(WEB, SIDECAR))
CHECKED = replace(PLAIN, containers=(replace(WEB, health_check=CHECK), SIDECAR))
# Only the non-essential container has a check: the task's health ignores it.
SIDECAR_CHECKED = replace(PLAIN, containers=(WEB, replace(SIDECAR, health_check=CHECK)))


def _plan(
    definition: TaskDefinition = PLAIN,
    *,
    desired: int = 1,
    load_balanced: bool = True,
    grace: int = 0,
) -> TwinPlan:
    subnet = Subnet(
        key="A", index=0, cidr=IPv4Network("10.0.0.0/24"), az="1a", route_table=None,
        public=False,
    )  # fmt: skip
    service = Service(
        key=SVC, name="svc", cluster="c", task_definition=definition.key, desired_count=desired,
        subnets=("A",), security_groups=(),
        assign_public_ip=False,
        load_balancers=(ServiceLoadBalancer(TG, "web", 80),) if load_balanced else (),
        health_check_grace_period=grace, minimum_healthy_percent=100,
        maximum_percent=200, circuit_breaker=True, rollback=True,
    )  # fmt: skip
    return TwinPlan(
        vpc="s/Vpc", vpc_cidr=IPv4Network("10.0.0.0/16"), subnets=(subnet,), route_tables=(),
        internet_gateway=None, nat_gateways=(), security_groups=(), load_balancers=(),
        target_groups=(), task_definitions=(definition,), services=(service,), log_groups=(),
    )  # fmt: skip


def _core(plan: TwinPlan, *, time_scale: float = 1.0) -> ServiceScheduler:
    numbers = itertools.count(1)
    return ServiceScheduler(
        plan, time_scale=time_scale, used_ips={}, new_task_id=lambda: f"t{next(numbers)}"
    )


def _launched(actions: Sequence[Action]) -> list[str]:
    return [a.task_id for a in actions if isinstance(a, LaunchTask)]


def _start(core: ServiceScheduler, now: float) -> list[str]:
    """Launches what the scheduler wants and plays a host on which all of it succeeds."""
    ids = _launched(core.reconcile(SVC, now))
    for task_id in ids:
        for follow in core.handle(TaskStarted(task_id), now):
            if isinstance(follow, RegisterTargets):
                core.handle(TargetsRegistered(task_id), now)
    return ids


def _target(core: ServiceScheduler, task_id: str, health: str, now: float) -> list[Action]:
    observed = (ObservedTarget(cast(Any, health)),)
    return core.handle(TargetHealthObserved(task_id, observed), now)


def _stop_fully(core: ServiceScheduler, task_id: str, now: float) -> None:
    task = core.task(task_id)
    assert task is not None
    if task.last_status == "DEACTIVATING":
        core.handle(DrainFinished(task_id), now)
    core.handle(TaskStopped(task_id, {}), now)
    core.handle(TaskDeprovisioned(task_id), now)


COMPLETED = [Record("service svc: deployment of revision 1 completed"), PublishState()]


# ---------------------------------------------------------------- exits


def test_an_essential_container_killed_for_memory_stops_the_task_with_the_reason() -> None:
    core = _core(_plan())
    (task_id,) = _start(core, 0.0)
    actions = core.handle(ContainerExited(task_id, "web", 137, OUT_OF_MEMORY), 5.0)
    assert actions == [
        Record("task t1 container web exited with code 137"),
        StopTask("t1", (TG,), TIMEOUTS),
    ]
    task = core.tasks[0]
    assert task.container_reasons == {"web": OUT_OF_MEMORY}
    assert task.exit_codes == {"web": 137}
    _stop_fully(core, task_id, 5.0)
    assert core.stopped[0].stopped_reason == (
        "Essential container in task exited (code 137): "
        "OutOfMemoryError: Container killed due to memory usage"
    )
    assert core.services[SVC].primary.failed_tasks == 1


def test_an_exit_without_a_reason_says_only_the_code() -> None:
    core = _core(_plan())
    (task_id,) = _start(core, 0.0)
    core.handle(ContainerExited(task_id, "web", 137), 5.0)
    assert core.tasks[0].container_reasons == {}
    assert core.tasks[0].stopped_reason == "Essential container in task exited (code 137)"


def test_a_non_essential_container_killed_for_memory_keeps_the_task() -> None:
    core = _core(_plan())
    (task_id,) = _start(core, 0.0)
    assert core.handle(ContainerExited(task_id, "sidecar", 137, OUT_OF_MEMORY), 5.0) == []
    task = core.tasks[0]
    assert (task.last_status, task.stopped_reason) == ("RUNNING", "")
    assert (task.exit_codes, task.container_reasons) == (
        {"sidecar": 137},
        {"sidecar": OUT_OF_MEMORY},
    )


# ---------------------------------------------------------------- cannot start

DEPENDENCY = (
    "CannotStartContainerError: dependency 'migrate' of container 'web' exited with code 1 "
    "(condition SUCCESS)"
)


def test_an_essential_container_that_cannot_start_stops_the_task() -> None:
    core = _core(_plan())
    (task_id,) = _start(core, 0.0)
    actions = core.handle(ContainerCannotStart(task_id, "web", DEPENDENCY), 3.0)
    assert actions == [
        Record(f"task t1 container web cannot start: {DEPENDENCY}"),
        StopTask("t1", (TG,), TIMEOUTS),
    ]
    task = core.tasks[0]
    assert (task.last_status, task.stopped_reason) == ("STOPPING", DEPENDENCY)
    assert task.container_reasons == {"web": DEPENDENCY}
    assert core.services[SVC].primary.failed_tasks == 1
    assert core.retry_after(SVC) == 4.0  # the service backs off
    assert core.handle(ContainerCannotStart(task_id, "web", DEPENDENCY), 3.5) == []


def test_a_non_essential_container_that_cannot_start_is_only_reported_once() -> None:
    core = _core(_plan())
    (task_id,) = _start(core, 0.0)
    reason = "CannotStartContainerError: exec format error"
    assert core.handle(ContainerCannotStart(task_id, "sidecar", reason), 3.0) == [
        Record(f"task t1 container sidecar not started: {reason}")
    ]
    assert core.handle(ContainerCannotStart(task_id, "sidecar", reason), 4.0) == []
    task = core.tasks[0]
    assert (task.last_status, task.stopped_reason) == ("RUNNING", "")
    assert task.container_reasons == {"sidecar": reason}
    assert core.services[SVC].primary.failed_tasks == 0
    assert core.retry_after(SVC) == 0.0


def test_a_report_about_a_stopping_task_is_ignored() -> None:
    core = _core(_plan())
    (task_id,) = _start(core, 0.0)
    core.handle(ContainerExited(task_id, "web", 1), 1.0)
    assert core.handle(ContainerCannotStart(task_id, "sidecar", "x"), 2.0) == []
    assert core.handle(ContainerHealthObserved(task_id, "UNHEALTHY"), 2.0) == []
    assert core.tasks[0].container_reasons == {}


# ---------------------------------------------------------------- container health


@pytest.mark.parametrize(
    ("load_balanced", "replaced"),
    [
        (True, StartDrain("t1", (TG,))),
        (False, StopTask("t1", (), (("web", 5.0), ("sidecar", 2.0)))),  # scaled
    ],
)
def test_unhealthy_containers_within_the_grace_period_are_waited_for(
    load_balanced: bool, replaced: Action
) -> None:
    core = _core(_plan(CHECKED, grace=60, load_balanced=load_balanced), time_scale=0.5)
    (task_id,) = _start(core, 100.0)
    assert core.handle(ContainerHealthObserved(task_id, "UNHEALTHY"), 129.0) == []
    task = core.tasks[0]
    assert (task.last_status, task.container_health) == ("RUNNING", "UNHEALTHY")
    assert core.reconcile(SVC, 129.0) == []  # nor is a replacement launched beside it
    actions = core.handle(ContainerHealthObserved(task_id, "UNHEALTHY"), 130.0)  # 30 s scaled
    assert actions == [Record("task t1 failed its container health checks"), replaced]
    assert task.stopped_reason == "Task failed container health checks"
    assert core.services[SVC].primary.failed_tasks == 1


def test_a_healthy_report_of_the_containers_never_stops_the_task() -> None:
    core = _core(_plan(CHECKED, load_balanced=False))
    (task_id,) = _start(core, 0.0)
    assert core.handle(ContainerHealthObserved(task_id, "HEALTHY"), 500.0) == []
    assert core.handle(ContainerHealthObserved(task_id, "UNKNOWN"), 501.0) == []
    assert core.tasks[0].container_health == "UNKNOWN" and core.tasks[0].active


def test_has_container_checks_counts_essential_containers_only() -> None:
    assert has_container_checks(CHECKED)
    assert not has_container_checks(PLAIN)
    assert not has_container_checks(SIDECAR_CHECKED)


# ---------------------------------------------------------------- is_healthy


def test_without_load_balancer_a_deployment_waits_for_healthy_containers() -> None:
    core = _core(_plan(CHECKED, load_balanced=False))
    (task_id,) = _start(core, 0.0)
    task = core.tasks[0]
    assert task.last_status == "RUNNING" and not core.is_healthy(task)
    assert core.settle(SVC, 0.0) == []
    core.reconcile(SVC, 1.0)
    assert not task.was_healthy  # outliving a tick is not enough with container checks
    assert core.settle(SVC, 1.0) == []
    core.handle(ContainerHealthObserved(task_id, "HEALTHY"), 12.0)
    assert core.is_healthy(task) and task.was_healthy
    assert core.settle(SVC, 12.0) == COMPLETED


def test_without_load_balancer_or_checks_running_is_healthy() -> None:
    core = _core(_plan(SIDECAR_CHECKED, load_balanced=False))
    _start(core, 0.0)
    assert core.is_healthy(core.tasks[0])
    assert core.settle(SVC, 0.0) == COMPLETED


def test_behind_a_load_balancer_a_deployment_waits_for_both_healths() -> None:
    core = _core(_plan(CHECKED))
    (task_id,) = _start(core, 0.0)
    task = core.tasks[0]
    _target(core, task_id, "healthy", 5.0)
    assert not core.is_healthy(task)
    assert core.settle(SVC, 5.0) == []
    core.handle(ContainerHealthObserved(task_id, "HEALTHY"), 11.0)
    assert core.is_healthy(task)
    assert core.settle(SVC, 11.0) == COMPLETED


def test_behind_a_load_balancer_healthy_containers_alone_are_not_enough() -> None:
    core = _core(_plan(CHECKED))
    (task_id,) = _start(core, 0.0)
    core.handle(ContainerHealthObserved(task_id, "HEALTHY"), 11.0)
    task = core.tasks[0]
    assert not core.is_healthy(task) and not task.was_healthy
    assert core.settle(SVC, 11.0) == []
    _target(core, task_id, "healthy", 12.0)
    assert core.settle(SVC, 12.0) == COMPLETED


def test_a_new_revision_replaces_old_tasks_only_once_its_containers_are_healthy() -> None:
    core = _core(_plan(PLAIN, load_balanced=False))
    _start(core, 0.0)
    core.settle(SVC, 0.0)
    core.handle(DeployRequested(SVC, CHECKED), 10.0)
    (new,) = _start(core, 10.0)
    assert core.reconcile(SVC, 11.0) == []  # t1 stays: t2 is RUNNING but not HEALTHY
    assert [t.last_status for t in core.tasks] == ["RUNNING", "RUNNING"]
    core.handle(ContainerHealthObserved(new, "HEALTHY"), 20.0)
    assert core.reconcile(SVC, 20.0) == [
        StopTask("t1", (), TIMEOUTS)  # no load balancer: no drain
    ]
    _stop_fully(core, "t1", 21.0)
    assert core.settle(SVC, 21.0) == [
        Record("service svc: deployment of revision 2 completed"),
        PublishState(),
    ]


# ---------------------------------------------------------------- through the effects layer


class _Host:
    """The namespaces and security groups of scheduler.py: nothing to do."""

    def attach_eni(self, netns: str, subnet: Subnet, ip: IPv4Address) -> None:
        pass

    def detach_eni(self, netns: str) -> None:
        pass

    def add(self, netns: str, ip: IPv4Address, groups: tuple[str, ...]) -> None:
        pass

    def remove(self, netns: str) -> None:
        pass


class _UnhealthyTask:
    """A running task whose essential container fails its health checks on every tick."""

    credentials_id = "c0ffee00"

    def __init__(self) -> None:
        self.stopped = False

    def observe(self, now: float) -> TaskObservation:
        return TaskObservation(health="UNHEALTHY")

    def stop(self, timeouts: Sequence[tuple[str, float]]) -> dict[str, int]:
        self.stopped = True
        return {}

    def remove(self) -> None:
        pass

    def containers(self) -> list[ContainerView]:
        return []


class _Runtime:
    kind = "container"

    def __init__(self) -> None:
        self.tasks: list[_UnhealthyTask] = []

    def refresh(self) -> None:
        pass

    def start(self, context: TaskContext, definition: TaskDefinition) -> _UnhealthyTask:
        self.tasks.append(_UnhealthyTask())
        return self.tasks[-1]

    def close(self) -> None:
        pass


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_task_unhealthy_during_the_grace_period_is_replaced_once_it_is_over(
    tmp_path: Path,
) -> None:
    host = _Host()
    runtime = _Runtime()
    clock = _Clock()
    scheduler = Scheduler(
        names=TwinNames("unit", state_root=tmp_path),
        plan=_plan(CHECKED, load_balanced=False, grace=60),
        network=cast(Any, host),
        groups=cast(Any, host),
        balancers=cast(Any, object()),
        runtime=cast(Any, runtime),
        time_scale=1.0,
        used_ips={},
        clock=clock,
    )
    scheduler.tick()  # launches the task; its containers start on a thread of their own
    scheduler.wait_for_starts()
    assert [t.last_status for t in scheduler.tasks] == ["RUNNING"]
    clock.now += 10.0
    scheduler.tick()  # UNHEALTHY, inside the grace period: kept
    assert scheduler.tasks[0].container_health == "UNHEALTHY"
    assert scheduler.tasks[0].stopped_reason == ""
    clock.now += 60.0
    scheduler.tick()  # still UNHEALTHY, and the grace period is over
    assert scheduler.tasks[0].stopped_reason == "Task failed container health checks"
    assert scheduler.tasks[0].last_status == "STOPPING"


def test_deprovision_is_asked_after_the_containers_stopped() -> None:
    core = _core(_plan())
    (task_id,) = _start(core, 0.0)
    core.handle(ContainerExited(task_id, "web", 137, OUT_OF_MEMORY), 1.0)
    assert core.handle(TaskStopped(task_id, {"sidecar": 143}), 2.0) == [Deprovision("t1")]
    assert core.tasks[0].exit_codes == {"web": 137, "sidecar": 143}
