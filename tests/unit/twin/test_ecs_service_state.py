"""The ECS scheduler's decisions, walked through event by event with made-up times.

No host is involved: the tests play the effects layer, answering each action with the
event the host would report, and assert the exact actions and states that come back.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network

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
    Target,
)
from fargate_api.twin.ecs.events import (
    ContainerExited,
    DeployRequested,
    DrainFinished,
    LaunchFailed,
    ObservedTarget,
    ScaleRequested,
    ShutdownRequested,
    TargetHealthObserved,
    TargetsRegistered,
    TaskDeprovisioned,
    TaskStarted,
    TaskStopped,
)
from fargate_api.twin.ecs.service_scheduler import ServiceScheduler
from fargate_api.twin.ecs.service_state import TargetHealth
from fargate_api.twin.plan.model import (
    Container,
    Service,
    ServiceLoadBalancer,
    Subnet,
    TaskDefinition,
    TwinPlan,
)

SVC = "s/Svc"
TG = "s/Tg"
SUBNETS = {"A": "1a", "B": "1b", "C": "1a"}
WEB = Container(
    name="web", image="web", command="serve", environment={}, port=80, essential=True,
    stop_timeout=10, log=None,
)  # fmt: skip
SIDECAR = replace(WEB, name="sidecar", essential=False, stop_timeout=4)
V1 = TaskDefinition(key="s/Task", family="app", cpu=None, memory=None, containers=(WEB, SIDECAR))
V2 = replace(V1, containers=(replace(WEB, environment={"RELEASE": "2"}), SIDECAR))


def _plan(
    *,
    desired: int = 2,
    subnets: Sequence[str] = ("A", "B"),
    load_balanced: bool = True,
    grace: int = 0,
    minimum: int = 100,
    maximum: int = 200,
    circuit_breaker: bool = True,
    rollback: bool = True,
    cidr_prefix: int = 24,
    public: bool = False,
    definition: TaskDefinition = V1,
) -> TwinPlan:
    nets = tuple(
        Subnet(
            key=key, index=i, cidr=IPv4Network(f"10.0.{i}.0/{cidr_prefix}"), az=SUBNETS[key],
            route_table=None, public=public,
        )
        for i, key in enumerate(SUBNETS)
    )  # fmt: skip
    service = Service(
        key=SVC, name="svc", cluster="c", task_definition=definition.key,
        desired_count=desired, subnets=tuple(subnets), security_groups=(),
        assign_public_ip=public,
        load_balancers=(ServiceLoadBalancer(TG, "web", 80),) if load_balanced else (),
        health_check_grace_period=grace, minimum_healthy_percent=minimum,
        maximum_percent=maximum, circuit_breaker=circuit_breaker, rollback=rollback,
    )  # fmt: skip
    return TwinPlan(
        vpc="s/Vpc", vpc_cidr=IPv4Network("10.0.0.0/16"), subnets=nets, route_tables=(),
        internet_gateway=None, nat_gateways=(), security_groups=(), load_balancers=(),
        target_groups=(), task_definitions=(definition,), services=(service,), log_groups=(),
    )  # fmt: skip


def _core(plan: TwinPlan, *, time_scale: float = 1.0) -> ServiceScheduler:
    numbers = itertools.count(1)
    return ServiceScheduler(
        plan, time_scale=time_scale, used_ips={}, new_task_id=lambda: f"t{next(numbers)}"
    )


def _ip(subnet: str, host: int) -> IPv4Address:
    return IPv4Address(f"10.0.{list(SUBNETS).index(subnet)}.{host}")


def _launched(actions: Sequence[Action]) -> list[str]:
    return [a.task_id for a in actions if isinstance(a, LaunchTask)]


def _start(core: ServiceScheduler, actions: Sequence[Action], now: float) -> None:
    """Plays a host on which every launch and registration succeeds."""
    for task_id in _launched(actions):
        for follow in core.handle(TaskStarted(task_id), now):
            if isinstance(follow, RegisterTargets):
                core.handle(TargetsRegistered(task_id), now)


def _health(core: ServiceScheduler, task_id: str, health: TargetHealth, now: float) -> list[Action]:
    target = ObservedTarget(health, "L7STS 500" if health == "unhealthy" else "")
    return core.handle(TargetHealthObserved(task_id, (target,)), now)


def _stop_fully(core: ServiceScheduler, task_id: str, now: float) -> list[Action]:
    """Plays the drain, the stop and the removal of a task to the end."""
    actions: list[Action] = []
    task = core.task(task_id)
    assert task is not None
    if task.last_status == "DEACTIVATING":
        actions += core.handle(DrainFinished(task_id), now)
    actions += core.handle(TaskStopped(task_id, {"web": 0, "sidecar": 0}), now)
    actions += core.handle(TaskDeprovisioned(task_id), now)
    return actions


def _running(core: ServiceScheduler, now: float) -> list[str]:
    """Launches what the scheduler wants, starts it and makes it healthy."""
    actions = core.reconcile(SVC, now)
    _start(core, actions, now)
    for task_id in _launched(actions):
        _health(core, task_id, "healthy", now)
    return _launched(actions)


def _stable(core: ServiceScheduler, now: float = 0.0) -> list[str]:
    ids = _running(core, now)
    assert core.settle(SVC, now)[0] == Record("service svc: deployment of revision 1 completed")
    return ids


# ---------------------------------------------------------------- launching


def test_first_tasks_are_spread_over_azs_then_subnets() -> None:
    core = _core(_plan(desired=4, subnets=("A", "B", "C")))
    actions = core.reconcile(SVC, 0.0)
    assert actions == [
        LaunchTask("t1", SVC, 1, "A", _ip("A", 4), None),
        LaunchTask("t2", SVC, 1, "B", _ip("B", 4), None),
        LaunchTask("t3", SVC, 1, "C", _ip("C", 4), None),  # 1a and 1b even: the emptier subnet
        LaunchTask("t4", SVC, 1, "B", _ip("B", 5), None),  # 1a has two, 1b one
    ]
    assert [t.last_status for t in core.tasks] == ["PROVISIONING"] * 4
    assert core.used_ips == {
        "A": {_ip("A", 4)},
        "B": {_ip("B", 4), _ip("B", 5)},
        "C": {_ip("C", 4)},
    }


def test_a_started_task_is_registered_then_announced() -> None:
    core = _core(_plan(desired=1))
    core.reconcile(SVC, 0.0)
    assert core.handle(TaskStarted("t1"), 1.0) == [
        RegisterTargets("t1", (Target(TG, _ip("A", 4), 80),))
    ]
    assert core.tasks[0].last_status == "RUNNING"
    assert core.handle(TargetsRegistered("t1"), 1.0) == [
        Record("started task t1 (revision 1) in 1a (10.0.0.4)"),
        PublishState(),
    ]


def test_a_task_without_load_balancer_is_announced_at_once_and_healthy_when_running() -> None:
    core = _core(_plan(desired=1, load_balanced=False))
    core.reconcile(SVC, 0.0)
    assert core.settle(SVC, 0.0) == []  # PROVISIONING is not healthy yet
    assert core.handle(TaskStarted("t1"), 0.0) == [
        Record("started task t1 (revision 1) in 1a (10.0.0.4)"),
        PublishState(),
    ]
    assert core.settle(SVC, 0.0)[0] == Record("service svc: deployment of revision 1 completed")


def test_the_first_deployment_completes_when_every_task_is_healthy() -> None:
    core = _core(_plan(desired=2))
    actions = core.reconcile(SVC, 0.0)
    _start(core, actions, 0.0)
    assert core.settle(SVC, 1.0) == []
    _health(core, "t1", "healthy", 5.0)
    assert core.settle(SVC, 5.0) == []
    _health(core, "t2", "initial", 5.0)
    assert core.settle(SVC, 5.0) == []
    _health(core, "t2", "healthy", 6.0)
    assert core.settle(SVC, 6.0) == [
        Record("service svc: deployment of revision 1 completed"),
        PublishState(),
    ]
    assert [(d.revision, d.status, d.rollout_state) for d in core.services[SVC].deployments] == [
        (1, "PRIMARY", "COMPLETED")
    ]
    assert core.settle(SVC, 7.0) == []  # only once


def test_a_full_subnet_backs_off_instead_of_launching() -> None:
    core = _core(_plan(desired=2, subnets=("A",), cidr_prefix=29))  # 3 usable addresses
    core.used_ips["A"] = {_ip("A", 4), _ip("A", 5)}
    actions = core.reconcile(SVC, 0.0)
    assert actions == [
        LaunchTask("t1", SVC, 1, "A", _ip("A", 6), None),
        Record("service svc: subnet A has no free address for a task"),
    ]
    assert core.retry_after(SVC) == 1.0


def test_a_launch_failure_drops_the_rest_of_the_round_and_backs_off() -> None:
    core = _core(_plan(desired=2))
    assert _launched(core.reconcile(SVC, 10.0)) == ["t1", "t2"]
    assert core.handle(LaunchFailed("t1", "`ip link add` failed"), 10.0) == [
        Record("task t1 failed to start: `ip link add` failed"),
        Deprovision("t1"),
    ]
    assert [t.id for t in core.tasks] == ["t1"]  # t2 was never tried
    assert core.used_ips["B"] == set()
    assert core.retry_after(SVC) == 11.0
    assert core.handle(TaskDeprovisioned("t1"), 10.0) == [
        Record("stopped task t1: Task failed to start: `ip link add` failed"),
        PublishState(),
    ]
    assert core.tasks == [] and core.used_ips["A"] == set()
    assert [t.stopped_reason for t in core.stopped] == [
        "Task failed to start: `ip link add` failed"
    ]
    assert core.reconcile(SVC, 10.9) == []  # backing off
    assert _launched(core.reconcile(SVC, 11.0)) == ["t3", "t4"]


def test_public_addresses_go_back_to_the_pool_when_a_task_is_removed() -> None:
    core = _core(_plan(desired=2, public=True))
    first = core.reconcile(SVC, 0.0)
    assert [a.public_ip for a in first if isinstance(a, LaunchTask)] == [
        IPv4Address("198.51.100.100"),
        IPv4Address("198.51.100.101"),
    ]
    _start(core, first, 0.0)
    core.handle(ContainerExited("t1", "web", 1), 1.0)
    _stop_fully(core, "t1", 1.0)
    (again,) = [a for a in core.reconcile(SVC, 5.0) if isinstance(a, LaunchTask)]
    assert (again.task_id, again.public_ip) == ("t3", IPv4Address("198.51.100.100"))


# ---------------------------------------------------------------- deployments


def test_a_rolling_deployment_step_by_step() -> None:
    core = _core(_plan(desired=2), time_scale=0.5)
    old = _stable(core)
    assert core.handle(DeployRequested(SVC, V2), 20.0) == [
        Record("service svc: deployment of revision 2 started")
    ]
    state = core.services[SVC]
    assert [(d.revision, d.status, d.rollout_state) for d in state.deployments] == [
        (2, "PRIMARY", "IN_PROGRESS"),
        (1, "ACTIVE", "COMPLETED"),
    ]
    # maximumPercent 200: both new tasks start beside the old ones, nothing stops yet.
    launches = core.reconcile(SVC, 20.0)
    assert launches == [
        LaunchTask("t3", SVC, 2, "A", _ip("A", 5), None),
        LaunchTask("t4", SVC, 2, "B", _ip("B", 5), None),
    ]
    _start(core, launches, 20.0)
    assert core.reconcile(SVC, 21.0) == []  # minimumHealthyPercent 100: new ones not healthy
    _health(core, "t3", "healthy", 25.0)
    replaced = "Deployment of revision 2 replaced this task"
    assert core.reconcile(SVC, 25.0) == [StartDrain("t1", (TG,))]
    assert (core.tasks[0].last_status, core.tasks[0].health) == ("DEACTIVATING", "draining")
    assert core.tasks[0].stopped_reason == replaced
    _health(core, "t4", "healthy", 26.0)
    assert core.reconcile(SVC, 26.0) == [StartDrain("t2", (TG,))]
    assert core.settle(SVC, 26.0) == []  # old tasks still drain
    # The drain is over: deregister, SIGTERM with the scaled stopTimeout, then remove.
    assert core.handle(DrainFinished("t1"), 35.0) == [
        StopTask("t1", (TG,), (("web", 5.0), ("sidecar", 2.0)))
    ]
    assert core.tasks[0].last_status == "STOPPING"
    assert core.handle(TaskStopped("t1", {"web": 0, "sidecar": 143}), 36.0) == [Deprovision("t1")]
    assert core.handle(TaskDeprovisioned("t1"), 36.0) == [
        Record(f"stopped task t1: {replaced}"),
        PublishState(),
    ]
    assert core.stopped[0].exit_codes == {"web": 0, "sidecar": 143}
    _stop_fully(core, "t2", 37.0)
    assert [t.id for t in core.tasks] == ["t3", "t4"] and old == ["t1", "t2"]
    assert core.settle(SVC, 37.0) == [
        Record("service svc: deployment of revision 2 completed"),
        PublishState(),
    ]
    assert [(d.revision, d.status, d.rollout_state) for d in state.deployments] == [
        (2, "PRIMARY", "COMPLETED")
    ]


def test_minimum_50_maximum_100_replaces_one_task_at_a_time() -> None:
    core = _core(_plan(desired=2, minimum=50, maximum=100))
    _stable(core)
    core.handle(DeployRequested(SVC, V2), 10.0)
    # One old task may go (one healthy is 50 %), and nothing starts while it drains.
    assert core.reconcile(SVC, 10.0) == [StartDrain("t1", (TG,))]
    assert core.reconcile(SVC, 11.0) == []
    _stop_fully(core, "t1", 20.0)
    assert core.reconcile(SVC, 20.0) == [LaunchTask("t3", SVC, 2, "A", _ip("A", 4), None)]


def _fail_new_task(core: ServiceScheduler, now: float) -> list[Action]:
    """Launches one task, starts it, and lets its essential container exit."""
    actions = core.reconcile(SVC, now)
    _start(core, actions, now)
    (task_id,) = _launched(actions)
    failed = core.handle(ContainerExited(task_id, "web", 1), now)
    _stop_fully(core, task_id, now)
    return failed


def test_the_circuit_breaker_fails_the_deployment_and_rolls_back() -> None:
    core = _core(_plan(desired=2, maximum=150))  # one new task at a time
    _stable(core)
    core.handle(DeployRequested(SVC, V2), 100.0)
    state = core.services[SVC]
    assert _fail_new_task(core, 100.0) == [
        Record("task t3 container web exited with code 1"),
        StopTask("t3", (TG,), (("web", 10.0), ("sidecar", 4.0))),
    ]
    assert core.stopped[0].stopped_reason == "Essential container in task exited (code 1)"
    assert state.primary.failed_tasks == 1
    assert core.reconcile(SVC, 100.5) == []  # backing off 1 s
    _fail_new_task(core, 101.0)
    assert state.primary.failed_tasks == 2
    assert core.reconcile(SVC, 102.0) == []  # backing off 2 s
    # The third failed task reaches ECS's threshold (3 for 2 desired): roll back.
    assert _fail_new_task(core, 103.0) == [
        Record(
            "service svc: deployment of revision 2 failed (circuit breaker: 3 tasks of "
            "revision 2 failed (threshold 3))"
        ),
        Record("service svc: rolling back to revision 1"),
        Record("task t5 container web exited with code 1"),
        StopTask("t5", (TG,), (("web", 10.0), ("sidecar", 4.0))),
    ]
    assert [(d.revision, d.status, d.rollout_state, d.reason) for d in state.deployments] == [
        (1, "PRIMARY", "IN_PROGRESS", "rolling back to revision 1"),
        (2, "INACTIVE", "FAILED", state.deployments[1].reason),
        (1, "ACTIVE", "COMPLETED", ""),
    ]
    assert core.retry_after(SVC) == 0.0  # the rollback launches at once if it must
    # The old tasks never stopped: the rollback completes without a launch.
    assert core.reconcile(SVC, 103.0) == []
    assert core.settle(SVC, 103.0)[0] == Record("service svc: deployment of revision 1 completed")
    assert [(d.revision, d.status, d.rollout_state) for d in state.deployments] == [
        (1, "PRIMARY", "COMPLETED"),
        (2, "INACTIVE", "FAILED"),
    ]
    assert state.deployments[1].failed_tasks == 3
    assert [t.id for t in core.tasks] == ["t1", "t2"]


def test_without_a_completed_deployment_the_breaker_stops_launching_without_rollback() -> None:
    core = _core(_plan(desired=2, maximum=150))
    first = core.reconcile(SVC, 0.0)
    _start(core, first, 0.0)  # revision 1 runs but never passes its health checks
    core.handle(DeployRequested(SVC, V2), 10.0)
    _fail_new_task(core, 10.0)
    _fail_new_task(core, 11.0)
    failed = _fail_new_task(core, 13.0)
    assert failed == [
        Record(
            "service svc: deployment of revision 2 failed (circuit breaker: 3 tasks of "
            "revision 2 failed (threshold 3))"
        ),
        Record("task t5 container web exited with code 1"),
        StopTask("t5", (TG,), (("web", 10.0), ("sidecar", 4.0))),
    ]
    state = core.services[SVC]
    assert [(d.revision, d.status, d.rollout_state) for d in state.deployments] == [
        (2, "PRIMARY", "FAILED"),
        (1, "ACTIVE", "IN_PROGRESS"),
    ]
    assert core.reconcile(SVC, 1000.0) == []  # ECS launches no more tasks of it
    assert [t.id for t in core.tasks] == ["t1", "t2"]


def test_without_the_circuit_breaker_failures_only_back_off() -> None:
    core = _core(_plan(desired=1, load_balanced=False, circuit_breaker=False))
    for now in (0.0, 1.0, 3.0, 7.0):
        _fail_new_task(core, now)
    assert core.services[SVC].primary.rollout_state == "IN_PROGRESS"
    assert _launched(core.reconcile(SVC, 15.0)) == ["t5"]


def test_a_task_that_was_healthy_does_not_count_against_the_deployment() -> None:
    core = _core(_plan(desired=1))
    (task_id,) = _running(core, 0.0)
    core.handle(ContainerExited(task_id, "web", 137), 50.0)
    assert core.services[SVC].primary.failed_tasks == 0
    assert core.failures(SVC) == 1  # but the service still backs off


def test_a_task_without_load_balancer_counts_as_steady_once_it_outlived_a_tick() -> None:
    core = _core(_plan(desired=1, load_balanced=False))
    _start(core, core.reconcile(SVC, 0.0), 0.0)
    core.reconcile(SVC, 0.5)  # its containers were polled and still ran
    core.handle(ContainerExited("t1", "web", 1), 1.0)
    assert core.services[SVC].primary.failed_tasks == 0
    _stop_fully(core, "t1", 1.0)
    _start(core, core.reconcile(SVC, 2.0), 2.0)
    core.handle(ContainerExited("t2", "web", 1), 2.0)  # before any tick: a failed launch
    assert core.services[SVC].primary.failed_tasks == 1


# ---------------------------------------------------------------- back-off


def test_back_off_doubles_up_to_30_seconds_and_resets_on_a_healthy_task() -> None:
    core = _core(_plan(desired=1, circuit_breaker=False))
    now = 0.0
    delays = []
    for _ in range(7):
        _fail_new_task(core, now)
        delays.append(core.retry_after(SVC) - now)
        assert core.reconcile(SVC, core.retry_after(SVC) - 0.01) == []
        now = core.retry_after(SVC)
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    (healthy,) = _running(core, now)
    assert core.failures(SVC) == 0
    core.handle(ContainerExited(healthy, "web", 1), now + 5)
    assert core.retry_after(SVC) == now + 5 + 1.0


def test_a_deployment_resets_the_back_off() -> None:
    core = _core(_plan(desired=1, circuit_breaker=False))
    _fail_new_task(core, 0.0)
    _fail_new_task(core, 1.0)
    assert core.retry_after(SVC) == 3.0
    core.handle(DeployRequested(SVC, V2), 1.5)
    assert core.retry_after(SVC) == 0.0 and core.failures(SVC) == 0
    assert _launched(core.reconcile(SVC, 1.5)) == ["t3"]


# ---------------------------------------------------------------- replacement


def test_a_non_essential_container_exit_is_recorded_and_the_task_kept() -> None:
    core = _core(_plan(desired=1))
    (task_id,) = _running(core, 0.0)
    assert core.handle(ContainerExited(task_id, "sidecar", 2), 5.0) == []
    assert core.tasks[0].exit_codes == {"sidecar": 2} and core.tasks[0].active
    assert core.handle(ContainerExited(task_id, "sidecar", 2), 6.0) == []  # once


def test_an_essential_container_exit_stops_the_task_without_drain_and_replaces_it() -> None:
    core = _core(_plan(desired=1))
    (task_id,) = _running(core, 0.0)
    core.settle(SVC, 0.0)
    assert core.handle(ContainerExited(task_id, "web", 3), 5.0) == [
        Record("task t1 container web exited with code 3"),
        StopTask("t1", (TG,), (("web", 10.0), ("sidecar", 4.0))),
    ]
    assert core.handle(ContainerExited(task_id, "sidecar", 0), 5.0) == []  # no longer active
    assert core.tasks[0].exit_codes == {"web": 3}
    assert core.reconcile(SVC, 5.5) == []  # backing off
    _stop_fully(core, task_id, 5.5)
    assert core.stopped[0].exit_codes == {"web": 3, "sidecar": 0}
    assert core.reconcile(SVC, 6.0) == [LaunchTask("t2", SVC, 1, "A", _ip("A", 4), None)]


@pytest.mark.parametrize(("seen_after", "stopped"), [(29.0, False), (30.0, True)])
def test_an_unhealthy_task_is_replaced_only_after_the_grace_period(
    seen_after: float, stopped: bool
) -> None:
    core = _core(_plan(desired=1, grace=60), time_scale=0.5)  # 30 s of grace
    actions = core.reconcile(SVC, 100.0)
    _start(core, actions, 100.0)
    result = _health(core, "t1", "unhealthy", 100.0 + seen_after)
    task = core.tasks[0]
    assert task.health_reason == "L7STS 500"
    if not stopped:
        assert result == [] and (task.last_status, task.health) == ("RUNNING", "unhealthy")
        assert core.reconcile(SVC, 100.0 + seen_after) == []  # ECS waits, too
        return
    assert result == [
        Record("task t1 failed its load balancer health checks"),
        StartDrain("t1", (TG,)),
    ]
    assert (task.last_status, task.health, task.stopped_reason) == (
        "DEACTIVATING",
        "draining",
        "Task failed ELB health checks",
    )
    assert core.services[SVC].primary.failed_tasks == 1


def test_the_worst_health_of_several_target_groups_counts() -> None:
    core = _core(_plan(desired=1))
    core.reconcile(SVC, 0.0)
    core.handle(TaskStarted("t1"), 0.0)
    targets = (ObservedTarget("healthy"), ObservedTarget("initial", "L4 pending"))
    core.handle(TargetHealthObserved("t1", targets), 1.0)
    assert (core.tasks[0].health, core.tasks[0].health_reason) == ("initial", "L4 pending")
    core.handle(TargetHealthObserved("t1", ()), 2.0)  # not known yet: unchanged
    assert core.tasks[0].health == "initial"


# ---------------------------------------------------------------- scaling


def test_scale_in_keeps_one_task_per_az_and_stops_the_newest() -> None:
    core = _core(_plan(desired=2))
    _stable(core, 0.0)
    assert core.handle(ScaleRequested(SVC, 6), 10.0) == [Record("service svc: desired count 6")]
    assert _running(core, 10.0) == ["t3", "t4", "t5", "t6"]
    assert sorted(t.az for t in core.tasks) == ["1a", "1a", "1a", "1b", "1b", "1b"]
    core.handle(ScaleRequested(SVC, 2), 20.0)
    actions = core.reconcile(SVC, 20.0)
    assert sorted(a.task_id for a in actions if isinstance(a, StartDrain)) == [
        "t3",
        "t4",
        "t5",
        "t6",
    ]
    assert len(actions) == 4
    kept = [t for t in core.tasks if t.active]
    assert [(t.id, t.az) for t in kept] == [("t1", "1a"), ("t2", "1b")]
    assert {t.stopped_reason for t in core.tasks if not t.active} == {
        "Scaling activity initiated by (deployment)"
    }


# ---------------------------------------------------------------- shutdown


def test_shutdown_stops_every_task_at_once_without_drain_or_removal() -> None:
    core = _core(_plan(desired=2))
    _stable(core)
    actions = core.handle(ShutdownRequested("Task stopped by local down"), 50.0)
    assert actions == [
        StopTask("t1", (), (("web", 10.0), ("sidecar", 4.0))),
        StopTask("t2", (), (("web", 10.0), ("sidecar", 4.0))),
    ]
    assert core.services[SVC].desired == 0
    assert core.handle(TaskStopped("t1", {"web": 143}), 51.0) == []
    assert core.tasks[0].last_status == "STOPPED" and core.tasks[0].exit_codes == {"web": 143}


def test_reports_about_a_task_already_gone_are_ignored() -> None:
    core = _core(_plan(desired=1))
    assert core.handle(DrainFinished("nope"), 0.0) == []
    assert core.handle(TaskDeprovisioned("nope"), 0.0) == []
