"""The ECS service scheduler, as the twin runs it: launch, watch, replace, stop.

It follows ECS's documented behaviour for a service behind a load balancer:
* tasks are spread across the service's AZs, then subnets (ECS's default AZ balancing);
* a task is registered with its target groups once it runs, and counts as healthy only
  when the load balancer says so;
* a task whose essential container exits is replaced; one that the load balancer reports
  unhealthy is stopped and replaced, but not before the health check grace period;
* stopping a task first drains its targets for the deregistration delay, then sends
  SIGTERM, waits the container's stopTimeout and sends SIGKILL.
Stops run on their own threads, because a drain takes as long as the delay says.
"""

from __future__ import annotations

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
from fargate_api.twin.security_groups import SecurityGroups
from fargate_api.twin.task_process import TaskProcess, log_stream_path

STOPPED_HISTORY = 20


@dataclass
class Task:
    id: str
    service: str
    revision: int
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

    @property
    def active(self) -> bool:
        return self.last_status in ("PROVISIONING", "RUNNING")


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
        self.revisions = {s.key: 1 for s in plan.services}
        self.desired = {s.key: s.desired_count for s in plan.services}
        self.events: list[str] = []
        self._lock = threading.RLock()
        self._threads: list[threading.Thread] = []
        self._public_used = 0
        self._retry_after: dict[str, float] = {}

    # ------------------------------------------------------------ the loop
    def tick(self) -> None:
        with self._lock:
            for service in self.plan.services:
                self._watch(service)
                self._reconcile(service)

    def _watch(self, service: Service) -> None:
        definition = self.plan.task_definition(service.task_definition)
        grace = service.health_check_grace_period * self.time_scale
        for task in [t for t in self.tasks if t.service == service.key and t.active]:
            for container in definition.containers:
                process = task.processes.get(container.name)
                code = process.poll() if process else None
                if (
                    process is not None
                    and code is not None
                    and container.name not in task.exit_codes
                ):
                    task.exit_codes[container.name] = code
                    if container.essential:
                        self._event(
                            f"task {task.id[:8]} container {container.name} exited with code {code}"
                        )
                        self._stop(
                            task, f"Essential container in task exited (code {code})", drain=False
                        )
                        break
            if not task.active or not service.load_balancers:
                continue
            states = [
                self.balancers.states(b.target_group).get(task.id) for b in service.load_balancers
            ]
            known = [s for s in states if s is not None]
            if known:
                worst = _worst([s.health for s in known])
                task.health = worst
                task.health_reason = "; ".join(s.reason for s in known if s.reason)
            if task.health == "unhealthy" and time.monotonic() - task.started_at >= grace:
                self._event(f"task {task.id[:8]} failed its load balancer health checks")
                self._stop(task, "Task failed ELB health checks", drain=True)

    def _reconcile(self, service: Service) -> None:
        active = [t for t in self.tasks if t.service == service.key and t.active]
        wanted = self.desired[service.key]
        for _ in range(wanted - len(active)):
            if time.monotonic() < self._retry_after.get(service.key, 0.0):
                break
            try:
                self._launch(service)
            except Exception:
                # ECS throttles tasks that keep failing to start; a short back-off here.
                self._retry_after[service.key] = time.monotonic() + 2.0
                break
        if len(active) > wanted:
            for task in sorted(active, key=lambda t: t.started_at, reverse=True)[
                : len(active) - wanted
            ]:
                self._stop(task, "Scaling activity initiated by (deployment)", drain=True)

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

    def _launch(self, service: Service) -> Task:
        definition = self.plan.task_definition(service.task_definition)
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
            revision=self.revisions[service.key],
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
            self._start_containers(task, definition)
            task.last_status = "RUNNING"
            for binding in service.load_balancers:
                self.balancers.register(binding.target_group, task.id, ip, binding.container_port)
        except Exception as exc:
            self._event(f"task {task_id[:8]} failed to start: {exc}")
            task.stopped_reason = f"Task failed to start: {exc}"
            self._deprovision(task)
            raise
        self._event(f"started task {task_id[:8]} in {subnet.az} ({ip})")
        self.on_change()
        return task

    def _next_public_ip(self) -> IPv4Address:
        ip = public_address(self._public_used, first=TASK_PUBLIC_FIRST)
        self._public_used += 1
        return ip

    def _start_containers(self, task: Task, definition: TaskDefinition) -> None:
        for container in definition.containers:
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
        service = next(s for s in self.plan.services if s.key == task.service)
        definition = self.plan.task_definition(service.task_definition)
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
            task.last_status = "STOPPING"
            for container in definition.containers:
                process = task.processes.get(container.name)
                if process is not None:
                    code = process.stop(container.stop_timeout * self.time_scale)
                    task.exit_codes.setdefault(container.name, code)
        finally:
            self._deprovision(task)

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
                self._event(f"stopped task {task.id[:8]}: {task.stopped_reason}")
                self.on_change()

    def stop_all(self, reason: str) -> None:
        """`local down`: no drain (nothing is serving anymore), but a clean SIGTERM."""
        with self._lock:
            for task in list(self.tasks):
                self._stop(task, reason, drain=False)
        for thread in list(self._threads):
            thread.join()

    def _event(self, text: str) -> None:
        self.events = [*self.events, f"{time.strftime('%H:%M:%S')} {text}"][-50:]


def _worst(values: list[str]) -> str:
    for value in ("unhealthy", "draining", "initial", "healthy"):
        if value in values:
            return value
    return values[0]
