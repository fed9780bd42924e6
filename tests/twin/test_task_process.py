"""An ECS container as a process in its own network namespace (twin/task_process.py).

Each test gets a fresh namespace named with its ``netns_prefix`` and removed in teardown,
also on failure; every process is labelled with the prefix, so the tier's leak check
finds any that survive. Timing bounds are generous: they separate "at once" from "after
the stop timeout", not milliseconds.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fargate_api.twin.ecs.task_process import TaskProcess, log_stream_path
from fargate_api.twin.plan.model import LogTarget
from unit.twin.task_definitions import TASK_ID, container

TIMEOUT = 10.0
PROMPT = 3.0  # seconds: "at once", with room for a loaded machine
PY = sys.executable
LOG = LogTarget("/ecs/fa-test", "web")

# A Python "app" that reports readiness only once its SIGTERM disposition is in place.
HANDLES_TERM = (
    f"{PY} -c 'import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *a: sys.exit(7))\n"
    'print("ready", flush=True)\n'
    "time.sleep(60)'"
)
IGNORES_TERM = (
    f"{PY} -c 'import os, signal, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    'print(f"ready {os.getpid()}", flush=True)\n'
    "time.sleep(60)'"
)


def wait_for_log(path: Path, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
    """The first match of ``pattern`` in the log file, waiting for it to appear."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text() if path.exists() else ""
        match = re.search(pattern, text, re.MULTILINE)
        if match:
            return match
        if time.monotonic() > deadline:
            pytest.fail(f"{pattern!r} not in {path} within {timeout} s:\n{text}")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie left for init to reap counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


@pytest.fixture
def netns(netns_prefix: str) -> Iterator[str]:
    name = f"{netns_prefix}task"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=TIMEOUT)
    try:
        yield name
    finally:
        pids = subprocess.run(
            ["ip", "netns", "pids", name],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        ).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=TIMEOUT)


class Launcher:
    """Starts task processes in the test's namespace and kills leftovers at teardown."""

    def __init__(self, netns: str, prefix: str, logs: Path) -> None:
        self.netns = netns
        self.prefix = prefix
        self.logs = logs
        self.started: list[TaskProcess] = []

    def start(
        self,
        command: str,
        environment: dict[str, str] | None = None,
        log: LogTarget | None = LOG,
    ) -> TaskProcess:
        process = TaskProcess.start(
            netns=self.netns,
            command=command,
            environment=environment or {},
            log_path=log_stream_path(self.logs, container(log), TASK_ID),
            label=f"{self.prefix}app",
        )
        self.started.append(process)
        return process


@pytest.fixture
def launcher(netns: str, netns_prefix: str, tmp_path: Path) -> Iterator[Launcher]:
    launched = Launcher(netns, netns_prefix, tmp_path / "logs")
    try:
        yield launched
    finally:
        for process in launched.started:
            with contextlib.suppress(Exception):
                process.kill()


# --------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------


def test_command_runs_inside_the_task_namespace(launcher: Launcher) -> None:
    process = launcher.start("ip netns identify $$; ip -o link show")
    assert process.wait(TIMEOUT) == 0
    lines = process.log_path.read_text().splitlines()
    assert lines[0] == launcher.netns  # the kernel says which namespace the shell is in
    links = [line.split(":")[1].strip() for line in lines[1:]]
    assert links == ["lo"]  # a fresh namespace: only its own loopback


