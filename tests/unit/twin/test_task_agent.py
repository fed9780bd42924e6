"""The task agent with a fake driver: start order, health probes, exits, stop order.

The driver stands in for podman or local processes; the health probes run synchronously
(a pool whose `submit` runs the probe at once and hands back a done Future), so each
`observe(now)` is one tick of the scheduler with made-up times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future

import pytest

from fargate_api.twin.ecs.task_agent import (
    OUT_OF_MEMORY,
    DriverState,
    HealthProbes,
    ProbeCall,
    TaskAgent,
)
from fargate_api.twin.ecs.task_runtime import (
    ContainerExit,
    ContainerView,
    TaskLaunchError,
    TaskObservation,
)
from fargate_api.twin.plan.model import (
    Container,
    ContainerDependency,
    ContainerHealthCheck,
    DependencyCondition,
    TaskDefinition,
)

PASS = ContainerHealthCheck(("CMD-SHELL", "true"), interval=10, timeout=5, retries=3)


def _container(
    name: str,
    *deps: tuple[str, DependencyCondition],
    check: ContainerHealthCheck | None = None,
    essential: bool = True,
) -> Container:
    return Container(
        name=name,
        image=f"example/{name}:1",
        command=None,
        environment={},
        port=None,
        essential=essential,
        stop_timeout=30,
        log=None,
        health_check=check,
        depends_on=tuple(ContainerDependency(n, c) for n, c in deps),
    )


class _SyncPool:
    """HealthProbes' pool, run on the caller's thread: every Future is done at once."""

    def __init__(self) -> None:
        self.submitted = 0

    def submit(self, fn: Callable[[], bool]) -> Future[bool]:
        self.submitted += 1
        future: Future[bool] = Future()
        future.set_result(fn())
        return future


class _Driver:
    """A runtime that does what the test says and remembers what it was asked."""

    def __init__(self) -> None:
        self.now = 0.0  # set by the test before each tick: when a probe ran
        self.started: list[tuple[str, str]] = []  # (container, metadata id)
        self.states: dict[str, DriverState] = {}
        self.start_errors: dict[str, str] = {}
        self.probe_ok: dict[str, bool] = {}  # default: the probe passes
        self.probe_errors: set[str] = set()
        self.probed: list[tuple[str, float]] = []
        self.oom: set[str] = set()
        self.memory_asked: list[str] = []
        self.stopped: list[tuple[str, float]] = []
        self.stop_codes: dict[str, int | None] = {}
        self.state_reads = 0
        self.removed = 0

    def start(self, container: Container, metadata_id: str) -> None:
        if container.name in self.start_errors:
            raise TaskLaunchError(self.start_errors[container.name])
        self.started.append((container.name, metadata_id))
        self.states[container.name] = DriverState(running=True, exit_code=None)

    def state(self, container: Container) -> DriverState | None:
        self.state_reads += 1
        return self.states.get(container.name)

    def probe(self, container: Container, check: ContainerHealthCheck) -> bool:
        self.probed.append((container.name, self.now))
        if container.name in self.probe_errors:
            raise RuntimeError("podman exec failed")
        return self.probe_ok.get(container.name, True)

    def memory_killed(self, container: Container) -> bool:
        self.memory_asked.append(container.name)
        return container.name in self.oom

    def stop(self, container: Container, timeout: float) -> int | None:
        self.stopped.append((container.name, timeout))
        return self.stop_codes.get(container.name, 0)

    def remove(self) -> None:
        self.removed += 1

    def runtime_id(self, container: Container) -> str:
        return f"rt-{container.name}"

    def exit(self, name: str, code: int) -> None:
        self.states[name] = DriverState(running=False, exit_code=code)

    def names_started(self) -> list[str]:
        return [name for name, _ in self.started]


def _agent(
    *containers: Container, driver: _Driver | None = None, time_scale: float = 1.0
) -> tuple[TaskAgent, _Driver, _SyncPool]:
    definition = TaskDefinition(
        key="s/Task", family="app", cpu="256", memory="512", containers=containers
    )
    probes = HealthProbes(workers=1)
    probes.close()  # its threads are never used: the probes run synchronously
    pool = _SyncPool()
    probes._pool = pool  # type: ignore[assignment]
    driver = driver or _Driver()
    agent = TaskAgent(definition, driver, probes, started_at=0.0, time_scale=time_scale)
    return agent, driver, pool


def _tick(agent: TaskAgent, driver: _Driver, now: float) -> TaskObservation:
    driver.now = now
    return agent.observe(now)


def _ticks(agent: TaskAgent, driver: _Driver, times: Iterable[float]) -> list[TaskObservation]:
    return [_tick(agent, driver, t) for t in times]


# ---------------------------------------------------------------- start


def test_containers_without_dependencies_start_at_once_with_their_metadata_ids() -> None:
    agent, driver, _ = _agent(
        _container("db"), _container("cache"), _container("app", ("db", "START"))
    )
    agent.start_ready(0.0, launching=True)
    assert driver.started == [
        ("db", agent.metadata_ids["db"]),
        ("cache", agent.metadata_ids["cache"]),
    ]
    assert _tick(agent, driver, 1.0) == TaskObservation()
    assert driver.names_started() == ["db", "cache", "app"]  # START: db runs, app follows
    assert driver.started[2] == ("app", agent.metadata_ids["app"])
    assert len(set(agent.metadata_ids.values())) == 3
    assert all(len(i) == 32 for i in agent.metadata_ids.values())


def test_a_credentials_id_is_kept_or_made_up() -> None:
    definition = TaskDefinition(key="k", family="f", cpu=None, memory=None, containers=())
    probes = HealthProbes(workers=1)
    probes.close()
    given = TaskAgent(definition, _Driver(), probes, started_at=0.0, credentials_id="c-1234567")
    made = TaskAgent(definition, _Driver(), probes, started_at=0.0)
    other = TaskAgent(definition, _Driver(), probes, started_at=0.0)
    assert given.credentials_id == "c-1234567"
    assert len(made.credentials_id) == 32 and made.credentials_id != other.credentials_id


def test_a_healthy_dependency_starts_its_dependent_only_after_its_probe_passed() -> None:
    agent, driver, pool = _agent(_container("db", check=PASS), _container("app", ("db", "HEALTHY")))
    agent.start_ready(0.0, launching=True)
    assert driver.names_started() == ["db"]
    _ticks(agent, driver, [1.0, 5.0, 9.9])
    assert (driver.names_started(), driver.probed) == (["db"], [])  # before one interval
    _tick(agent, driver, 10.0)  # the first probe runs, one interval after the start
    assert driver.probed == [("db", 10.0)]
    assert driver.names_started() == ["db"]  # its result is read on the next tick
    assert agent.containers()[0].health == "UNKNOWN"  # ECS's word until the first verdict
    observation = _tick(agent, driver, 11.0)
    assert driver.names_started() == ["db", "app"]
    assert observation == TaskObservation(health="HEALTHY")
    assert agent.containers()[0].health == "HEALTHY"
    assert pool.submitted == 1
    _tick(agent, driver, 20.9)
    assert len(driver.probed) == 1  # the next probe is one interval after the last finished
    _tick(agent, driver, 21.0)
    assert driver.probed == [("db", 10.0), ("db", 21.0)]


def test_an_unhealthy_dependency_never_starts_its_dependent() -> None:
    check = ContainerHealthCheck(("CMD", "false"), interval=1, timeout=1, retries=1)
    agent, driver, _ = _agent(_container("db", check=check), _container("app", ("db", "HEALTHY")))
    driver.probe_ok["db"] = False
    agent.start_ready(0.0, launching=True)
    observations = _ticks(agent, driver, [1.0, 2.0])
    assert observations[-1] == TaskObservation(
        cannot_start=(
            (
                "app",
                "CannotStartContainerError: dependency 'db' of container 'app' is unhealthy "
                "(condition HEALTHY)",
            ),
        ),
        health="UNHEALTHY",
        essentials_started=False,  # app never started: the task never became RUNNING
    )
    assert driver.names_started() == ["db"]


def test_a_success_dependency_that_exits_1_means_its_dependent_cannot_start() -> None:
    agent, driver, _ = _agent(
        _container("migrate", essential=False), _container("app", ("migrate", "SUCCESS"))
    )
    agent.start_ready(0.0, launching=True)
    # still running: app waits, and with it the task (PENDING on ECS)
    assert _tick(agent, driver, 1.0) == TaskObservation(essentials_started=False)
    driver.exit("migrate", 1)
    observation = _tick(agent, driver, 2.0)
    reason = (
        "CannotStartContainerError: dependency 'migrate' of container 'app' exited with code 1 "
        "(condition SUCCESS)"
    )
    assert observation == TaskObservation(
        exits=(ContainerExit("migrate", 1, ""),),
        cannot_start=(("app", reason),),
        essentials_started=False,
    )
    assert driver.names_started() == ["migrate"]
    assert _tick(agent, driver, 3.0) == observation  # reported again, unchanged


def test_a_success_dependency_that_exits_0_starts_its_dependent() -> None:
    agent, driver, _ = _agent(
        _container("migrate", essential=False), _container("app", ("migrate", "SUCCESS"))
    )
    agent.start_ready(0.0, launching=True)
    driver.exit("migrate", 0)
    assert _tick(agent, driver, 1.0) == TaskObservation(exits=(ContainerExit("migrate", 0, ""),))
    assert driver.names_started() == ["migrate", "app"]


def test_a_failed_start_at_launch_fails_the_whole_task() -> None:
    agent, driver, _ = _agent(_container("db"), _container("app"))
    driver.start_errors["app"] = "CannotPullContainerError: no such image example/app:1"
    with pytest.raises(TaskLaunchError, match=r"^CannotPullContainerError: no such image"):
        agent.start_ready(0.0, launching=True)
    assert driver.names_started() == ["db"]


def test_a_failed_start_after_launch_is_a_container_that_cannot_start() -> None:
    agent, driver, _ = _agent(
        _container("db"),
        _container("app", ("db", "START")),
        _container("proxy", ("app", "START")),
    )
    reason = "CannotStartContainerError: exec: /bin/app: no such file"
    driver.start_errors["app"] = reason
    agent.start_ready(0.0, launching=True)
    observation = _tick(agent, driver, 1.0)  # app is tried here and fails: no exception
    assert observation.cannot_start == (("app", reason),)
    observation = _tick(agent, driver, 2.0)  # and proxy, behind it, can never start
    assert observation.cannot_start == (
        ("app", reason),
        (
            "proxy",
            "CannotStartContainerError: dependency 'app' of container 'proxy' could not be "
            "started (condition START)",
        ),
    )
    assert driver.names_started() == ["db"]


def test_a_failed_start_of_the_second_of_two_ready_containers_is_reported() -> None:
    agent, driver, _ = _agent(_container("db"), _container("app"))
    driver.start_errors["app"] = "CannotStartContainerError: port taken"
    agent.start_ready(0.0)
    assert driver.names_started() == ["db"]
    assert _tick(agent, driver, 1.0).cannot_start == (
        ("app", "CannotStartContainerError: port taken"),
    )
    assert driver.names_started() == ["db"]  # never tried again


# ---------------------------------------------------------------- exits


def test_an_exit_137_that_the_driver_calls_a_memory_kill_says_out_of_memory() -> None:
    agent, driver, _ = _agent(_container("app"))
    agent.start_ready(0.0, launching=True)
    driver.oom.add("app")
    driver.exit("app", 137)
    assert _tick(agent, driver, 1.0).exits == (ContainerExit("app", 137, OUT_OF_MEMORY),)
    assert OUT_OF_MEMORY == "OutOfMemoryError: Container killed due to memory usage"
    assert agent.containers()[0].reason == OUT_OF_MEMORY


def test_an_exit_137_without_a_memory_kill_has_no_reason() -> None:
    agent, driver, _ = _agent(_container("app"))
    agent.start_ready(0.0, launching=True)
    driver.exit("app", 137)
    assert _tick(agent, driver, 1.0).exits == (ContainerExit("app", 137, ""),)
    assert driver.memory_asked == ["app"]


def test_another_exit_code_never_asks_about_memory() -> None:
    agent, driver, _ = _agent(_container("app"))
    agent.start_ready(0.0, launching=True)
    driver.oom.add("app")
    driver.exit("app", 1)
    assert _tick(agent, driver, 1.0).exits == (ContainerExit("app", 1, ""),)
    assert driver.memory_asked == []


def test_an_exit_is_read_once_and_then_no_longer_watched() -> None:
    agent, driver, _ = _agent(_container("app"))
    agent.start_ready(0.0, launching=True)
    driver.exit("app", 2)
    _tick(agent, driver, 1.0)
    reads = driver.state_reads
    driver.exit("app", 9)  # whatever the runtime says later
    assert _tick(agent, driver, 2.0).exits == (ContainerExit("app", 2, ""),)
    assert driver.state_reads == reads


# ---------------------------------------------------------------- task health

FAILING = ContainerHealthCheck(("CMD", "false"), interval=10, timeout=5, retries=3)


def test_retries_failed_probes_of_an_essential_container_make_the_task_unhealthy() -> None:
    agent, driver, _ = _agent(_container("app", check=FAILING))
    driver.probe_ok["app"] = False
    agent.start_ready(0.0, launching=True)
    healths = [o.health for o in _ticks(agent, driver, range(1, 33))]
    assert set(healths) == {"UNKNOWN"}  # two failures so far
    assert driver.probed == [("app", 10), ("app", 21), ("app", 32)]
    assert _tick(agent, driver, 33).health == "UNHEALTHY"  # the third one read
    assert agent.containers()[0].health == "UNHEALTHY"


def test_a_probe_that_cannot_run_counts_as_failed() -> None:
    agent, driver, _ = _agent(_container("app", check=FAILING))
    driver.probe_errors.add("app")
    agent.start_ready(0.0, launching=True)
    assert _ticks(agent, driver, range(1, 34))[-1].health == "UNHEALTHY"
    assert ProbeCall(driver, _container("app"), FAILING).run() is False


def test_a_failing_non_essential_container_leaves_the_task_healthy() -> None:
    agent, driver, _ = _agent(
        _container("app", check=PASS), _container("sidecar", check=FAILING, essential=False)
    )
    driver.probe_ok["sidecar"] = False
    agent.start_ready(0.0, launching=True)
    observation = _ticks(agent, driver, range(1, 40))[-1]
    assert observation.health == "HEALTHY"
    views = {v.name: v.health for v in agent.containers()}
    assert views == {"app": "HEALTHY", "sidecar": "UNHEALTHY"}


def test_a_non_essential_check_alone_never_makes_the_task_unhealthy() -> None:
    agent, driver, _ = _agent(
        _container("app"), _container("sidecar", check=FAILING, essential=False)
    )
    driver.probe_ok["sidecar"] = False
    agent.start_ready(0.0, launching=True)
    assert {o.health for o in _ticks(agent, driver, range(1, 40))} == {"UNKNOWN"}
    assert len(driver.probed) == 3


@pytest.mark.parametrize(
    ("time_scale", "probes", "unhealthy_at"),
    [
        (1.0, [30.0, 61.0, 92.0, 123.0], 124.0),  # the start period of 100 s forgives 3
        (0.1, [3.0, 7.0, 11.0], 12.0),  # interval 3 s, start period 10 s
    ],
)
def test_the_time_scale_shortens_the_interval_and_the_start_period(
    time_scale: float, probes: list[float], unhealthy_at: float
) -> None:
    check = ContainerHealthCheck(
        ("CMD", "false"), interval=30, timeout=5, retries=1, start_period=100
    )
    agent, driver, _ = _agent(_container("app", check=check), time_scale=time_scale)
    driver.probe_ok["app"] = False
    agent.start_ready(0.0, launching=True)
    times = [float(t) for t in range(1, int(unhealthy_at))]
    assert {o.health for o in _ticks(agent, driver, times)} == {"UNKNOWN"}
    assert _tick(agent, driver, unhealthy_at).health == "UNHEALTHY"
    assert driver.probed == [("app", t) for t in probes]


def test_a_scaled_interval_is_never_below_a_second() -> None:
    check = ContainerHealthCheck(("CMD", "true"), interval=5, timeout=2, retries=1)
    agent, driver, _ = _agent(_container("app", check=check), time_scale=0.01)
    agent.start_ready(0.0, launching=True)
    _ticks(agent, driver, [0.5, 1.0, 1.5, 2.0])
    assert driver.probed == [("app", 1.0)]


# ---------------------------------------------------------------- stop


def test_stop_stops_dependents_first_and_only_started_containers() -> None:
    agent, driver, _ = _agent(
        _container("db"),
        _container("app", ("db", "START")),
        _container("proxy", ("app", "HEALTHY")),  # app has no check: never starts
        _container("cache"),
    )
    agent.start_ready(0.0, launching=True)
    _tick(agent, driver, 1.0)
    assert driver.names_started() == ["db", "cache", "app"]
    driver.stop_codes = {"app": 143, "db": None, "cache": 0}
    timeouts = (("db", 5.0), ("app", 3.0), ("proxy", 2.0), ("cache", 1.0))
    codes = agent.stop(timeouts)
    # app (which depends on db) first; then db and cache, which are stopped together
    assert driver.stopped[0] == ("app", 3.0)
    assert sorted(driver.stopped[1:]) == [("cache", 1.0), ("db", 5.0)]
    assert codes == {"app": 143, "cache": 0}  # db's code is not known
    reads = driver.state_reads
    # stopping: nothing more is watched (proxy, essential, never started)
    assert _tick(agent, driver, 2.0) == TaskObservation(essentials_started=False)
    assert driver.state_reads == reads
    assert driver.names_started() == ["db", "cache", "app"]
    agent.remove()
    assert driver.removed == 1


def test_stop_skips_containers_without_a_timeout() -> None:
    agent, driver, _ = _agent(_container("db"), _container("app", ("db", "START")))
    agent.start_ready(0.0, launching=True)
    _tick(agent, driver, 1.0)
    assert agent.stop((("db", 4.0),)) == {"db": 0}
    assert driver.stopped == [("db", 4.0)]


# ---------------------------------------------------------------- views


def test_container_views_show_pending_running_and_stopped() -> None:
    agent, driver, _ = _agent(
        _container("db", check=PASS),
        _container("migrate", essential=False),
        _container("app", ("migrate", "SUCCESS")),
        _container("web", ("db", "HEALTHY")),
    )
    agent.start_ready(0.0, launching=True)
    driver.exit("migrate", 3)
    _tick(agent, driver, 1.0)
    ids = agent.metadata_ids
    reason = (
        "CannotStartContainerError: dependency 'migrate' of container 'app' exited with code 3 "
        "(condition SUCCESS)"
    )
    assert agent.containers() == [
        ContainerView(
            name="db", runtime_id="rt-db", image="example/db:1", last_status="RUNNING",
            health="UNKNOWN", exit_code=None, reason="", essential=True,
            metadata_id=ids["db"],
        ),
        ContainerView(
            name="migrate", runtime_id="rt-migrate", image="example/migrate:1",
            last_status="STOPPED", health="UNKNOWN", exit_code=3, reason="", essential=False,
            metadata_id=ids["migrate"],
        ),
        ContainerView(
            name="app", runtime_id="rt-app", image="example/app:1", last_status="PENDING",
            health="UNKNOWN", exit_code=None, reason=reason, essential=True,
            metadata_id=ids["app"],
        ),
        ContainerView(
            name="web", runtime_id="rt-web", image="example/web:1", last_status="PENDING",
            health="UNKNOWN", exit_code=None, reason="", essential=True,
            metadata_id=ids["web"],
        ),
    ]  # fmt: skip
    assert len({v.metadata_id for v in agent.containers()}) == 4
