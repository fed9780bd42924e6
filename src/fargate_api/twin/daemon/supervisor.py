"""The daemon's supervision of the twin's long-running parts: HAProxy, the NAT and
internet gateways, the resolvers, the task endpoints, the echo service, the forwarders.

On AWS a failed load balancer node or NAT gateway host is replaced and the service keeps
serving; the twin does the same for its own parts. Each tick the daemon probes every
part (a cheap check: a process that exited, a namespace or nftables table that is gone);
a part with a problem is restored at once, and the twin's log says what happened. A
restore that fails marks the part `failed` with why, and is retried with a growing
back-off, while the rest of the twin keeps running: one broken part never takes the
daemon down.

The restart and back-off policy (`PartRecord`) is pure, driven by an injected clock, so
its timing is unit-tested without a twin (tests/unit/twin/test_supervisor.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from fargate_api.twin.daemon.contracts import PartHealth, PartStatus

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
# Kernel-state probes (`ip netns list`, `nft list tables`) cost a process each; every
# ~2 s keeps a lost NAT gateway's outage short without a fork storm on every tick.
SLOW_PROBE_INTERVAL = 2.0


class Part(Protocol):
    """One supervised part; the concrete ones are in daemon/parts.py."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def slow(self) -> bool:
        """True when `problem` reads kernel state (probed every SLOW_PROBE_INTERVAL)."""
        ...

    def problem(self) -> str | None:
        """What is wrong with the part now ("crashed (exit -9)"), None when it is fine."""
        ...

    def restore(self) -> str | None:
        """Brings the part back with its state; may return what it restored ("with 2
        targets"). Raises when it cannot."""
        ...


def backoff(failures: int) -> float:
    """Seconds before the next restore after ``failures`` failed ones in a row: 1, 2, 4 ..
    30 s."""
    if failures <= 0:
        return 0.0
    return min(BACKOFF_MAX, BACKOFF_FIRST * (1 << min(failures - 1, 16)))


@dataclass
class PartRecord:
    """One part's restart history and what the policy says to do next (pure)."""

    name: str
    kind: str
    health: PartHealth = "ok"
    restarts: int = 0
    failures: int = 0  # failed restores in a row
    reason: str = ""
    problem: str = ""  # what the pending or failed restore answers
    last_restart: float | None = None  # epoch seconds
    next_attempt: float = 0.0
    last_probe: float = field(default=-float("inf"))

    def due_for_probe(self, now: float, slow: bool) -> bool:
        if self.health == "failed":
            return False  # it is retried on its back-off, not probed
        return not slow or now - self.last_probe >= SLOW_PROBE_INTERVAL

    def due_for_retry(self, now: float) -> bool:
        return self.health == "failed" and now >= self.next_attempt

    def restored(self, wall: float) -> None:
        self.health = "ok"
        self.restarts += 1
        self.failures = 0
        self.last_restart = wall
        self.next_attempt = 0.0

    def restore_failed(self, now: float, why: str) -> None:
        self.health = "failed"
        self.failures += 1
        self.reason = why
        self.next_attempt = now + backoff(self.failures)

    def status(self) -> PartStatus:
        return PartStatus(
            name=self.name,
            kind=self.kind,
            health=self.health,
            restarts=self.restarts,
            reason=self.reason,
            last_restart=self.last_restart,
        )


class Supervisor:
    """Probes and restores parts; `tick` never raises an Exception."""

    def __init__(
        self,
        log: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.log = log
        self.clock = clock
        self.wall = wall
        self._parts: list[tuple[Part, PartRecord]] = []

    def add(self, part: Part) -> None:
        self._parts.append((part, PartRecord(part.name, part.kind)))

    def tick(self) -> None:
        for part, record in self._parts:
            try:
                self._check(part, record)
            except Exception as exc:  # a part's bug must not stop the daemon
                self._say(f"{record.name}: supervision failed: {type(exc).__name__}: {exc}")

    def statuses(self) -> list[PartStatus]:
        return [record.status() for _, record in self._parts]

    def _check(self, part: Part, record: PartRecord) -> None:
        now = self.clock()
        if record.due_for_retry(now):
            problem = record.problem
        elif record.due_for_probe(now, part.slow):
            record.last_probe = now
            try:
                found = part.problem()
            except Exception as exc:  # a failing probe is a problem too
                found = f"cannot be probed ({type(exc).__name__}: {exc})"
            if found is None:
                return
            problem = record.problem = found
            record.reason = found
            record.health = "restarting"
        else:
            return
        started = self.clock()
        try:
            detail = part.restore()
        except Exception as exc:  # any failure is reported, then retried
            why = f"{problem}; restore failed: {_text(exc)}"
            record.restore_failed(self.clock(), why)
            self._say(f"{record.name} {why} (next try in {backoff(record.failures):.0f} s)")
            return
        took = self.clock() - started
        record.restored(self.wall())
        record.reason = problem
        restarted = f"restarted {detail}" if detail else "restarted"
        self._say(f"{record.name} {problem}; {restarted} in {took:.1f} s")

    def _say(self, text: str) -> None:
        with contextlib.suppress(Exception):  # losing one log line beats stopping
            self.log(text)


def _text(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {first[0] if first else ''}".rstrip(": ")
