"""Fixtures for the example API's tests; the helpers are in example_api_support."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from example_api_support import (
    EXAMPLE_DIR,
    SRC_DIR,
    RunningServer,
    StubServer,
    free_port,
    make_app,
    open_client,
    task_env,
    wait_healthy,
)
from fargate_example_api import jsonlog
from fastapi import FastAPI


@pytest.fixture(autouse=True)
def no_task_id_left_over() -> Iterator[None]:
    """Each test starts as a fresh process would, with no task id in the log context:
    an app a test starts sets it (app.py) and nothing clears it, so without this a
    later test in the same worker saw another test's task id in its log lines."""
    jsonlog.set_task_id(None)
    yield
    jsonlog.set_task_id(None)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app() -> FastAPI:
    return make_app()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for c in open_client(app):
        yield c


@pytest.fixture
def stub_server() -> Iterator[StubServer]:
    """An HTTP server on loopback: the echo service or ECS's task metadata endpoint."""
    stub: StubServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            stub.requests.append(self.path)
            reply = stub.reply_for(self.path)
            if reply.delay:
                time.sleep(reply.delay)
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:
                pass  # the client gave up (the timeout tests)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stub = StubServer(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def start_server() -> Iterator[Callable[..., RunningServer]]:
    """Starts `python -m fargate_example_api` on a free loopback port, debug routes on."""
    started: list[RunningServer] = []

    def start(*args: str, **env: str) -> RunningServer:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "fargate_example_api",
             "--host", "127.0.0.1", "--port", str(port), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=task_env(PYTHONPATH=str(SRC_DIR), ENABLE_DEBUG_ROUTES="1", **env),
            cwd=str(EXAMPLE_DIR),
        )  # fmt: skip
        running = RunningServer(process, port)
        started.append(running)
        assert process.stdout is not None
        stdout = process.stdout

        def read() -> None:
            for line in stdout:
                running.lines.append(line.rstrip("\n"))

        threading.Thread(target=read, daemon=True).start()
        wait_healthy(running.url, process)
        return running

    yield start
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
        running.process.wait(timeout=10)
