"""The ECS scheduler's effects: carries out the decisions of service_scheduler.py on
this machine and reports back what it observed.

Actions become ENIs (ec2/vpc.py), security group rules (ec2/security_groups.py),
targets in HAProxy (elbv2/load_balancers.py) and containers, run by a task runtime
(podman, or local processes: task_runtime.py); container exits, containers that cannot
start, container health and target health become events. The clock is read
here and handed to the decisions, so they can be tested with made-up times.

Drains and container stops run on their own threads, because a drain takes as long as
the deregistration delay says and a stop up to the stopTimeout; every call into the
decisions holds one lock, so those threads and the daemon's tick never interleave.

A launch fails, and is retried after a back-off, only for what can go wrong on the
host or in ECS's own launch: a kernel command, a container that cannot start, a secret
that cannot be resolved, HAProxy's runtime API. Any other
exception is a bug in the twin and propagates, instead of being retried for ever.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import assert_never

from fargate_api.twin.ec2.security_groups import SecurityGroups
from fargate_api.twin.ec2.vpc import Network
from fargate_api.twin.ecs.actions import (
    Action,
    Deprovision,
    LaunchTask,
    PublishState,
    Record,
    RegisterTargets,
    ShiftTraffic,
    StartDrain,
    StopTask,
)
from fargate_api.twin.ecs.events import (
    AlarmStateChanged,
    AzImpaired,
    AzRecovered,
    ContainerCannotStart,
    ContainerExited,
    ContainerHealthObserved,
    DeployRequested,
    DrainFinished,
    EniAttached,
    Event,
    LaunchFailed,
    ObservedTarget,
    RollbackRequested,
    ScaleRequested,
    ShutdownRequested,
    StopTaskRequested,
    TargetHealthObserved,
    TargetsRegistered,
    TaskDeprovisioned,
    TaskStarted,
    TaskStopped,
)
from fargate_api.twin.ecs.service_scheduler import ServiceScheduler
from fargate_api.twin.ecs.service_state import AlarmState, ServiceState, TaskRecord
from fargate_api.twin.ecs.task_process import TaskProcessError
from fargate_api.twin.ecs.task_runtime import (
    RunningTask,
    TaskContext,
    TaskLaunchError,
    TaskRuntime,
)
from fargate_api.twin.elbv2.haproxy_runtime import HaproxyRuntimeError
from fargate_api.twin.elbv2.load_balancers import LoadBalancers
from fargate_api.twin.host.kernel import HostCommandError
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.model import TaskDefinition, TwinPlan

# What a launch can really meet on this machine (OSError: e.g. the log directory).
LAUNCH_FAILURES: tuple[type[Exception], ...] = (
    HostCommandError,
    TaskProcessError,
    TaskLaunchError,
    HaproxyRuntimeError,
    OSError,
)
EVENT_HISTORY = 50
STARTS_AT_ONCE = 4  # container starts in flight: podman waits on runc more than on CPU


class Scheduler:
    def __init__(
        self,
        *,
        names: TwinNames,
        plan: TwinPlan,
        network: Network,
        groups: SecurityGroups,
        balancers: LoadBalancers,
        runtime: TaskRuntime,
        time_scale: float,
        used_ips: dict[str, set[IPv4Address]],
        region: str = "us-east-1",
        dns_server: IPv4Address | None = None,
        on_change: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.names = names
        self.plan = plan
        self.network = network
        self.groups = groups
        self.balancers = balancers
        self.runtime = runtime
        self.region = region
        self.dns_server = dns_server
        self.on_change = on_change
        self.clock = clock
        self.core = ServiceScheduler(plan, time_scale=time_scale, used_ips=used_ips)
        self.events: list[str] = []
        self._lock = threading.RLock()
        self._threads: list[threading.Thread] = []
        self._running: dict[str, RunningTask] = {}  # task id -> its containers
        self._starting: dict[str, threading.Event] = {}  # set once the start is over
        self._start_slots = threading.BoundedSemaphore(STARTS_AT_ONCE)
        self._crash: BaseException | None = None

    # ------------------------------------------------------------ state, for status
    @property
    def tasks(self) -> list[TaskRecord]:
        return self.core.tasks

    @property
    def stopped(self) -> list[TaskRecord]:
        return self.core.stopped

    @property
    def services(self) -> dict[str, ServiceState]:
        return self.core.services

    # ------------------------------------------------------------ commands
    def deploy(self, service_key: str, definition: TaskDefinition, desired: int | None) -> int:
        """UpdateService with a new task definition: a new PRIMARY deployment."""
        with self._lock:
            self._apply(DeployRequested(service_key, definition, desired))
            return self.core.services[service_key].revision

    def scale(self, service_key: str, desired: int) -> None:
        with self._lock:
            self._apply(ScaleRequested(service_key, desired))

    def rollback(self, service_key: str) -> None:
        """StopServiceDeployment with ROLLBACK; DeploymentRefusedError when there is
        nothing to roll back (nothing changes then)."""
        with self._lock:
            self._apply(RollbackRequested(service_key))

    def alarm_changed(self, alarm: str, state: AlarmState, reason: str) -> None:
        with self._lock:
            self._apply(AlarmStateChanged(alarm, state, reason))

    def impair_az(self, az: str, reason: str) -> None:
        """The AZ lost power: its tasks stop now, replacements go to the other AZs."""
        with self._lock:
            self._apply(AzImpaired(az, reason))

    def recover_az(self, az: str) -> None:
        with self._lock:
            self._apply(AzRecovered(az))

    def stop_task(self, task_id: str, reason: str) -> None:
        """ECS's StopTask; a task that is gone or already stopping is left alone."""
        with self._lock:
            self._apply(StopTaskRequested(task_id, reason))

    def running(self, task_id: str) -> RunningTask | None:
        return self._running.get(task_id)

    def tick(self) -> None:
        with self._lock:
            if self._crash is not None:
                raise self._crash
            self.runtime.refresh()
            for key in self.core.services:
                for event in self._observe(key):
                    self._apply(event)
                self._run(self.core.reconcile(key, self.clock()))
                self._run(self.core.settle(key, self.clock()))

    def stop_all(self, reason: str) -> None:
        """`local down`: no drain (nothing is serving anymore), but a clean SIGTERM to every
        task at once; the namespaces and HAProxy are removed in one sweep afterwards."""
        with self._lock:
            self._apply(ShutdownRequested(reason))
        while True:  # a drain that was under way starts a stop thread when it ends
            with self._lock:
                if not self._threads:
                    return
                thread = self._threads.pop()
            thread.join()

    def wait_for_starts(self) -> None:
        """Returns once no container start is in flight (tests; `stop_all` joins all)."""
        while True:
            with self._lock:
                pending = list(self._starting.values())
            if not pending:
                return
            for started in pending:
                started.wait()

    def event(self, text: str) -> None:
        self.events = [*self.events, f"{time.strftime('%H:%M:%S')} {text}"][-EVENT_HISTORY:]

    # ------------------------------------------------------------ observe
    def _observe(self, service_key: str) -> list[Event]:
        state = self.core.services[service_key]
        active = [t for t in self.core.tasks if t.service == service_key and t.active]
        bindings = state.service.load_balancers
        # With traffic shifting, a service's tasks sit in either of two target groups.
        groups = {g for t in active for g in t.target_groups}
        targets = {group: self.balancers.states(group) for group in sorted(groups)}
        events: list[Event] = []
        now = self.clock()
        for task in active:
            running = self._running.get(task.id)
            if running is not None:
                seen = running.observe(now)
                if task.last_status == "PROVISIONING" and seen.essentials_started:
                    events.append(TaskStarted(task.id))
                for exit_ in seen.exits:
                    if exit_.container not in task.exit_codes:
                        events.append(
                            ContainerExited(task.id, exit_.container, exit_.code, exit_.reason)
                        )
                for container, reason in seen.cannot_start:
                    if container not in task.container_reasons:
                        events.append(ContainerCannotStart(task.id, container, reason))
                # UNHEALTHY again on every tick, as target health is: within the grace
                # period it is only noted, and the first tick after it acts on it.
                if seen.health != task.container_health or seen.health == "UNHEALTHY":
                    events.append(ContainerHealthObserved(task.id, seen.health))
            if bindings:
                known = [targets[group].get(task.id) for group in task.target_groups]
                observed = tuple(ObservedTarget(s.health, s.reason) for s in known if s)
                events.append(TargetHealthObserved(task.id, observed))
        return events

    # ------------------------------------------------------------ act
    def _apply(self, event: Event) -> None:
        self._run(self.core.handle(event, self.clock()))

    def _run(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case Record(text=text):
                    self.event(text)
                case PublishState():
                    self.on_change()
                case LaunchTask():
                    self._launch(action)
                case RegisterTargets():
                    self._register(action)
                case StartDrain() | StopTask():
                    self._in_background(action)
                case Deprovision():
                    self._deprovision(action)
                case ShiftTraffic(rule=rule, weights=weights):
                    self.balancers.set_forward_weights(rule, dict(weights))
                    shares = ", ".join(f"{group} {weight}" for group, weight in weights)
                    self.event(f"listener rule {rule}: weights {shares}")
                case _:
                    assert_never(action)

    def _launch(self, action: LaunchTask) -> None:
        """The ENI here, under the lock (addresses and security group members are shared
        state); the containers on a thread of their own, at most STARTS_AT_ONCE at a time,
        because a `podman run` takes a good part of a second and 50 of them one after the
        other would keep a service from its desired count for half a minute."""
        task = self.core.task(action.task_id)
        if task is None or task.last_status != "PROVISIONING":
            return  # dropped when an earlier launch of this round failed
        state = self.core.services[action.service]
        netns = self.names.task(task.id)
        try:
            self.network.attach_eni(netns, self.plan.subnet(action.subnet), action.ip)
            self.groups.add(netns, action.ip, state.service.security_groups)
            if action.public_ip is not None:
                self.network.map_public_ip(action.public_ip, action.ip)
        except LAUNCH_FAILURES as exc:
            self._apply(LaunchFailed(task.id, str(exc)))
            return
        self._apply(EniAttached(task.id))
        definition = state.definitions[action.revision]
        context = TaskContext(
            task_id=task.id,
            family=definition.family,
            revision=action.revision,
            cluster=state.service.cluster,
            netns=netns,
            private_ip=action.ip,
            subnet_cidr=self.plan.subnet(action.subnet).cidr,
            az=task.az,
            region=self.region,
            dns_server=self.dns_server,
        )
        started = threading.Event()
        self._starting[task.id] = started
        self._thread(self._start_containers, context, definition, started)

    def _start_containers(
        self, context: TaskContext, definition: TaskDefinition, started: threading.Event
    ) -> None:
        """Runs outside the lock. A task stopped meanwhile gets its containers all the
        same, so that its stop (which waits for this) stops and removes them."""
        task_id = context.task_id
        try:
            with self._start_slots:
                running = self.runtime.start(context, definition)
        except LAUNCH_FAILURES as exc:
            with self._lock:
                self._starting.pop(task_id, None)
                started.set()
                self._apply(LaunchFailed(task_id, str(exc)))
            return
        except BaseException as exc:
            self._crash = exc  # a bug in the twin: the next tick raises it
            started.set()
            raise
        with self._lock:
            self._starting.pop(task_id, None)
            task = self.core.task(task_id)
            if task is not None:
                self._running[task_id] = running
                if running.observe(self.clock()).essentials_started:
                    self._apply(TaskStarted(task_id))
                # else: a tick reports TaskStarted once its dependencies let them start
            started.set()
        if task is None:  # deprovisioned while starting: nothing will stop it but us
            running.remove()

    def _register(self, action: RegisterTargets) -> None:
        try:
            for target in action.targets:
                self.balancers.register(target.target_group, action.task_id, target.ip, target.port)
        except LAUNCH_FAILURES as exc:
            self._apply(LaunchFailed(action.task_id, str(exc)))
            return
        self._apply(TargetsRegistered(action.task_id))

    def _deprovision(self, action: Deprovision) -> None:
        task = self.core.task(action.task_id)
        if task is None:
            return
        netns = self.names.task(task.id)
        running = self._running.pop(task.id, None)
        try:
            if running is not None:
                running.remove()
            self.groups.remove(netns)
            if task.public_ip is not None:
                self.network.unmap_public_ip(task.public_ip, task.ip)
            self.network.detach_eni(netns)
        finally:
            self._apply(TaskDeprovisioned(task.id))

    # ------------------------------------------------------------ the slow parts
    def _in_background(self, action: StartDrain | StopTask) -> None:
        self._thread(self._slowly, action)

    def _thread(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads[:] = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _slowly(self, action: StartDrain | StopTask) -> None:
        """Runs outside the lock; whatever happens, the task goes on to be removed."""
        try:
            event: Event = (
                self._drain(action) if isinstance(action, StartDrain) else self._stop(action)
            )
        except BaseException:
            with self._lock:
                self._apply(TaskStopped(action.task_id, {}))
            raise
        with self._lock:
            self._apply(event)

    def _drain(self, action: StartDrain) -> DrainFinished:
        for target_group in action.target_groups:
            self.balancers.drain(target_group, action.task_id)
        time.sleep(
            max(
                self.balancers.target_groups[group].deregistration_delay
                for group in action.target_groups
            )
        )
        return DrainFinished(action.task_id)

    def _stop(self, action: StopTask) -> TaskStopped:
        for target_group in action.deregister:
            self.balancers.deregister(target_group, action.task_id)
        starting = self._starting.get(action.task_id)
        if starting is not None:
            starting.wait()  # stop what the start is about to leave running
        running = self._running.get(action.task_id)
        codes = running.stop(action.timeouts) if running is not None else {}
        return TaskStopped(action.task_id, codes)
