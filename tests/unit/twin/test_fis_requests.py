"""`local fault` requests checked against a running twin, before anything is touched:
every refusal names the values that would have been valid (exit 2)."""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv4Network
from typing import Any, Literal

import pytest

from fargate_api.errors import UserError
from fargate_api.twin.daemon.contracts import FaultRequest
from fargate_api.twin.fis.requests import (
    CPU_STRESS_NEEDS_CONTAINERS,
    FIS_ACTIONS,
    FaultTarget,
    TaskTarget,
    availability_zones,
    resolve,
)
from fargate_api.twin.plan.model import (
    Container,
    NatGateway,
    Service,
    Subnet,
    TaskDefinition,
    TwinPlan,
)

WEB = Container(
    name="web", image="web", command="serve", environment={}, port=80, essential=True,
    stop_timeout=10, log=None,
)  # fmt: skip
TASK_DEF = TaskDefinition(key="s/Task", family="app", cpu=None, memory=None, containers=(WEB,))


def _service(name: str) -> Service:
    return Service(
        key=f"s/{name}", name=name, cluster="c", task_definition=TASK_DEF.key, desired_count=2,
        subnets=("s/PrivA", "s/PrivB"), security_groups=(), assign_public_ip=False,
        load_balancers=(), health_check_grace_period=0, minimum_healthy_percent=100,
        maximum_percent=200, circuit_breaker=True, rollback=True,
    )  # fmt: skip


def _plan(
    *, services: tuple[str, ...] = ("api",), nat_azs: tuple[str, ...] = ("1a", "1b")
) -> TwinPlan:
    subnets = tuple(
        Subnet(
            key=key, index=i, cidr=IPv4Network(f"10.0.{i}.0/24"), az=az, route_table=None,
            public=key.startswith("s/Pub"),
        )
        for i, (key, az) in enumerate(
            [("s/PubB", "1b"), ("s/PubA", "1a"), ("s/PrivA", "1a"), ("s/PrivB", "1b")]
        )
    )  # fmt: skip
    nats = tuple(
        NatGateway(
            key=f"s/Nat{az}", subnet="s/PubA" if az == "1a" else "s/PubB",
            private_ip=IPv4Address(f"10.0.{9 + i}.9"), public_ip=IPv4Address(f"203.0.113.{i + 1}"),
        )
        for i, az in enumerate(nat_azs)
    )  # fmt: skip
    return TwinPlan(
        vpc="s/Vpc", vpc_cidr=IPv4Network("10.0.0.0/16"), subnets=subnets, route_tables=(),
        internet_gateway="s/Igw", nat_gateways=nats, security_groups=(), load_balancers=(),
        target_groups=(), task_definitions=(TASK_DEF,),
        services=tuple(_service(name) for name in services), log_groups=(),
    )  # fmt: skip


RUNNING = (
    TaskTarget("aaaa1111" + "0" * 24, "s/api", "1a"),
    TaskTarget("bbbb2222" + "0" * 24, "s/api", "1b"),
    TaskTarget("bbbb3333" + "0" * 24, "s/api", "1b"),
)


def _request(action: str, **fields: Any) -> FaultRequest:
    return FaultRequest.model_validate({"kind": "fault", "id": "r1", "action": action, **fields})


def _resolve(
    action: str,
    *,
    runtime: Literal["container", "process"] = "process",
    plan: TwinPlan | None = None,
    **fields: Any,
) -> FaultTarget:
    return resolve(
        _request(action, **fields), plan or _plan(), RUNNING, runtime=runtime, rng=random.Random(7)
    )


def _refused(action: str, **fields: Any) -> str:
    with pytest.raises(UserError) as caught:
        _resolve(action, **fields)
    return caught.value.render()


# ---------------------------------------------------------------- accepted


def test_the_azs_are_those_of_the_subnets_sorted() -> None:
    assert availability_zones(_plan()) == ["1a", "1b"]


def test_an_az_outage_names_its_az_duration_and_fis_scenario() -> None:
    target = _resolve("az-outage", az="1b", duration=60)
    assert (target.az, target.duration, target.target) == ("1b", 60.0, "1b")
    assert target.fis_action == "scenario AZ Availability: Power Interruption"


