"""The faults in force on a running twin: injected on `local fault ...`, healed when
their duration is over, on `local fault --clear`, or before the twin goes down.

Runs in the daemon, between two ticks (twin.py calls `apply`, `clear` and `tick`), so a
fault never races the scheduler. Each fault keeps the undo of every step it took, in
order; healing runs them backwards, and a step that cannot be undone is written to the
twin's events instead of stopping the others (`local down` sweeps whatever carries the
twin's prefix anyway). A fault on tasks follows those tasks only: FIS picks its targets
when the action starts, so a task started later is not affected, and a targeted task
that stops meanwhile takes its part of the fault with it, quietly.

Durations are wall-clock seconds, as in FIS, whatever `--time-scale` says: a fault
measures the service, not the twin's timers.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from ipaddress import IPv4Address
from pathlib import Path
from typing import Literal

from fargate_api.errors import UserError
from fargate_api.twin.daemon.contracts import ActiveFault, FaultRequest
from fargate_api.twin.daemon.vpc_services import VpcServices
from fargate_api.twin.ecs.scheduler import Scheduler
from fargate_api.twin.elbv2.haproxy_runtime import HaproxyRuntimeError
from fargate_api.twin.elbv2.load_balancers import LoadBalancers
from fargate_api.twin.fis import cpu_stress, network_faults
from fargate_api.twin.fis.requests import FaultTarget, TaskTarget, availability_zones, resolve
from fargate_api.twin.host.cgroups import CgroupError, TaskCgroups
from fargate_api.twin.host.kernel import HostCommandError
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.model import NatGateway, TwinPlan

# What injecting or healing can meet on this machine; anything else is a bug.
FAILURES: tuple[type[Exception], ...] = (
    HostCommandError,
    HaproxyRuntimeError,  # HAProxy moved out of a failed AZ's node
    network_faults.FaultError,
    cpu_stress.CpuStressError,
    CgroupError,
    OSError,
    ValueError,
)
# A task whose containers are being stopped, or are gone, no longer carries a fault.
_GONE = ("STOPPING", "STOPPED")


def power_loss_reason(az: str) -> str:
    return (
        f"Task stopped: its AZ {az} lost power (fault injected, like FIS's "
        "AZ Availability: Power Interruption)"
    )


TASK_KILL_REASON = (
    "Task stopped by a fault: StopTask (local fault task-kill, like FIS's aws:ecs:stop-task)"
)


class FaultInjectionError(UserError):
    """A fault that could not be put in place on this machine; what was done of it is
    undone, and the twin runs on (the daemon answers `ok: false`)."""


@dataclass
class _Undo:
    what: str
    undo: Callable[[], object]
    task: str | None = None  # healed quietly once this task stops


@dataclass
class _Fault:
    info: ActiveFault
    undos: list[_Undo] = field(default_factory=list)
    # Faults that conflict with a new one of the same kind: ("az", "1a"), ("lat", id)...
    holds: frozenset[tuple[str, str]] = frozenset()


class FaultManager:
    def __init__(
        self,
        *,
        names: TwinNames,
        plan: TwinPlan,
        scheduler: Scheduler,
        balancers: LoadBalancers,
        vpc_services: VpcServices,
        log_dir: Path,
        runtime: Literal["container", "process"],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.names = names
        self.plan = plan
        self.scheduler = scheduler
        self.balancers = balancers
        self.vpc_services = vpc_services
        self.log_dir = log_dir
        self.runtime = runtime
        self.clock = clock
        self._faults: list[_Fault] = []
        self._numbers = itertools.count(1)

    # ------------------------------------------------------------ queries
    def active(self) -> list[ActiveFault]:
        return [fault.info for fault in self._faults]

    def availability_zones(self) -> list[str]:
        return availability_zones(self.plan)

    # ------------------------------------------------------------ inject
    def apply(self, request: FaultRequest) -> ActiveFault:
        """Injects the fault; UserError (nothing changed) on bad input or when the host
        refused a step."""
        running = [
            TaskTarget(t.id, t.service, t.az)
            for t in self.scheduler.tasks
            if t.last_status == "RUNNING"
        ]
        target = resolve(request, self.plan, running, runtime=self.runtime)
        holds = self._holds(target)
        for fault in self._faults:
            clash = holds & fault.holds
            if clash:
                what = ", ".join(f"{kind} {key[:8]}" for kind, key in sorted(clash))
                raise UserError(
                    f"{what}: already under fault {fault.info.id} ({fault.info.action})",
                    fix="wait for it to heal, or `local fault --clear`",
                )
        fault_id = f"f{next(self._numbers)}"
        undos: list[_Undo] = []
        try:
            did, path = self._inject(fault_id, target, undos)
        except FAILURES as exc:
            self._run_undos(fault_id, undos)
            raise FaultInjectionError(
                f"{target.action} on {target.target} could not be injected: {exc}",
                fix="nothing of it is left; see the twin's log and `local status`",
            ) from None
        except Exception:
            self._run_undos(fault_id, undos)  # a bug: undone all the same, then raised
            raise
        now = self.clock()
        ends = None if target.duration is None else now + target.duration
        info = ActiveFault(
            id=fault_id,
            action=target.action,
            fis_action=target.fis_action,
            target=target.target,
            az=target.az,
            tasks=list(target.tasks),
            started_at=now,
            ends_at=ends,
            did=did,
            heals=_heals(target, ends),
            path=path,
        )
        self.scheduler.event(f"fault {fault_id} {target.action} on {target.target}: {did}")
        if ends is not None:
            self._faults.append(_Fault(info, undos, holds))
        return info

    def _holds(self, target: FaultTarget) -> frozenset[tuple[str, str]]:
        if target.action == "az-outage" and target.az:
            return frozenset({("AZ", target.az)})
        if target.action == "nat-gateway-loss" and target.az:
            return frozenset({("NAT gateway of", target.az)})
        if target.action == "task-kill":
            return frozenset()
        kinds = {"network-latency": "latency on task", "network-blackhole": "blackhole on task"}
        kind = kinds.get(target.action, "cpu-stress on task")
        return frozenset((kind, task) for task in target.tasks)

    def _inject(
        self, fault_id: str, target: FaultTarget, undos: list[_Undo]
    ) -> tuple[str, str | None]:
        """Carries the fault out step by step, each undo recorded as soon as its step
        is done; returns what it did and the latency path (network-latency only)."""
        match target.action:
            case "az-outage":
                return self._az_outage(target, undos), None
            case "nat-gateway-loss":
                return self._nat_loss(target, undos), None
            case "task-kill":
                for task in target.tasks:
                    self.scheduler.stop_task(task, TASK_KILL_REASON)
                return _task_kill_text(target, self._desired_of(target.tasks)), None
            case "network-latency":
                return self._latency(fault_id, target, undos)
            case "network-blackhole":
                return self._blackhole(target, undos), None
            case "cpu-stress":
                return self._cpu_stress(fault_id, target, undos), None

    def _az_outage(self, target: FaultTarget, undos: list[_Undo]) -> str:
        az = target.az
        assert az is not None
        subnets = [s for s in self.plan.subnets if s.az == az]
        bridges = [self.names.bridge(s.index) for s in subnets]
        stopped = [t.id for t in self.scheduler.tasks if t.active and t.az == az]
        # Each undo is recorded before its step (all are idempotent): a step that fails
        # half-way is undone too.
        undos.append(
            _Undo(
                "the router forwards for the AZ's subnets again",
                partial(network_faults.restore_az, self.names, bridges),
            )
        )
        network_faults.isolate_az(self.names, bridges)
        undos.append(
            _Undo("the AZ's load balancer nodes are back", partial(self._set_az_down, az, False))
        )
        down = self._set_az_down(az, True)
        undos.append(
            _Undo("ECS places tasks in the AZ again", partial(self.scheduler.recover_az, az))
        )
        self.scheduler.impair_az(az, power_loss_reason(az))
        nats = [
            str(n.public_ip) for n in self.plan.nat_gateways if self.plan.subnet(n.subnet).az == az
        ]
        parts = [f"NAT gateway {ip}" for ip in nats] + [
            f"load balancer node {ip}" for ip in sorted(down, key=int)
        ]
        healthy = [zone for zone in self._service_azs() if zone not in self._impaired() | {az}]
        where = (
            f"ECS places replacements in {', '.join(healthy)}"
            if healthy
            else "no healthy AZ is left: ECS places no task until an AZ heals"
        )
        text = (
            f"black-holed subnets {', '.join(_short(s.key) for s in subnets)} (router), "
            f"stopped {_count(len(stopped), 'task')}"
        )
        if parts:
            text += f", took {_and(parts)} down"
        return f"{text}; {where}"

    def _set_az_down(self, az: str, down: bool) -> list[IPv4Address]:
        """The AZ's load balancer nodes fail or come back, and the resolvers stop (or
        start again) answering their addresses, as Route 53 drops a failed node."""
        before = self.balancers.down_addresses()
        self.balancers.set_az_down(az, down)
        now_down = self.balancers.down_addresses()
        self.vpc_services.set_unreachable(now_down)
        return sorted(now_down - before) if down else sorted(before - now_down)

    def _nat_loss(self, target: FaultTarget, undos: list[_Undo]) -> str:
        lost: list[NatGateway] = []
        for index, nat in enumerate(self.plan.nat_gateways):
            if self.plan.subnet(nat.subnet).az != target.az:
                continue
            netns = self.names.nat_gateway(index)
            undos.append(
                _Undo(
                    f"NAT gateway {nat.public_ip} forwards again",
                    partial(network_faults.restore_nat, self.names, netns),
                )
            )
            network_faults.lose_nat(self.names, netns)
            lost.append(nat)
        keys = {nat.key for nat in lost}
        tables = {
            table.key
            for table in self.plan.route_tables
            if any(route.nat_gateway in keys for route in table.routes)
        }
        routed = [_short(s.key) for s in self.plan.subnets if s.route_table in tables]
        through = ""
        if routed:
            many = len(routed) > 1
            through = (
                f"; subnet{'s' if many else ''} {', '.join(routed)} lost "
                f"{'their' if many else 'its'} egress"
            )
        names = _and([f"{_short(nat.key)} ({nat.public_ip})" for nat in lost])
        return f"NAT gateway {names} in {target.az} forwards nothing{through}"

    def _latency(
        self, fault_id: str, target: FaultTarget, undos: list[_Undo]
    ) -> tuple[str, str | None]:
        assert target.ms is not None
        paths = set()
        for task in target.tasks:
            netns = self.names.task(task)
            handle = network_faults.add_latency(
                self.names,
                netns,
                interface=self.names.eni,
                ms=target.ms,
                jitter_ms=target.jitter_ms,
                log=self.log_dir / f"fis-{fault_id}-{task[:8]}.log",
            )
            undos.append(
                _Undo(
                    f"latency removed from task {task[:8]}",
                    partial(network_faults.remove_latency, self.names, netns, handle),
                    task=task,
                )
            )
            paths.add(handle.path)
        path = ", ".join(sorted(paths))
        jitter = f" (jitter {target.jitter_ms} ms)" if target.jitter_ms else ""
        return (
            f"added {target.ms} ms{jitter} to what {_tasks(target.tasks)} send ({path})",
            path,
        )

    def _blackhole(self, target: FaultTarget, undos: list[_Undo]) -> str:
        for task in target.tasks:
            netns = self.names.task(task)
            network_faults.add_blackhole(
                self.names,
                netns,
                port=target.port,
                protocol=target.protocol,
                traffic=target.traffic,
            )
            undos.append(
                _Undo(
                    f"blackhole removed from task {task[:8]}",
                    partial(network_faults.remove_blackhole, self.names, netns),
                    task=task,
                )
            )
        port = f"port {target.port}" if target.port is not None else "every port"
        traffic = {"ingress": "coming in", "egress": "going out", "both": "in and out"}
        return (
            f"dropping {target.protocol.upper()} {port} {traffic[target.traffic]} "
            f"at {_tasks(target.tasks)} (nftables in the task's namespace)"
        )

    def _cpu_stress(self, fault_id: str, target: FaultTarget, undos: list[_Undo]) -> str:
        assert target.percent is not None
        task = target.tasks[0]
        cgroups = TaskCgroups(self.names.prefix.rstrip("-"), task)
        pid = cpu_stress.start_cpu_stress(
            self.names, cgroups, target.percent, self.log_dir / f"fis-{fault_id}-{task[:8]}.log"
        )
        undos.append(
            _Undo(
                f"CPU burner of task {task[:8]} stopped",
                partial(cpu_stress.stop_cpu_stress, pid),
                task=task,
            )
        )
        return f"loading {target.percent}% of task {task[:8]}'s CPUs (a burner in its cgroup)"

    def _service_azs(self) -> list[str]:
        zones = {self.plan.subnet(key).az for s in self.plan.services for key in s.subnets}
        return sorted(zones)

    def _impaired(self) -> set[str]:
        return set(self.scheduler.core.impaired_azs)

    def _desired_of(self, tasks: tuple[str, ...]) -> dict[str, int]:
        desired = {}
        for task_id in tasks:
            task = self.scheduler.core.task(task_id)
            if task is not None:
                state = self.scheduler.services[task.service]
                desired[state.service.name] = state.desired
        return desired

    # ------------------------------------------------------------ heal
    def tick(self, now: float) -> None:
        """Heals the faults whose time is up, and lets go of the parts of faults on
        tasks that stopped."""
        for fault in list(self._faults):
            self._forget_stopped_tasks(fault)
            if fault.info.tasks and not fault.undos:
                self._faults.remove(fault)
                self.scheduler.event(
                    f"fault {fault.info.id} {fault.info.action} ended: its tasks stopped"
                )
            elif fault.info.ends_at is not None and now >= fault.info.ends_at:
                self._heal(fault, "its duration is over")

    def clear(self) -> list[ActiveFault]:
        """`local fault --clear`: every fault healed now."""
        ended = self.active()
        for fault in list(self._faults):
            self._heal(fault, "cleared (local fault --clear)")
        return ended

    def shutdown(self) -> None:
        """Before the twin goes down: whatever of it fails, `down`'s sweep follows."""
        for fault in list(self._faults):
            with contextlib.suppress(Exception):
                self._heal(fault, "the twin goes down")
        self._faults.clear()

    def _heal(self, fault: _Fault, why: str) -> None:
        self._faults.remove(fault)
        failed = self._run_undos(fault.info.id, fault.undos)
        result = "healed" if not failed else f"healed, except: {'; '.join(failed)}"
        self.scheduler.event(
            f"fault {fault.info.id} {fault.info.action} on {fault.info.target} {result} ({why})"
        )

    def _run_undos(self, fault_id: str, undos: list[_Undo]) -> list[str]:
        failed = []
        for step in reversed(undos):
            try:
                step.undo()
            except Exception as exc:  # the other steps still run; `down` sweeps the rest
                failed.append(f"{step.what}: {exc}")
        undos.clear()
        return failed

    def _forget_stopped_tasks(self, fault: _Fault) -> None:
        for step in list(fault.undos):
            if step.task is None:
                continue
            task = self.scheduler.core.task(step.task)
            if task is None or task.last_status in _GONE:
                fault.undos.remove(step)
                with contextlib.suppress(*FAILURES):
                    step.undo()  # its namespace may be gone already: nothing to say


def _heals(target: FaultTarget, ends: float | None) -> str:
    if ends is None:
        return "nothing to heal: ECS replaces the stopped tasks to keep the desired count"
    at = time.strftime("%H:%M:%S", time.localtime(ends))
    return f"heals at {at} (in {target.duration:g} s), or `local fault --clear`"


def _task_kill_text(target: FaultTarget, desired: dict[str, int]) -> str:
    counts = ", ".join(f"{name} wants {count}" for name, count in desired.items())
    return (
        f"stopped {_tasks(target.tasks)} (StopTask: deregistered, then SIGTERM); ECS "
        f"replaces {'it' if len(target.tasks) == 1 else 'them'} ({counts})"
    )


def _short(key: str) -> str:
    """A plan key without its stack: "PublicSubnetOne" for "stack/PublicSubnetOne"."""
    return key.rpartition("/")[2]


def _tasks(ids: tuple[str, ...]) -> str:
    return ("task " if len(ids) == 1 else "tasks ") + ", ".join(i[:8] for i in ids)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
