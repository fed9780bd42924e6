"""Images the twin's templates build from source (`[service] build`), built before the twin
runs them: by `local up` before the daemon starts, by `local deploy` before the request.

The templates name such an image `${ImageRepositoryUri}@${ImageDigest}`: the repository
comes from the ECR repository stack (the reading layer knows its URI from its literal
name, as CloudFormation would), the digest is a parameter of the root template that a
deploy fills in after its push. The twin pushes nothing: it builds into podman's store,
the one its containers run from, names the image `<repository URI>:<tag>` there, and
passes the image's local manifest digest as that root parameter, so the task definition
names exactly the image just built (`podman image exists URI@DIGEST` holds for a local
build). A changed build has another digest, hence a new task definition revision, which
`local deploy` rolls out like any other; an unchanged one (podman's layer cache) has the
same digest and changes nothing.

Process mode runs the `[local] command` (or `--run`), not the image, so nothing is
built; the digest parameter gets PLACEHOLDER_DIGEST so that the templates still read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fargate_api.errors import OperationError, UserError
from fargate_api.images.build_request import REPOSITORY_PATTERN, BuiltImage
from fargate_api.images.builders import ContainerCli
from fargate_api.images.from_templates import build_all
from fargate_api.templates import DiskReader, StackInput, StackSet, TemplateError, load_stacks
from fargate_api.templates.build_specs import BuildSpec, build_specs_in_stack_set
from fargate_api.templates.model import Stack
from fargate_api.templates.props import get
from fargate_api.templates.stack_inputs import as_stack_inputs
from fargate_api.twin.host.podman import Podman, PodmanError, podman_available
from fargate_api.twin.plan.errors import PlanError

# Stands in for the digest in process mode, where no image is built or run; valid for the
# parameter's AllowedPattern (^sha256:[a-f0-9]{64}$), and visibly not a real image.
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64
PROCESS_MODE_NOTICE = (
    "process mode runs the [local] command (or --run), not the image: the build of {what} "
    "is skipped"
)
# The builder's own local name for the image (images/from_templates.py), removed once the
# image carries its repository URI: the twin's image has the one name the task runs.
BUILD_NAME_BASE = "fargate-api-twin"
INSTALL_PODMAN = "apt-get install podman runc catatonit"


@dataclass(frozen=True)
class BuildProgress:
    """Where a build reports: `step` for what happens ("building …", "built …"), `line`
    for each line of the builder's own output."""

    step: Callable[[str], None]
    line: Callable[[str], None]


@dataclass(frozen=True)
class BuildTarget:
    """One image to build, and where the twin's templates take its result from."""

    spec: BuildSpec
    stack: str  # the key of the stack whose task definition runs it
    repository: Any  # what that stack's repository parameter resolves to
    digest_parameter: str  # the root template's parameter that carries the digest

    def repository_uri(self) -> str:
        """The repository the image is named in, as a literal the store accepts."""
        value = self.repository
        if not isinstance(value, str) or not REPOSITORY_PATTERN.match(value):
            shown = value if isinstance(value, str) else str(value)
            raise UserError(
                f"the twin cannot tell the repository of the image it builds: "
                f"{self.spec.repository_parameter} of {self.stack} is {shown!r}",
                where=self.spec.where,
                fix="give the ECR repository a literal RepositoryName (fargate-api synth "
                "does) and pass its RepositoryUri to that parameter, or give the parameter "
                "a Default such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-api",
            )
        return value


@dataclass(frozen=True)
class ImageBuilds:
    """The images a template set builds from source; empty for images named as they are."""

    targets: tuple[BuildTarget, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.targets)

    def process_mode_notice(self) -> str:
        contexts = ", ".join(dict.fromkeys(str(t.spec.context) for t in self.targets))
        return PROCESS_MODE_NOTICE.format(what=contexts)

    def placeholders(self) -> dict[str, str]:
        """The root parameters with PLACEHOLDER_DIGEST: enough to read the templates."""
        return {target.digest_parameter: PLACEHOLDER_DIGEST for target in self.targets}

    def build(self, conf_path: Path, progress: BuildProgress) -> dict[str, str]:
        """Builds every image into the twin's podman store and names it there; returns
        the root parameters with each image's digest. UserError (exit 2) for bad inputs,
        before any build; BuildFailedError (exit 1) naming the failing step."""
        repositories = [target.repository_uri() for target in self.targets]
        builder = podman_builder(conf_path)
        built = build_all(
            [target.spec for target in self.targets],
            BUILD_NAME_BASE,
            builder,
            on_line=progress.line,
            on_start=lambda spec, _request: progress.step(
                f"building {spec.context} for {spec.platform} with podman"
            ),
        )
        podman = Podman(conf_path)
        parameters: dict[str, str] = {}
        for target, repository, item in zip(self.targets, repositories, built, strict=True):
            digest = name_in_store(podman, item.image, repository)
            progress.step(f"built {repository}:{item.image.tag} ({digest})")
            previous = parameters.setdefault(target.digest_parameter, digest)
            if previous != digest:
                raise UserError(
                    f"two images built for one parameter, {target.digest_parameter}, differ",
                    where=target.spec.where,
                    fix="give each built image its own digest parameter in the root template",
                )
        return parameters


