"""Fail-open without a process: the runtime commands that give each target its unchecked
``backup`` copy, how target health reads with copies in the backend, and when
LoadBalancers arms a copy (elbv2/haproxy_runtime.py, load_balancers.py, fail_open.py).

What HAProxy does with the copies (requests to all unhealthy targets, none to a draining
one, 503 without targets, counters) is proven with the real haproxy in
tests/twin/test_haproxy_fail_open.py.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, cast

import pytest

from fargate_api.twin.elbv2.fail_open import FailOpenArming
from fargate_api.twin.elbv2.haproxy_runtime import (
    NO_SUCH_SERVER,
    HaproxyRuntime,
    HaproxyRuntimeError,
    TargetState,
    _target_states,
    fail_open_server_name,
)
from fargate_api.twin.elbv2.load_balancers import LoadBalancers
from fargate_api.twin.plan.model import HealthCheck, TwinPlan
from unit.twin import test_load_balancer_restore
from unit.twin.test_load_balancer_restore import FakeProcess, FakeRuntime, _balancers

# test_load_balancer_restore's fixture (the default config's plan), under its own name.
plan = test_load_balancer_restore.plan

CHECK = HealthCheck("/health", None, "HTTP", 5, 2, 2, 2, "200")
BE = "tg.Svc.Web"


class RecordingRuntime(HaproxyRuntime):
    """HaproxyRuntime whose commands are recorded and answered from ``missing``: a
    command about a server in it fails as HAProxy's would."""

    def __init__(self, missing: set[str] | None = None) -> None:
        super().__init__(Path("/nonexistent.sock"))
        self.sent: list[str] = []
        self.missing = missing or set()

    def command(self, command: str) -> str:
        self.sent.append(command)
        if any(f" {BE}/{name}" in f"{command} " for name in self.missing):
            raise HaproxyRuntimeError(command, NO_SUCH_SERVER)
        return ""


def test_add_target_adds_the_checked_server_then_its_copy_in_maintenance() -> None:
    runtime = RecordingRuntime()
    runtime.add_target("Svc/Web", "t1", IPv4Address("10.0.2.10"), 8080, CHECK)
    assert runtime.sent == [
        f"add server {BE}/t1 10.0.2.10:8080 check inter 5s rise 2 fall 2",
        f"enable health {BE}/t1",
        f"set server {BE}/t1 state drain",
        f"set server {BE}/t1 health down",
        f"set server {BE}/t1 state ready",
        # No `check`, and no `state ready`: `add server` leaves it in maintenance.
        f"add server {BE}/fail-open.t1 10.0.2.10:8080 backup",
    ]
    runtime.sent.clear()
    runtime.arm_fail_open("Svc/Web", "t1")
    assert runtime.sent == [f"set server {BE}/fail-open.t1 state ready"]


def test_drain_drains_the_copy_too_and_remove_takes_both_out_before_deleting() -> None:
    runtime = RecordingRuntime()
    runtime.drain_target("Svc/Web", "t1")
    assert runtime.sent == [
        f"set server {BE}/t1 state drain",
        f"set server {BE}/fail-open.t1 state drain",
    ]
    runtime.sent.clear()
    runtime.remove_target("Svc/Web", "t1")
    # Neither is deleted while the other could still take a request.
    assert runtime.sent == [
        f"set server {BE}/t1 state maint",
        f"set server {BE}/fail-open.t1 state maint",
        f"shutdown sessions server {BE}/t1",
        f"shutdown sessions server {BE}/fail-open.t1",
        f"del server {BE}/t1",
        f"del server {BE}/fail-open.t1",
    ]


def test_remove_skips_whichever_server_is_already_gone() -> None:
    runtime = RecordingRuntime(missing={"fail-open.t1"})
    runtime.remove_target("Svc/Web", "t1")
    assert f"del server {BE}/t1" in runtime.sent
    assert not any(c.startswith(f"del server {BE}/fail-open") for c in runtime.sent)
    gone = RecordingRuntime(missing={"t1", "fail-open.t1"})
    gone.remove_target("Svc/Web", "t1")  # a no-op, not an error
    assert not any(c.startswith("del server") for c in gone.sent)


