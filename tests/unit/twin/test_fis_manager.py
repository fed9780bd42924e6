"""The fault manager's bookkeeping, without root: the host's side (nftables, the delay
proxy) and the twin's parts are stand-ins that record what they were asked, so the
order of the steps, their undo, and when a fault heals can be asserted exactly."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any, cast

import pytest

from fargate_api.errors import UserError
from fargate_api.twin.daemon.contracts import FaultRequest
from fargate_api.twin.fis import network_faults
from fargate_api.twin.fis.manager import FaultInjectionError, FaultManager
from fargate_api.twin.fis.network_faults import LatencyHandle
from fargate_api.twin.host.kernel import HostCommandError
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.model import (
    Container,
    LoadBalancer,
    LoadBalancerNode,
    NatGateway,
    Route,
    RouteTable,
    Service,
    Subnet,
    TaskDefinition,
    TwinPlan,
)

NAMES = TwinNames("unit")
WEB = Container(
    name="web", image="web", command="serve", environment={}, port=80, essential=True,
    stop_timeout=10, log=None,
)  # fmt: skip
TASK_DEF = TaskDefinition(key="s/Task", family="app", cpu=None, memory=None, containers=(WEB,))


def _plan() -> TwinPlan:
    layout = [("s/PubA", "1a", "s/PubRt"), ("s/PubB", "1b", "s/PubRt"),
              ("s/PrivA", "1a", "s/RtA"), ("s/PrivB", "1b", "s/RtB")]  # fmt: skip
    subnets = tuple(
        Subnet(key=key, index=i, cidr=IPv4Network(f"10.0.{i}.0/24"), az=az, route_table=rt,
               public=key.startswith("s/Pub"))
        for i, (key, az, rt) in enumerate(layout)
    )  # fmt: skip
    nats = (
        NatGateway("s/NatA", "s/PubA", IPv4Address("10.0.0.9"), IPv4Address("198.51.100.10")),
        NatGateway("s/NatB", "s/PubB", IPv4Address("10.0.1.9"), IPv4Address("198.51.100.11")),
    )
    tables = tuple(
        RouteTable(key, (Route(IPv4Network("0.0.0.0/0"), "nat-gateway", nat),))
        for key, nat in (("s/RtA", "s/NatA"), ("s/RtB", "s/NatB"))
    )
    nodes = (
        LoadBalancerNode("s/PubA", "1a", IPv4Address("10.0.0.5"), IPv4Address("198.51.100.12")),
        LoadBalancerNode("s/PubB", "1b", IPv4Address("10.0.1.5"), IPv4Address("198.51.100.13")),
    )
    lb = LoadBalancer("s/Lb", "lb", True, nodes, (), 60, ())
    service = Service(
        key="s/Svc", name="web", cluster="c", task_definition=TASK_DEF.key, desired_count=2,
        subnets=("s/PrivA", "s/PrivB"), security_groups=(), assign_public_ip=False,
        load_balancers=(), health_check_grace_period=0, minimum_healthy_percent=100,
        maximum_percent=200, circuit_breaker=True, rollback=True,
    )  # fmt: skip
    return TwinPlan(
        vpc="s/Vpc", vpc_cidr=IPv4Network("10.0.0.0/16"), subnets=subnets, route_tables=tables,
        internet_gateway="s/Igw", nat_gateways=nats, security_groups=(), load_balancers=(lb,),
        target_groups=(), task_definitions=(TASK_DEF,), services=(service,), log_groups=(),
    )  # fmt: skip


@dataclass
class _Task:
    id: str
    az: str
    service: str = "s/Svc"
    last_status: str = "RUNNING"

    @property
    def active(self) -> bool:
        return self.last_status in ("PROVISIONING", "RUNNING")


@dataclass
class _ServiceState:
    service: Service
    desired: int = 2


class _Core:
    def __init__(self, tasks: list[_Task]) -> None:
        self.tasks = tasks
        self.impaired_azs: set[str] = set()

    def task(self, task_id: str) -> _Task | None:
        return next((t for t in self.tasks if t.id == task_id), None)


class _Scheduler:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls
        self.core = _Core([_Task("a" * 32, "1a"), _Task("b" * 32, "1b")])
        self.services = {"s/Svc": _ServiceState(_plan().services[0])}
        self.events: list[str] = []

    @property
    def tasks(self) -> list[_Task]:
        return self.core.tasks

    def event(self, text: str) -> None:
        self.events.append(text)

    def impair_az(self, az: str, reason: str) -> None:
        self.calls.append(f"impair {az}")
        self.core.impaired_azs.add(az)
        for task in self.core.tasks:
            if task.az == az:
                task.last_status = "STOPPING"

    def recover_az(self, az: str) -> None:
        self.calls.append(f"recover {az}")
        self.core.impaired_azs.discard(az)

    def stop_task(self, task_id: str, reason: str) -> None:
        self.calls.append(f"stop {task_id[:4]}")


@dataclass
class _Balancers:
    calls: list[str]
    down: set[IPv4Address] = field(default_factory=set)

    def set_az_down(self, az: str, down: bool) -> list[IPv4Address]:
        self.calls.append(f"lb {az} {'down' if down else 'up'}")
        ip = IPv4Address("198.51.100.12" if az == "1a" else "198.51.100.13")
        if down:
            self.down.add(ip)
        else:
            self.down.discard(ip)
        return sorted(self.down)

    def down_addresses(self) -> set[IPv4Address]:
        return set(self.down)


@dataclass
class _VpcServices:
    calls: list[str]

    def set_unreachable(self, ips: set[IPv4Address]) -> None:
        self.calls.append(f"unreachable {sorted(str(ip) for ip in ips)}")


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the host was asked, in order; `fail` names a step that raises."""
    seen: list[str] = []
    faults = network_faults  # the manager calls them through the module

    def record(name: str, result: Any = None) -> Any:
        def step(names: TwinNames, target: Any, *args: Any, **kwargs: Any) -> Any:
            what = target if isinstance(target, str) else ",".join(target)
            seen.append(f"{name} {what}")
            if any(f"fail {name}" == c for c in seen):
                raise HostCommandError(["nft"], 1, "Error: no such table")
            return result

        return step

    monkeypatch.setattr(faults, "isolate_az", record("isolate"))
    monkeypatch.setattr(faults, "restore_az", record("restore"))
    monkeypatch.setattr(faults, "lose_nat", record("lose_nat"))
    monkeypatch.setattr(faults, "restore_nat", record("restore_nat"))
    monkeypatch.setattr(faults, "add_blackhole", record("add_bh"))
    monkeypatch.setattr(faults, "remove_blackhole", record("remove_bh"))
    monkeypatch.setattr(
        faults, "add_latency", record("add_lat", LatencyHandle("user-space proxy", 4242))
    )
    monkeypatch.setattr(faults, "remove_latency", record("remove_lat"))
    return seen


