"""The example's deployment files agree with the app and with each other: the config
validates and its timeouts nest, the Dockerfile runs what the config says, and the twin's
`[local] command` starts the API the way the twin does (sh -c, minimal environment)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from example_api_support import EXAMPLE_DIR, REPO_ROOT, free_port, make_app, wait_healthy
from fargate_example_api.__main__ import parser
from fargate_example_api.server import DEFAULT_GRACEFUL_TIMEOUT, DEFAULT_KEEP_ALIVE, build_server

from fargate_api.config.loader import load_config
from fargate_api.config.model import Config
from fargate_api.twin.ecs.images import substitute_port
from fargate_api.twin.ecs.task_process import TaskProcess

CONFIG_PATH = EXAMPLE_DIR / "fargate-api.toml"
DOCKERFILE = (EXAMPLE_DIR / "Dockerfile").read_text()
ALB_DEFAULT_IDLE_TIMEOUT = 60


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(CONFIG_PATH)


def env_int(config: Config, name: str, default: int) -> int:
    return int(config.service.environment.get(name, default))


def test_keep_alive_outlasts_the_load_balancer_idle_timeout(config: Config) -> None:
    keep_alive = env_int(config, "KEEP_ALIVE_TIMEOUT", DEFAULT_KEEP_ALIVE)
    assert keep_alive > config.load_balancer.idle_timeout
    # Also safe should someone go back to the ALB's own default.
    assert DEFAULT_KEEP_ALIVE > ALB_DEFAULT_IDLE_TIMEOUT


def test_shutdown_fits_in_the_stop_timeout(config: Config) -> None:
    service = config.service
    graceful = env_int(config, "GRACEFUL_SHUTDOWN_TIMEOUT", DEFAULT_GRACEFUL_TIMEOUT)
    assert 0 < service.deregistration_delay < service.stop_timeout
    assert service.deregistration_delay >= config.load_balancer.idle_timeout
    assert graceful + 5 <= service.stop_timeout  # 5 s for the lifespan shutdown and exit


@pytest.mark.anyio
async def test_the_health_check_path_is_the_cheap_health_route(config: Config) -> None:
    assert config.service.health_check_path == "/health"
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get(config.service.health_check_path)
    assert re.fullmatch(config.service.health_check_codes.replace("-", "|"), "200")
    assert response.status_code == 200


def test_the_image_and_the_config_agree(config: Config) -> None:
    service = config.service
    # The config builds this folder's Dockerfile (deploy pushes it, the twin runs it).
    assert service.build is not None
    assert Path(service.build.context) == EXAMPLE_DIR.resolve()
    assert (EXAMPLE_DIR / service.build.dockerfile).is_file()
    assert f"EXPOSE {service.port}" in DOCKERFILE
    assert f"PORT={service.port}" in DOCKERFILE
    assert service.user is not None
    assert f"USER {service.user}" in DOCKERFILE
    assert service.effective_read_only_root()
    assert 'ENTRYPOINT ["python", "-m", "fargate_example_api"]' in DOCKERFILE
    assert "fargate_example_api.healthcheck" in DOCKERFILE


def test_the_server_defaults() -> None:
    config = build_server(port=free_port()).config
    assert config.timeout_keep_alive == DEFAULT_KEEP_ALIVE == 75
    assert config.timeout_graceful_shutdown == DEFAULT_GRACEFUL_TIMEOUT == 20
    assert config.proxy_headers
    assert config.access_log is False


def test_options_fall_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("KEEP_ALIVE_TIMEOUT", "90")
    monkeypatch.setenv("GRACEFUL_SHUTDOWN_TIMEOUT", "5")
    args = parser().parse_args([])
    assert (args.port, args.keep_alive, args.graceful_timeout) == (9000, 90, 5)
    args = parser().parse_args(["--port", "8081", "--keep-alive", "61"])
    assert (args.port, args.keep_alive) == (8081, 61)
    with pytest.raises(SystemExit):
        parser().parse_args(["--port", "70000"])


@pytest.mark.parametrize("how", ["relative, from the repo root", "absolute, from elsewhere"])
def test_the_twin_command_starts_and_stops_the_api(
    config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Through the twin's own TaskProcess: `sh -c` with its trap, its minimal environment
    (no virtualenv on PATH), SIGTERM to the process group, then the exit code."""
    command = config.local.command
    assert command is not None
    assert "{port}" in command
    if how.startswith("absolute"):
        command = command.replace("examples/api/run-local.sh", str(EXAMPLE_DIR / "run-local.sh"))
        monkeypatch.chdir(tmp_path)
    else:
        monkeypatch.chdir(REPO_ROOT)
    port = free_port()
    log_path = tmp_path / "logs" / "api" / "task"
    task = TaskProcess.start(
        netns=None,
        command=substitute_port(command, port),
        environment={
            **config.service.environment,
            "FA_TASK_ID": "twintask",
            "FA_PRIVATE_IP": "10.0.128.4",
            "FA_AZ": "us-east-1a",
            "FA_REVISION": "1",
            "FA_ECHO_URL": "http://127.0.0.1:9/",
            "ECS_CONTAINER_NAME": config.service.name,
        },
        log_path=log_path,
        label="fa-example-api-test-task",
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", task)
        body = httpx.get(f"http://127.0.0.1:{port}/whoami", timeout=10).json()
        assert body["task_id"] == "twintask"
        assert body["echo_url"] == "http://127.0.0.1:9/"  # the twin's echo service
        assert body["egress_error"].startswith("echo service unreachable")
        start = time.monotonic()
        assert task.stop(timeout=config.service.stop_timeout) == 0
        assert time.monotonic() - start < 5
    finally:
        task.kill()
    lines = log_path.read_text().splitlines()
    assert lines and all(line.startswith("{") for line in lines), lines[:5]
