"""Pushing to docker-registry on 127.0.0.1 and reading it back."""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_api.errors import OperationError
from fargate_api.images import (
    BuiltImage,
    RegistryAuth,
    RegistryClient,
    find_builder,
    parse_registry_url,
    push_destination,
    repository_path,
)
from fargate_api.images.platforms import host_architecture
from support.base_images import ImageRun
from support.registry import LoopbackRegistry, free_port, skopeo_inspect

from .support import request_for, write_context

ECR_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fa13/app"


def build_small(base: str, run: ImageRun, tmp_path: Path) -> BuiltImage:
    context = write_context(tmp_path / "app", f"FROM {base}\nRUN echo pushed > /pushed\n")
    return find_builder().build(request_for(context, run.repository("push")), lambda line: None)


def test_push_and_prove_the_digest(
    busybox_base: str, image_run: ImageRun, loopback_registry: LoopbackRegistry, tmp_path: Path
) -> None:
    built = build_small(busybox_base, image_run, tmp_path)
    endpoint = parse_registry_url(loopback_registry.url)
    destination = push_destination(ECR_URI, built.tag, endpoint)
    assert destination == f"{loopback_registry.host}/fa13/app:{built.tag}"
    lines: list[str] = []
    digest = find_builder().push(
        built, destination, auth=None, tls_verify=False, on_line=lines.append
    )
    assert digest.startswith("sha256:")
    assert len(digest) == 71
    assert any("Writing manifest" in line for line in lines)
    # skopeo fetches the manifest by that digest: the registry holds exactly it.
    by_digest = f"{loopback_registry.host}/{repository_path(ECR_URI)}@{digest}"
    host = f"{loopback_registry.host}/"
    assert skopeo_inspect(loopback_registry, by_digest.removeprefix(host))["Digest"] == digest
    assert skopeo_inspect(loopback_registry, destination.removeprefix(host))["Digest"] == digest

    client = RegistryClient(endpoint, None)
    assert client.manifest_digest("fa13/app", built.tag) == digest
    assert client.manifest_digest("fa13/app", digest) == digest
    assert client.manifest_digest("fa13/app", "no-such-tag") is None
    assert client.image_architecture("fa13/app", built.tag) == host_architecture()
    assert client.image_architecture("fa13/app", "no-such-tag") is None
    # The pushed image is the build: its config blob is the local image id.
    assert client.config_digest("fa13/app", built.tag) == built.image_id
    assert client.config_digest("fa13/app", "no-such-tag") is None


def test_push_with_credentials(
    busybox_base: str, image_run: ImageRun, auth_registry: LoopbackRegistry, tmp_path: Path
) -> None:
    assert auth_registry.username is not None
    assert auth_registry.password is not None
    built = build_small(busybox_base, image_run, tmp_path)
    auth = RegistryAuth(auth_registry.username, auth_registry.password, auth_registry.url)
    destination = f"{auth_registry.host}/fa13/app:{built.tag}"
    digest = find_builder().push(
        built.reference, destination, auth=auth, tls_verify=False, on_line=lambda line: None
    )
    client = RegistryClient(parse_registry_url(auth_registry.url), auth)
    assert client.manifest_digest("fa13/app", built.tag) == digest
    # Without credentials the same read is refused, in the push errors' words.
    with pytest.raises(OperationError, match="refused the credentials"):
        RegistryClient(parse_registry_url(auth_registry.url), None).manifest_digest(
            "fa13/app", built.tag
        )


def test_push_with_wrong_credentials(
    busybox_base: str, image_run: ImageRun, auth_registry: LoopbackRegistry, tmp_path: Path
) -> None:
    assert auth_registry.username is not None
    built = build_small(busybox_base, image_run, tmp_path)
    wrong = RegistryAuth(auth_registry.username, "not-the-password-123", auth_registry.host)
    destination = f"{auth_registry.host}/fa13/app:{built.tag}"
    with pytest.raises(OperationError) as caught:
        find_builder().push(
            built, destination, auth=wrong, tls_verify=False, on_line=lambda line: None
        )
    error = caught.value
    assert error.exit_code == 1
    assert "the registry refused the credentials" in error.what
    assert "unauthorized" in error.what
    assert error.where == destination
    assert error.fix is not None
    assert "ecr:GetAuthorizationToken" in error.fix
    assert "not-the-password-123" not in error.render()


def test_push_to_a_registry_that_is_not_there(
    busybox_base: str, image_run: ImageRun, tmp_path: Path
) -> None:
    built = build_small(busybox_base, image_run, tmp_path)
    destination = f"127.0.0.1:{free_port()}/fa13/app:{built.tag}"
    with pytest.raises(OperationError) as caught:
        find_builder().push(
            built, destination, auth=None, tls_verify=False, on_line=lambda line: None
        )
    assert "cannot reach the registry" in caught.value.what
    assert "--registry-url" in str(caught.value.fix)
