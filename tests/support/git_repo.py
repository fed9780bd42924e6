"""git for the tests that need a work tree (image tags are the commit): a fixed author,
and no user or system configuration that could change the outcome."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ISOLATED = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}


def git(repo: Path, *args: str) -> str:
    """Runs `git -C repo ARGS` and returns its stripped stdout; fails on a non-zero exit."""
    proc = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
        env={**os.environ, **ISOLATED},
    )
    return proc.stdout.strip()


def committed_repo(folder: Path) -> Path:
    """`folder` as a git work tree with everything in it committed."""
    git(folder, "init", "-q")
    git(folder, "add", "-A")
    git(folder, "commit", "-qm", "first")
    return folder
