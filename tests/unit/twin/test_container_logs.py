"""podman's k8s-file log lines read back as the messages `local logs` shows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fargate_api.twin.ecs.container_logs import k8s_file_text

TS = "2026-01-02T03:04:05.123456789+00:00"


def test_full_lines_give_their_text_from_both_streams() -> None:
    lines = [f"{TS} stdout F hello world", f"{TS} stderr F  two  spaces kept "]
    assert list(k8s_file_text(lines)) == ["hello world", " two  spaces kept "]


def test_partial_lines_are_joined_until_the_full_one() -> None:
    lines = [
        f"{TS} stdout P first part, ",
        f"{TS} stdout P second part, ",
        f"{TS} stdout F end",
        f"{TS} stdout F next",
    ]
    assert list(k8s_file_text(lines)) == ["first part, second part, end", "next"]


def test_an_empty_message_is_an_empty_line() -> None:
    assert list(k8s_file_text([f"{TS} stdout F", f"{TS} stdout F "])) == ["", ""]


def test_a_partial_line_left_at_the_end_is_still_shown() -> None:
    lines = [f"{TS} stdout F done", f"{TS} stdout P no newline yet"]
    assert list(k8s_file_text(lines)) == ["done", "no newline yet"]


@pytest.mark.parametrize(
    "line",
    [
        "plain output of a process",  # process mode writes the text only
        f"{TS} stdin F not a stream",
        f"{TS} stdout X unknown tag",
        "a b",
        "",
    ],
)
def test_lines_not_in_the_format_pass_through_unchanged(line: str) -> None:
    assert list(k8s_file_text([line])) == [line]


def test_a_passthrough_line_does_not_swallow_a_pending_part() -> None:
    lines = [f"{TS} stdout P half ", "raw line", f"{TS} stdout F done"]
    assert list(k8s_file_text(lines)) == ["raw line", "half done"]


def test_it_reads_lazily() -> None:
    def lines() -> Iterator[str]:  # an endless file: `local logs --follow`
        yield f"{TS} stdout F one"
        raise AssertionError("read past what was asked for")

    assert next(iter(k8s_file_text(lines()))) == "one"
