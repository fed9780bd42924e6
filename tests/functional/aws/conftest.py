"""A moto server on loopback for the AWS back-end's functional tests.

One server per pytest worker (session scope), on a free port of 127.0.0.1, started from
moto_launcher.py (moto plus the harness workarounds it documents) and stopped by its PID.
The CLI runs as a child process with fake credentials set only in its environment, so
no request can reach AWS: every client is pointed at the server with --endpoint-url.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from support.registry import LoopbackRegistry, start_registry

LAUNCHER = Path(__file__).with_name("moto_launcher.py")
START_TIMEOUT = 30.0
MOTO_ECR_PASSWORD = "123456789012-auth-token"  # moto's ECR token for its default account


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fake_aws_env(tmp: Path, region: str | None = "us-east-1") -> dict[str, str]:
    """The environment of a CLI run: fake credentials, no real profile, no metadata lookups."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_CONFIG_FILE": str(tmp / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": "127.0.0.1",
            "COLUMNS": "160",
        }
    )
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(proxy, None)
    if region:
        env["AWS_DEFAULT_REGION"] = region
    return env


def moto_client(url: str, service: str) -> Any:
    """A boto3 client of the moto server at ``url``, with fake credentials."""
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def ecr_registry(tmp_path: Path) -> Iterator[LoopbackRegistry]:
    """A loopback registry that takes moto's ECR token (user AWS), standing for ECR's."""
    with start_registry(tmp_path / "ecr", username="AWS", password=MOTO_ECR_PASSWORD) as registry:
        yield registry


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto with the harness's delete workaround (moto_launcher.py)."""
    port = _free_port()
    yield from _serve([sys.executable, str(LAUNCHER), str(port)], port, tmp_path_factory)


@pytest.fixture(scope="session")
def plain_moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto exactly as released, as a user (or a reviewer) would start it."""
    port = _free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    yield from _serve(command, port, tmp_path_factory)


def _serve(
    command: list[str], port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=fake_aws_env(log.parent),
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto server did not start:\n{log.read_text()}", pytrace=False)
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.kill(proc.pid, 15)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, 9)
            proc.wait()
