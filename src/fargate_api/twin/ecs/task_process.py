"""One ECS container run as a local process inside its task's network namespace.

The twin has no container runtime: a container is ``sh -c COMMAND LABEL`` started with
``ip netns exec`` (host.in_netns), so it sees only its task's ENI, as on Fargate. What
ECS gives a container and the rest of the twin relies on is kept:

* its own process group and session, so a stop reaches every process it started
  (ECS stops the whole container, not just PID 1);
* a stop like ECS's: SIGTERM, then SIGKILL after the container's stopTimeout; the exit
  code is the container's own (a signal N reads 128 + N, as Docker reports it: 137 after
  SIGKILL, 143 after an unhandled SIGTERM);
* the environment of the task definition on top of a small fixed base, never the twin's
  own environment (a variable leaking from the user's shell would make a task work
  locally and fail on AWS);
* stdout and stderr appended, unchanged, to a file named like the awslogs stream
  (``log_stream_path``), so ``tail -f`` shows what CloudWatch Logs would.

LABEL becomes ``$0``: it puts the twin's unique prefix on the process's command line, so
a sweep by command line (the tests' leak check) finds it. A command that ends in
``exec``, or a process that replaces its command line, loses the label; the twin's
``down`` also kills whatever ``ip netns pids`` lists in the task's namespace.

A process that double-forks and calls setsid() leaves the process group; ``stop()``
cannot see it. Only the namespace sweep in ``down`` catches such a daemon.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from fargate_api.twin.host import kernel as host
from fargate_api.twin.plan.model import DEFAULT_STOP_TIMEOUT, Container

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BASE_ENVIRONMENT: Mapping[str, str] = {"PATH": BASE_PATH, "LANG": "C.UTF-8", "HOME": "/tmp"}
NO_LOG_CONFIG_DIR = "_no_log_config"
KILL_WAIT = 5.0  # seconds for the kernel to reap a SIGKILLed group
_POLL_INTERVAL = 0.02
# The shell waits for its foreground command before running a trap, so with this trap a
# SIGTERM to the group makes sh exit with the command's own status (not 143 at once),
# and a command list stops at the command that was running. It also stops the shell
# from exec-ing the last command, which would drop LABEL from the command line.
_WRAPPER = "trap 'exit $?' TERM\n"


class TaskProcessError(Exception):
    """A container process could not be started or would not die."""


def log_stream_path(logs_dir: Path, container: Container, task_id: str) -> Path:
    """The file for a container's output, named like its awslogs stream.

    awslogs names the stream ``prefix/container-name/task-id`` (just the task id without
    a prefix) inside the log group; slashes become folders, so the tree under
    ``logs_dir`` reads like the CloudWatch console.
    """
    task = _safe_parts(task_id.replace("/", "_"))
    if container.log is None:
        return logs_dir.joinpath(NO_LOG_CONFIG_DIR, *_safe_parts(container.name), *task)
    group = _safe_parts(container.log.group)
    if container.log.stream_prefix:
        stream = [
            *_safe_parts(container.log.stream_prefix),
            *_safe_parts(container.name),
            *task,
        ]
    else:
        stream = task
    return logs_dir.joinpath(*group, *stream)


def _safe_parts(text: str) -> list[str]:
    """Path parts that stay under the logs folder whatever a template names its group."""
    parts = [part for part in text.split("/") if part]
    safe = [part.replace(".", "%2E") if part in (".", "..") else part for part in parts]
    return safe or ["_"]


def _exit_code(returncode: int) -> int:
    """Popen's -N for "killed by signal N" as a container exit code: 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


class TaskProcess:
    """A running container; ``stop()`` and ``kill()`` act on its whole process group."""

    def __init__(self, popen: subprocess.Popen[bytes], *, label: str, log_path: Path) -> None:
        self._popen = popen
        self.label = label
        self.log_path = log_path
        self.stop_requested = False  # set by stop()/kill(): tells a stop from a crash
        self._lock = threading.Lock()
        self._group_gone = False

    @classmethod
    def start(
        cls,
        *,
        netns: str | None,
        command: str,
        environment: Mapping[str, str],
        log_path: Path,
        label: str,
    ) -> TaskProcess:
        """Starts the container; ``netns=None`` runs it here (tests without root only)."""
        if not label or "\0" in label:
            raise ValueError("a task process needs a non-empty label without NUL bytes")
        env = {**BASE_ENVIRONMENT, **environment}
        argv = host.in_netns(netns, ["sh", "-c", _WRAPPER + command, label])
        log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with log_path.open("ab") as log:
                popen = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,  # own session and group: pgid == pid
                    close_fds=True,
                )
        except OSError as exc:
            raise TaskProcessError(f"cannot start `{' '.join(argv)}`: {exc}") from exc
        return cls(popen, label=label, log_path=log_path)

    @property
    def pid(self) -> int:
        """The group leader's pid, which is also the process group id."""
        return self._popen.pid

    def poll(self) -> int | None:
        """The container's exit code once its main process ended, else None."""
        code = self._popen.poll()
        return None if code is None else _exit_code(code)

    def wait(self, timeout: float | None = None) -> int | None:
        """Waits for the main process; None when it still runs after ``timeout``."""
        try:
            return _exit_code(self._popen.wait(timeout))
        except subprocess.TimeoutExpired:
            return None

    def group_pids(self) -> list[int]:
        """Live processes still in the container's process group (its children too)."""
        if self._group_gone:
            return []
        members: list[int] = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[-1].split()  # state ppid pgrp ...
            if len(fields) > 2 and fields[2] == str(self.pid) and fields[0] not in "ZX":
                members.append(int(entry.name))
        return members

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> int:
        """ECS's stop: SIGTERM to the group, SIGKILL after ``timeout``; the exit code.

        Returns once the main process and every process left in its group are gone, so a
        restarted task never races its predecessor for a port. Idempotent.
        """
        return self._stop(signal.SIGTERM, timeout)

    def kill(self) -> int:
        """SIGKILL to the group at once (a task that failed to start, `down`)."""
        return self._stop(signal.SIGKILL, 0.0)

    def _stop(self, first: signal.Signals, timeout: float) -> int:
        with self._lock:
            self.stop_requested = True
            if not self._settled():
                self._signal_group(first)
                if not self._wait_settled(time.monotonic() + max(timeout, 0.0)):
                    self._signal_group(signal.SIGKILL)
                    self._wait_settled(time.monotonic() + KILL_WAIT)
            code = self.poll()
            if code is None or not self._settled():
                raise TaskProcessError(
                    f"process group {self.pid} ({self.label}) survived SIGKILL "
                    f"for {KILL_WAIT:.0f} s"
                )
            return code

    def _signal_group(self, signum: signal.Signals) -> None:
        if self._group_gone:
            return  # the pgid may belong to a new, unrelated group by now
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signum)

    def _settled(self) -> bool:
        """True once the main process is reaped and its group is empty."""
        if self._popen.poll() is None:
            return False
        if not self._group_gone and not self.group_pids():
            # Remembered: once empty, the group id can be reused by an unrelated process.
            self._group_gone = True
        return self._group_gone

    def _wait_settled(self, deadline: float) -> bool:
        while not self._settled():
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_INTERVAL)
        return True
