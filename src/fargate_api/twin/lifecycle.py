"""`local up` and `local down`: start a twin's daemon and wait for it, or remove a twin.

`up` checks everything it can before touching the machine (root, tools, the templates
themselves), so bad input exits 2 with nothing created. Once the daemon runs, any
failure, timeout or Ctrl-C ends in the same `down`, which is also what a user runs: it
stops the daemon, then sweeps every namespace carrying the twin's prefix, so it works
even when the daemon crashed and is idempotent when nothing is left.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fargate_api.errors import UserError
from fargate_api.twin.model import TwinPlan
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.network import teardown
from fargate_api.twin.plan import load_plan
from fargate_api.twin.processes import pid_alive
from fargate_api.twin.state import DAEMON_LOG, LAUNCH_FILE, LaunchSpec, StateDir

DAEMON_STOP_GRACE = 15.0
UNKNOWN_STOP_TIMEOUT = 120.0  # ECS's largest stopTimeout, when the daemon wrote no state
POLL = 0.25


@dataclass(frozen=True)
class UpResult:
    status: dict[str, Any]
    plan: TwinPlan


def resolve_template(path: Path) -> Path:
    """A file, or a folder holding parent.yml (the reference layout) or one template."""
    if path.is_file():
        return path
    if path.is_dir():
        parent = path / "parent.yml"
        if parent.is_file():
            return parent
        found = sorted(
            p for p in path.iterdir() if p.suffix in (".yml", ".yaml", ".json") and p.is_file()
        )
        if len(found) == 1:
            return found[0]
        raise UserError(
            f"{path} holds {len(found)} templates and no parent.yml",
            where=str(path),
            fix="pass the root template itself with -t (the parent, or the single stack)",
        )
    raise UserError("no such template file or folder", where=str(path), fix="check the -t path")


def wait_timeout(plan: TwinPlan, time_scale: float) -> float:
    """Long enough for the slowest service to get healthy the way the templates say."""
    worst = 0.0
    for service in plan.services:
        seconds = 0.0
        for binding in service.load_balancers:
            check = plan.target_group(binding.target_group).health_check
            seconds = max(seconds, (check.interval * (check.healthy_threshold + 1) + check.timeout))
        worst = max(worst, seconds * time_scale)
    return worst + 60.0


def make_room(names: TwinNames) -> None:
    """Refuses to replace a running twin; removes what a crashed one left behind."""
    state = StateDir(names)
    if state.exists():
        if pid_alive(state.daemon_pid()):
            raise UserError(
                f"a twin named {names.name!r} is already running",
                fix=f"stop it with `fargate-api local down --name {names.name}`, or pick "
                "another --name",
            )
        down(names)


def start(
    names: TwinNames,
    template: Path,
    image_commands: Mapping[str, str],
    *,
    port: int,
    time_scale: float,
) -> tuple[TwinPlan, int]:
    """Validates, then starts the daemon; returns the plan and the daemon's pid."""
    state = StateDir(names)
    plan = load_plan(template, image_commands=image_commands)
    state.path.mkdir(parents=True, exist_ok=True)
    spec = LaunchSpec(
        template=str(template.resolve()),
        image_commands=dict(image_commands),
        port=port,
        time_scale=time_scale,
    )
    state.file(LAUNCH_FILE).write_text(spec.to_json())
    log = state.file(DAEMON_LOG).open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fargate_api.twin.daemon",
            "--state-dir",
            str(state.path),
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    return plan, process.pid


def wait_ready(
    names: TwinNames,
    pid: int,
    timeout: float,
    on_progress: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """Polls state.json until ready; raises TwinFailed with the reason otherwise."""
    state = StateDir(names)
    deadline = time.monotonic() + timeout
    while True:
        status = state.read_json("state.json") or {}
        if status:
            on_progress(status)
        if status.get("ready"):
            return status
        if status.get("phase") == "failed":
            raise TwinFailedError(str(status.get("error") or "the twin failed to start"), status)
        if not pid_alive(pid):
            tail = _tail(state.file(DAEMON_LOG))
            raise TwinFailedError(f"the twin's daemon exited during start-up: {tail}", status)
        if time.monotonic() > deadline:
            raise TwinFailedError(_timeout_reason(status, timeout), status)
        time.sleep(POLL)


class TwinFailedError(Exception):
    def __init__(self, reason: str, status: dict[str, Any]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def _timeout_reason(status: dict[str, Any], timeout: float) -> str:
    tasks = status.get("tasks") or []
    detail = ", ".join(f"{t['id'][:8]} {t['health']}" for t in tasks) or "no task running"
    stopped = status.get("stopped_tasks") or []
    why = f"; last stopped task: {stopped[0]['reason']}" if stopped else ""
    return (
        f"the service did not reach its desired count of healthy targets within "
        f"{timeout:.0f} s ({detail}{why})"
    )


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(empty log)"


def down(names: TwinNames, on_progress: Callable[[str], None] = lambda _: None) -> list[str]:
    """Stops the daemon (which stops tasks cleanly), then removes whatever is left."""
    state = StateDir(names)
    pid = state.daemon_pid() if state.exists() else None
    removed: list[str] = []
    if pid_alive(pid):
        assert pid is not None
        on_progress("stopping tasks and the load balancer")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + _stop_budget(state)
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(POLL)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            removed.append(f"daemon {pid} (killed)")
            pid_alive(pid)  # reaps it, when it is our child
        removed.append(f"daemon {pid}")
    removed += [f"netns {ns}" for ns in teardown(names)]
    if state.exists():
        shutil.rmtree(state.path, ignore_errors=True)
        removed.append(f"state {state.path}")
    return removed


def _stop_budget(state: StateDir) -> float:
    """The daemon SIGTERMs tasks and waits their stopTimeout (it writes the longest one,
    scaled, in its state); allow that, plus a margin."""
    status = state.read_json("state.json") or {}
    longest = status.get("stop_timeout")
    seconds = float(longest) if isinstance(longest, int | float) else UNKNOWN_STOP_TIMEOUT
    return seconds + DAEMON_STOP_GRACE
