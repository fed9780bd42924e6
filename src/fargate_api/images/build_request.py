"""What to build and what a build produced: the contract between `build`, `deploy` and the
twin on one side and the container CLIs on the other.

The request carries only absolute paths so that no module below has to guess what a
relative path was relative to (the config file, a template's folder, the working
directory): whoever reads the user's input resolves it once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fargate_api.images.source_tag import SourceTag

Platform = Literal["linux/amd64", "linux/arm64"]
BuilderName = Literal["podman", "docker"]

# What `image inspect` calls each platform's CPU (the `architecture` of an image config).
ARCHITECTURE_BY_PLATFORM: dict[str, str] = {"linux/amd64": "amd64", "linux/arm64": "arm64"}

# A repository name as the distribution spec allows it: an optional registry host (with a
# dot or a port, or `localhost`) and lowercase path components. Checked here so that a bad
# name fails before a long build rather than at `tag` time.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"(?:(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?::[0-9]+)?|[A-Za-z0-9-]+:[0-9]+)"
REPOSITORY_PATTERN = re.compile(rf"^(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*$")
IMAGE_ID_PATTERN = re.compile(r"^sha256:[0-9a-f]{64}$")


class BuildRequest(BaseModel):
    """One image to build from a Dockerfile, and the local repository name to tag it as."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    context: Path
    dockerfile: Path
    target: str | None = None
    build_args: dict[str, str] = {}
    platform: Platform = "linux/amd64"
    repository: str

    @field_validator("context", "dockerfile")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        if not value.is_absolute():
            raise ValueError(f"must be an absolute path, got {str(value)!r}")
        return value

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not REPOSITORY_PATTERN.match(value):
            raise ValueError(
                f"{value!r} is not a repository name (lowercase, e.g. "
                "'123456789012.dkr.ecr.us-east-1.amazonaws.com/my-api' or 'localhost/my-api')"
            )
        return value

    @property
    def architecture(self) -> str:
        """The image architecture this request asks for ("amd64" or "arm64")."""
        return ARCHITECTURE_BY_PLATFORM[self.platform]


class BuiltImage(BaseModel):
    """An image in the builder's local store, tagged from its source (see source_tag.py).

    `local_digest` is the manifest digest in podman's store; it is NOT what a registry
    will report after a push (podman recompresses layers on push), so deploys use the
    digest `ContainerCli.push` returns.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: str
    repository: str
    tag: str
    image_id: str = Field(pattern=IMAGE_ID_PATTERN.pattern)
    architecture: str
    os: str
    builder: BuilderName
    local_digest: str | None
    source: SourceTag
