"""What LoadBalancers keeps so that a restarted HAProxy gets its state back, and what it
does while HAProxy is down (elbv2/load_balancers.py), with a fake HAProxy and network:
no process, no namespace."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, cast

import pytest

from fargate_api.config.loader import parse_config
from fargate_api.synth import synthesize, write_templates
from fargate_api.twin.ec2.security_groups import SecurityGroups
from fargate_api.twin.ec2.vpc import Network
from fargate_api.twin.elbv2.haproxy_runtime import (
    BackendStats,
    HaproxyRuntime,
    HaproxyRuntimeError,
    TargetState,
)
from fargate_api.twin.elbv2.load_balancers import LoadBalancers, RunningBalancer
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.load import load_plan
from fargate_api.twin.plan.model import TwinPlan


@dataclass
class FakeProcess:
    code: int | None = None

    def poll(self) -> int | None:
        return self.code


@dataclass
class FakeRuntime:
    down: bool = False
    requests: int = 0
    calls: list[str] = field(default_factory=list)

    def _check(self, what: str) -> None:
        if self.down:
            raise HaproxyRuntimeError(what, "cannot talk to haproxy's stats socket: refused")
        self.calls.append(what)

    def add_target(self, group: str, target_id: str, *_: Any) -> None:
        self._check(f"add {target_id}")

    def drain_target(self, group: str, target_id: str) -> None:
        self._check(f"drain {target_id}")

    def remove_target(self, group: str, target_id: str) -> None:
        self._check(f"remove {target_id}")

    def request_total(self, group: str) -> int:
        self._check("request_total")
        return self.requests

    def target_states(self, group: str) -> dict[str, TargetState]:
        self._check("states")
        return {"t1": TargetState("healthy", "L7OK", 0, 0)}

    def backend_stats(self, group: str) -> BackendStats:
        self._check("stats")
        return BackendStats(self.requests, 0, None, self.target_states(group))


@dataclass
class FakeNetwork:
    mapped: dict[IPv4Address, IPv4Address] = field(default_factory=dict)

    def map_public_ip(self, public: IPv4Address, private: IPv4Address) -> None:
        self.mapped[public] = private

    def unmap_public_ip(self, public: IPv4Address, private: IPv4Address) -> None:
        self.mapped.pop(public)


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> TwinPlan:
    folder = tmp_path_factory.mktemp("templates")
    write_templates(synthesize(parse_config("")), folder)
    return load_plan(folder / "parent.yml")


def _balancers(plan: TwinPlan, tmp_path: Path) -> tuple[LoadBalancers, FakeRuntime, FakeProcess]:
    network = FakeNetwork()
    balancers = LoadBalancers(
        names=TwinNames("unit"),
        plan=plan,
        network=cast(Network, network),
        groups=cast(SecurityGroups, None),
        work_dir=tmp_path,
        time_scale=1.0,
    )
    lb = plan.load_balancers[0]
    for node in lb.nodes:
        network.map_public_ip(node.public_ip, node.private_ip)
    runtime, process = FakeRuntime(), FakeProcess()
    balancers.running.append(
        RunningBalancer(
            lb,
            ["fa-unit-lb0n0", "fa-unit-lb0n1"],
            cast(Any, process),
            cast(HaproxyRuntime, runtime),
            tmp_path / "haproxy.cfg",
            frozenset(g.key for g in plan.target_groups),
            tmp_path / "weights.map",
            {},
            index=0,
            home="fa-unit-lb0n0",
        )
    )
    return balancers, runtime, process


def test_registry_follows_register_drain_deregister_even_while_haproxy_is_down(
    plan: TwinPlan, tmp_path: Path
) -> None:
    balancers, runtime, process = _balancers(plan, tmp_path)
    group = plan.target_groups[0].key
    balancers.register(group, "t1", IPv4Address("10.0.2.10"), 80)
    balancers.register(group, "t2", IPv4Address("10.0.3.10"), 80)
    assert runtime.calls == ["add t1", "add t2"]
    runtime.down, process.code = True, -9  # HAProxy crashed: the calls are kept for later
    balancers.drain(group, "t2")
    balancers.register(group, "t3", IPv4Address("10.0.2.11"), 80)
    balancers.deregister(group, "t1")
    registry = balancers.registry[group]
    assert sorted(registry) == ["t2", "t3"]
    assert registry["t2"].draining and not registry["t3"].draining


def test_a_refusing_haproxy_that_still_runs_is_an_error(plan: TwinPlan, tmp_path: Path) -> None:
    balancers, runtime, _ = _balancers(plan, tmp_path)
    runtime.down = True  # the process runs: a real failure, not a crash in progress
    with pytest.raises(HaproxyRuntimeError):
        balancers.register(plan.target_groups[0].key, "t1", IPv4Address("10.0.2.10"), 80)


def test_counters_and_health_while_down_and_after_a_restart(plan: TwinPlan, tmp_path: Path) -> None:
    balancers, runtime, process = _balancers(plan, tmp_path)
    group = plan.target_groups[0].key
    runtime.requests = 500
    assert balancers.request_total(group) == 500
    assert balancers.states(group)["t1"].health == "healthy"
    assert balancers.sample(group, at=1.0).requests == 500
    runtime.down, process.code = True, -9
    assert balancers.request_total(group) == 500  # the last answer, not an error
    assert balancers.states(group)["t1"].health == "healthy"  # the node failed, not t1
    assert balancers.sample(group, at=2.0).requests == 500
    runtime.down, process.code, runtime.requests = False, None, 7  # restarted: from 0
    assert balancers.request_total(group) == 507
    assert balancers.sample(group, at=3.0).requests == 507


def test_az_down_unmaps_its_nodes_and_moves_haproxy_out_of_it(
    plan: TwinPlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    balancers, _, _ = _balancers(plan, tmp_path)
    network = cast(FakeNetwork, balancers.network)
    lb = plan.load_balancers[0]
    first, second = lb.nodes
    moved: list[tuple[str, str | None]] = []

    def restart(lb_key: str, home: str | None = None) -> str:
        moved.append((lb_key, home))
        balancers.running[0].home = home or balancers.running[0].home
        return "with 0 targets"

    monkeypatch.setattr(balancers, "restart", restart)
    down = balancers.set_az_down(second.az, True)  # not HAProxy's AZ: it stays
    assert down == [second.public_ip] and moved == []
    assert second.public_ip not in network.mapped and first.public_ip in network.mapped
    assert balancers.set_az_down(second.az, False) == []
    assert network.mapped[second.public_ip] == second.private_ip
    down = balancers.set_az_down(first.az, True)  # HAProxy's home AZ: moved to node 1
    assert down == [first.public_ip]
    assert moved == [(lb.key, "fa-unit-lb0n1")]
    assert balancers.down_addresses() == {first.public_ip}
    assert balancers.set_az_down(first.az, False) == []
    assert moved == [(lb.key, "fa-unit-lb0n1")]  # coming back, HAProxy stays where it is
    assert set(network.mapped) == {first.public_ip, second.public_ip}
