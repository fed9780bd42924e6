"""Runs `python -m fargate_api` against the moto server and reads what it printed."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functional.aws.conftest import fake_aws_env
from support.registry import LoopbackRegistry

TIMEOUT = 120


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def explain(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def run_cli(cwd: Path, *args: str, endpoint: str | None, region: str | None = "us-east-1") -> Run:
    command = [sys.executable, "-m", "fargate_api", *args]
    if endpoint:
        command += ["--endpoint-url", endpoint]
    done = subprocess.run(
        command,
        cwd=cwd,
        env=fake_aws_env(cwd, region),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def deploy_with_registry(
    project: Path, moto_url: str, registry: LoopbackRegistry, *extra: str
) -> Run:
    """`deploy -c fargate-api.toml --yes` of ``project`` on moto, pushing its built images
    to ``registry`` (ECR's data plane on loopback)."""
    return run_cli(
        project,
        "deploy",
        "-c",
        "fargate-api.toml",
        "--registry-url",
        registry.url,
        "--yes",
        *extra,
        endpoint=moto_url,
    )
