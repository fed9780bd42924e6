"""/whoami: identity from the environment or ECS task metadata, egress IP from an echo
service (a stub on loopback here), and its failures reported rather than raised."""

from __future__ import annotations

import time

import pytest
from example_api_support import (
    TEST_IDENTITY,
    StubReply,
    StubServer,
    free_port,
    json_reply,
    make_app,
    open_client,
)
from fargate_example_api.app import create_app
from fargate_example_api.settings import DEFAULT_ECHO_URL, Settings, SettingsError

pytestmark = pytest.mark.anyio


async def whoami(**settings: object) -> dict[str, object]:
    async for client in open_client(make_app(**settings)):
        response = await client.get("/whoami")
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body
    raise AssertionError("unreachable")


async def test_whoami_reports_identity_and_egress_ip(stub_server: StubServer) -> None:
    stub_server.default = StubReply(body=b"198.51.100.10\n")
    body = await whoami(echo_url=stub_server.url + "/")
    assert body == {
        **TEST_IDENTITY,
        "egress_ip": "198.51.100.10",
        "egress_error": None,
        "echo_url": stub_server.url + "/",
    }
    assert stub_server.requests == ["/"]


async def test_each_call_asks_the_echo_service_again(stub_server: StubServer) -> None:
    async for client in open_client(make_app(echo_url=stub_server.url + "/ip")):
        for _ in range(3):
            assert (await client.get("/whoami")).json()["egress_ip"] == "198.51.100.10"
    assert stub_server.requests == ["/ip"] * 3


async def test_health_calls_nothing(stub_server: StubServer) -> None:
    async for client in open_client(make_app(echo_url=stub_server.url)):
        assert (await client.get("/health")).status_code == 200
    assert stub_server.requests == []


async def test_a_slow_echo_service_gives_an_error_not_a_hang(stub_server: StubServer) -> None:
    stub_server.default = StubReply(delay=3.0)
    start = time.monotonic()
    body = await whoami(echo_url=stub_server.url, echo_timeout=0.3)
    assert time.monotonic() - start < 2.0
    assert body["egress_ip"] is None
    assert body["egress_error"] == "echo service did not answer within 0.3 s"
    assert body["task_id"] == TEST_IDENTITY["task_id"]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (StubReply(status=503, body=b"busy"), "echo service answered HTTP 503"),
        (
            StubReply(body=b"<html>hello</html>"),
            "echo service answered '<html>hello</html>', not an IP address",
        ),
        (StubReply(body=b"x" * 5000), "not an IP address"),
    ],
)
async def test_bad_echo_answers_are_reported(
    stub_server: StubServer, reply: StubReply, error: str
) -> None:
    stub_server.default = reply
    body = await whoami(echo_url=stub_server.url)
    assert body["egress_ip"] is None
    assert isinstance(body["egress_error"], str)
    assert error in body["egress_error"]


async def test_an_unreachable_echo_service_is_reported() -> None:
    body = await whoami(echo_url=f"http://127.0.0.1:{free_port()}/")
    assert body["egress_ip"] is None
    assert str(body["egress_error"]).startswith("echo service unreachable: ConnectError")


async def test_echo_lookup_off() -> None:
    body = await whoami(echo_url=None)
    assert body["egress_ip"] is None
    assert body["egress_error"] == "echo lookup is off (ECHO_URL=off)"


async def test_ipv6_answers_are_accepted(stub_server: StubServer) -> None:
    stub_server.default = StubReply(body=b"2001:db8::1\n")
    assert (await whoami(echo_url=stub_server.url))["egress_ip"] == "2001:db8::1"


# ------------------------------------------------------------------ on AWS: ECS metadata

TASK_METADATA = {
    "Cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/example",
    "TaskARN": "arn:aws:ecs:us-east-1:123456789012:task/example/4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a",
    "Family": "example-api",
    "Revision": "12",
    "AvailabilityZone": "us-east-1c",
    "Containers": [
        {"Name": "log-router", "Networks": [{"IPv4Addresses": ["10.0.192.77"]}]},
        {
            "Name": "api",
            "Networks": [{"NetworkMode": "awsvpc", "IPv4Addresses": ["10.0.192.77"]}],
        },
    ],
}


async def test_on_aws_the_identity_comes_from_task_metadata(stub_server: StubServer) -> None:
    stub_server.replies["/v4/abc/task"] = json_reply(TASK_METADATA)
    settings = Settings(
        container_name="api", echo_url=None, ecs_metadata_uri=stub_server.url + "/v4/abc"
    )
    async for client in open_client(create_app(settings)):
        body = (await client.get("/whoami")).json()
    assert body["task_id"] == "4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a"
    assert body["private_ip"] == "10.0.192.77"
    assert body["availability_zone"] == "us-east-1c"
    assert body["revision"] == "12"
    assert body["container_name"] == "api"
    assert stub_server.requests == ["/v4/abc/task"]  # read once, at start-up


async def test_the_environment_wins_and_skips_the_metadata_call(stub_server: StubServer) -> None:
    body = await whoami(echo_url=None, ecs_metadata_uri=stub_server.url)
    assert body["task_id"] == TEST_IDENTITY["task_id"]
    assert stub_server.requests == []


async def test_unreadable_metadata_does_not_stop_the_app(stub_server: StubServer) -> None:
    stub_server.default = StubReply(status=500, body=b"oops")
    app = create_app(Settings(echo_url=None, ecs_metadata_uri=stub_server.url))
    async for client in open_client(app):
        body = (await client.get("/whoami")).json()
    assert body["task_id"] is None
    assert body["private_ip"] is None


# ------------------------------------------------------------------ settings


def test_echo_url_override_wins_over_the_twin() -> None:
    env = {"FA_ECHO_URL": "http://203.0.113.20:80/", "ECHO_URL": "http://echo.test/"}
    assert Settings.from_env(env).echo_url == "http://echo.test/"
    assert Settings.from_env({"FA_ECHO_URL": "http://203.0.113.20:80/"}).echo_url == (
        "http://203.0.113.20:80/"
    )
    assert Settings.from_env({"FA_ECHO_URL": "http://x/", "ECHO_URL": ""}).echo_url == "http://x/"


def test_echo_url_default_and_off() -> None:
    assert Settings.from_env({}).echo_url == DEFAULT_ECHO_URL
    assert Settings.from_env({"FA_ECHO_URL": "http://x/", "ECHO_URL": "off"}).echo_url is None


def test_settings_from_the_twin_environment() -> None:
    settings = Settings.from_env(
        {
            "FA_TASK_ID": "t",
            "FA_PRIVATE_IP": "10.0.128.4",
            "FA_AZ": "us-east-1a",
            "FA_REVISION": "2",
            "ECS_CONTAINER_NAME": "api",
            "ECHO_TIMEOUT": "0.5",
            "ENABLE_DEBUG_ROUTES": "1",
        }
    )
    assert (settings.task_id, settings.private_ip, settings.availability_zone) == (
        "t",
        "10.0.128.4",
        "us-east-1a",
    )
    assert (settings.revision, settings.container_name) == ("2", "api")
    assert settings.echo_timeout == 0.5
    assert settings.debug_routes
    assert not Settings.from_env({}).debug_routes


@pytest.mark.parametrize(
    "env",
    [
        {"ECHO_URL": "ftp://x/"},
        {"ECHO_TIMEOUT": "soon"},
        {"ECHO_TIMEOUT": "0"},
        {"ECHO_TIMEOUT": "11"},
    ],
)
def test_bad_settings_are_errors(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(env)
