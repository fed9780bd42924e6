"""Network faults applied to (and removed from) the twin's namespaces, like FIS's actions.

Each function changes the kernel through host/kernel.py only, is idempotent (applying
twice, or removing what is not there, is no error) and removes everything it made: a
table, a qdisc, a process. The nft text comes from fis/network_rules.py (pure).

* AZ power interruption: the router drops what is forwarded in or out of the AZ's
  subnets (``isolate_az`` / ``restore_az``; several AZs at once).
* NAT gateway loss: the NAT's namespace forwards nothing (``lose_nat`` / ``restore_nat``).
* ``aws:ecs:task-network-blackhole-port``: drops in the task's namespace
  (``add_blackhole`` / ``remove_blackhole``).
* ``aws:ecs:task-network-latency``: ``tc netem`` on the task's interface where the kernel
  has it, else the task's TCP through fis/delay_proxy.py (``add_latency`` /
  ``remove_latency``; ``LatencyHandle.path`` says which ran).

``start_cpu_stress`` / ``stop_cpu_stress`` live in fis/cpu_stress.py and are re-exported
here, so the fault manager finds every host-side action in one module.

Every process started carries ``{prefix}fis-…`` on its command line, so `local down`'s
sweep (and a test's leak check) finds it even when the daemon died.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fargate_api.twin.fis import network_rules as rules
from fargate_api.twin.fis.cpu_stress import CpuStressError, start_cpu_stress, stop_cpu_stress
from fargate_api.twin.fis.delay_proxy import MODULE as DELAY_PROXY_MODULE
from fargate_api.twin.host import kernel as host
from fargate_api.twin.host.processes import kill_all
from fargate_api.twin.naming import TwinNames

__all__ = [
    "CpuStressError",
    "FaultError",
    "LatencyHandle",
    "add_blackhole",
    "add_latency",
    "isolate_az",
    "isolated_bridges",
    "lose_nat",
    "proxy_label",
    "remove_blackhole",
    "remove_latency",
    "restore_az",
    "restore_nat",
    "start_cpu_stress",
    "stop_cpu_stress",
]

LatencyPath = Literal["netem", "user-space proxy"]
AZ_TABLE = "fis-az"
NAT_TABLE = "fis-nat"
BLACKHOLE_TABLE = "fis-bh"
LATENCY_TABLE = "fis-lat"
# SO_MARK of the delay proxy's own connections ("FIS" in ASCII): the redirect skips them.
PROXY_MARK = 0x464953
PROXY_READY_TIMEOUT = 10.0

# The processes this module started, kept so they are reaped (no zombie, no warning).
_children: dict[int, subprocess.Popen[bytes]] = {}


class FaultError(Exception):
    """A fault could not be applied; says what and why (the caller maps it to
    OperationError)."""


@dataclass(frozen=True)
class LatencyHandle:
    """What ``add_latency`` did, for ``remove_latency``: the path that ran, the proxy's
    pid (user-space path) and the interface that got the qdisc (netem path)."""

    path: LatencyPath
    pid: int | None
    interface: str = ""


# ------------------------------------------------------------------- AZ isolation
def isolate_az(names: TwinNames, bridges: Sequence[str]) -> None:
    """The router drops what is forwarded in or out of these bridges (an AZ's subnets)."""
    host.nft(names.router, rules.az_isolation_add(names.table(AZ_TABLE), bridges))


def isolated_bridges(names: TwinNames) -> list[str]:
    """The bridges the router isolates now (empty when no AZ is isolated)."""
    table = names.table(AZ_TABLE)
    listing = host.run(
        host.in_netns(names.router, ["nft", "-j", "list", "set", "ip", table, rules.AZ_SET]),
        check=False,
    )
    if not listing.strip():
        return []  # no table: nothing isolated
    return rules.parse_set_elements(listing)


def restore_az(names: TwinNames, bridges: Sequence[str]) -> None:
    """Forwards for these bridges again; the table goes with the last isolated AZ."""
    table = names.table(AZ_TABLE)
    present = set(isolated_bridges(names))
    if not present:
        host.nft(names.router, rules.delete_table(table))
        return
    left = present - set(bridges)
    if not left:
        host.nft(names.router, rules.delete_table(table))
    else:
        host.nft(names.router, rules.az_isolation_remove(table, present & set(bridges)))


# ------------------------------------------------------------------- NAT gateway loss
def lose_nat(names: TwinNames, nat_netns: str) -> None:
    host.nft(nat_netns, rules.nat_loss_ruleset(names.table(NAT_TABLE)))


def restore_nat(names: TwinNames, nat_netns: str) -> None:
    host.nft(nat_netns, rules.delete_table(names.table(NAT_TABLE)))


# ------------------------------------------------------------------- blackhole
def add_blackhole(
    names: TwinNames,
    netns: str,
    *,
    port: int | None,
    protocol: rules.Protocol,
    traffic: rules.Traffic,
) -> None:
    """Replaces the task's blackhole (one per task) with this one."""
    script = rules.blackhole_ruleset(
        names.table(BLACKHOLE_TABLE), port=port, protocol=protocol, traffic=traffic
    )
    host.nft(netns, script)


def remove_blackhole(names: TwinNames, netns: str) -> None:
    host.nft(netns, rules.delete_table(names.table(BLACKHOLE_TABLE)))


# ------------------------------------------------------------------- latency
def proxy_label(names: TwinNames, netns: str) -> str:
    """The word on the delay proxy's command line: the twin's prefix (for `down`) and
    the task's namespace (for ``remove_latency``, even without the handle's pid)."""
    return f"{names.prefix}fis-lat-{netns.removeprefix(names.prefix)}"


def add_latency(
    names: TwinNames,
    netns: str,
    *,
    interface: str,
    ms: int,
    jitter_ms: int,
    log: Path,
) -> LatencyHandle:
    """Adds ``ms`` (± ``jitter_ms``) to what the task sends, as FIS's netem does.

    Applying it again to the same task replaces the previous latency."""
    if ms <= 0 or jitter_ms < 0:
        raise ValueError(f"latency {ms} ms ± {jitter_ms} ms: need ms > 0 and jitter >= 0")
    remove_latency(names, netns, LatencyHandle("user-space proxy", None, interface))
    if host.netem_available(names.prefix):
        delay = ["delay", f"{ms}ms"] + ([f"{jitter_ms}ms"] if jitter_ms else [])
        host.tc(netns, "qdisc", "replace", "dev", interface, "root", "netem", *delay)
        return LatencyHandle("netem", None, interface)
    pid, port = _start_proxy(names, netns, ms=ms, jitter_ms=jitter_ms, log=log)
    try:
        host.nft(
            netns,
            rules.latency_redirect_ruleset(
                names.table(LATENCY_TABLE), interface=interface, port=port, mark=PROXY_MARK
            ),
        )
    except host.HostCommandError:
        _stop(pid)
        raise
    _reset_open_connections(netns)
    return LatencyHandle("user-space proxy", pid, interface)


def _reset_open_connections(netns: str) -> None:
    """Resets the task's open TCP connections (not loopback, not link-local) once.

    netem delays the packets of connections already open; the proxy only sees new ones,
    and a load balancer reuses its idle connections to a target for as long as they
    live, so without this the fault would not show on them at all. Reset, they are
    opened again, through the proxy. Needs the kernel's socket destroy (``ss -K``);
    where it is missing, open connections keep their old timing.
    """
    host.run(
        host.in_netns(
            netns,
            [
                *("ss", "-K", "-tnH", "state", "established"),
                *("not", "dst", str(rules.LOOPBACK), "and", "not", "dst", str(rules.LINK_LOCAL)),
            ],
        ),
        check=False,
    )


def remove_latency(names: TwinNames, netns: str, handle: LatencyHandle) -> None:
    """Redirect first (no new connection reaches the proxy), then the proxy, and the
    qdisc; none of them being there is fine."""
    host.nft(netns, rules.delete_table(names.table(LATENCY_TABLE)))
    pids = {pid for pid in host.netns_pids(netns) if _has_word(pid, proxy_label(names, netns))}
    if handle.pid is not None and _has_word(handle.pid, proxy_label(names, netns)):
        pids.add(handle.pid)
    for pid in pids:
        _stop(pid)
    if handle.path == "netem" and handle.interface:
        host.tc(netns, "qdisc", "del", "dev", handle.interface, "root", check=False)


def _start_proxy(
    names: TwinNames, netns: str, *, ms: int, jitter_ms: int, log: Path
) -> tuple[int, int]:
    """Starts the delay proxy in the task's namespace; returns (pid, port) once it
    listens."""
    command = [
        sys.executable,
        "-m",
        DELAY_PROXY_MODULE,
        "--port",
        "0",
        "--delay-ms",
        str(ms),
        "--jitter-ms",
        str(jitter_ms),
        "--mark",
        str(PROXY_MARK),
        "--label",
        proxy_label(names, netns),
    ]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            host.in_netns(netns, command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log_file,
            start_new_session=True,
        )
    _children[process.pid] = process
    assert process.stdout is not None
    try:
        line = _read_line(process.stdout.fileno(), PROXY_READY_TIMEOUT)
    finally:
        process.stdout.close()
    if not line.startswith("ready port="):
        _stop(process.pid)
        raise FaultError(
            f"the delay proxy in {netns} did not start ({line.strip() or 'no answer'}; see {log})"
        )
    return process.pid, int(line.strip().removeprefix("ready port="))


def _read_line(fd: int, timeout: float) -> str:
    """One line from a pipe within ``timeout`` seconds ("" on EOF or timeout)."""
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 256)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


def _has_word(pid: int, word: str) -> bool:
    """Whether the process's command line holds ``word``: a stale pid (reused by an
    unrelated process) is never killed."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return word.encode() in handle.read().split(b"\0")
    except OSError:
        return False


def _stop(pid: int) -> None:
    kill_all([pid])
    child = _children.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=1.0)
