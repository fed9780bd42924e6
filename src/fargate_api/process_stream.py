"""Runs a command and hands each line of its output to a callback as it comes.

Long commands (an image build, a push, a pull) show their progress live, and when they
fail, their last lines are the message. Image building (`images/`) and the twin's podman
wrapper both need exactly this, so it lives below both.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Streamed:
    returncode: int
    tail: list[str]  # the last lines of output, stdout and stderr interleaved
    timed_out: bool


def stream_process(
    argv: Sequence[str],
    on_line: Callable[[str], None],
    *,
    timeout: float,
    env: Mapping[str, str] | None,
    keep: int,
) -> Streamed:
    """Runs argv with stdout and stderr merged; a timeout kills it. OSError (no such
    program) is the caller's to translate."""
    tail: deque[str] = deque(maxlen=keep)
    proc = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        env=dict(env) if env is not None else None,
    )
    timer = threading.Timer(timeout, proc.kill)
    timer.daemon = True
    timer.start()
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            tail.append(line)
            on_line(line)
        returncode = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Streamed(returncode, list(tail), returncode == -signal.SIGKILL)
