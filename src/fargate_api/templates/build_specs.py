"""Which images a template set builds from source: its task definitions' build Metadata.

`deploy`, `build` and the twin all start from here, so they build the same image from
the same instructions, and a template set written by hand (or by an older fargate-api)
that carries the same Metadata builds the same way. Paths in the Metadata are relative
to the folder of the template that holds them, as SAM's DockerContext is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from fargate_api.errors import UserError
from fargate_api.metadata_keys import (
    BUILD,
    BUILD_ARGS,
    BUILD_CONTEXT,
    BUILD_DIGEST_PARAMETER,
    BUILD_DOCKERFILE,
    BUILD_PLATFORM,
    BUILD_REPOSITORY_PARAMETER,
    BUILD_TARGET,
    SUPPRESSIONS,
)
from fargate_api.templates.model import Stack, StackSet

TASK_DEFINITION = "AWS::ECS::TaskDefinition"
PLATFORMS = ("linux/amd64", "linux/arm64")
# The task definition's RuntimePlatform.CpuArchitecture each build platform runs on.
ARCHITECTURE_BY_PLATFORM = {"linux/amd64": "X86_64", "linux/arm64": "ARM64"}
# What image inspection calls each build platform's CPU.
IMAGE_ARCHITECTURE_BY_PLATFORM = {"linux/amd64": "amd64", "linux/arm64": "arm64"}


class BuildSpec(BaseModel):
    """One image to build, and which parameters of its stack receive the result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str
    task_definition: str
    context: Path
    dockerfile: Path
    target: str | None = None
    build_args: dict[str, str] = {}
    platform: Literal["linux/amd64", "linux/arm64"]
    runtime_architecture: str | None  # None: not a literal (a parameter, say)
    repository_parameter: str
    digest_parameter: str

    @property
    def where(self) -> str:
        return f"{self.file}: {self.task_definition} Metadata.{SUPPRESSIONS}.{BUILD}"

    @property
    def image_architecture(self) -> str:
        return IMAGE_ARCHITECTURE_BY_PLATFORM[self.platform]


def build_specs_of(file: str, document: Mapping[str, Any], folder: Path) -> list[BuildSpec]:
    """The build specs of one parsed template whose file lives in `folder`."""
    resources = document.get("Resources")
    if not isinstance(resources, dict):
        return []
    specs = []
    for logical_id, body in resources.items():
        if not isinstance(body, dict) or body.get("Type") != TASK_DEFINITION:
            continue
        metadata = body.get("Metadata")
        block = metadata.get(SUPPRESSIONS) if isinstance(metadata, dict) else None
        instructions = block.get(BUILD) if isinstance(block, dict) else None
        if instructions is None:
            continue
        specs.append(_spec(file, logical_id, body, instructions, folder))
    return specs


def build_specs_in_stack_set(stack_set: StackSet) -> list[tuple[Stack, BuildSpec]]:
    """Every build spec of a loaded stack set, with the stack that runs it; a task
    definition whose Condition is false builds nothing, as nothing runs it."""
    found = []
    for stack in stack_set.stacks.values():
        file = stack.file
        for spec in build_specs_of(file.display, file.data, file.path.parent):
            if spec.task_definition in stack.resources:
                found.append((stack, spec))
    return found


def build_specs_in(files: Iterable[tuple[str, Mapping[str, Any], Path]]) -> list[BuildSpec]:
    """The build specs of every (file name, document, folder) given, in order."""
    return [spec for file, doc, folder in files for spec in build_specs_of(file, doc, folder)]


def _spec(file: str, logical_id: str, body: Mapping[str, Any], raw: Any, folder: Path) -> BuildSpec:
    where = f"{file}: {logical_id} Metadata.{SUPPRESSIONS}.{BUILD}"
    if not isinstance(raw, dict):
        raise UserError("the build instructions are not a mapping", where=where, fix=_FIX)
    context_text = _text(raw, BUILD_CONTEXT, where, required=True)
    assert context_text is not None
    platform = _text(raw, BUILD_PLATFORM, where) or "linux/amd64"
    if platform not in PLATFORMS:
        raise UserError(
            f"{BUILD_PLATFORM} {platform!r} is not a platform fargate-api builds for",
            where=where,
            fix="use linux/amd64 or linux/arm64 (the two CPU architectures Fargate runs)",
        )
    context = (folder / context_text).resolve()
    args = raw.get(BUILD_ARGS, {})
    if not isinstance(args, dict) or not all(isinstance(v, str | int) for v in args.values()):
        raise UserError(f"{BUILD_ARGS} must map names to strings", where=where, fix=_FIX)
    properties = body.get("Properties")
    runtime = properties.get("RuntimePlatform") if isinstance(properties, dict) else None
    architecture: Any = "X86_64"  # ECS's default when RuntimePlatform is left out
    if isinstance(runtime, dict) and "CpuArchitecture" in runtime:
        architecture = runtime["CpuArchitecture"]
    return BuildSpec(
        file=file,
        task_definition=logical_id,
        context=context,
        dockerfile=context / (_text(raw, BUILD_DOCKERFILE, where) or "Dockerfile"),
        target=_text(raw, BUILD_TARGET, where),
        build_args={str(k): str(v) for k, v in args.items()},
        platform=platform,
        runtime_architecture=architecture if isinstance(architecture, str) else None,
        repository_parameter=_text(raw, BUILD_REPOSITORY_PARAMETER, where) or "ImageRepositoryUri",
        digest_parameter=_text(raw, BUILD_DIGEST_PARAMETER, where) or "ImageDigest",
    )


_FIX = "write it as fargate-api synth does: DockerContext, Dockerfile, DockerPlatform, ..."


def _text(raw: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise UserError(f"the build instructions have no {key}", where=where, fix=_FIX)
        return None
    if not isinstance(value, str) or not value:
        raise UserError(f"{key} must be a non-empty string", where=where, fix=_FIX)
    return value