def _manager(calls: list[str], clock: _Clock) -> tuple[FaultManager, _Scheduler]:
    scheduler = _Scheduler(calls)
    manager = FaultManager(
        names=NAMES,
        plan=_plan(),
        scheduler=cast(Any, scheduler),
        balancers=cast(Any, _Balancers(calls)),
        vpc_services=cast(Any, _VpcServices(calls)),
        log_dir=Path("/nonexistent"),
        runtime="process",
        clock=clock,
    )
    return manager, scheduler


def _request(action: str, **fields: Any) -> FaultRequest:
    return FaultRequest.model_validate({"kind": "fault", "id": "r", "action": action, **fields})


def test_an_az_outage_isolates_takes_the_node_down_stops_tasks_and_heals_backwards(
    calls: list[str],
) -> None:
    clock = _Clock()
    manager, scheduler = _manager(calls, clock)
    fault = manager.apply(_request("az-outage", az="1a", duration=60))
    bridges = f"{NAMES.bridge(0)},{NAMES.bridge(2)}"
    assert calls == [
        f"isolate {bridges}",
        "lb 1a down",
        "unreachable ['198.51.100.12']",
        "impair 1a",
    ]
    assert fault.id == "f1" and fault.az == "1a" and fault.ends_at == clock.now + 60
    assert fault.did == (
        "black-holed subnets PubA, PrivA (router), stopped 1 task, took NAT gateway "
        "198.51.100.10 and load balancer node 198.51.100.12 down; ECS places replacements "
        "in 1b"
    )
    assert "(in 60 s), or `local fault --clear`" in fault.heals
    assert [f.id for f in manager.active()] == ["f1"]
    manager.tick(clock.now + 59.9)
    assert manager.active() != []
    calls.clear()
    manager.tick(clock.now + 60)
    assert calls == ["recover 1a", "lb 1a up", "unreachable []", f"restore {bridges}"]
    assert manager.active() == []
    assert scheduler.events[-1] == "fault f1 az-outage on 1a healed (its duration is over)"


