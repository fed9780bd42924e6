"""Is a process alive, and stopping a set of them: what the daemon, `down` and the
network sweep all need, in one place.

"Alive" must not count a zombie, and must reap our own exited child, or a waiting
loop would spin until its deadline on a process that is already gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable

KILL_WAIT = 3.0  # seconds for each signal (SIGTERM, then SIGKILL)


def pid_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False  # our own child, now reaped
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def kill_all(pids: Iterable[int]) -> None:
    """SIGTERM, a few seconds, then SIGKILL what is left."""
    pending = list(pids)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pending:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + KILL_WAIT
        while pending and time.monotonic() < deadline:
            pending = [pid for pid in pending if pid_alive(pid)]
            if pending:
                time.sleep(0.05)
        if not pending:
            return


def terminate(process: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """Our own child: SIGTERM for a clean exit, SIGKILL after ``timeout``, reaped
    either way so that no zombie outlives the twin's part."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def pids_with_argument(argument: str) -> list[int]:
    """Processes with exactly this word on their command line (not this process): how a
    sweep finds a helper of a twin that runs outside the twin's namespaces."""
    return _pids_with_word("cmdline", argument)


def pids_with_argument_prefix(prefix: str) -> list[int]:
    """Processes with a word on their command line that starts with `prefix`: the fault
    injection's helpers carry a label per task (`<prefix>fis-cpu-<task>`), and a sweep
    knows only the twin's prefix."""
    return _pids_with_word("cmdline", prefix, whole=False)


def pids_with_environment(entry: str) -> list[int]:
    """Processes whose environment holds exactly this NAME=value entry."""
    return _pids_with_word("environ", entry)


def _pids_with_word(proc_file: str, word: str, *, whole: bool = True) -> list[int]:
    """Processes whose /proc/PID/<proc_file> (NUL-separated words) holds `word` (or,
    with whole=False, a word starting with it)."""
    needle = word.encode()
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/{proc_file}", "rb") as handle:
                words = handle.read().split(b"\0")
        except OSError:
            continue
        if needle in words if whole else any(w.startswith(needle) for w in words):
            found.append(int(entry))
    return found
