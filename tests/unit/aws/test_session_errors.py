"""Missing credentials, an unset region and throttling each get one clear message."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

from fargate_api.aws.session import Target, aws_errors, connect, translate
from fargate_api.cli import main
from fargate_api.errors import UserError


@pytest.fixture
def no_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _client_error(code: str, operation: str = "DescribeStacks") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "Rate exceeded"}}, operation)


def test_throttling_after_standard_retries_is_explained() -> None:
    error = translate(_client_error("Throttling"))
    assert error is not None
    assert "throttling DescribeStacks" in error.what and "10 attempts" in error.what
    assert error.fix and "wait a minute" in error.fix


def test_missing_credentials_and_region_have_fixes() -> None:
    creds = translate(NoCredentialsError())
    region = translate(NoRegionError())
    assert creds is not None and "no AWS credentials" in creds.what
    assert creds.fix and "AWS_PROFILE" in creds.fix
    assert region is not None and "--region" in (region.fix or "")


def test_unknown_failures_are_not_disguised() -> None:
    assert translate(ValueError("a bug")) is None
    with pytest.raises(ValueError, match="a bug"), aws_errors():
        raise ValueError("a bug")


def test_connect_without_a_region_fails_early(no_aws_env: Path) -> None:
    with pytest.raises(UserError, match="no AWS region set"):
        connect(Target())


def test_unknown_profile_is_a_user_error(no_aws_env: Path) -> None:
    with pytest.raises(UserError, match="nope"):
        connect(Target(profile="nope", region="eu-west-1"))


def test_clients_use_standard_retries_and_the_endpoint(no_aws_env: Path) -> None:
    clients = connect(Target(region="eu-west-1", endpoint_url="http://127.0.0.1:9"))
    config = clients.cloudformation.meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 10}
    assert clients.ecs.meta.endpoint_url == "http://127.0.0.1:9"
    assert clients.region == "eu-west-1"


def test_cli_without_credentials_prints_one_message_exit_2(
    no_aws_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "fargate-api",
        "status",
        "--region",
        "eu-west-1",
        "--endpoint-url",
        "http://127.0.0.1:9",
    ]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "error: no AWS credentials found" in err
    assert "AWS_PROFILE" in err
    assert "Traceback" not in err
