"""Translating a failed push into an error the user can act on, class by class."""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_api.errors import OperationError
from fargate_api.images import translate_push_failure
from fargate_api.images.push_errors import PushFailure, classify_push_failure

RECORDED = Path(__file__).with_name("recorded")
DEST = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-api:0123456789ab"


def translated(text: str) -> OperationError:
    error = translate_push_failure(text, DEST)
    assert isinstance(error, OperationError)
    assert error.exit_code == 1
    assert error.fix
    assert error.where == DEST
    return error


@pytest.mark.parametrize(
    "text",
    [
        (RECORDED / "podman-push-unauthorized.txt").read_text(),
        "Error: unauthorized: authentication required",
        "received unexpected HTTP status: 401 Unauthorized",
        "no basic auth credentials",
        "denied: Your authorization token has expired. Reauthenticate and try again.",
        "Error: writing blob: initiating layer upload: token expired",
    ],
)
def test_refused_credentials(text: str) -> None:
    error = translated(text)
    assert classify_push_failure(text) is PushFailure.CREDENTIALS
    assert "refused the credentials" in error.what
    assert error.fix is not None
    assert "run it again" in error.fix
    assert "ecr:GetAuthorizationToken" in error.fix


@pytest.mark.parametrize(
    "text",
    [
        "denied: User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
        "ecr:InitiateLayerUpload on resource: arn:aws:ecr:us-east-1:123456789012:repository/"
        "my-api because no identity-based policy allows the ecr:InitiateLayerUpload action",
        "denied: requested access to the resource is denied",
        "received unexpected HTTP status: 403 Forbidden",
    ],
)
def test_denied(text: str) -> None:
    error = translated(text)
    assert "denied the push" in error.what
    assert error.fix is not None
    for action in (
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
        "ecr:BatchCheckLayerAvailability",
    ):
        assert action in error.fix


@pytest.mark.parametrize(
    "text",
    [
        "name unknown: The repository with name 'my-api' does not exist in the registry "
        "with id '123456789012'",
        "Error: NAME_UNKNOWN: repository my-api not found",
        "The repository my-api does not exist",
        "received unexpected HTTP status: 404 Not Found",
    ],
)
def test_repository_missing(text: str) -> None:
    error = translated(text)
    assert "repository does not exist" in error.what
    assert error.fix is not None
    assert "NAME-repository" in error.fix
    assert "deploy again" in error.fix


@pytest.mark.parametrize(
    "text",
    [
        "tag invalid: The image tag '0123456789ab' already exists in the 'my-api' repository "
        "and cannot be overwritten because the repository is immutable.",
        "ImageTagAlreadyExistsException: tag exists",
    ],
)
def test_tag_taken(text: str) -> None:
    error = translated(text)
    assert "already taken by another image" in error.what
    assert error.fix is not None
    assert "commit" in error.fix


@pytest.mark.parametrize(
    "name_or_text",
    [
        "podman-push-refused.txt",
        "podman-push-http-registry.txt",
        "dial tcp: lookup nowhere.example on 10.0.0.2:53: no such host",
        "tls: failed to verify certificate: x509: certificate signed by unknown authority",
    ],
)
def test_unreachable(name_or_text: str) -> None:
    path = RECORDED / name_or_text
    text = path.read_text() if path.suffix == ".txt" else name_or_text
    error = translated(text)
    assert "cannot reach the registry" in error.what
    assert error.fix is not None
    assert "--registry-url" in error.fix


def test_the_detail_is_the_last_matching_line_without_the_retry_noise() -> None:
    error = translated((RECORDED / "podman-push-refused.txt").read_text())
    said = error.what.split("the registry said: ", 1)[1]
    assert said.startswith("trying to reuse blob")  # "Error: " prefix dropped
    assert "level=warning" not in said
    assert "connection refused" in said


def test_anything_else_shows_the_last_lines() -> None:
    text = "\n".join(f"line {n}" for n in range(30)) + "\nError: something odd happened"
    error = translated(text)
    assert classify_push_failure(text) is PushFailure.OTHER
    assert "something odd happened" in error.what
    assert "line 21" in error.what
    assert "line 20" not in error.what  # only the last ten lines


def test_empty_output() -> None:
    assert "(no output)" in translated("").what