def test_a_failed_copy_add_removes_the_half_added_target() -> None:
    class CopyRefused(RecordingRuntime):
        def command(self, command: str) -> str:
            if command.startswith(f"add server {BE}/fail-open."):
                self.sent.append(command)
                raise HaproxyRuntimeError(command, "out of memory")
            return super().command(command)

    runtime = CopyRefused()
    with pytest.raises(HaproxyRuntimeError, match="out of memory"):
        runtime.add_target("Svc/Web", "t1", IPv4Address("10.0.2.10"), 8080, CHECK)
    assert runtime.sent[-2:] == [f"del server {BE}/t1", f"del server {BE}/fail-open.t1"]


def test_target_ids_cannot_take_the_copies_names() -> None:
    assert fail_open_server_name("t1") == "fail-open.t1"
    with pytest.raises(ValueError, match="fail-open copies"):
        RecordingRuntime().add_target(
            "Svc/Web", "fail-open.t1", IPv4Address("10.0.2.10"), 80, CHECK
        )
    RecordingRuntime().add_target("Svc/Web", "t1.fail-open", IPv4Address("10.0.2.10"), 80, CHECK)


def _row(name: str, **values: str) -> dict[str, str]:
    row = {"svname": name, "check_status": "", "chkdown": "1", "scur": "0", "req_tot": "0"}
    return row | values


def test_health_leaves_the_copies_out_and_counts_their_requests_for_their_target() -> None:
    rows = [
        _row("t1", check_status="L7STS", check_code="500", chkdown="2", scur="1", req_tot="4"),
        _row("fail-open.t1", check_status="no check", scur="2", req_tot="30"),
        _row("t2", check_status="L7OK", req_tot="5"),
        _row("fail-open.t2", check_status="no check"),
        _row("t3", check_status="L7STS", chkdown="2"),
        _row("fail-open.t3", check_status="no check", req_tot="7"),
        _row("BACKEND", req_tot="46"),
    ]
    admin = {
        "t1": (0, 0),
        "fail-open.t1": (2, 0),  # armed: ready, not in maintenance
        "t2": (0, 0),
        "fail-open.t2": (0, 0x01),  # in maintenance since added: not armed
        "t3": (2, 0x08),  # draining
        "fail-open.t3": (2, 0x08),  # draining with it
    }
    states = _target_states(rows, admin)
    assert set(states) == {"t1", "t2", "t3"}
    # Served through its copy, t1 is still reported unhealthy, as on the ALB.
    assert states["t1"] == TargetState("unhealthy", "L7STS 500", 3, 34, fail_open_ready=True)
    assert states["t2"] == TargetState("initial", "L7OK", 0, 5, fail_open_ready=False)
    assert (states["t3"].health, states["t3"].total_requests) == ("draining", 7)
    assert not states["t3"].fail_open_ready
    # A target whose copy is not there (yet) reads as before.
    alone = _target_states([_row("t4", check_status="L7OK")], {"t4": (2, 0)})
    assert alone["t4"] == TargetState("healthy", "L7OK", 0, 0, fail_open_ready=False)


# ------------------------------------------------------------------ LoadBalancers


@dataclass
class ArmingRuntime(FakeRuntime):
    """FakeRuntime with a health per target and the arming and forcing calls."""

    health: dict[str, str] = field(default_factory=dict)
    refuse_arming: str = ""  # HAProxy's answer to `arm_fail_open`, "" for none

    def target_states(self, group: str) -> dict[str, TargetState]:
        self._check("states")
        return {
            target_id: TargetState(cast(Any, health), "", 0, 0)
            for target_id, health in self.health.items()
        }

    def arm_fail_open(self, group: str, target_id: str) -> None:
        self._check(f"arm {target_id}")
        if self.refuse_arming:
            raise HaproxyRuntimeError(f"arm {target_id}", self.refuse_arming)

    def force_health_up(self, group: str, target_id: str) -> None:
        self._check(f"up {target_id}")


def _arming(plan: TwinPlan, tmp_path: Path) -> tuple[LoadBalancers, ArmingRuntime, FakeProcess]:
    balancers, _, process = _balancers(plan, tmp_path)
    runtime = ArmingRuntime()
    balancers.running[0].runtime = cast(HaproxyRuntime, runtime)
    balancers.running[0].target_groups = frozenset({plan.target_groups[0].key})
    return balancers, runtime, process


