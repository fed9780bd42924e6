"""What `local up` settles before it builds anything: which runtime runs the tasks,
whether every image is at hand, and whether every secret has a value.

Each of these is bad input when it fails (exit 2), and each is checked while nothing
exists yet, so a failure leaves the machine as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from fargate_api.errors import UserError
from fargate_api.twin.ecs.ecr_auth import ecr_auth_from_boto3
from fargate_api.twin.ecs.image_store import ensure_images
from fargate_api.twin.ecs.secrets import (
    SecretResolver,
    parse_secret_options,
    parse_secrets_file,
)
from fargate_api.twin.host.containers_conf import write_containers_conf
from fargate_api.twin.host.podman import Podman, podman_available
from fargate_api.twin.plan.model import Runtime, TwinPlan

RuntimeChoice = Literal["auto", "container", "process"]
RUNTIME_CHOICES: tuple[RuntimeChoice, ...] = ("auto", "container", "process")
INSTALL_PODMAN = "apt-get install podman runc catatonit"


def choose_runtime(requested: RuntimeChoice, *, has_run_options: bool) -> tuple[Runtime, str]:
    """The runtime, and a one-line notice for the user ("" when there is nothing to say).

    `auto` runs the images with podman where it exists; `--run` asks for local
    commands, so it means process mode.
    """
    available = podman_available() is not None
    if requested == "container":
        if not available:
            raise UserError(
                "--runtime container needs podman, which is not installed",
                fix=f"as root: {INSTALL_PODMAN}; or run local commands with --runtime process",
            )
        if has_run_options:
            raise UserError(
                "--run maps images to local commands, which only process mode runs",
                fix="drop --run to run the images, or use --runtime process",
            )
        return "container", ""
    if requested == "process":
        return "process", ""
    if has_run_options:
        return "process", ""
    if available:
        return "container", ""
    return "process", (
        f"podman is not installed: tasks run as local commands (process mode); for the "
        f"images themselves, as root: {INSTALL_PODMAN}"
    )


def local_secret_values(
    from_config: dict[str, str], options: Sequence[str], files: Sequence[Path]
) -> dict[str, str]:
    """Config first, then each --secrets-file, then --secret: a later source wins."""
    values = dict(from_config)
    for path in files:
        try:
            text = path.read_text()
        except OSError as exc:
            raise UserError(
                f"cannot read the secrets file: {exc.strerror}",
                where=str(path),
                fix="pass an existing file of NAME=VALUE lines",
            ) from None
        try:
            values.update(parse_secrets_file(text, str(path)))
        except ValueError as exc:
            raise UserError(str(exc), where=str(path), fix="write NAME=VALUE lines") from None
    try:
        values.update(parse_secret_options(list(options)))
    except ValueError as exc:
        raise UserError(str(exc), fix="e.g. --secret DB_PASSWORD=local-only") from None
    return values


def check_secrets(plan: TwinPlan, resolver: SecretResolver) -> None:
    """Every Secrets[] reference has a local value (unless AWS will be asked)."""
    containers = [c for d in plan.task_definitions for c in d.containers]
    missing = resolver.missing(containers)
    if missing:
        first = missing[0]
        raise UserError(
            f"secret {first.name} ({first.value_from}) has no local value"
            + (f", nor {len(missing) - 1} more" if len(missing) > 1 else ""),
            fix=f"give it with --secret {first.name}=VALUE, a --secrets-file of NAME=VALUE "
            "lines, [local.secrets] in the config, or read it from AWS with "
            "--secrets-from-aws",
        )


def twin_containers_conf(conf_path: Path) -> Path:
    """The twin's containers.conf, written when it does not exist yet."""
    return conf_path if conf_path.exists() else write_containers_conf(conf_path)


def prepare_images(plan: TwinPlan, conf_path: Path, on_progress: Callable[[str], None]) -> None:
    """Every image of the plan is in podman's store, pulled if need be; `conf_path`
    is the twin's containers.conf, written here when it does not exist yet."""
    images = [c.image for d in plan.task_definitions for c in d.containers]
    podman = Podman(twin_containers_conf(conf_path))
    ensure_images(podman, images, ecr_auth=ecr_auth_from_boto3, on_progress=on_progress)
