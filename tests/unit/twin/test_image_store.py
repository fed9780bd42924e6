"""Which images the twin pulls, with which credentials, and what a failed pull says."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from fargate_api.errors import UserError
from fargate_api.twin.ecs.image_store import (
    ecr_account,
    ecr_region,
    ecr_registry,
    ensure_images,
    registry_host,
)
from fargate_api.twin.host.podman import PodmanError, RegistryAuth

ECR_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:1.2"


@dataclass
class FakePodman:
    present: set[str]
    fail: dict[str, str] = field(default_factory=dict)
    pulls: list[tuple[str, RegistryAuth | None]] = field(default_factory=list)

    def image_exists(self, image: str) -> bool:
        return image in self.present

    def pull(
        self,
        image: str,
        *,
        auth: RegistryAuth | None = None,
        on_progress: Callable[[str], None],
        timeout: float = 0.0,
    ) -> None:
        self.pulls.append((image, auth))
        if image in self.fail:
            raise PodmanError(["podman", "pull", image], 125, self.fail[image])
        on_progress(f"Writing manifest for {image}")
        self.present.add(image)


def _no_auth(image: str) -> RegistryAuth | None:
    raise AssertionError(f"no credentials should be asked for {image}")


@pytest.mark.parametrize(
    ("image", "registry"),
    [
        (ECR_IMAGE, "123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
        (
            "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/a@sha256:ab",
            "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com",
        ),
        (
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/api",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
        ),
        ("public.ecr.aws/docker/library/nginx:latest", None),
        ("nginx", None),
        ("docker.io/library/nginx:latest", None),
        ("localhost/fa-test-nginx:latest", None),
        ("dkr.ecr.eu-west-1.amazonaws.com/api", None),
        ("12345678901.dkr.ecr.eu-west-1.amazonaws.com/api", None),
    ],
)
def test_ecr_registry(image: str, registry: str | None) -> None:
    assert ecr_registry(image) == registry


def test_region_and_account_of_an_ecr_registry() -> None:
    registry = ecr_registry(ECR_IMAGE)
    assert registry is not None
    assert ecr_region(registry) == "eu-west-1"
    assert ecr_account(registry) == "123456789012"
    assert ecr_region("docker.io") is None


@pytest.mark.parametrize(
    ("image", "host"),
    [
        ("nginx", "docker.io"),
        ("library/nginx:1", "docker.io"),
        ("user/repo", "docker.io"),
        ("localhost/x:1", "localhost"),
        ("registry:5000/x", "registry:5000"),
        ("quay.io/a/b", "quay.io"),
    ],
)
def test_registry_host(image: str, host: str) -> None:
    assert registry_host(image) == host


def test_present_images_are_never_pulled() -> None:
    podman = FakePodman(present={"nginx:1", ECR_IMAGE})
    ensure_images(podman, ["nginx:1", ECR_IMAGE], ecr_auth=_no_auth, on_progress=print)
    assert podman.pulls == []


def test_public_images_are_pulled_anonymously_once() -> None:
    podman = FakePodman(present=set())
    lines: list[str] = []
    ensure_images(podman, ["nginx:1", "nginx:1"], ecr_auth=_no_auth, on_progress=lines.append)
    assert podman.pulls == [("nginx:1", None)]
    assert any("nginx:1" in line for line in lines)


def test_ecr_images_are_pulled_with_the_callbacks_credentials() -> None:
    podman = FakePodman(present=set())
    auth = RegistryAuth("AWS", "s3cret")
    asked: list[str] = []

    def ecr_auth(image: str) -> RegistryAuth | None:
        asked.append(image)
        return auth

    ensure_images(podman, [ECR_IMAGE], ecr_auth=ecr_auth, on_progress=lambda _: None)
    assert asked == [ECR_IMAGE]
    assert podman.pulls == [(ECR_IMAGE, auth)]
    assert "s3cret" not in repr(auth)


def test_a_failed_pull_is_a_user_error_naming_image_cause_and_fix() -> None:
    said = (
        "Trying to pull docker.io/library/my-api:dev...\n"
        "Error: initializing source docker://my-api:dev: reading manifest dev in "
        "docker.io/library/my-api: requested access to the resource is denied"
    )
    podman = FakePodman(present=set(), fail={"my-api:dev": said})
    with pytest.raises(UserError) as caught:
        ensure_images(podman, ["my-api:dev"], ecr_auth=_no_auth, on_progress=lambda _: None)
    error = caught.value
    assert error.exit_code == 2
    assert "my-api:dev" in error.what
    assert "requested access to the resource is denied" in error.what
    assert "Trying to pull" not in error.what
    assert error.fix is not None
    assert "podman build -t my-api:dev ." in error.fix
    assert "podman pull docker-daemon:my-api:dev" in error.fix


def test_a_failed_ecr_pull_mentions_aws_credentials() -> None:
    podman = FakePodman(present=set(), fail={ECR_IMAGE: "Error: unauthorized"})
    with pytest.raises(UserError) as caught:
        ensure_images(podman, [ECR_IMAGE], ecr_auth=lambda _: None, on_progress=lambda _: None)
    assert caught.value.fix is not None
    assert "AWS credentials" in caught.value.fix
    assert "unauthorized" in caught.value.what


def test_a_missing_localhost_image_is_not_pulled_and_nothing_else_is() -> None:
    podman = FakePodman(present=set())
    with pytest.raises(UserError) as caught:
        ensure_images(
            podman, ["nginx:1", "localhost/my-api:dev"], ecr_auth=_no_auth, on_progress=print
        )
    assert podman.pulls == []
    assert "localhost/my-api:dev" in caught.value.what
    assert caught.value.fix is not None
    assert "podman build -t localhost/my-api:dev ." in caught.value.fix
