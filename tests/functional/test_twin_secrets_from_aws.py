"""`--secrets-from-aws` against a moto server on loopback: an SSM SecureString parameter
and a Secrets Manager JSON secret read the way the task execution role reads them.

The server runs in this process (moto's ThreadedMotoServer on 127.0.0.1, a free port);
boto3 is pointed at it with AWS_ENDPOINT_URL and fake credentials set only for the test,
so no request can reach AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from fargate_api.twin.ecs.secrets import SecretNotFoundError
from fargate_api.twin.ecs.secrets_aws import AwsSecrets

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> str:
    """The environment boto3 reads, pointed at moto; the user's own AWS setup hidden."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    return moto_endpoint


def _client(service: str, region: str = REGION) -> Any:
    return boto3.client(service, region_name=region)  # type: ignore[call-overload]


def test_an_ssm_secure_string_is_read_decrypted_by_name_and_by_arn(aws: str) -> None:
    _client("ssm").put_parameter(
        Name="/prod/db-password", Value="pa55-from-ssm", Type="SecureString", Overwrite=True
    )
    fetch = AwsSecrets(region=REGION)
    assert fetch("/prod/db-password") == "pa55-from-ssm"
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/prod/db-password"
    assert fetch(arn) == "pa55-from-ssm"


def test_the_region_of_an_arn_wins_over_the_default(aws: str) -> None:
    _client("ssm", "eu-west-1").put_parameter(
        Name="/eu/token", Value="from-ireland", Type="SecureString", Overwrite=True
    )
    arn = f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/eu/token"
    assert AwsSecrets(region=REGION)(arn) == "from-ireland"
    with pytest.raises(SecretNotFoundError, match=r"ParameterNotFound"):
        AwsSecrets(region=REGION)("/eu/token")  # not in us-east-1


def test_a_secrets_manager_json_secret_by_key_and_version_stage(aws: str) -> None:
    client = _client("secretsmanager")
    created = client.create_secret(
        Name="fa-twin-db", SecretString=json.dumps({"username": "app", "password": "first"})
    )
    arn = created["ARN"]
    assert arn.startswith(f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:fa-twin-db-")
    second = client.put_secret_value(
        SecretId=arn, SecretString=json.dumps({"username": "app", "password": "second"})
    )
    fetch = AwsSecrets()  # the region comes from the ARN
    assert fetch(f"{arn}:password::") == "second"
    assert fetch(f"{arn}:password:AWSCURRENT:") == "second"
    assert fetch(f"{arn}:password:AWSPREVIOUS:") == "first"
    assert fetch(f"{arn}:username::") == "app"
    assert fetch(f"{arn}::AWSCURRENT:") == json.dumps({"username": "app", "password": "second"})
    assert fetch(f"{arn}:password::{second['VersionId']}") == "second"
    assert json.loads(fetch(arn)) == {"username": "app", "password": "second"}


def test_a_missing_json_key_or_a_plain_secret_names_the_key_not_the_value(aws: str) -> None:
    client = _client("secretsmanager")
    json_arn = client.create_secret(Name="fa-twin-json", SecretString='{"a": "hidden-1"}')["ARN"]
    plain_arn = client.create_secret(Name="fa-twin-plain", SecretString="hidden-2")["ARN"]
    with pytest.raises(SecretNotFoundError) as caught:
        AwsSecrets()(f"{json_arn}:nope::")
    assert str(caught.value) == f"secret {json_arn} has no key nope"
    with pytest.raises(SecretNotFoundError) as caught:
        AwsSecrets()(f"{plain_arn}:nope::")
    assert str(caught.value) == f"secret {plain_arn} is not JSON, so it has no key nope"
    assert "hidden" not in str(caught.value)


def test_a_missing_parameter_names_the_reference_and_aws_error_code(aws: str) -> None:
    with pytest.raises(SecretNotFoundError) as caught:
        AwsSecrets(region=REGION)("/absent/parameter")
    assert str(caught.value).startswith("AWS refused /absent/parameter: ParameterNotFound: ")


def test_a_missing_secret_names_the_reference_and_aws_error_code(aws: str) -> None:
    arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:absent-AbCdEf:key::"
    with pytest.raises(SecretNotFoundError) as caught:
        AwsSecrets()(arn)
    assert str(caught.value).startswith(f"AWS refused {arn}: ResourceNotFoundException: ")


def test_without_a_region_the_error_says_so(aws: str) -> None:
    with pytest.raises(SecretNotFoundError) as caught:
        AwsSecrets()("/prod/db-password")  # a plain name carries no region
    assert str(caught.value) == "cannot read /prod/db-password from AWS: You must specify a region."
