"""What `fargate-api build --json` prints: a contract, with its schema in docs/schemas/."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class BuiltImageRecord(BaseModel):
    """One image built from a task definition's build instructions."""

    model_config = ConfigDict(frozen=True)

    file: str
    task_definition: str
    context: str
    platform: str
    reference: str  # repository:tag in the builder's local store
    tag: str
    image_id: str
    architecture: str
    builder: Literal["podman", "docker"]
    commit: str | None
    dirty: bool


class BuildReport(BaseModel):
    """`fargate-api build --json`."""

    model_config = ConfigDict(frozen=True)

    ok: Literal[True] = True
    builder: Literal["podman", "docker"]
    images: list[BuiltImageRecord]
