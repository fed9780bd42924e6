"""FA506: the image is built for the CPU the tasks run on.

`fargate-api build` builds for Metadata.fargate-api.build.DockerPlatform; Fargate runs
the task on RuntimePlatform.CpuArchitecture. When they differ, the deploy pushes an image
whose binaries the task's CPU cannot execute: every task exits at once with "exec format
error", and the deployment fails only after the image is already in the registry.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.metadata_keys import BUILD, BUILD_PLATFORM
from fargate_api.metadata_keys import SUPPRESSIONS as FARGATE_API
from fargate_api.templates import Resource
from fargate_api.templates.build_specs import ARCHITECTURE_BY_PLATFORM
from fargate_api.templates.props import get
from fargate_api.templates.topology import TASK_DEFINITION, is_windows

BUILD_PATH = ("Metadata", FARGATE_API, BUILD)
PLATFORM_PATH = (*BUILD_PATH, BUILD_PLATFORM)
ARCHITECTURE_PATH = ("Properties", "RuntimePlatform", "CpuArchitecture")
DEFAULT_PLATFORM = "linux/amd64"  # what the build reader (templates/build_specs.py) assumes
DEFAULT_ARCHITECTURE = "X86_64"  # what Fargate runs when RuntimePlatform names none


class ImagePlatformMismatch(Rule):
    meta = RuleMeta(
        id="FA506",
        name="image-platform-mismatch",
        severity=Severity.ERROR,
        title="The image is built for another CPU architecture than the tasks run on",
        why="A container image holds binaries for one CPU architecture. Built for linux/arm64 "
        'and run on X86_64 (or the reverse), every task stops at once with "exec format '
        'error" and the deployment never becomes healthy.',
        fix="Build for the tasks' architecture: DockerPlatform linux/arm64 with "
        "RuntimePlatform.CpuArchitecture ARM64, linux/amd64 with X86_64 (the default of "
        "both). fargate-api writes both from one setting ([service.build] platform or "
        "[service] platform).",
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for task in ctx.resources(TASK_DEFINITION):
            build = get(task.metadata, *BUILD_PATH[1:])
            if not isinstance(build, dict):
                continue  # not built by fargate-api (or malformed: the build reader says so)
            platform = get(build, BUILD_PLATFORM)
            if platform is not None and not isinstance(platform, str):
                continue  # a value we cannot see
            wanted = ARCHITECTURE_BY_PLATFORM.get(platform or DEFAULT_PLATFORM)
            if wanted is None:
                yield self.finding(
                    task,
                    f"task definition {task.logical_id} is built for {BUILD_PLATFORM} "
                    f"{platform!r}, which is neither {' nor '.join(ARCHITECTURE_BY_PLATFORM)}",
                    PLATFORM_PATH,
                )
                continue
            yield from self._mismatch(task, platform, wanted)

    def _mismatch(self, task: Resource, platform: str | None, wanted: str) -> Iterator[Finding]:
        built_for = platform or f"{DEFAULT_PLATFORM} (no {BUILD_PLATFORM}: the default)"
        if is_windows(task):
            yield self.finding(
                task,
                f"task definition {task.logical_id} runs Windows, but its image is built "
                f"for {built_for}",
                ("Properties", "RuntimePlatform", "OperatingSystemFamily"),
            )
            return
        runtime = get(task.properties, "RuntimePlatform")
        value = get(runtime, "CpuArchitecture")
        if runtime is not None and not isinstance(runtime, dict):
            return  # the whole RuntimePlatform is a parameter or condition
        if value is not None and not isinstance(value, str):
            return  # a parameter or condition we cannot see
        architecture = (value or DEFAULT_ARCHITECTURE).upper()
        if architecture not in ARCHITECTURE_BY_PLATFORM.values() or architecture == wanted:
            return  # an unknown architecture is cfn-lint's finding, not a mismatch
        runs_on = (
            architecture
            if value is not None
            else f"{architecture} (no CpuArchitecture: the default)"
        )
        yield self.finding(
            task,
            f"task definition {task.logical_id} runs on {runs_on}, but its image is built for "
            f"{built_for}, which needs {wanted}: the containers would fail with exec format "
            "error",
            ARCHITECTURE_PATH if value is not None else PLATFORM_PATH,
        )


RULE = ImagePlatformMismatch()
