"""Helpers for the example API's tests: a uniquely named module rather than conftest, so
that the tests can import it even when pytest also collects the repository's tests/.

Importing it puts examples/api/src first on sys.path: the package is tested without
being installed; the subprocess tests pass the same folder on in PYTHONPATH.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
SRC_DIR = EXAMPLE_DIR / "src"
REPO_ROOT = EXAMPLE_DIR.parent.parent
if str(SRC_DIR) not in sys.path:
    sys.path.insert(0, str(SRC_DIR))

from fargate_example_api.app import create_app  # noqa: E402
from fargate_example_api.settings import Settings  # noqa: E402
from fastapi import FastAPI  # noqa: E402

# The twin's fixed base environment for a task (fargate_api.twin.ecs.task_process).
TASK_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

TEST_IDENTITY: dict[str, Any] = {
    "task_id": "0123456789abcdef0123456789abcdef",
    "private_ip": "10.0.128.4",
    "availability_zone": "us-east-1a",
    "revision": "3",
    "container_name": "api",
}


def make_app(**overrides: Any) -> FastAPI:
    """The app with test settings: a known identity, no echo lookup unless asked."""
    values: dict[str, Any] = {**TEST_IDENTITY, "echo_url": None}
    values.update(overrides)
    return create_app(Settings(**values))


async def open_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client that also runs the app's lifespan, as uvicorn does."""
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


# --------------------------------------------------------------- stub HTTP server


@dataclass
class StubReply:
    status: int = 200
    body: bytes = b"198.51.100.10\n"
    content_type: str = "text/plain; charset=utf-8"
    delay: float = 0.0


def json_reply(data: object) -> StubReply:
    return StubReply(body=json.dumps(data).encode(), content_type="application/json")


@dataclass
class StubServer:
    """A loopback HTTP server whose answer per path a test sets; it records the paths."""

    url: str
    replies: dict[str, StubReply] = field(default_factory=dict)
    default: StubReply = field(default_factory=StubReply)
    requests: list[str] = field(default_factory=list)

    def reply_for(self, path: str) -> StubReply:
        return self.replies.get(path, self.default)


# --------------------------------------------------------------- the real server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningServer:
    process: subprocess.Popen[str]
    port: int
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> list[dict[str, Any]]:
        """Every stdout line, parsed: each must be one JSON object."""
        return [json.loads(line) for line in list(self.lines)]

    def wait_for_log(self, message: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in self.logs():
                if entry.get("message") == message:
                    return entry
            time.sleep(0.02)
        raise AssertionError(f"no log line {message!r} within {timeout} s: {self.lines}")


def task_env(**extra: str) -> dict[str, str]:
    """What the twin gives a task: a small fixed environment, not the test runner's."""
    env = {
        "PATH": TASK_PATH,
        "LANG": "C.UTF-8",
        "HOME": "/tmp",
        "FA_TASK_ID": "feedfacefeedfacefeedfacefeedface",
        "FA_PRIVATE_IP": "10.0.128.9",
        "FA_AZ": "us-east-1b",
        "FA_REVISION": "7",
        "ECS_CONTAINER_NAME": "api",
        "ECHO_URL": "off",
    }
    env.update(extra)
    return env


class Pollable(Protocol):
    def poll(self) -> int | None: ...


def wait_healthy(url: str, process: Pollable, timeout: float = 20.0) -> None:
    """Waits for GET /health to answer 200; fails at once if the process ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            raise AssertionError(f"the server exited with {code} before it was up")
        try:
            if httpx.get(url + "/health", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url}/health did not answer 200 within {timeout} s")