def test_a_nat_gateway_loss_needs_a_nat_gateway_in_that_az() -> None:
    target = _resolve("nat-gateway-loss", az="1a", duration=1)
    assert target.az == "1a"
    assert "disrupt-connectivity" in target.fis_action
    message = _resolve_refused_plan("nat-gateway-loss", _plan(nat_azs=("1a",)), az="1b", duration=5)
    assert "no NAT gateway in 1b" in message and "NAT gateways are in: 1a" in message
    message = _resolve_refused_plan("nat-gateway-loss", _plan(nat_azs=()), az="1a", duration=5)
    assert "no NAT gateway" in message


def _resolve_refused_plan(action: str, plan: TwinPlan, **fields: Any) -> str:
    with pytest.raises(UserError) as caught:
        _resolve(action, plan=plan, **fields)
    return caught.value.render()


def test_task_kill_takes_one_task_of_the_only_service_by_default() -> None:
    target = _resolve("task-kill")
    assert target.duration is None
    assert target.fis_action == "aws:ecs:stop-task"
    assert len(target.tasks) == 1 and target.tasks[0] in {t.id for t in RUNNING}
    assert target.target == "service api: 1 of 3 tasks"


@pytest.mark.parametrize(
    ("percent", "count"), [(1, 1), (33, 1), (34, 2), (50, 2), (67, 3), (100, 3)]
)
def test_task_kill_percent_rounds_up_like_fis_selection_mode_percent(
    percent: int, count: int
) -> None:
    target = _resolve("task-kill", service="api", percent=percent)
    assert len(target.tasks) == count
    assert len(set(target.tasks)) == count


def test_task_kill_of_one_task_by_a_prefix_of_its_id() -> None:
    target = _resolve("task-kill", task="aaaa")
    assert target.tasks == (RUNNING[0].id,)
    assert target.target == "task aaaa1111"


def test_latency_on_a_task_or_on_every_running_task_of_a_service() -> None:
    one = _resolve("network-latency", task="bbbb2", ms=200, jitter_ms=50, duration=30)
    assert (one.tasks, one.ms, one.jitter_ms) == ((RUNNING[1].id,), 200, 50)
    assert one.fis_action == "aws:ecs:task-network-latency"
    every = _resolve("network-latency", service="api", ms=100, duration=30)
    assert every.tasks == tuple(t.id for t in RUNNING)
    assert every.target == "service api"
    assert _resolve("network-latency", ms=100, duration=30).tasks == every.tasks


def test_blackhole_carries_port_protocol_and_direction() -> None:
    target = _resolve(
        "network-blackhole", task="aaaa", port=80, protocol="udp", traffic="ingress", duration=10
    )
    assert (target.port, target.protocol, target.traffic) == (80, "udp", "ingress")
    assert target.fis_action == "aws:ecs:task-network-blackhole-port"
    every_port = _resolve("network-blackhole", task="aaaa", duration=10)
    assert (every_port.port, every_port.protocol, every_port.traffic) == (None, "tcp", "both")


def test_cpu_stress_runs_where_containers_run() -> None:
    target = _resolve("cpu-stress", runtime="container", task="aaaa", percent=80, duration=60)
    assert (target.tasks, target.percent) == ((RUNNING[0].id,), 80)
    assert target.fis_action == "aws:ecs:task-cpu-stress"


def test_every_action_has_a_fis_name() -> None:
    assert set(FIS_ACTIONS) == {
        "az-outage", "task-kill", "network-latency", "network-blackhole", "cpu-stress",
        "nat-gateway-loss",
    }  # fmt: skip


@pytest.mark.parametrize("duration", [1, 43200])
def test_duration_bounds_are_accepted(duration: float) -> None:
    assert _resolve("az-outage", az="1a", duration=duration).duration == duration


# ---------------------------------------------------------------- refused


def test_an_unknown_az_lists_the_twins_azs() -> None:
    message = _refused("az-outage", az="us-east-1c", duration=60)
    assert "no subnet in AZ 'us-east-1c'" in message and "use one of: 1a, 1b" in message
    assert "use one of: 1a, 1b" in _refused("az-outage", duration=60)


