"""Makes sure the images a plan names are in podman's store before any task starts.

An image already in the store is used as it is (the twin never re-pulls a tag, so a
locally built `my-api:dev` wins over a registry). A missing one is pulled: public
registries anonymously, Amazon ECR private registries
(`<account>.dkr.ecr.<region>.amazonaws.com`) with a token from the `ecr_auth` callback
(twin/ecs/ecr_auth.py asks ECR with the caller's AWS credentials). A pull that fails is
a UserError naming the image, what podman said and how to get the image instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Protocol

from fargate_api.errors import UserError
from fargate_api.twin.host.podman import PodmanError, RegistryAuth

_ECR_HOST = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
)
ERROR_LINES = 6


class ImageStore(Protocol):
    """What ensure_images needs from twin.host.podman.Podman."""

    def image_exists(self, image: str) -> bool: ...

    def pull(
        self,
        image: str,
        *,
        auth: RegistryAuth | None = ...,
        on_progress: Callable[[str], None],
        timeout: float = ...,
    ) -> None: ...


def registry_host(image: str) -> str:
    """The registry an image reference names: its first part when that looks like a
    host (has a dot or port, or is localhost), else Docker Hub."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def ecr_registry(image: str) -> str | None:
    """`123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1` -> the registry host; None
    for images anywhere else (ECR Public included: it needs no credentials)."""
    host = registry_host(image)
    return host if _ECR_HOST.match(host) else None


def ecr_region(registry: str) -> str | None:
    """The AWS region of an ECR registry host, or None if it is not one."""
    match = _ECR_HOST.match(registry)
    return match.group("region") if match else None


def ecr_account(registry: str) -> str | None:
    match = _ECR_HOST.match(registry)
    return match.group("account") if match else None


def _podman_said(exc: PodmanError) -> str:
    lines = [line.strip() for line in exc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return " / ".join((errors or lines)[-ERROR_LINES:]) or f"exit code {exc.returncode}"


def _fix(image: str, *, ecr: bool) -> str:
    fix = (
        f"build it (`podman build -t {image} .` in the image's folder), "
        f"or, if it is in Docker's store, copy it: `podman pull docker-daemon:{image}`"
    )
    if ecr:
        fix += (
            "; for an ECR image, check that AWS credentials for its account are set "
            "(AWS_PROFILE or AWS_ACCESS_KEY_ID...) and allow ecr:GetAuthorizationToken "
            "and ecr:BatchGetImage"
        )
    return fix


def pull_error(image: str, exc: PodmanError | None, *, ecr: bool = False) -> UserError:
    """The UserError for an image that is not in the store and could not be pulled
    (exc None: the twin did not try, e.g. a `localhost/` image)."""
    if exc is None:
        what = f"image {image} is not in podman's store (a local image: nothing to pull)"
    else:
        what = f"image {image} is not in podman's store and pulling it failed: {_podman_said(exc)}"
    return UserError(what, fix=_fix(image, ecr=ecr))


def ensure_images(
    podman: ImageStore,
    images: Sequence[str],
    *,
    ecr_auth: Callable[[str], RegistryAuth | None],
    on_progress: Callable[[str], None],
) -> None:
    """Pulls every image not yet in the store (each once, in order); raises UserError
    for the first one that cannot be had. Images already present are never touched."""
    missing = [image for image in dict.fromkeys(images) if not podman.image_exists(image)]
    local = [image for image in missing if registry_host(image) == "localhost"]
    if local:
        raise pull_error(local[0], None)
    for image in missing:
        is_ecr = ecr_registry(image) is not None
        auth = ecr_auth(image) if is_ecr else None
        on_progress(f"pulling {image}")
        try:
            podman.pull(image, auth=auth, on_progress=on_progress)
        except PodmanError as exc:
            raise pull_error(image, exc, ecr=is_ecr) from None
