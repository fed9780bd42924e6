"""The ECS service scheduler, as the twin runs it: launch, watch, replace, stop, deploy.

It follows ECS's documented behaviour for a service behind a load balancer:
* tasks are spread across the service's AZs, then subnets (ECS's default AZ balancing);
* a task is registered with its target groups once it runs, and counts as healthy only
  when the load balancer says so;
* a task whose essential container exits is replaced; one that the load balancer reports
  unhealthy is stopped and replaced, but not before the health check grace period;
* stopping a task first drains its targets for the deregistration delay, then sends
  SIGTERM, waits the container's stopTimeout and sends SIGKILL;
* a new task definition revision rolls out as a PRIMARY deployment beside the ACTIVE
  one, within minimumHealthyPercent and maximumPercent (rollout.py); the deployment
  circuit breaker fails it after ECS's threshold of failed tasks and, with rollback,
  goes back to the last completed revision.
Stops run on their own threads, because a drain takes as long as the delay says.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

from fargate_api.twin.addresses import (
    ECHO_HOST,
    ECHO_PORT,
    TASK_PUBLIC_FIRST,
    next_free,
    public_address,
)
from fargate_api.twin.load_balancer import LoadBalancers
from fargate_api.twin.model import Service, TaskDefinition, TwinPlan
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.network import Network
from fargate_api.twin.rollout import TaskView, failure_threshold, plan_step
from fargate_api.twin.security_groups import SecurityGroups
from fargate_api.twin.task_process import TaskProcess, log_stream_path

STOPPED_HISTORY = 20
MAX_BACKOFF = 30.0
_deployment_numbers = itertools.count(1)


@dataclass
class Task:
    id: str
    service: str
    revision: int
    definition: TaskDefinition
    subnet: str
    az: str
    ip: IPv4Address
    netns: str
    public_ip: IPv4Address | None
    started_at: float
    processes: dict[str, TaskProcess] = field(default_factory=dict)
    last_status: str = "PROVISIONING"  # RUNNING, DEACTIVATING, STOPPING, STOPPED
    health: str = "initial"
    health_reason: str = ""
    stopped_reason: str = ""
    exit_codes: dict[str, int] = field(default_factory=dict)
    was_healthy: bool = False

    @property
    def active(self) -> bool:
        return self.last_status in ("PROVISIONING", "RUNNING")


@dataclass
class Deployment:
    id: str
    revision: int
    status: str  # PRIMARY, ACTIVE, INACTIVE
    rollout_state: str  # IN_PROGRESS, COMPLETED, FAILED
    reason: str = ""
    failed_tasks: int = 0
    created_at: float = field(default_factory=time.time)


@dataclass
class ServiceState:
    service: Service
    desired: int
    definitions: dict[int, TaskDefinition]
    deployments: list[Deployment]

    @property
    def primary(self) -> Deployment:
        return self.deployments[0]

    @property
    def revision(self) -> int:
        return self.primary.revision


class Scheduler:
    def __init__(
        self,
        *,
        names: TwinNames,
        plan: TwinPlan,
        network: Network,
        groups: SecurityGroups,
        balancers: LoadBalancers,
        logs_dir: Path,
        time_scale: float,
        used_ips: dict[str, set[IPv4Address]],
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.names = names
        self.plan = plan
        self.network = network
        self.groups = groups
        self.balancers = balancers
        self.logs_dir = logs_dir
        self.time_scale = time_scale
        self.used_ips = used_ips
        self.on_change = on_change
        self.tasks: list[Task] = []
        self.stopped: list[Task] = []
        self.services: dict[str, ServiceState] = {
            s.key: ServiceState(
                service=s,
                desired=s.desired_count,
                definitions={1: plan.task_definition(s.task_definition)},
                deployments=[_deployment(1, "IN_PROGRESS")],
            )
            for s in plan.services
        }
        self.events: list[str] = []
        self._lock = threading.RLock()
        self._threads: list[threading.Thread] = []
        self._public_used = 0
        self._retry_after: dict[str, float] = {}
        self._shutting_down = False
        self._failures: Counter[str] = Counter()

    # ------------------------------------------------------------ commands
    def deploy(self, service_key: str, definition: TaskDefinition, desired: int | None) -> int:
        """UpdateService with a new task definition: a new PRIMARY deployment."""
        with self._lock:
            state = self.services[service_key]
            revision = max(state.definitions) + 1
            state.definitions[revision] = definition
            if desired is not None:
                state.desired = desired
            for deployment in state.deployments:
                deployment.status = "ACTIVE"
            state.deployments.insert(0, _deployment(revision, "IN_PROGRESS"))
            self._failures[service_key] = 0
            self._retry_after.pop(service_key, None)
            self.event(f"service {state.service.name}: deployment of revision {revision} started")
            return revision

    def scale(self, service_key: str, desired: int) -> None:
        with self._lock:
            self.services[service_key].desired = desired
            self.event(
                f"service {self.services[service_key].service.name}: desired count {desired}"
            )

    # ------------------------------------------------------------ the loop
    def tick(self) -> None:
        with self._lock:
            for state in self.services.values():
                self._watch(state)
                self._reconcile(state)
                self._settle(state)

    def _watch(self, state: ServiceState) -> None:
        service = state.service
        grace = service.health_check_grace_period * self.time_scale
        for task in [t for t in self.tasks if t.service == service.key and t.active]:
            for container in task.definition.containers:
                process = task.processes.get(container.name)
                code = process.poll() if process else None
                if (
                    process is not None
                    and code is not None
                    and container.name not in task.exit_codes
                ):
                    task.exit_codes[container.name] = code
                    if container.essential:
                        self._task_failed(state, task)
                        self.event(
                            f"task {task.id[:8]} container {container.name} exited with code {code}"
                        )
                        self._stop(
                            task, f"Essential container in task exited (code {code})", drain=False
                        )
                        break
            if not task.active or not service.load_balancers:
                if task.active and task.last_status == "RUNNING":
                    task.was_healthy = True
                continue
            states = [
                self.balancers.states(b.target_group).get(task.id) for b in service.load_balancers
            ]
            known = [s for s in states if s is not None]
            if known:
                task.health = _worst([s.health for s in known])
                task.health_reason = "; ".join(s.reason for s in known if s.reason)
            if task.health == "healthy":
                task.was_healthy = True
                self._failures[service.key] = 0
            if task.health == "unhealthy" and time.monotonic() - task.started_at >= grace:
                self._task_failed(state, task)
                self.event(f"task {task.id[:8]} failed its load balancer health checks")
                self._stop(task, "Task failed ELB health checks", drain=True)

    def _task_failed(self, state: ServiceState, task: Task) -> None:
        self._back_off(state.service.key)
        primary = state.primary
        if (
            task.revision != primary.revision
            or task.was_healthy
            or primary.rollout_state != "IN_PROGRESS"
        ):
            return
        primary.failed_tasks += 1
        service = state.service
        if not service.circuit_breaker or primary.failed_tasks < failure_threshold(state.desired):
            return
        primary.rollout_state = "FAILED"
        primary.reason = (
            f"circuit breaker: {primary.failed_tasks} tasks of revision {primary.revision} failed "
            f"(threshold {failure_threshold(state.desired)})"
        )
        self.event(
            f"service {service.name}: deployment of revision {primary.revision} failed "
            f"({primary.reason})"
        )
        good = next((d for d in state.deployments[1:] if d.rollout_state == "COMPLETED"), None)
        if service.rollback and good is not None:
            primary.status = "INACTIVE"
            rollback = _deployment(good.revision, "IN_PROGRESS")
            rollback.reason = f"rolling back to revision {good.revision}"
            for deployment in state.deployments:
                if deployment.status == "PRIMARY":
                    deployment.status = "ACTIVE"
            state.deployments.insert(0, rollback)
            self._failures[service.key] = 0
            self._retry_after.pop(service.key, None)
            self.event(f"service {service.name}: rolling back to revision {good.revision}")

    def _reconcile(self, state: ServiceState) -> None:
        service = state.service
        if state.primary.rollout_state == "FAILED":
            return  # a failed deployment without rollback: ECS stops launching; so do we
        active = [t for t in self.tasks if t.service == service.key and t.active]
        draining = sum(
            t.last_status in ("DEACTIVATING", "STOPPING")
            for t in self.tasks
            if t.service == service.key
        )
        step = plan_step(
            desired=state.desired,
            primary_revision=state.revision,
            tasks=[
                TaskView(
                    t.id,
                    t.revision,
                    _is_healthy(t, service),
                    t.health == "unhealthy",
                    t.started_at,
                    t.az,
                )
                for t in active
            ],
            draining=draining,
            minimum_percent=service.minimum_healthy_percent,
            maximum_percent=service.maximum_percent,
            may_launch=time.monotonic() >= self._retry_after.get(service.key, 0.0),
        )
        for task in active:
            if task.id in step.stop:
                reason = (
                    "Scaling activity initiated by (deployment)"
                    if task.revision == state.revision
                    else f"Deployment of revision {state.revision} replaced this task"
                )
                self._stop(task, reason, drain=True)
        for _ in range(step.launch):
            try:
                self._launch(service, state.revision, state.definitions[state.revision])
            except Exception:  # recorded as an event; ECS retries too
                self._back_off(service.key)
                break

    def _settle(self, state: ServiceState) -> None:
        """A deployment completes when all desired tasks of its revision are healthy and
        no other revision runs; older deployments then disappear, as in ECS."""
        primary = state.primary
        if primary.rollout_state != "IN_PROGRESS":
            return
        service = state.service
        mine = [
            t
            for t in self.tasks
            if t.service == service.key and t.revision == primary.revision and t.active
        ]
        others = [
            t for t in self.tasks if t.service == service.key and t.revision != primary.revision
        ]
        if len(mine) >= state.desired and all(_is_healthy(t, service) for t in mine) and not others:
            primary.rollout_state = "COMPLETED"
            failed = [d for d in state.deployments[1:] if d.rollout_state == "FAILED"][:1]
            state.deployments = [primary, *failed]
            for deployment in state.deployments[1:]:
                deployment.status = "INACTIVE"
            self.event(
                f"service {service.name}: deployment of revision {primary.revision} completed"
            )
            self.on_change()

    # ------------------------------------------------------------ launch
    def _pick_subnet(self, service: Service) -> str:
        active = [t for t in self.tasks if t.service == service.key and t.active]
        per_az = Counter(t.az for t in active)
        per_subnet = Counter(t.subnet for t in active)
        return min(
            service.subnets,
            key=lambda key: (
                per_az[self.plan.subnet(key).az],
                per_subnet[key],
                service.subnets.index(key),
            ),
        )

    def _launch(self, service: Service, revision: int, definition: TaskDefinition) -> Task:
        subnet = self.plan.subnet(self._pick_subnet(service))
        used = self.used_ips.setdefault(subnet.key, set())
        ip = next_free(subnet.cidr, used)
        if ip is None:
            raise RuntimeError(f"subnet {subnet.key} has no free address for a task")
        used.add(ip)
        task_id = uuid.uuid4().hex
        public_ip = self._next_public_ip() if service.assign_public_ip and subnet.public else None
        task = Task(
            id=task_id,
            service=service.key,
            revision=revision,
            definition=definition,
            subnet=subnet.key,
            az=subnet.az,
            ip=ip,
            netns=self.names.task(task_id),
            public_ip=public_ip,
            started_at=time.monotonic(),
        )
        self.tasks.append(task)
        try:
            self.network.attach_eni(task.netns, subnet, ip)
            self.groups.add(task.netns, ip, service.security_groups)
            if public_ip is not None:
                self.network.map_public_ip(public_ip, ip)
            self._start_containers(task)
            task.last_status = "RUNNING"
            for binding in service.load_balancers:
                self.balancers.register(binding.target_group, task.id, ip, binding.container_port)
        except Exception as exc:
            self.event(f"task {task_id[:8]} failed to start: {exc}")
            task.stopped_reason = f"Task failed to start: {exc}"
            self._deprovision(task)
            raise
        self.event(f"started task {task_id[:8]} (revision {revision}) in {subnet.az} ({ip})")
        self.on_change()
        return task

    def _next_public_ip(self) -> IPv4Address:
        ip = public_address(self._public_used, first=TASK_PUBLIC_FIRST)
        self._public_used += 1
        return ip

    def _start_containers(self, task: Task) -> None:
        for container in task.definition.containers:
            environment = {
                **container.environment,
                "FA_TASK_ID": task.id,
                "FA_PRIVATE_IP": str(task.ip),
                "FA_AZ": task.az,
                "FA_REVISION": str(task.revision),
                "FA_ECHO_URL": f"http://{ECHO_HOST}:{ECHO_PORT}/",
                "ECS_CONTAINER_NAME": container.name,
            }
            task.processes[container.name] = TaskProcess.start(
                netns=task.netns,
                command=container.command or "true",
                environment=environment,
                log_path=log_stream_path(self.logs_dir, container, task.id),
                label=f"{self.names.prefix}task-{task.id[:12]}-{container.name}",
            )

    # ------------------------------------------------------------ stop
    def _stop(self, task: Task, reason: str, *, drain: bool) -> None:
        if not task.active:
            return
        task.last_status = "DEACTIVATING"
        task.stopped_reason = reason
        thread = threading.Thread(target=self._stop_sequence, args=(task, drain), daemon=True)
        self._threads.append(thread)
        thread.start()

    def _stop_sequence(self, task: Task, drain: bool) -> None:
        service = self.services[task.service].service
        if self._shutting_down:
            self._stop_containers(task)  # `local down`: HAProxy and namespaces go anyway
            task.last_status = "STOPPED"
            return
        try:
            if drain and service.load_balancers:
                for binding in service.load_balancers:
                    self.balancers.drain(binding.target_group, task.id)
                task.health = "draining"
                delay = max(
                    self.balancers.target_groups[b.target_group].deregistration_delay
                    for b in service.load_balancers
                )
                time.sleep(delay)
            for binding in service.load_balancers:
                self.balancers.deregister(binding.target_group, task.id)
            self._stop_containers(task)
        finally:
            self._deprovision(task)

    def _stop_containers(self, task: Task) -> None:
        task.last_status = "STOPPING"
        for container in task.definition.containers:
            process = task.processes.get(container.name)
            if process is not None:
                code = process.stop(container.stop_timeout * self.time_scale)
                task.exit_codes.setdefault(container.name, code)

    def _deprovision(self, task: Task) -> None:
        with self._lock:
            try:
                self.groups.remove(task.netns)
                if task.public_ip is not None:
                    self.network.unmap_public_ip(task.public_ip, task.ip)
                self.network.detach_eni(task.netns)
            finally:
                self.used_ips.get(task.subnet, set()).discard(task.ip)
                task.last_status = "STOPPED"
                if task in self.tasks:
                    self.tasks.remove(task)
                self.stopped = [task, *self.stopped][:STOPPED_HISTORY]
                self.event(f"stopped task {task.id[:8]}: {task.stopped_reason}")
                self.on_change()

    def stop_all(self, reason: str) -> None:
        """`local down`: no drain (nothing is serving anymore), but a clean SIGTERM to every
        task at once; the namespaces and HAProxy are removed in one sweep afterwards."""
        with self._lock:
            self._shutting_down = True
            for state in self.services.values():
                state.desired = 0
            for task in list(self.tasks):
                self._stop(task, reason, drain=False)
        for thread in list(self._threads):
            thread.join()

    def _back_off(self, service: str) -> None:
        """ECS throttles a service whose tasks keep failing; so does the twin: 1, 2, 4...
        up to 30 s between launches, reset once a task of the service is healthy."""
        self._failures[service] += 1
        delay = min(2.0 ** (self._failures[service] - 1), MAX_BACKOFF)
        self._retry_after[service] = time.monotonic() + delay

    def event(self, text: str) -> None:
        self.events = [*self.events, f"{time.strftime('%H:%M:%S')} {text}"][-50:]


def _deployment(revision: int, rollout_state: str) -> Deployment:
    return Deployment(
        id=f"ecs-svc/{next(_deployment_numbers):019d}",
        revision=revision,
        status="PRIMARY",
        rollout_state=rollout_state,
    )


def _is_healthy(task: Task, service: Service) -> bool:
    if not service.load_balancers:
        return task.last_status == "RUNNING"
    return task.health == "healthy"


def _worst(values: list[str]) -> str:
    for value in ("unhealthy", "draining", "initial", "healthy"):
        if value in values:
            return value
    return values[0]