@pytest.mark.parametrize("duration", [0, 0.5, -3, 43201, float("inf"), float("nan")])
def test_a_duration_out_of_range_names_the_range(duration: float) -> None:
    message = _refused("az-outage", az="1a", duration=duration)
    assert "out of range" in message and "1-43200 seconds" in message


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ("az-outage", {"az": "1a"}),
        ("nat-gateway-loss", {"az": "1a"}),
        ("network-latency", {"task": "aaaa", "ms": 10}),
        ("network-blackhole", {"task": "aaaa"}),
    ],
)
def test_every_action_but_task_kill_needs_a_duration(action: str, fields: dict[str, Any]) -> None:
    message = _refused(action, **fields)
    assert "needs --duration" in message and "1-43200 seconds" in message


def test_task_kill_takes_no_duration() -> None:
    message = _refused("task-kill", duration=60)
    assert "task-kill does not take --duration" in message
    assert "TASK, --service, --percent" in message


def test_options_of_another_action_are_refused() -> None:
    assert "az-outage does not take --ms, --port" in _refused(
        "az-outage", az="1a", duration=5, ms=10, port=80
    )
    assert "network-latency does not take --traffic" in _refused(
        "network-latency", task="aaaa", ms=10, duration=5, traffic="egress"
    )


def test_an_unknown_task_lists_the_running_tasks() -> None:
    message = _refused("network-latency", task="cccc", ms=10, duration=5)
    assert "no running task matches 'cccc'" in message
    assert all(t.id in message for t in RUNNING)


def test_an_ambiguous_task_prefix_is_refused() -> None:
    assert "more than one task matches 'bbbb'" in _refused("task-kill", task="bbbb")


def test_an_unknown_service_lists_the_services() -> None:
    message = _refused("task-kill", service="web")
    assert "no service named 'web'" in message and "use one of: api" in message


def test_task_and_service_together_are_refused() -> None:
    assert "not both" in _refused("network-blackhole", task="aaaa", service="api", duration=5)


def test_several_services_need_a_choice() -> None:
    plan = _plan(services=("api", "worker"))
    message = _resolve_refused_plan("task-kill", plan)
    assert "several services" in message and "api, worker" in message


def test_a_service_without_running_tasks_is_refused() -> None:
    plan = _plan(services=("api", "worker"))
    message = _resolve_refused_plan("task-kill", plan, service="worker")
    assert "service worker has no running task" in message


@pytest.mark.parametrize("percent", [0, 101, -5])
def test_task_kill_percent_out_of_range(percent: int) -> None:
    assert "--percent" in _refused("task-kill", percent=percent) and "1-100" in _refused(
        "task-kill", percent=percent
    )


def test_task_kill_percent_with_a_task_is_refused() -> None:
    assert "--percent picks among a service's tasks" in _refused(
        "task-kill", task="aaaa", percent=50
    )


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({}, "needs --ms"),
        ({"ms": 0}, "--ms 0 is out of range"),
        ({"ms": 60001}, "--ms 60001 is out of range"),
        ({"ms": 100, "jitter_ms": 101}, "--jitter 101 is out of range"),
        ({"ms": 100, "jitter_ms": -1}, "--jitter -1 is out of range"),
    ],
)
def test_latency_bounds(fields: dict[str, Any], text: str) -> None:
    message = _refused("network-latency", task="aaaa", duration=5, **fields)
    assert text in message


@pytest.mark.parametrize("port", [0, 65536])
def test_blackhole_port_out_of_range(port: int) -> None:
    message = _refused("network-blackhole", task="aaaa", port=port, duration=5)
    assert f"--port {port} is not a port" in message and "1-65535" in message


def test_cpu_stress_is_refused_in_process_mode_with_the_reason() -> None:
    message = _refused("cpu-stress", task="aaaa", percent=50, duration=5)
    assert CPU_STRESS_NEEDS_CONTAINERS in message
    assert "local up --runtime container" in message


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"percent": 50, "duration": 5}, "cpu-stress needs a TASK"),
        ({"task": "aaaa", "duration": 5}, "cpu-stress needs --percent"),
        ({"task": "aaaa", "percent": 0, "duration": 5}, "--percent 0 is out of range"),
        ({"task": "aaaa", "percent": 101, "duration": 5}, "--percent 101 is out of range"),
    ],
)
def test_cpu_stress_bounds(fields: dict[str, Any], text: str) -> None:
    with pytest.raises(UserError) as caught:
        _resolve("cpu-stress", runtime="container", **fields)
    assert text in caught.value.render()
