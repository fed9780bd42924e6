"""logs: the service's CloudWatch log group, from a point in time, optionally followed.

The group's name comes from the service stack's LogGroupName output, so it is always
the group the tasks write to, whatever the config called the service.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fargate_api.aws.clock import Clock
from fargate_api.errors import UserError

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
FOLLOW_POLL_SECONDS = 2.0


def parse_since(text: str) -> float:
    """'10m', '2h', '1d', '90s' (or '1h30m') as seconds."""
    parts = re.findall(r"(\d+)\s*([smhdw])", text.strip().lower())
    if not parts or "".join(n + u for n, u in parts) != re.sub(r"\s", "", text.lower()):
        raise UserError(
            f"--since {text!r} is not a duration",
            fix="use a number and a unit: 30s, 10m, 2h, 1d, 1w (or combined, e.g. 1h30m)",
        )
    return float(sum(int(n) * UNITS[u] for n, u in parts))


@dataclass(frozen=True)
class LogLine:
    timestamp: int
    stream: str
    message: str
    event_id: str

    def render(self) -> str:
        when = datetime.fromtimestamp(self.timestamp / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{when}Z {self.stream} {self.message.rstrip()}"

    def to_json(self) -> dict[str, Any]:
        return {"timestamp": self.timestamp, "stream": self.stream, "message": self.message}


def read_logs(
    logs: CloudWatchLogsClient,
    group: str,
    *,
    since_seconds: float,
    clock: Clock,
    follow: bool,
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[LogLine]:
    start = int((clock.wall() - since_seconds) * 1000)
    seen: set[str] = set()
    while True:
        newest = start
        for line in _fetch(logs, group, start):
            newest = max(newest, line.timestamp)
            if line.event_id in seen:
                continue
            seen.add(line.event_id)
            yield line
        if not follow or should_stop():
            return
        # Re-read from the newest timestamp: events of the same millisecond may arrive late.
        start = newest
        clock.sleep(FOLLOW_POLL_SECONDS)


def _fetch(logs: CloudWatchLogsClient, group: str, start: int) -> Iterator[LogLine]:
    try:
        paginator = logs.get_paginator("filter_log_events")
        for page in paginator.paginate(logGroupName=group, startTime=start):
            for event in page.get("events", []):
                yield LogLine(
                    timestamp=event.get("timestamp", 0),
                    stream=event.get("logStreamName", ""),
                    message=event.get("message", ""),
                    event_id=event.get("eventId", ""),
                )
    except logs.exceptions.ResourceNotFoundException:
        raise UserError(
            f"log group {group} does not exist",
            fix="deploy first; the group is created with the service stack",
        ) from None
