"""Streaming a command's output line by line, its tail, and the timeout that kills it."""

from __future__ import annotations

import sys

import pytest

from fargate_api.process_stream import stream_process


def test_lines_arrive_in_order_and_the_tail_keeps_the_last() -> None:
    seen: list[str] = []
    code = (
        "import sys\n"
        "for i in range(5): print(i, file=sys.stderr if i % 2 else sys.stdout, flush=True)\n"
        "sys.exit(3)"
    )
    done = stream_process([sys.executable, "-c", code], seen.append, timeout=30, env=None, keep=2)
    assert seen == ["0", "1", "2", "3", "4"]
    assert done.tail == ["3", "4"]
    assert (done.returncode, done.timed_out) == (3, False)


def test_a_command_past_its_timeout_is_killed() -> None:
    code = "import time\nprint('started', flush=True)\ntime.sleep(60)"
    done = stream_process(
        [sys.executable, "-c", code], lambda line: None, timeout=0.5, env=None, keep=5
    )
    assert done.timed_out and done.tail == ["started"]


def test_a_missing_program_is_the_callers_oserror() -> None:
    with pytest.raises(OSError):
        stream_process(["/nonexistent/x"], lambda line: None, timeout=5, env=None, keep=1)
