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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from fargate_api.errors import OperationError, UserError
from fargate_api.templates import StackInput
from fargate_api.templates.stack_inputs import as_stack_inputs
from fargate_api.twin.cli.built_images import BuildProgress, ImageBuilds
from fargate_api.twin.cli.container_setup import (
    check_secrets,
    prepare_images,
    twin_containers_conf,
)
from fargate_api.twin.daemon.contracts import (
    LaunchSpec,
    LocalSecretValues,
    StackSource,
    TwinState,
)
from fargate_api.twin.daemon.runtimes import CONTAINERS_CONF, sweep_runtime
from fargate_api.twin.daemon.state import DAEMON_LOG, StateDir
from fargate_api.twin.ec2.vpc import teardown
from fargate_api.twin.ecs.secrets import SecretResolver
from fargate_api.twin.host.processes import pid_alive
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.load import load_plan
from fargate_api.twin.plan.model import Runtime, TwinPlan

DAEMON_STOP_GRACE = 15.0
UNKNOWN_STOP_TIMEOUT = 120.0  # ECS's largest stopTimeout, when the daemon wrote no state
POLL = 0.25
KILL_WAIT = 5.0  # a SIGKILLed process is gone in milliseconds; this bounds a stuck D state


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
    stacks: Path | Sequence[StackInput],
    image_commands: Mapping[str, str],
    *,
    port: int,
    time_scale: float,
    runtime: Runtime = "process",
    secrets: Mapping[str, str] | None = None,
    secrets_from_aws: bool = False,
    assume_task_role: bool = False,
    on_progress: Callable[[str], None] = lambda _: None,
    builds: ImageBuilds | None = None,
    build_progress: BuildProgress | None = None,
) -> tuple[TwinPlan, int]:
    """Validates (templates, secrets), builds the images the templates build from source
    (container mode), checks every image, then starts the daemon; returns the plan and
    the daemon's pid. Secret values reach the daemon on its stdin, never a file."""
    state = StateDir(names)
    stacks = as_stack_inputs(stacks)
    builds = builds or ImageBuilds()
    parameters = builds.placeholders()  # enough to validate before a long build
    plan = load_plan(stacks, image_commands=image_commands, runtime=runtime, parameters=parameters)
    local = SecretResolver(dict(secrets or {}))
    if not secrets_from_aws:
        check_secrets(plan, local)
    if runtime == "container":
        conf = twin_containers_conf(state.file(CONTAINERS_CONF))
        if builds:
            progress = build_progress or BuildProgress(on_progress, lambda _: None)
            parameters = builds.build(conf, progress)
            plan = load_plan(
                stacks, image_commands=image_commands, runtime=runtime, parameters=parameters
            )
        prepare_images(plan, conf, on_progress)
    state.write_launch(
        LaunchSpec(
            stacks=[StackSource.of(stack) for stack in stacks],
            image_commands=dict(image_commands),
            port=port,
            time_scale=time_scale,
            runtime=runtime,
            secrets_from_aws=secrets_from_aws,
            assume_task_role=assume_task_role,
            parameters=parameters,
        )
    )
    log = state.file(DAEMON_LOG).open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fargate_api.twin.daemon.main",
            "--state-dir",
            str(state.path),
        ],
        stdin=subprocess.PIPE,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    assert process.stdin is not None
    with process.stdin:
        process.stdin.write(
            LocalSecretValues(values=dict(secrets or {})).model_dump_json().encode()
        )
    return plan, process.pid


def wait_ready(
    names: TwinNames,
    pid: int,
    timeout: float,
    on_progress: Callable[[TwinState], None],
) -> TwinState:
    """Polls state.json until ready; an OperationError (exit 1) says why it is not."""
    state = StateDir(names)
    deadline = time.monotonic() + timeout
    while True:
        status = state.read_state()
        if status is not None:
            on_progress(status)
            if status.ready:
                return status
            if status.phase == "failed":
                raise OperationError(status.error or "the twin failed to start")
        if not pid_alive(pid):
            tail = _tail(state.file(DAEMON_LOG))
            raise OperationError(f"the twin's daemon exited during start-up: {tail}")
        if time.monotonic() > deadline:
            raise OperationError(_timeout_reason(status, timeout))
        time.sleep(POLL)


def _timeout_reason(status: TwinState | None, timeout: float) -> str:
    tasks = status.tasks if status else []
    detail = ", ".join(f"{t.id[:8]} {t.health}" for t in tasks) or "no task running"
    stopped = status.stopped_tasks if status else []
    why = f"; last stopped task: {stopped[0].reason}" if stopped else ""
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
            # SIGKILL lands asynchronously: wait until it is gone (pid_alive reaps our own
            # child), so the sweep below never races a daemon that still holds namespaces.
            deadline = time.monotonic() + KILL_WAIT
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(POLL)
            removed.append(f"daemon {pid} (killed)")
        else:
            removed.append(f"daemon {pid}")
    removed += sweep_runtime(names, state)
    removed += [f"netns {ns}" for ns in teardown(names)]
    if state.exists():
        shutil.rmtree(state.path, ignore_errors=True)
        removed.append(f"state {state.path}")
    return removed


def _stop_budget(state: StateDir) -> float:
    """The daemon SIGTERMs tasks and waits their stopTimeout (it writes the longest one,
    scaled, in its state); allow that, plus a margin."""
    try:
        status = state.read_state()
    except OperationError:  # a state.json of another version: `down` must still work
        status = None
    seconds = status.stop_timeout if status is not None else UNKNOWN_STOP_TIMEOUT
    return seconds + DAEMON_STOP_GRACE
