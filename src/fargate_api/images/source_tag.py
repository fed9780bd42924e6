"""Which source an image was built from, and the tag that says so.

Tags name the commit so that a running task can be traced back to code. ECR repositories
are IMMUTABLE (a tag, once pushed, never moves), so two different builds must never
claim the same tag: a dirty tree appends the first 12 hex of the image id, which
changes whenever the content does, and a folder outside git is named by the id alone.
Only the build context counts as "the source": an edited file elsewhere in the repository
does not go into the image, so it does not make the tag dirty.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

GIT_TIMEOUT = 30.0
SHORT = 12
_HEX = re.compile(r"^[0-9a-f]{40,64}$")


class SourceTag(BaseModel):
    """The commit (first 12 hex) of the context's repository, and whether the context
    differs from it; commit None outside a git work tree (or without git)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    commit: str | None = Field(default=None, pattern=r"^[0-9a-f]{12}$")
    dirty: bool = False


def _git(context: Path, *args: str) -> str | None:
    """git's stdout, or None when git is missing, fails or the folder is not in a repo."""
    env = dict(os.environ)
    # `status` must not take the index lock: a build may run while an editor or another
    # git command works in the same repository.
    env["GIT_OPTIONAL_LOCKS"] = "0"
    try:
        proc = subprocess.run(
            ["git", "-C", str(context), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def read_source(context: Path) -> SourceTag:
    """The commit checked out where `context` lives and whether anything inside `context`
    (modified, staged, deleted or untracked) differs from it."""
    head = _git(context, "rev-parse", "--verify", "--quiet", "HEAD")
    commit = head.strip() if head else ""
    if not _HEX.match(commit):
        return SourceTag()
    # The pathspec "." is relative to `-C context`: the status of that folder only.
    status = _git(context, "status", "--porcelain", "--untracked-files=all", "--", ".")
    return SourceTag(commit=commit[:SHORT], dirty=status is None or bool(status.strip()))


def image_tag(source: SourceTag, image_id: str) -> str:
    """`<commit12>` (clean), `<commit12>-dirty-<id12>` (dirty) or `build-<id12>` (no git)."""
    short_id = image_id.removeprefix("sha256:")[:SHORT]
    if source.commit is None:
        return f"build-{short_id}"
    if source.dirty:
        return f"{source.commit}-dirty-{short_id}"
    return source.commit