def test_a_copy_is_armed_once_its_target_left_initial_and_never_while_draining(
    plan: TwinPlan, tmp_path: Path
) -> None:
    balancers, runtime, _ = _arming(plan, tmp_path)
    group = plan.target_groups[0].key
    lb_key = balancers.running[0].lb.key
    for target_id in ("new", "sick", "fine", "leaving"):
        balancers.register(group, target_id, IPv4Address("10.0.2.10"), 80)
    balancers.drain(group, "leaving")
    runtime.health = {"new": "initial", "sick": "unhealthy", "fine": "healthy"}
    runtime.health["leaving"] = "draining"
    runtime.calls.clear()

    assert balancers.arm_fail_open() == 2
    assert runtime.calls == ["states", "arm fine", "arm sick"]
    registry = balancers.registry[group]
    assert {t for t, r in registry.items() if lb_key in r.fail_open} == {"fine", "sick"}

    # Armed copies are not asked about again; the initial one is, until it leaves.
    runtime.calls.clear()
    assert balancers.arm_fail_open() == 0
    assert runtime.calls == ["states"]
    runtime.health["new"] = "unhealthy"
    assert balancers.arm_fail_open() == 1 and lb_key in registry["new"].fail_open
    # Nothing left to arm: not even a socket round trip.
    runtime.calls.clear()
    assert balancers.arm_fail_open() == 0 and runtime.calls == []
    assert registry["leaving"].fail_open == set()


def test_arming_waits_for_a_copy_not_added_yet_and_skips_a_dead_haproxy(
    plan: TwinPlan, tmp_path: Path
) -> None:
    balancers, runtime, process = _arming(plan, tmp_path)
    group = plan.target_groups[0].key
    balancers.register(group, "t1", IPv4Address("10.0.2.10"), 80)
    runtime.health = {"t1": "unhealthy"}
    runtime.refuse_arming = NO_SUCH_SERVER  # `register` has not added it yet
    assert balancers.arm_fail_open() == 0
    assert balancers.registry[group]["t1"].fail_open == set()
    runtime.refuse_arming = "Permission denied"  # any other answer is a real error
    with pytest.raises(HaproxyRuntimeError, match="Permission denied"):
        balancers.arm_fail_open()
    runtime.refuse_arming = ""
    runtime.down, process.code = True, -9  # crashed: nothing asked, nothing armed
    assert balancers.arm_fail_open() == 0
    runtime.down, process.code = False, None
    assert balancers.arm_fail_open() == 1


def test_restart_arms_again_the_copies_that_were_armed(
    plan: TwinPlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    balancers, runtime, _ = _arming(plan, tmp_path)
    group = plan.target_groups[0].key
    for target_id in ("sick", "fine", "new", "leaving"):
        balancers.register(group, target_id, IPv4Address("10.0.2.10"), 80)
    runtime.health = {"sick": "unhealthy", "fine": "healthy", "new": "initial"}
    runtime.health["leaving"] = "unhealthy"
    assert balancers.arm_fail_open() == 3
    balancers.drain(group, "leaving")  # armed, then drained: restored drained
    balancers.states(group)  # the last known health, which restart reads
    launched: list[str] = []

    def launch(*args: Any) -> tuple[FakeProcess, Path, Path]:
        launched.append("haproxy")
        return FakeProcess(), tmp_path / "haproxy.cfg", tmp_path / "weights.map"

    monkeypatch.setattr(balancers, "_launch", launch)
    monkeypatch.setattr("fargate_api.twin.elbv2.load_balancers.terminate", lambda _: None)
    runtime.calls.clear()
    assert balancers.restart(balancers.running[0].lb.key) == "with 4 targets"
    assert launched == ["haproxy"]
    assert runtime.calls == [
        *("add fine", "up fine", "arm fine"),
        *("add leaving", "drain leaving"),  # its copy stays drained: not armed
        "add new",  # still initial: not armed
        *("add sick", "arm sick"),  # fails open at once, not after its first failed check
    ]


def test_the_arming_thread_runs_until_stopped_and_survives_a_failed_round() -> None:
    rounds: list[float] = []
    two = threading.Event()

    def arm() -> None:
        rounds.append(time.monotonic())
        if len(rounds) == 1:
            raise HaproxyRuntimeError("show stat", "socket busy")
        if len(rounds) >= 3:
            two.set()

    arming = FailOpenArming(arm, interval=0.01)
    arming.start()
    arming.start()  # idempotent: still one thread
    assert two.wait(5), rounds
    arming.stop()
    count = len(rounds)
    time.sleep(0.05)
    assert len(rounds) == count  # stopped means stopped
    assert isinstance(arming.last_error, HaproxyRuntimeError)