def test_environment_and_output_follow_the_task_definition(
    launcher: Launcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FA_TWIN_TEST_LEAK", "leaked")  # in the twin's own environment
    process = launcher.start(
        'echo "greeting=$GREETING task=$FA_TASK_ID"; echo "leak=${FA_TWIN_TEST_LEAK:-none}"; '
        'echo "home=$HOME"; echo to-stderr >&2; command -v ip',
        environment={"GREETING": "hello world", "FA_TASK_ID": TASK_ID},
    )
    assert process.wait(TIMEOUT) == 0
    assert process.log_path == launcher.logs / "ecs" / "fa-test" / "web" / "app" / TASK_ID
    lines = process.log_path.read_text().splitlines()
    assert lines[:4] == [
        f"greeting=hello world task={TASK_ID}",
        "leak=none",
        "home=/tmp",
        "to-stderr",
    ]
    assert lines[4].endswith("/ip")  # the base PATH finds system tools
    # A restarted container appends to the same stream, as awslogs does.
    again = launcher.start("echo second run")
    assert again.wait(TIMEOUT) == 0
    assert again.log_path.read_text().splitlines()[-1] == "second run"
    assert len(again.log_path.read_text().splitlines()) == 6


def test_stop_returns_the_exit_code_of_an_app_that_handles_sigterm(launcher: Launcher) -> None:
    process = launcher.start(HANDLES_TERM)
    wait_for_log(process.log_path, "^ready$")
    assert process.poll() is None
    started = time.monotonic()
    code = process.stop(timeout=TIMEOUT)
    assert time.monotonic() - started < PROMPT  # no wait for the stop timeout
    assert code == 7  # the app's own exit code, not the shell's 143
    assert process.poll() == 7
    assert process.stop_requested
    started = time.monotonic()
    assert process.stop(timeout=TIMEOUT) == 7  # idempotent
    assert time.monotonic() - started < 1.0


def test_stop_of_a_command_without_a_handler_reports_sigterm(launcher: Launcher) -> None:
    process = launcher.start("echo ready; sleep 60; echo should-not-run")
    wait_for_log(process.log_path, "^ready$")
    assert process.stop(timeout=TIMEOUT) == 128 + signal.SIGTERM
    assert "should-not-run" not in process.log_path.read_text()


def test_stop_kills_an_app_that_ignores_sigterm_after_the_timeout(launcher: Launcher) -> None:
    process = launcher.start(IGNORES_TERM)
    app = int(wait_for_log(process.log_path, r"^ready (\d+)$").group(1))
    started = time.monotonic()
    code = process.stop(timeout=1.0)
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 1.0 + PROMPT
    assert code == 128 + signal.SIGKILL  # 137, as ECS reports it
    assert not alive(app)


def test_stop_kills_a_child_that_outlives_the_shell(launcher: Launcher) -> None:
    # The shell exits at SIGTERM; the child ignores it and stays in the process group.
    process = launcher.start(f"{IGNORES_TERM} &\nwait")
    child = int(wait_for_log(process.log_path, r"^ready (\d+)$").group(1))
    assert child != process.pid
    started = time.monotonic()
    process.stop(timeout=1.0)
    assert time.monotonic() - started >= 1.0  # waited for the child, not just the shell
    assert not alive(child)
    assert process.group_pids() == []


def test_poll_sees_a_crash_and_stop_still_cleans_up_the_group(launcher: Launcher) -> None:
    process = launcher.start('sleep 60 & echo "child $!"; exit 3')
    child = int(wait_for_log(process.log_path, r"^child (\d+)$").group(1))
    assert process.wait(TIMEOUT) == 3
    assert process.poll() == 3
    assert alive(child)  # the main process is gone, its background child is not
    assert child in process.group_pids()
    assert process.stop(timeout=TIMEOUT) == 3
    assert not alive(child)
    assert process.group_pids() == []


def test_label_is_on_the_command_line_and_kill_is_immediate(
    launcher: Launcher, netns_prefix: str
) -> None:
    process = launcher.start("echo ready; sleep 60")
    wait_for_log(process.log_path, "^ready$")
    argv = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")[:-1]
    assert argv[0] == b"sh"  # `ip netns exec` has exec'd the shell: same pid
    assert argv[-1] == f"{netns_prefix}app".encode()
    started = time.monotonic()
    assert process.kill() == 128 + signal.SIGKILL
    assert time.monotonic() - started < PROMPT
    assert process.kill() == 128 + signal.SIGKILL  # idempotent
