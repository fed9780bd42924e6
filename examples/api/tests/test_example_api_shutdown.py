"""Graceful shutdown of the real server (uvicorn in a subprocess), as ECS stops a task:
SIGTERM, then SIGKILL after the stopTimeout. The server must stop accepting connections,
finish the requests in flight, close idle keep-alive connections and exit 0 well before
that SIGKILL."""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from example_api_support import EXAMPLE_DIR, SRC_DIR, RunningServer, free_port, task_env
from uvicorn.config import STARTUP_FAILURE

# Stands in for the task's stopTimeout: ECS would SIGKILL the server after it.
STOP_TIMEOUT = 15.0

Start = Callable[..., RunningServer]


def wait_refused(port: int, timeout: float) -> float:
    """Seconds until a new connection to the port is refused."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
        except ConnectionRefusedError:
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"port {port} still accepts connections after {timeout} s")


def in_background(url: str, result: dict[str, Any]) -> threading.Thread:
    def call() -> None:
        try:
            result["response"] = httpx.get(url, timeout=STOP_TIMEOUT + 5)
        except httpx.HTTPError as exc:
            result["error"] = exc

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    return thread


def test_sigterm_finishes_in_flight_requests_and_exits_0(start_server: Start) -> None:
    server = start_server("--graceful-timeout", "8")
    result: dict[str, Any] = {}
    thread = in_background(server.url + "/debug/slow?seconds=2", result)
    server.wait_for_log("slow request started")

    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)

    wait_refused(server.port, timeout=1.5)
    assert thread.is_alive(), "the slow request should still be in flight"
    thread.join(timeout=STOP_TIMEOUT)
    assert "error" not in result, result.get("error")
    response = result["response"]
    assert response.status_code == 200
    assert response.json() == {"slept": 2.0}
    # The response announced the end of the connection: the ALB won't reuse it.
    assert response.headers.get("connection") == "close"

    code = server.process.wait(timeout=STOP_TIMEOUT)
    took = time.monotonic() - signalled
    assert code == 0
    assert took < STOP_TIMEOUT / 2, f"took {took:.1f} s"

    logs = server.logs()  # every line is JSON
    slow = [e for e in logs if e.get("path") == "/debug/slow"]
    assert slow and slow[0]["status"] == 200 and slow[0]["duration_ms"] >= 2000
    messages = [e["message"] for e in logs]
    assert messages.index("Shutting down") < messages.index("GET /debug/slow 200")
    assert messages[-1] == "exited after SIGTERM"


def test_the_graceful_timeout_bounds_the_shutdown(start_server: Start) -> None:
    server = start_server("--graceful-timeout", "1")
    result: dict[str, Any] = {}
    thread = in_background(server.url + "/debug/slow?seconds=60", result)
    server.wait_for_log("slow request started")

    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    code = server.process.wait(timeout=STOP_TIMEOUT)
    took = time.monotonic() - signalled
    thread.join(timeout=5)

    assert code == 0
    assert 1.0 <= took < 6.0, f"took {took:.1f} s"
    assert "response" not in result or result["response"].status_code != 200
    logs = server.logs()
    assert any(e.get("path") == "/debug/slow" and e["outcome"] == "cancelled" for e in logs)
    assert any("timeout graceful shutdown exceeded" in e["message"] for e in logs)


def test_idle_keep_alive_connections_do_not_delay_the_exit(start_server: Start) -> None:
    server = start_server("--keep-alive", "75")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("GET", "/health")
    assert connection.getresponse().read() == b'{"status":"ok"}'
    sock = connection.sock
    assert sock is not None  # idle, kept alive

    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=STOP_TIMEOUT) == 0
    assert time.monotonic() - signalled < 5.0  # far below the 75 s keep-alive
    assert sock.recv(1) == b""  # the server closed it
    connection.close()


def test_keep_alive_timeout_is_the_configured_one(start_server: Start) -> None:
    server = start_server("--keep-alive", "2")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("GET", "/health")
    assert connection.getresponse().read() == b'{"status":"ok"}'
    sock = connection.sock
    time.sleep(1.0)  # idle, but for less than the keep-alive: the connection is reused
    connection.request("GET", "/health")
    assert connection.getresponse().read() == b'{"status":"ok"}'
    assert connection.sock is sock and sock is not None
    idle_since = time.monotonic()
    assert sock.recv(1) == b""  # closed by the server once idle for 2 s
    assert 1.5 <= time.monotonic() - idle_since < 6.0
    connection.close()


def test_sigint_exits_0_too(start_server: Start) -> None:
    server = start_server()
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=STOP_TIMEOUT) == 0
    assert server.logs()[-1]["message"] == "exited after SIGINT"


def test_a_port_in_use_fails_fast(start_server: Start) -> None:
    server = start_server()
    process = subprocess.run(
        [sys.executable, "-m", "fargate_example_api", "--host", "127.0.0.1",
         "--port", str(server.port)],
        env=task_env(PYTHONPATH=str(SRC_DIR)),
        cwd=str(EXAMPLE_DIR),
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )  # fmt: skip
    assert process.returncode == STARTUP_FAILURE  # uvicorn's 3: ECS marks the task failed
    assert "address already in use" in process.stdout.lower()


@pytest.mark.parametrize("healthy", [True, False])
def test_the_image_healthcheck_command(start_server: Start, healthy: bool) -> None:
    port = start_server().port if healthy else free_port()
    process = subprocess.run(
        [sys.executable, "-m", "fargate_example_api.healthcheck"],
        env=task_env(PYTHONPATH=str(SRC_DIR), PORT=str(port)),
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert process.returncode == (0 if healthy else 1), process.stderr
