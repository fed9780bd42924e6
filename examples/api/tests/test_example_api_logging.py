"""Logs: one JSON object per line on stdout, with the request fields and the task id."""

from __future__ import annotations

import json
import logging
import re
import signal
import sys
from collections.abc import Callable

import httpx
import pytest
from example_api_support import TEST_IDENTITY, RunningServer, make_app, open_client
from fargate_example_api import jsonlog
from fargate_example_api.jsonlog import ACCESS_LOGGER, JsonFormatter

TIME_PATTERN = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord(
        "fargate_example_api", logging.WARNING, __file__, 1, message, args, None
    )
    for key, value in extra.items():
        setattr(rec, key, value)
    return rec


def test_a_line_is_one_json_object_with_the_standard_fields() -> None:
    jsonlog.set_task_id("task-1")
    try:
        line = JsonFormatter().format(record("hello %s", "world", method="GET", status=200))
    finally:
        jsonlog.set_task_id(None)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "hello world"
    assert entry["level"] == "warning"
    assert entry["logger"] == "fargate_example_api"
    assert entry["task_id"] == "task-1"
    assert (entry["method"], entry["status"]) == ("GET", 200)
    assert re.match(TIME_PATTERN, entry["time"]), entry["time"]


def test_exceptions_and_odd_values_stay_on_one_line() -> None:
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        rec = record("failed", when=object())
        rec.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(rec))
    assert "ValueError: boom" in entry["exception"]
    assert entry["when"].startswith("<object object")
    assert "task_id" not in entry


@pytest.mark.anyio
async def test_the_access_log_has_method_path_status_and_duration(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=ACCESS_LOGGER)
    async for client in open_client(make_app()):
        await client.get("/items?limit=5", headers={"X-Amzn-Trace-Id": "Root=1-abc"})
        await client.post("/items", json={"name": ""})
        await client.get("/health")
    formatter = JsonFormatter()
    entries = [
        (r.levelno, json.loads(formatter.format(r)))
        for r in caplog.records
        if r.name == ACCESS_LOGGER
    ]
    (level, listed), (_, rejected), (health_level, health) = entries
    assert level == logging.INFO
    assert listed["message"] == "GET /items 200"
    assert listed["method"] == "GET"
    assert listed["path"] == "/items"
    assert listed["query"] == "limit=5"
    assert listed["status"] == 200
    assert isinstance(listed["duration_ms"], float)
    assert listed["trace_id"] == "Root=1-abc"
    assert listed["task_id"] == TEST_IDENTITY["task_id"]
    assert (rejected["method"], rejected["status"]) == ("POST", 422)
    # The ALB's health checks are logged at DEBUG only: hidden at the default INFO.
    assert health_level == logging.DEBUG
    assert health["path"] == "/health"


def test_the_real_server_writes_only_json_lines(
    start_server: Callable[..., RunningServer],
) -> None:
    server = start_server()
    assert httpx.get(server.url + "/items").status_code == 200
    assert httpx.post(server.url + "/items", json={"price": 1}).status_code == 422
    assert httpx.get(server.url + "/whoami").json()["task_id"] == (
        "feedfacefeedfacefeedfacefeedface"
    )
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=15) == 0

    logs = server.logs()  # raises if any line is not JSON
    assert len(logs) >= 8
    for entry in logs:
        assert {"time", "level", "logger", "message"} <= entry.keys()
        assert entry["task_id"] == "feedfacefeedfacefeedfacefeedface"
    started = next(e for e in logs if e["message"] == "started")
    assert started["private_ip"] == "10.0.128.9"
    assert started["availability_zone"] == "us-east-1b"
    assert started["revision"] == "7"
    access = [e for e in logs if e["logger"] == ACCESS_LOGGER]
    assert [(e["method"], e["path"], e["status"]) for e in access] == [
        ("GET", "/items", 200),
        ("POST", "/items", 422),
        ("GET", "/whoami", 200),
    ]  # and not the /health polls that waited for the start
    assert all(e["duration_ms"] >= 0 and e["client_ip"] == "127.0.0.1" for e in access)
