"""Helpers for the check functional tests: the CLI as a child process, and the inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "check"
# CI clones the repository into a folder with a copy of shared/ beside it.
REFERENCE_DIR = REPO.parent / "shared" / "reference" / "public-facing-api-ecs-fargate"
CLI_TIMEOUT = 120
# Skip reasons starting with this are repeated in a banner at the end of the run.
NOT_RUN_TAG = "EXTERNAL SCANNER NOT RUN"


def require_reference_dir() -> Path:
    """The reference templates beside the repository; their absence fails the test."""
    if not (REFERENCE_DIR / "parent.yml").is_file():
        pytest.fail(
            f"the reference templates are missing: expected {REFERENCE_DIR} (the repository's "
            "sibling folder shared/reference/public-facing-api-ecs-fargate, as CI lays it "
            "out). Put a copy of shared/ next to the repository; do not copy the reference "
            "into the repository.",
            pytrace=False,
        )
    return REFERENCE_DIR


def run_check(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "fargate_api", "check", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def run_json(*args: str | Path, cwd: Path = REPO) -> tuple[int, dict[str, Any]]:
    result = run_check(*args, "--format", "json", cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def active(document: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(f["rule"], f["resource"]) for f in document["findings"] if not f["suppressed"]}
