"""Which local command runs an image: the twin has no container runtime.

An image becomes a shell command, found in this order: `--run IMAGE=COMMAND` from the
command line, the command the synth wrote into the task definition's Metadata (from the
config's `[local]` section), then the built-in stand-in for stock web servers (the
reference's nginx), which answers 200 on every path. Anything else is an error that
names the image and how to map it, rather than a guess.
"""

from __future__ import annotations

import fnmatch
import shlex
import sys
from collections.abc import Mapping

from fargate_api.errors import UserError

# Images whose only job in a template is "serve HTTP 200" (demo and sample images).
STAND_IN_IMAGES = frozenset({"nginx", "httpd", "amazon-ecs-sample", "nginxdemos/hello"})


def parse_run_options(values: list[str]) -> dict[str, str]:
    """`--run IMAGE=COMMAND` options, in order; a later mapping of an image wins."""
    mapping: dict[str, str] = {}
    for value in values:
        image, sep, command = value.partition("=")
        if not sep or not image.strip() or not command.strip():
            raise UserError(
                f"--run {value!r} is not IMAGE=COMMAND",
                fix="e.g. --run 'my-api:*=python -m my_api --port {port}'",
            )
        mapping[image.strip()] = command.strip()
    return mapping


def repository_name(image: str) -> str:
    """`public.ecr.aws/docker/library/nginx:latest` -> `nginx`; digests and tags dropped."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    parts = name.split("/")
    if (
        len(parts) >= 2
        and parts[-2] not in ("library",)
        and "." not in parts[0]
        and len(parts) == 2
    ):
        return "/".join(parts[-2:])  # docker hub user/repo
    return parts[-1]


def match_run_option(image: str, mapping: Mapping[str, str]) -> str | None:
    for pattern, command in reversed(list(mapping.items())):
        if pattern == image or fnmatch.fnmatchcase(image, pattern):
            return command
        if (
            pattern == repository_name(image)
            or pattern == image.split("@", 1)[0].split(":", maxsplit=1)[0]
        ):
            return command
    return None


def stand_in_command() -> str:
    return (
        f"{shlex.quote(sys.executable)} -m fargate_api.twin.servers.standin_server --port {{port}}"
    )


def is_stand_in_image(image: str) -> bool:
    name = repository_name(image)
    return name in STAND_IN_IMAGES or name.rsplit("/", 1)[-1] in STAND_IN_IMAGES


def substitute_port(command: str, port: int | None) -> str:
    return command.replace("{port}", str(port if port is not None else 80))
