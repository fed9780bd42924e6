"""Builds the images a template set asks for (templates/build_specs.py), for every caller.

`fargate-api build`, `deploy` and the twin's `local up` build the same way: the inputs
are checked before the builder starts (exit 2 for a missing Dockerfile or an unknown
target), the builder's output streams as it goes, and the image's architecture is
compared with the task definition's before anything is pushed or run, because a
mismatch only shows on Fargate as a task that exits with "exec format error".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict

from fargate_api.errors import UserError
from fargate_api.images.build_request import BuildRequest, BuiltImage
from fargate_api.images.builders import ContainerCli
from fargate_api.images.dockerfile import check_inputs
from fargate_api.templates.build_specs import ARCHITECTURE_BY_PLATFORM, BuildSpec


class SpecImage(BaseModel):
    """A build spec and the image built from it."""

    model_config = ConfigDict(frozen=True)

    spec: BuildSpec
    image: BuiltImage


def local_repository(base: str, spec: BuildSpec) -> str:
    """The local name the image is tagged with before it has a registry: `localhost/`
    keeps podman from ever trying to pull it from a public registry."""
    name = re.sub(r"[^a-z0-9._-]+", "-", f"{base}-{spec.task_definition}".lower())
    return f"localhost/{re.sub(r'-{2,}', '-', name).strip('-._')}"


def request_for(spec: BuildSpec, repository: str) -> BuildRequest:
    return BuildRequest(
        context=spec.context,
        dockerfile=spec.dockerfile,
        target=spec.target,
        build_args=spec.build_args,
        platform=spec.platform,
        repository=repository,
    )


def check_architecture(spec: BuildSpec, image: BuiltImage) -> None:
    """Refuses an image that cannot run on the task definition's CPU (exit 2)."""
    if spec.runtime_architecture is not None:
        needed = ARCHITECTURE_BY_PLATFORM[spec.platform]
        if spec.runtime_architecture != needed:
            raise UserError(
                f"the image is built for {spec.platform}, but the task definition's "
                f"RuntimePlatform is {spec.runtime_architecture}",
                where=spec.where,
                fix=f"set CpuArchitecture to {needed}, or DockerPlatform to the platform of "
                f"{spec.runtime_architecture} (fargate-api synth keeps them equal)",
            )
    if image.architecture != spec.image_architecture:
        raise UserError(
            f"the image {image.reference} is {image.os}/{image.architecture}, but the task "
            f"runs on {spec.platform}: its tasks would stop with 'exec format error'",
            where=spec.where,
            fix=f"base the Dockerfile on an image that exists for {spec.platform} (a FROM "
            "image already in the local store is used whatever its architecture), or set "
            "`platform` in [service.build] to the image's",
        )


def build_all(
    specs: Sequence[BuildSpec],
    base: str,
    builder: ContainerCli,
    on_line: Callable[[str], None],
    on_start: Callable[[BuildSpec, BuildRequest], None] | None = None,
) -> list[SpecImage]:
    """Every spec's image, in order; all inputs are checked before the first build."""
    requests = [request_for(spec, local_repository(base, spec)) for spec in specs]
    for request in requests:
        check_inputs(request)
    built = []
    for spec, request in zip(specs, requests, strict=True):
        if on_start is not None:
            on_start(spec, request)
        image = builder.build(request, on_line)
        check_architecture(spec, image)
        built.append(SpecImage(spec=spec, image=image))
    return built