def read_builds(stacks: Path | Sequence[StackInput]) -> ImageBuilds:
    """The build targets of the top-level templates `stacks` (exit 2 when the templates
    or their build instructions are bad)."""
    try:
        stack_set = load_stacks(
            as_stack_inputs(stacks), reader=DiskReader(), missing_exports="error"
        )
    except TemplateError as exc:
        raise PlanError(exc.what, where=exc.where, fix=exc.fix) from None
    targets = []
    for stack, spec in build_specs_in_stack_set(stack_set):
        parameter = stack.parameters.get(spec.repository_parameter)
        targets.append(
            BuildTarget(
                spec=spec,
                stack=stack.key,
                repository=parameter.value if parameter is not None else None,
                digest_parameter=_root_parameter(stack_set, stack, spec),
            )
        )
    return ImageBuilds(tuple(targets))


def _root_parameter(stack_set: StackSet, stack: Stack, spec: BuildSpec) -> str:
    """The root template's parameter that reaches the task definition's digest parameter
    through `Ref`s in each parent's nested stack Parameters (synth's `ImageDigest: !Ref
    ImageDigest`): the only place a value can come from, as on a deploy."""
    name = spec.digest_parameter
    current = stack
    while name in current.parameters and current.parent is not None:
        parent = stack_set.stacks[current.parent]
        nested = parent.resources.get(current.name)
        passed = get(nested.raw_properties, "Parameters", name) if nested is not None else None
        ref = passed.get("Ref") if isinstance(passed, dict) and len(passed) == 1 else None
        if not isinstance(ref, str):
            break
        name, current = ref, parent
    if current.parent is None and name in current.parameters:
        return name
    raise UserError(
        f"the twin cannot hand the built image's digest to {spec.digest_parameter} of "
        f"{stack.key}: no parameter of the root template reaches it",
        where=spec.where,
        fix=f"pass it from the parent as `{spec.digest_parameter}: !Ref ImageDigest` with an "
        "ImageDigest parameter in the root template (fargate-api synth writes it so)",
    )


def podman_builder(conf_path: Path) -> ContainerCli:
    """podman with the twin's containers.conf: the store the twin's containers run from
    (docker's images are not in it, so docker is no substitute here)."""
    executable = podman_available()
    if executable is None:
        raise UserError(
            "the twin builds images with podman, into the store its containers run from, "
            "and podman is not installed (docker's store is not podman's)",
            fix=f"as root: {INSTALL_PODMAN}; or run the [local] command with --runtime process",
        )
    return ContainerCli(
        "podman", executable, environ={**os.environ, "CONTAINERS_CONF": str(conf_path)}
    )


def name_in_store(podman: Podman, image: BuiltImage, repository: str) -> str:
    """Tags the built image `<repository>:<tag>` and returns its digest, checked to name
    it in the store (so the twin never tries to pull it from ECR)."""
    reference = f"{repository}:{image.tag}"
    try:
        podman.tag(image.image_id, reference)
        podman.remove_image(image.reference)
        digest = podman.image_digest(reference)
    except PodmanError as exc:
        raise OperationError(
            f"could not name the built image {reference} in podman's store: {exc.stderr}",
            fix=f"run `podman tag {image.image_id} {reference}` by hand to see why",
        ) from None
    if digest is None or not podman.image_exists(f"{repository}@{digest}"):
        raise OperationError(
            f"podman's store does not find the built image as {repository}@{digest}",
            fix=f"check `podman image inspect {reference}`; report this with `podman version`",
        )
    return digest
