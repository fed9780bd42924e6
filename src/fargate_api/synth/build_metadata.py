"""The `fargate-api: build:` Metadata of a built service's task definition.

The templates are the contract: `deploy`, `build` and the twin read how to build the
image from here, never from the config. Paths are written relative to the folder the
templates are written to (or the working folder, for templates kept in memory), the way
SAM writes DockerContext relative to its template, so the same bytes come out wherever
the repository is checked out.
"""

from __future__ import annotations

import os
from pathlib import Path

from fargate_api.config.model import ServiceConfig
from fargate_api.metadata_keys import (
    BUILD_ARGS,
    BUILD_CONTEXT,
    BUILD_DIGEST_PARAMETER,
    BUILD_DOCKERFILE,
    BUILD_PLATFORM,
    BUILD_REPOSITORY_PARAMETER,
    BUILD_TARGET,
)
from fargate_api.synth.intrinsics import Json

REPOSITORY_PARAMETER = "ImageRepositoryUri"
DIGEST_PARAMETER = "ImageDigest"
# What CloudFormation accepts for ImageDigest: the manifest digest a push reports.
DIGEST_PATTERN = "^sha256:[a-f0-9]{64}$"


def relative_path(target: str, base: Path | None) -> str:
    """`target` relative to `base` (default: the working folder), with forward slashes."""
    start = (base or Path.cwd()).resolve()
    relative = os.path.relpath(Path(target).resolve(), start)
    return Path(relative).as_posix()


def build_metadata(svc: ServiceConfig, templates_dir: Path | None) -> Json:
    build = svc.build
    if build is None:
        raise ValueError("build metadata exists only for a service built from source")
    metadata: Json = {
        BUILD_CONTEXT: relative_path(build.context, templates_dir),
        BUILD_DOCKERFILE: build.dockerfile,
    }
    if build.target is not None:
        metadata[BUILD_TARGET] = build.target
    if build.build_args:
        metadata[BUILD_ARGS] = dict(build.build_args)
    metadata[BUILD_PLATFORM] = svc.build_platform()
    metadata[BUILD_REPOSITORY_PARAMETER] = REPOSITORY_PARAMETER
    metadata[BUILD_DIGEST_PARAMETER] = DIGEST_PARAMETER
    return metadata
