"""The daemon's supervision of its parts (daemon/supervisor.py), with fake parts and a
fake clock: restarts, back-off after failed restores, slow probes, and a tick that never
raises."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from fargate_api.twin.cloudwatch.metrics import MonotonicCounters
from fargate_api.twin.daemon.supervisor import (
    BACKOFF_MAX,
    SLOW_PROBE_INTERVAL,
    Supervisor,
    backoff,
)
from fargate_api.twin.elbv2.load_balancers import current_weights_map


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakePart:
    name: str = "haproxy ServiceLoadBalancer"
    kind: str = "haproxy"
    slow: bool = False
    broken: str | None = None
    failures_left: int = 0  # restores that raise before one works
    restores: int = 0
    probes: int = 0
    probe_error: Exception | None = None
    fail_with: Exception = field(default_factory=lambda: RuntimeError("config file missing"))

    def problem(self) -> str | None:
        self.probes += 1
        if self.probe_error is not None:
            raise self.probe_error
        return self.broken

    def restore(self) -> str | None:
        self.restores += 1
        if self.failures_left > 0:
            self.failures_left -= 1
            raise self.fail_with
        self.broken = None
        return "with 2 targets"


def _supervisor(clock: FakeClock) -> tuple[Supervisor, list[str]]:
    lines: list[str] = []
    return Supervisor(lines.append, clock=clock, wall=lambda: 1_000.0), lines


def test_backoff_doubles_up_to_thirty_seconds() -> None:
    assert [backoff(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff(0) == 0
    assert backoff(50) == BACKOFF_MAX


def test_healthy_part_is_never_restored() -> None:
    clock = FakeClock()
    supervisor, lines = _supervisor(clock)
    part = FakePart()
    supervisor.add(part)
    for _ in range(5):
        supervisor.tick()
        clock.advance(0.5)
    assert part.restores == 0
    assert part.probes == 5
    assert lines == []
    (status,) = supervisor.statuses()
    assert (status.health, status.restarts, status.reason) == ("ok", 0, "")


def test_crashed_part_is_restored_at_once_and_counted() -> None:
    clock = FakeClock()
    supervisor, lines = _supervisor(clock)
    part = FakePart(broken="crashed (exit -9)")
    supervisor.add(part)
    supervisor.tick()
    assert part.restores == 1
    assert lines == [
        "haproxy ServiceLoadBalancer crashed (exit -9); restarted with 2 targets in 0.0 s"
    ]
    (status,) = supervisor.statuses()
    assert status.health == "ok"
    assert status.restarts == 1
    assert status.reason == "crashed (exit -9)"
    assert status.last_restart == 1_000.0
    part.broken = "crashed (exit -9)"  # a second crash later: counted again
    clock.advance(0.5)
    supervisor.tick()
    assert supervisor.statuses()[0].restarts == 2


def test_failed_restore_is_reported_then_retried_with_backoff() -> None:
    clock = FakeClock()
    supervisor, lines = _supervisor(clock)
    part = FakePart(broken="crashed (exit 1)", failures_left=3)
    supervisor.add(part)
    supervisor.tick()  # first restore fails: retry in 1 s
    (status,) = supervisor.statuses()
    assert status.health == "failed"
    assert status.restarts == 0
    assert status.reason == "crashed (exit 1); restore failed: RuntimeError: config file missing"
    assert "next try in 1 s" in lines[-1]
    clock.advance(0.5)
    supervisor.tick()
    assert part.restores == 1  # still waiting
    assert part.probes == 1  # a failed part is retried, not probed
    clock.advance(0.5)
    supervisor.tick()  # second fails: retry in 2 s
    assert part.restores == 2
    clock.advance(1.9)
    supervisor.tick()
    assert part.restores == 2
    clock.advance(0.1)
    supervisor.tick()  # third fails: retry in 4 s
    assert part.restores == 3
    assert "next try in 4 s" in lines[-1]
    clock.advance(4.0)
    supervisor.tick()  # works
    assert part.restores == 4
    (status,) = supervisor.statuses()
    assert (status.health, status.restarts) == ("ok", 1)
    assert lines[-1].endswith("restarted with 2 targets in 0.0 s")
    # The back-off starts over after a success.
    part.broken, part.failures_left = "crashed (exit 1)", 1
    clock.advance(0.5)
    supervisor.tick()
    assert "next try in 1 s" in lines[-1]


def test_tick_never_raises_and_other_parts_keep_going() -> None:
    clock = FakeClock()
    supervisor, lines = _supervisor(clock)
    bad = FakePart(name="nat-gateway us-east-1a", broken="gone", failures_left=99)
    bad.fail_with = OSError("boom")
    probe_fails = FakePart(name="echo", probe_error=ValueError("cannot read"))
    good = FakePart(name="forwarder :80", broken="crashed (exit -9)")
    for part in (bad, probe_fails, good):
        supervisor.add(part)
    supervisor.tick()
    health = {s.name: s.health for s in supervisor.statuses()}
    assert health == {"nat-gateway us-east-1a": "failed", "echo": "ok", "forwarder :80": "ok"}
    assert probe_fails.restores == 1  # a probe that raises is a problem, restored
    assert any("cannot be probed (ValueError: cannot read)" in line for line in lines)


def test_a_log_that_raises_does_not_stop_the_tick() -> None:
    def log(_text: str) -> None:
        raise OSError("disk full")

    supervisor = Supervisor(log, clock=FakeClock())
    part = FakePart(broken="crashed")
    supervisor.add(part)
    supervisor.tick()
    assert supervisor.statuses()[0].restarts == 1


@pytest.mark.parametrize("slow", [True, False])
def test_slow_parts_are_probed_every_two_seconds(slow: bool) -> None:
    clock = FakeClock()
    supervisor, _ = _supervisor(clock)
    part = FakePart(slow=slow)
    supervisor.add(part)
    ticks = 0
    while ticks * 0.5 < SLOW_PROBE_INTERVAL * 2:
        supervisor.tick()
        clock.advance(0.5)
        ticks += 1
    assert part.probes == (2 if slow else ticks)


def test_counters_stay_monotonic_across_a_restart() -> None:
    counters = MonotonicCounters()
    assert [counters.read("a", raw) for raw in (0, 10, 25)] == [0, 10, 25]
    assert counters.read("a", 3) == 28  # HAProxy restarted: 25 before, 3 since
    assert counters.read("a", 7) == 32
    assert counters.read("b", 5) == 5  # each key on its own
    assert counters.read("a", 0) == 32  # a second restart
    assert counters.read("a", 1) == 33


def test_weights_map_keeps_comments_and_takes_current_weights() -> None:
    text = "# comment\nfw.RuleA 100:0\n# fw.RuleB: g1 g2\nfw.RuleB 50:50\n"
    weights = {"RuleA": "10:90"}
    result = current_weights_map(text, {"RuleA": "10:90"})
    assert result == "# comment\nfw.RuleA 10:90\n# fw.RuleB: g1 g2\nfw.RuleB 50:50\n"
    assert current_weights_map(text, {}) == text
    assert weights == {"RuleA": "10:90"}
