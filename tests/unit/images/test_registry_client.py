"""RegistryClient against an in-process registry stand-in on 127.0.0.1."""

from __future__ import annotations

import pytest

from fargate_api.errors import OperationError
from fargate_api.images import RegistryAuth, RegistryClient, parse_registry_url

from .fake_registry import FakeRegistry, digest_of, serving

AUTH = RegistryAuth(username="AWS", password="s3cret", server="127.0.0.1")


def client(registry: FakeRegistry, auth: RegistryAuth | None = AUTH) -> RegistryClient:
    endpoint = parse_registry_url(f"http://127.0.0.1:{registry.port}")
    return RegistryClient(endpoint, auth, timeout=5)


def test_digest_of_present_and_absent_tags() -> None:
    with serving(FakeRegistry(auth="basic")) as registry:
        digest = registry.add_image("my-api", "v1", "arm64")
        reader = client(registry)
        assert reader.manifest_digest("my-api", "v1") == digest
        assert reader.manifest_digest("my-api", digest) == digest
        assert reader.manifest_digest("my-api", "v2") is None
    # Basic credentials go with the first request: no 401 round trip.
    assert registry.requests[0][0] == "HEAD"
    assert registry.requests[0][2] is not None
    assert registry.requests[0][2].startswith("Basic ")


def test_missing_repository_is_an_error_not_an_absent_tag() -> None:
    with serving(FakeRegistry()) as registry, pytest.raises(OperationError) as caught:
        client(registry).manifest_digest("gone", "v1")
    assert "repository does not exist" in caught.value.what
    assert caught.value.fix is not None
    assert "NAME-repository" in caught.value.fix
    assert caught.value.where == f"127.0.0.1:{registry.port}/gone:v1"


def test_wrong_credentials() -> None:
    bad = RegistryAuth(username="AWS", password="wrong", server="x")
    with serving(FakeRegistry(auth="basic")) as registry, pytest.raises(OperationError) as caught:
        client(registry, bad).manifest_digest("my-api", "v1")
    assert "refused the credentials" in caught.value.what
    assert "wrong" not in caught.value.render()


def test_no_credentials_for_a_registry_that_wants_them() -> None:
    with serving(FakeRegistry(auth="basic")) as registry, pytest.raises(OperationError) as caught:
        client(registry, None).manifest_digest("my-api", "v1")
    assert "refused the credentials" in caught.value.what


def test_denied() -> None:
    with (
        serving(FakeRegistry(status_override=403)) as registry,
        pytest.raises(OperationError) as caught,
    ):
        client(registry).manifest_digest("my-api", "v1")
    assert "denied" in caught.value.what


def test_bearer_token_dance() -> None:
    with serving(FakeRegistry(auth="bearer")) as registry:
        digest = registry.add_image("my-api", "v1", "amd64")
        reader = client(registry)
        assert reader.manifest_digest("my-api", "v1") == digest
        assert reader.image_architecture("my-api", "v1") == "amd64"
    paths = [path for _, path, _ in registry.requests]
    assert paths.count("/token") == 1  # the token is kept for later requests
    assert registry.requests[-1][2] == "Bearer tok-123"


def test_bearer_with_wrong_credentials() -> None:
    bad = RegistryAuth(username="AWS", password="nope", server="x")
    with serving(FakeRegistry(auth="bearer")) as registry, pytest.raises(OperationError) as caught:
        client(registry, bad).manifest_digest("my-api", "v1")
    assert "refused the credentials" in caught.value.what


def test_digest_without_the_header_is_the_body_hash() -> None:
    with serving(FakeRegistry(content_digest_header=False)) as registry:
        digest = registry.add_image("my-api", "v1", "amd64")
        assert client(registry).manifest_digest("my-api", "v1") == digest


def test_architecture_through_the_config_blob_even_when_redirected() -> None:
    with serving(FakeRegistry(auth="basic", redirect_blobs=True)) as registry:
        registry.add_image("team/my-api", "v1", "arm64")
        assert client(registry).image_architecture("team/my-api", "v1") == "arm64"
        assert client(registry).image_architecture("team/my-api", "v9") is None
    redirected = [r for r in registry.requests if r[1].startswith("/redirected/")]
    assert redirected
    assert redirected[0][2] is None  # credentials are not forwarded on a redirect


def test_architecture_of_an_index() -> None:
    with serving(FakeRegistry()) as registry:
        registry.add_index("my-api", "one", ["arm64"])
        registry.add_index("my-api", "two", ["arm64", "amd64"])
        reader = client(registry)
        assert reader.image_architecture("my-api", "one") == "arm64"
        assert reader.image_architecture("my-api", "two") == "amd64,arm64"


def test_unreachable_registry() -> None:
    with serving(FakeRegistry()) as registry:
        port = registry.port
    endpoint = parse_registry_url(f"http://127.0.0.1:{port}")
    with pytest.raises(OperationError) as caught:
        RegistryClient(endpoint, None, timeout=5).manifest_digest("my-api", "v1")
    assert "cannot reach the registry" in caught.value.what


def test_digest_helper_matches_registry_semantics() -> None:
    assert digest_of(b"") == (
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
