"""Registry URLs given on the command line, and where an image is pushed."""

from __future__ import annotations

import pytest

from fargate_api.errors import UserError
from fargate_api.images import (
    RegistryEndpoint,
    parse_registry_url,
    push_destination,
    repository_path,
)

ECR_HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
URI = f"{ECR_HOST}/my-api"


@pytest.mark.parametrize(
    ("text", "scheme", "host"),
    [
        ("http://127.0.0.1:5000", "http", "127.0.0.1:5000"),
        ("127.0.0.1:5000", "https", "127.0.0.1:5000"),
        ("https://registry.example.com/", "https", "registry.example.com"),
        ("HTTP://LocalHost:5000/v2/", "http", "localhost:5000"),
        (" http://[::1]:5000 ", "http", "[::1]:5000"),
        (ECR_HOST, "https", ECR_HOST),
    ],
)
def test_parse_registry_url(text: str, scheme: str, host: str) -> None:
    assert parse_registry_url(text) == RegistryEndpoint(scheme=scheme, host=host)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "ftp://127.0.0.1:5000",
        "http://user:secret@127.0.0.1:5000",
        "http://127.0.0.1:5000/some/path",
        "http://127.0.0.1:5000/?x=1",
        "http://127.0.0.1:notaport",
        "http://127.0.0.1:99999",
        "http://",
        "http://bad_host!:5000",
        "127.0.0.1:5000 extra",
    ],
)
def test_junk_registry_urls(text: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_registry_url(text)
    assert caught.value.exit_code == 2
    assert caught.value.fix is not None
    assert "http://127.0.0.1:5000" in caught.value.fix
    if "secret" in text:
        assert "secret" not in caught.value.what.replace(text, "")


def test_endpoint_url() -> None:
    assert parse_registry_url("127.0.0.1:5000").url == "https://127.0.0.1:5000"


def test_repository_path() -> None:
    assert repository_path(URI) == "my-api"
    assert repository_path("127.0.0.1:5000/team/my-api") == "team/my-api"
    with pytest.raises(UserError):
        repository_path("my-api")
    with pytest.raises(UserError):
        repository_path("host.example/")


def test_push_destination_without_override() -> None:
    assert push_destination(URI, "0123456789ab", None) == f"{URI}:0123456789ab"


def test_push_destination_with_override_keeps_the_repository_path() -> None:
    endpoint = parse_registry_url("http://127.0.0.1:5000")
    assert push_destination(URI, "abc", endpoint) == "127.0.0.1:5000/my-api:abc"
    nested = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/my-api"
    assert push_destination(nested, "abc", endpoint) == "127.0.0.1:5000/team/my-api:abc"
