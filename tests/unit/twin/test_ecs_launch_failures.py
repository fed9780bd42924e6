"""The scheduler's effects layer when a launch fails, without root.

A launch on this machine can fail for reasons outside the twin's code (a host command, a
process that cannot start, a full subnet): the task is recorded as failed to start and
the service backs off. Anything else is a bug in the twin and must not be retried
quietly every few seconds, so it has to escape the tick.
"""

from __future__ import annotations

import threading
import time
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any, cast

import pytest

from fargate_api.twin.ecs.process_runtime import ProcessRuntime
from fargate_api.twin.ecs.scheduler import Scheduler
from fargate_api.twin.ecs.secrets import SecretResolver
from fargate_api.twin.ecs.task_runtime import TaskContext, TaskObservation
from fargate_api.twin.host.kernel import HostCommandError
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.model import Container, Service, Subnet, TaskDefinition, TwinPlan


def _plan() -> TwinPlan:
    subnet = Subnet(
        key="s/A", index=0, cidr=IPv4Network("10.0.0.0/28"), az="1a", route_table=None,
        public=False,
    )  # fmt: skip
    container = Container(
        name="web", image="img", command="sleep 60", environment={}, port=80, essential=True,
        stop_timeout=2, log=None,
    )  # fmt: skip
    definition = TaskDefinition(
        key="s/Task", family="task", cpu=None, memory=None, containers=(container,)
    )
    service = Service(
        key="s/Svc", name="svc", cluster="c", task_definition="s/Task", desired_count=1,
        subnets=("s/A",), security_groups=(), assign_public_ip=False, load_balancers=(),
        health_check_grace_period=0, minimum_healthy_percent=100, maximum_percent=200,
        circuit_breaker=True, rollback=True,
    )  # fmt: skip
    return TwinPlan(
        vpc="s/Vpc", vpc_cidr=IPv4Network("10.0.0.0/16"), subnets=(subnet,), route_tables=(),
        internet_gateway=None, nat_gateways=(), security_groups=(), load_balancers=(),
        target_groups=(), task_definitions=(definition,), services=(service,), log_groups=(),
    )  # fmt: skip


class _Network:
    """Stands in for the namespaces: attaching the ENI raises what the test says."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error
        self.detached: list[str] = []

    def attach_eni(self, netns: str, subnet: Subnet, ip: IPv4Address) -> None:
        if self.error is not None:
            raise self.error

    def detach_eni(self, netns: str) -> None:
        self.detached.append(netns)


class _Groups:
    def add(self, netns: str, ip: IPv4Address, groups: tuple[str, ...]) -> None:
        pass

    def remove(self, netns: str) -> None:
        pass


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _scheduler(
    tmp_path: Path, error: BaseException | None, clock: _Clock, logs_dir: Path | None = None
) -> tuple[Scheduler, _Network]:
    network = _Network(error)
    scheduler = Scheduler(
        names=TwinNames("unit", state_root=tmp_path),
        plan=_plan(),
        network=cast(Any, network),
        groups=cast(Any, _Groups()),
        balancers=cast(Any, object()),
        runtime=ProcessRuntime(
            TwinNames("unit", state_root=tmp_path),
            logs_dir or tmp_path,
            secrets=SecretResolver({}),
            clock=clock,
        ),
        time_scale=1.0,
        used_ips={},
        clock=clock,
    )
    return scheduler, network


@pytest.mark.parametrize("bug", [TypeError("a bug in the twin"), KeyError("a bug in the twin")])
def test_a_programming_error_during_a_launch_escapes_the_tick(
    tmp_path: Path, bug: Exception
) -> None:
    scheduler, _ = _scheduler(tmp_path, bug, _Clock())
    with pytest.raises(type(bug), match="a bug in the twin"):
        scheduler.tick()
    assert not any("failed to start" in e for e in scheduler.events)


def test_a_failing_host_command_is_a_task_that_failed_to_start_and_backs_off(
    tmp_path: Path,
) -> None:
    failure = HostCommandError(["ip", "link", "add"], 2, "RTNETLINK answers: File exists")
    clock = _Clock()
    scheduler, network = _scheduler(tmp_path, failure, clock)
    scheduler.tick()  # does not raise
    assert scheduler.tasks == []
    assert [t.stopped_reason for t in scheduler.stopped] == [f"Task failed to start: {failure}"]
    assert network.detached == [scheduler.names.task(scheduler.stopped[0].id)]
    assert [e.split(" ", 1)[1] for e in scheduler.events] == [
        f"task {scheduler.stopped[0].id[:8]} failed to start: {failure}",
        f"stopped task {scheduler.stopped[0].id[:8]}: Task failed to start: {failure}",
    ]
    clock.now += 0.9
    scheduler.tick()
    assert len(scheduler.stopped) == 1  # backing off for 1 s, by the injected clock
    clock.now += 0.1
    scheduler.tick()
    assert len(scheduler.stopped) == 2


def test_a_log_directory_that_cannot_be_made_is_a_task_that_failed_to_start(
    tmp_path: Path,
) -> None:
    not_a_directory = tmp_path / "logs"
    not_a_directory.write_text("")
    scheduler, network = _scheduler(tmp_path, None, _Clock(), logs_dir=not_a_directory)
    scheduler.tick()
    scheduler.wait_for_starts()  # the containers start off the tick, on their own thread
    assert scheduler.tasks == []
    (stopped,) = scheduler.stopped
    assert network.detached == [scheduler.names.task(stopped.id)]  # its ENI went too
    (stopped,) = scheduler.stopped
    assert stopped.stopped_reason.startswith("Task failed to start: [Errno 20] Not a directory")


class _GatedRuntime:
    """Starts a task only when the test says so, to catch a stop during a start."""

    kind = "process"

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.removed: list[str] = []
        self.stopped: list[str] = []

    def refresh(self) -> None:
        pass

    def start(self, context: TaskContext, definition: TaskDefinition) -> Any:
        self.gate.wait(5)
        runtime = self

        class Running:
            credentials_id = "c"

            def observe(self, now: float) -> TaskObservation:
                return TaskObservation()

            def stop(self, timeouts: Any) -> dict[str, int]:
                runtime.stopped.append(context.task_id)
                return {"web": 143}

            def remove(self) -> None:
                runtime.removed.append(context.task_id)

            def containers(self) -> list[Any]:
                return []

        return Running()

    def close(self) -> None:
        pass


def test_a_task_stopped_while_its_containers_start_is_stopped_and_removed_after(
    tmp_path: Path,
) -> None:
    runtime = _GatedRuntime()
    scheduler = Scheduler(
        names=TwinNames("unit", state_root=tmp_path),
        plan=_plan(),
        network=cast(Any, _Network(None)),
        groups=cast(Any, _Groups()),
        balancers=cast(Any, object()),
        runtime=cast(Any, runtime),
        time_scale=1.0,
        used_ips={},
        clock=_Clock(),
    )
    scheduler.tick()
    (task,) = scheduler.tasks
    assert task.last_status == "PROVISIONING" and task.eni_attached  # the start waits
    stopper = threading.Thread(target=scheduler.stop_all, args=("down",))
    stopper.start()
    time.sleep(0.1)
    assert stopper.is_alive() and runtime.stopped == []  # the stop waits for the start
    runtime.gate.set()
    stopper.join(5)
    assert not stopper.is_alive()
    assert runtime.stopped == [task.id]
    assert task.last_status == "STOPPED" and task.exit_codes == {"web": 143}
