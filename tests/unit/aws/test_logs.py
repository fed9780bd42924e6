"""logs --follow: polls from the newest timestamp and never prints a line twice."""

from __future__ import annotations

from typing import Any

import pytest

from fargate_api.aws.logs import read_logs
from fargate_api.errors import UserError
from unit.aws.support import T0, FakeClock, stubbed

GROUP = "shop-service-LogGroup-1"


def _events(*items: tuple[str, int, str]) -> dict[str, Any]:
    return {
        "events": [
            {"eventId": eid, "timestamp": ts, "logStreamName": "web/web/abc", "message": msg}
            for eid, ts, msg in items
        ]
    }


def test_follow_reads_on_from_the_newest_event_without_repeats() -> None:
    start = int(T0.timestamp() * 1000) - 600_000
    clock = FakeClock()
    polls = iter([False, True])
    with stubbed() as s:
        s.logs.add_response(
            "filter_log_events",
            _events(("e1", start + 1, "booting"), ("e2", start + 5, "listening on :80")),
            {"logGroupName": GROUP, "startTime": start},
        )
        s.logs.add_response(
            "filter_log_events",
            _events(("e2", start + 5, "listening on :80"), ("e3", start + 9, "GET / 200")),
            {"logGroupName": GROUP, "startTime": start + 5},
        )
        lines = list(
            read_logs(
                s.clients.logs,
                GROUP,
                since_seconds=600,
                clock=clock,
                follow=True,
                should_stop=lambda: next(polls),
            )
        )
        s.assert_no_pending_responses()
    assert [line.message for line in lines] == ["booting", "listening on :80", "GET / 200"]
    assert clock.sleeps == 1
    assert lines[0].render().endswith("web/web/abc booting")


def test_missing_log_group_is_a_user_error() -> None:
    with stubbed() as s:
        s.logs.add_client_error(
            "filter_log_events",
            service_error_code="ResourceNotFoundException",
            service_message="The specified log group does not exist.",
        )
        with pytest.raises(UserError, match="does not exist"):
            list(
                read_logs(s.clients.logs, GROUP, since_seconds=60, clock=FakeClock(), follow=False)
            )
