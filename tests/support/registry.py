"""A real registry on loopback: distribution's `docker-registry serve`, one per test.

Storage lives in the test's tmp_path, the listener on 127.0.0.1:<free port> (plain HTTP:
push with tls_verify=False), optionally behind htpasswd Basic auth for a given user and
password (the bcrypt line is made with the `bcrypt` package, a dev dependency). The
process is started by the fixture and stopped by its PID at teardown, also when the test
fails. Use `start_registry` directly for a registry with other settings.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

from support.commands import require_commands

START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
TEST_USER = "fa13-test-user"


@dataclass(frozen=True)
class LoopbackRegistry:
    """A running registry: `host` is what image references use (127.0.0.1:PORT)."""

    host: str
    url: str
    username: str | None
    password: str | None
    folder: Path
    pid: int

    def log(self) -> str:
        path = self.folder / "registry.log"
        return path.read_text(errors="replace") if path.exists() else ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(folder: Path, port: int, htpasswd: Path | None) -> Path:
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": "warn"},
        "storage": {
            "filesystem": {"rootdirectory": str(folder / "data")},
            "delete": {"enabled": True},
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16)},
    }
    if htpasswd is not None:
        config["auth"] = {"htpasswd": {"realm": "fa13-test", "path": str(htpasswd)}}
    path = folder / "config.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/v2/", timeout=1):
            return True
    except urllib.error.HTTPError as exc:
        return exc.code == 401
    except OSError:
        return False


@contextlib.contextmanager
def start_registry(
    folder: Path, *, username: str | None = None, password: str | None = None
) -> Iterator[LoopbackRegistry]:
    """Starts `docker-registry serve` on 127.0.0.1, with htpasswd auth when a user is given."""
    require_commands("docker-registry")
    folder.mkdir(parents=True, exist_ok=True)
    htpasswd = None
    if username is not None:
        assert password is not None
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        htpasswd = folder / "htpasswd"
        htpasswd.write_text(f"{username}:{hashed}\n")
    port = free_port()
    config = _config(folder, port, htpasswd)
    with (folder / "registry.log").open("w") as log:
        process = subprocess.Popen(
            ["docker-registry", "serve", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    registry = LoopbackRegistry(
        host=f"127.0.0.1:{port}",
        url=f"http://127.0.0.1:{port}",
        username=username,
        password=password,
        folder=folder,
        pid=process.pid,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(registry.url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"docker-registry did not start on {registry.host}:\n{registry.log()}",
                    pytrace=False,
                )
            time.sleep(0.05)
        yield registry
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def loopback_registry(tmp_path: Path) -> Iterator[LoopbackRegistry]:
    """A registry without authentication."""
    with start_registry(tmp_path / "registry") as registry:
        yield registry


@pytest.fixture
def auth_registry(tmp_path: Path) -> Iterator[LoopbackRegistry]:
    """A registry that wants TEST_USER and a random password (htpasswd, bcrypt)."""
    password = secrets.token_urlsafe(12)
    with start_registry(
        tmp_path / "auth-registry", username=TEST_USER, password=password
    ) as registry:
        yield registry


def skopeo_inspect(registry: LoopbackRegistry, reference: str) -> dict[str, Any]:
    """`skopeo inspect` of `registry.host/reference` (with the registry's user, if any):
    an independent client reading back what a push left in the registry."""
    require_commands("skopeo")
    creds = [f"--creds={registry.username}:{registry.password}"] if registry.username else []
    proc = subprocess.run(
        [
            "skopeo",
            "inspect",
            "--tls-verify=false",
            *creds,
            f"docker://{registry.host}/{reference}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    answer: dict[str, Any] = json.loads(proc.stdout)
    return answer