def test_the_same_az_twice_is_refused_naming_the_fault_in_force(calls: list[str]) -> None:
    manager, _ = _manager(calls, _Clock())
    manager.apply(_request("az-outage", az="1a", duration=60))
    with pytest.raises(UserError, match=r"AZ 1a: already under fault f1 \(az-outage\)"):
        manager.apply(_request("az-outage", az="1a", duration=60))
    # Another AZ is fine; ECS then has no healthy AZ left, and says so.
    second = manager.apply(_request("az-outage", az="1b", duration=60))
    assert second.id == "f2"  # a refused fault takes no id
    assert second.did.endswith("no healthy AZ is left: ECS places no task until an AZ heals")


def test_a_nat_gateway_loss_names_the_subnets_that_lost_egress(calls: list[str]) -> None:
    manager, _ = _manager(calls, _Clock())
    fault = manager.apply(_request("nat-gateway-loss", az="1b", duration=5))
    assert calls == [f"lose_nat {NAMES.nat_gateway(1)}"]
    assert fault.did == (
        "NAT gateway NatB (198.51.100.11) in 1b forwards nothing; subnet PrivB lost its egress"
    )
    assert [f.id for f in manager.clear()] == ["f1"]
    assert calls[-1] == f"restore_nat {NAMES.nat_gateway(1)}"


def test_task_kill_is_done_at_once_and_not_kept(calls: list[str]) -> None:
    manager, scheduler = _manager(calls, _Clock())
    fault = manager.apply(_request("task-kill", task="bbbb"))
    assert calls == ["stop bbbb"]
    assert fault.ends_at is None and manager.active() == []
    assert "ECS replaces it (web wants 2)" in fault.did
    assert scheduler.events[-1].startswith("fault f1 task-kill on task bbbbbbbb: stopped task")


def test_a_task_fault_on_a_task_that_stops_heals_that_part_quietly(calls: list[str]) -> None:
    clock = _Clock()
    manager, scheduler = _manager(calls, clock)
    fault = manager.apply(_request("network-latency", service="web", ms=100, duration=60))
    assert fault.path == "user-space proxy" and fault.tasks == ["a" * 32, "b" * 32]
    assert calls == [f"add_lat {NAMES.task('a' * 32)}", f"add_lat {NAMES.task('b' * 32)}"]
    scheduler.core.tasks[0].last_status = "STOPPING"
    manager.tick(clock.now + 1)
    assert calls[-1] == f"remove_lat {NAMES.task('a' * 32)}"
    assert [f.id for f in manager.active()] == ["f1"]  # the other task still has it
    scheduler.core.tasks.pop(1)
    manager.tick(clock.now + 2)
    assert manager.active() == []
    assert scheduler.events[-1] == "fault f1 network-latency ended: its tasks stopped"


def test_a_step_the_host_refuses_undoes_the_steps_before_it(calls: list[str]) -> None:
    manager, _ = _manager(calls, _Clock())
    calls.append("fail add_bh")  # the stand-in raises once it sees this
    with pytest.raises(FaultInjectionError, match="could not be injected") as caught:
        manager.apply(_request("network-blackhole", service="web", port=80, duration=5))
    assert "nothing of it is left" in caught.value.render()
    assert manager.active() == []
    # The first task's add raised: nothing recorded to undo, the second never tried.
    assert calls == ["fail add_bh", f"add_bh {NAMES.task('a' * 32)}"]


def test_a_heal_step_that_fails_is_reported_and_the_others_still_run(calls: list[str]) -> None:
    clock = _Clock()
    manager, scheduler = _manager(calls, clock)
    manager.apply(_request("az-outage", az="1a", duration=5))
    calls.append("fail restore")
    manager.clear()
    assert "recover 1a" in calls and "lb 1a up" in calls
    assert manager.active() == []
    assert "healed, except: the router forwards for the AZ's subnets again" in scheduler.events[-1]


def test_shutdown_heals_everything(calls: list[str]) -> None:
    manager, _ = _manager(calls, _Clock())
    manager.apply(_request("network-blackhole", task="aaaa", duration=600))
    manager.apply(_request("nat-gateway-loss", az="1a", duration=600))
    manager.shutdown()
    assert manager.active() == []
    assert calls[-2:] == [
        f"remove_bh {NAMES.task('a' * 32)}",
        f"restore_nat {NAMES.nat_gateway(0)}",
    ]


def test_a_bug_midway_still_undoes_what_was_done_and_escapes(calls: list[str]) -> None:
    manager, _ = _manager(calls, _Clock())

    def broken(ips: set[IPv4Address]) -> None:
        raise RuntimeError("a bug in the twin")

    manager.vpc_services.set_unreachable = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="a bug in the twin"):
        manager.apply(_request("az-outage", az="1a", duration=60))
    assert calls[-2:] == ["lb 1a up", f"restore {NAMES.bridge(0)},{NAMES.bridge(2)}"]
    assert manager.active() == []
