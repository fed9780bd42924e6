"""Stacks for the container-mode twin tests: a synthesized config, its task definition
patched the way a test needs (more containers, DependsOn, HealthCheck, Memory, ...), and
small readers of what the twin leaves on the machine (container logs, podman's view).

The synthesized templates are plain YAML (long-form intrinsics only), so they are read
and written back with yaml.safe_load / safe_dump.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from twin.conftest import cleanup, leftovers, registered_prefix
from twin.twin_support import REPO, cli

BUSYBOX = "localhost/fa-test-busybox:latest"
PYTHON = "localhost/fa-test-python:3.11"
STATE_ROOT = Path("/run/fargate-api")
SCALE = "0.1"
APP_PORT = 8080
# busybox httpd serving /tmp (the synthesized writable volume) on the app port.
HTTPD = f"echo ok > /tmp/index.html && httpd -p {APP_PORT} -h /tmp"

Patch = Callable[[list[dict[str, Any]]], None]


def config_text(
    image: str,
    command: list[str],
    *,
    extra_service: str = "",
    extra: str = "",
) -> str:
    """A config for one task on the app port, checked every 5 s (0.5 s at --time-scale 0.1)."""
    return (
        "[service]\n"
        f"image = {json.dumps(image)}\n"
        f"port = {APP_PORT}\n"
        "desired_count = 1\n"
        f"command = {json.dumps(command)}\n"
        "health_check_interval = 5\n"
        "health_check_timeout = 2\n"
        f"{extra_service}"
        f"{extra}"
    )


def synth_stack(folder: Path, config: str, patch: Patch | None = None) -> Path:
    """Writes the config, synthesizes it into `folder`, applies `patch` to the service's
    ContainerDefinitions; returns the parent template for `local up -t`."""
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "fargate-api.toml"
    config_path.write_text(config)
    out = folder / "templates"
    cli("synth", "-c", str(config_path), "-o", str(out), timeout=120)
    if patch is not None:
        service = out / "service.yml"
        doc = yaml.safe_load(service.read_text())
        patch(container_definitions(doc))
        service.write_text(yaml.safe_dump(doc, sort_keys=False))
    return out / "parent.yml"


def container_definitions(doc: dict[str, Any]) -> list[dict[str, Any]]:
    definitions = [
        r for r in doc["Resources"].values() if r.get("Type") == "AWS::ECS::TaskDefinition"
    ]
    assert len(definitions) == 1, definitions
    containers: list[dict[str, Any]] = definitions[0]["Properties"]["ContainerDefinitions"]
    return containers


def sidecar(name: str, command: list[str], **properties: Any) -> dict[str, Any]:
    """A second container of the task, from the busybox image, logging like the app."""
    return {
        "Name": name,
        "Image": BUSYBOX,
        "Essential": True,
        "Command": command,
        "LogConfiguration": {
            "LogDriver": "awslogs",
            "Options": {
                "awslogs-group": "sidecars",
                "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "sidecar",
            },
        },
        **properties,
    }


# --------------------------------------------------------------------------------------
# A twin in container mode
# --------------------------------------------------------------------------------------


@dataclass
class ContainerTwin:
    name: str
    prefix: str
    up: subprocess.CompletedProcess[str]

    @property
    def state_dir(self) -> Path:
        return STATE_ROOT / f"{self.prefix}twin"

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(
            cli("local", "status", "--name", self.name, "--json", timeout=60).stdout
        )
        return data

    def tasks(self) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = self.status()["tasks_detail"]
        return tasks

    def only_task(self) -> dict[str, Any]:
        tasks = self.tasks()
        assert len(tasks) == 1, tasks
        return tasks[0]

    def exec(
        self, task_id: str, *command: str, container: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        which = ("--container", container) if container else ()
        return cli(
            "local",
            "exec",
            "--name",
            self.name,
            task_id,
            *which,
            "--",
            *command,
            timeout=60,
            check=False,
        )

    def podman(self, *args: str) -> subprocess.CompletedProcess[str]:
        """podman with the twin's own containers.conf, as the twin runs it."""
        env = {**os.environ, "CONTAINERS_CONF": self.status()["containers_conf"]}
        return subprocess.run(
            ["podman", *args], capture_output=True, text=True, env=env, timeout=60, check=False
        )

    def log_lines(self, container: str, task_id: str) -> list[tuple[datetime, str]]:
        """(podman's timestamp, text) of each line the container wrote, oldest first."""
        files = [
            p
            for p in (self.state_dir / "logs").rglob(task_id)
            if p.is_file() and p.parent.name == container
        ]
        assert len(files) == 1, f"log files of {container}/{task_id}: {files}"
        return [parse_k8s_line(line) for line in files[0].read_text().splitlines() if line]


def parse_k8s_line(line: str) -> tuple[datetime, str]:
    """`2026-12-05T15:19:13.819065123+00:00 stdout F text` -> (time, text)."""
    stamp, _stream, _tag, *text = line.split(" ", 3)
    return parse_time(stamp), (text[0] if text else "")


def parse_time(stamp: str) -> datetime:
    """An RFC 3339 time with up to nanoseconds (fromisoformat takes microseconds)."""
    stamp = stamp.replace("Z", "+00:00")
    head, dot, rest = stamp.partition(".")
    if dot:
        digits = "".join(itertools.takewhile(str.isdigit, rest))
        zone = rest[len(digits) :]
        stamp = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    return datetime.fromisoformat(stamp)


def up_args(template: Path, name: str, *extra: str) -> list[str]:
    return [
        "local",
        "up",
        "-t",
        str(template),
        "--name",
        name,
        "--time-scale",
        SCALE,
        "--runtime",
        "container",
        *extra,
    ]


def run_cli(
    args: list[str], *, env: Mapping[str, str | None] | None = None, timeout: float = 240.0
) -> subprocess.CompletedProcess[str]:
    """The CLI with an environment of our choosing (cli() inherits the test's)."""
    return subprocess.run(
        [sys.executable, "-m", "fargate_api", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO,
        env=_environment(env),
    )


def _environment(changes: Mapping[str, str | None] | None) -> dict[str, str]:
    """This process's environment with `changes` applied (None removes a variable)."""
    merged = dict(os.environ)
    for key, value in (changes or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


@contextmanager
def container_twin(
    template: Path, *extra: str, env: Mapping[str, str | None] | None = None
) -> Iterator[ContainerTwin]:
    """`local up --runtime container` on the template; down, and nothing left, after."""
    prefix = registered_prefix()
    name = prefix.removeprefix("fa-").rstrip("-")
    try:
        up = run_cli(up_args(template, name, *extra), env=env)
        assert up.returncode == 0, f"local up exited {up.returncode}\n{up.stdout}\n{up.stderr}"
        yield ContainerTwin(name, prefix, up)
    finally:
        cli("local", "down", "--name", name, timeout=180, check=False)
        left = cleanup(prefix)
        assert not left, f"local down left: {left}"
        assert not leftovers(prefix)
        assert not (STATE_ROOT / f"{prefix}twin").exists()
