"""FIS's ``aws:ecs:task-cpu-stress``: a burner in the task's own cgroup.

FIS runs stress-ng in a sidecar of the task, so the load competes with the task's
containers for the task's CPU allowance (its cgroup's quota) and shows in the task's
CPU metrics. The twin does the same: a burner process is moved into the task's cgroup
(the cpu hierarchy on v1, the task's cgroup on v2; host/cgroups.py TaskCgroups) BEFORE
its workers fork, so every worker inherits the cgroup.

Each worker busy-loops ``percent`` of every 100 ms period, scaled by the task's CPUs
over the workers (a 0.25 vCPU task at 50 % burns 12.5 % of one CPU: half of what the
task may use), and sleeps the rest.

The burner ends by itself when the task's containers are gone (no other process left
in the task's cgroup tree, ``--cgroup``): a task that stops must not wait for the fault
to heal before its cgroup can be removed, nor `local down` after a daemon that died. It
runs in the host's namespaces, not the task's: ``ip netns exec`` mounts a fresh /sys,
where the task's cgroup (and so the watch) would not be found.

Usage: ``python -m fargate_api.twin.fis.cpu_stress --percent N [--workers K]
[--cpus C] [--cgroup DIR] [--label TEXT]``. It waits for one line ``go`` on stdin (sent
once the caller has moved it into the cgroup); EOF without it means the caller gave up:
exit 1.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from fargate_api.twin.host.cgroups import CPU_PERIOD_US, TaskCgroups
from fargate_api.twin.host.processes import kill_all
from fargate_api.twin.naming import TwinNames

MODULE = "fargate_api.twin.fis.cpu_stress"
PERIOD = 0.1  # seconds, the CFS period the task's quota is counted in
WATCH_INTERVAL = 0.5  # seconds between looks at the task's cgroup
_PR_SET_PDEATHSIG = 1

_children: dict[int, subprocess.Popen[bytes]] = {}


class CpuStressError(Exception):
    """The burner could not be started or put into the task's cgroup."""


# ------------------------------------------------------------------- the caller's side
def task_cpu_dir(cgroups: TaskCgroups) -> Path:
    """The task's cgroup that carries its CPU quota: v2's task cgroup, v1's cpu one."""
    base = cgroups.root if cgroups.v2 else cgroups.root / "cpu"
    return base / cgroups.prefix / cgroups.task_id


def task_cpus(cgroups: TaskCgroups) -> float:
    """The CPUs the task's quota allows (cpu.max / cfs_quota_us over the period); every
    CPU of the machine when unlimited."""
    folder = task_cpu_dir(cgroups)
    try:
        if cgroups.v2:
            quota_text, period_text = (folder / "cpu.max").read_text().split()
            quota = -1 if quota_text == "max" else int(quota_text)
            period = int(period_text)
        else:
            quota = int((folder / "cpu.cfs_quota_us").read_text())
            period = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        quota, period = -1, CPU_PERIOD_US
    machine = float(os.cpu_count() or 1)
    if quota <= 0 or period <= 0:
        return machine
    return min(machine, quota / period)


def start_cpu_stress(
    names: TwinNames,
    task_cgroup: TaskCgroups,
    percent: int,
    log: Path,
    *,
    cpus: float | None = None,
) -> int:
    """Starts a burner of ``percent`` % of the task's CPUs (``cpus``: read from the task's
    cgroup when None) inside the task's cgroup; returns its pid for ``stop_cpu_stress``.

    The burner is its own process group (one worker process per CPU below it) and stops
    by itself once the task's containers are gone."""
    if not 1 <= percent <= 100:
        raise ValueError(f"CPU stress of {percent} %: use 1-100")
    folder = task_cpu_dir(task_cgroup)
    procs = folder / "cgroup.procs"
    if not procs.exists():
        raise CpuStressError(f"the task's cgroup {folder} does not exist (is the task running?)")
    share = cpus if cpus is not None else task_cpus(task_cgroup)
    workers = max(1, math.ceil(share - 1e-9))
    command = [
        sys.executable,
        "-m",
        MODULE,
        "--percent",
        str(percent),
        "--workers",
        str(workers),
        "--cpus",
        f"{share:g}",
        "--cgroup",
        str(folder),
        "--label",
        f"{names.prefix}fis-cpu-{task_cgroup.task_id}",
    ]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _children[process.pid] = process
    assert process.stdin is not None
    try:
        procs.write_text(str(process.pid))
        process.stdin.write(b"go\n")
        process.stdin.close()
    except OSError as exc:
        stop_cpu_stress(process.pid)
        raise CpuStressError(f"cannot move the CPU burner into {folder}: {exc}") from None
    return process.pid


def stop_cpu_stress(pid: int) -> None:
    """Stops the burner and its workers (its process group); gone already is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    kill_all([pid])
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)  # workers that outlived their parent
    child = _children.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=1.0)


# ------------------------------------------------------------------- the burner
def busy_fraction(percent: float, cpus: float, workers: int) -> float:
    """The part of each period one worker burns: percent of the task's CPUs, spread."""
    return max(0.0, min(1.0, percent / 100.0 * cpus / workers))


def _burn(fraction: float) -> None:
    """Busy ``fraction`` of each period, asleep the rest, until killed.

    Counted in this process's CPU time, not wall time: on a busy machine a worker that
    was preempted keeps burning until it has had its share (or the period ends)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # die with the burner
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    start = time.monotonic()
    while True:
        period_end = start + PERIOD
        burn_until = time.process_time() + fraction * PERIOD
        while time.process_time() < burn_until and time.monotonic() < period_end:
            pass
        start = period_end
        now = time.monotonic()
        if start > now:
            time.sleep(start - now)
        else:
            start = now  # throttled past a whole period: start afresh


def cgroup_pids(folder: Path) -> set[int]:
    """Every process in the cgroup ``folder`` and the cgroups below it."""
    pids: set[int] = set()
    for procs in folder.rglob("cgroup.procs"):
        with contextlib.suppress(OSError, ValueError):
            pids.update(int(word) for word in procs.read_text().split())
    return pids


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}", description="Burns N %% of the task's CPUs."
    )
    parser.add_argument("--percent", type=float, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--cpus", type=float, help="the task's CPUs (default: --workers)")
    parser.add_argument("--cgroup", type=Path, help="the task's cgroup: stop when alone in it")
    parser.add_argument("--label", help="ignored; marks the command line")
    args = parser.parse_args(argv)
    if not 0 < args.percent <= 100 or args.workers < 1:
        parser.error("--percent must be in (0, 100] and --workers at least 1")
    if sys.stdin.readline().strip() != "go":
        return 1  # the caller could not put us into the task's cgroup
    fraction = busy_fraction(args.percent, args.cpus or args.workers, args.workers)
    pids: list[int] = []
    for _ in range(args.workers):
        pid = os.fork()
        if pid == 0:
            _burn(fraction)
            os._exit(0)
        pids.append(pid)

    def stop(signum: int, frame: FrameType | None) -> None:
        for child in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        for child in pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(child, 0)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(
        f"cpu-stress: {args.workers} worker(s), each busy {fraction:.0%} of every "
        f"{PERIOD * 1000:.0f} ms",
        flush=True,
    )
    own = {os.getpid(), *pids}
    alone = 0
    while True:
        time.sleep(WATCH_INTERVAL)
        if args.cgroup is None:
            continue
        alone = alone + 1 if not cgroup_pids(args.cgroup) - own else 0
        if alone >= 2:
            print("cpu-stress: the task's containers are gone; stopping", flush=True)
            stop(signal.SIGTERM, None)


if __name__ == "__main__":
    sys.exit(main())
