"""Helpers of the image tests: Dockerfiles in tmp_path, requests, git.

What ends up inside an image is checked by RUN steps of the test Dockerfiles (`RUN test
...`), which fail the build when it is wrong: no container is run, so nothing depends on
the host's container runtime settings."""

from __future__ import annotations

from pathlib import Path

from fargate_api.images import BuildRequest
from fargate_api.images.platforms import host_architecture
from support.git_repo import git

__all__ = ["git", "request_for", "write_context"]


def write_context(folder: Path, dockerfile: str, files: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(dockerfile)
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    return folder


def request_for(
    context: Path, repository: str, *, platform: str | None = None, **fields: object
) -> BuildRequest:
    return BuildRequest.model_validate(
        {
            "context": context,
            "dockerfile": context / "Dockerfile",
            "repository": repository,
            "platform": platform or f"linux/{host_architecture()}",
            **fields,
        }
    )
