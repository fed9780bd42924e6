"""boto3 clients for one target (region, profile, endpoint) and AWS errors in user terms.

Every command builds its clients here so that retries (botocore's standard mode), the
endpoint override and the translation of the common failures (no credentials, no
region, throttling) are the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    TokenRetrievalError,
    WaiterError,
)

from fargate_api import __version__
from fargate_api.errors import UserError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_logs import CloudWatchLogsClient

MAX_ATTEMPTS = 10
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "SlowDown",
    }
)
CREDENTIAL_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "AuthFailure",
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
    }
)
CREDENTIALS_FIX = (
    "run 'aws configure' (or 'aws sso login --profile NAME'), then pass --profile NAME or set "
    "AWS_PROFILE; or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


@dataclass(frozen=True)
class Target:
    """Where to deploy: the boto3 session conventions, plus an AWS-compatible endpoint."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None


@dataclass(frozen=True)
class Clients:
    cloudformation: CloudFormationClient
    ecs: ECSClient
    elbv2: ElasticLoadBalancingv2Client
    logs: CloudWatchLogsClient
    ec2: EC2Client
    region: str


def connect(target: Target) -> Clients:
    """Clients for every service the back-end uses; fails early on a bad profile or region."""
    # boto3 and botocore.config take about 0.2 s to import: only the commands that talk to
    # AWS pay for them, not synth, check or --help.
    import boto3  # noqa: PLC0415
    from botocore.config import Config as BotoConfig  # noqa: PLC0415

    with aws_errors():
        session = boto3.Session(profile_name=target.profile, region_name=target.region)
        region = session.region_name
        if not region:
            raise NoRegionError()
        config = BotoConfig(
            retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
            user_agent_extra=f"fargate-api/{__version__}",
        )
        url = target.endpoint_url
        return Clients(
            cloudformation=session.client("cloudformation", endpoint_url=url, config=config),
            ecs=session.client("ecs", endpoint_url=url, config=config),
            elbv2=session.client("elbv2", endpoint_url=url, config=config),
            logs=session.client("logs", endpoint_url=url, config=config),
            ec2=session.client("ec2", endpoint_url=url, config=config),
            region=region,
        )


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


def translate(exc: Exception) -> UserError | None:
    """The user-facing form of an AWS failure, or None for one that is a bug of ours."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return UserError("no AWS credentials found", fix=CREDENTIALS_FIX)
    if isinstance(exc, TokenRetrievalError):
        return UserError(f"the AWS SSO session has expired: {exc}", fix="run 'aws sso login'")
    if isinstance(exc, ProfileNotFound):
        return UserError(
            str(exc), fix="check --profile or AWS_PROFILE against 'aws configure list-profiles'"
        )
    if isinstance(exc, NoRegionError):
        return UserError(
            "no AWS region set",
            fix="pass --region (e.g. --region eu-west-1), set AWS_REGION, or set a region in "
            "the profile ('aws configure set region eu-west-1')",
        )
    if isinstance(exc, EndpointConnectionError):
        return UserError(
            f"cannot reach the AWS endpoint: {exc}",
            fix="check the network, --region and --endpoint-url",
        )
    if isinstance(exc, WaiterError):
        return UserError(f"AWS did not reach the expected state: {exc}")
    if isinstance(exc, ClientError):
        code, message = error_code(exc), error_message(exc)
        operation = exc.operation_name
        if code in THROTTLING_CODES:
            return UserError(
                f"AWS is throttling {operation} ({code}) and it still failed after "
                f"{MAX_ATTEMPTS} attempts with backoff",
                fix="wait a minute and run the command again; other tools polling the same "
                "account share the quota",
            )
        if code in CREDENTIAL_CODES:
            return UserError(
                f"AWS rejected the credentials ({code}): {message}", fix=CREDENTIALS_FIX
            )
        if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}:
            return UserError(
                f"not allowed to call {operation}: {message}",
                fix="use credentials whose IAM policy allows CloudFormation and the services "
                "the templates create (EC2, ECS, ELB, IAM, Logs, Lambda)",
            )
        return UserError(f"{operation} failed ({code}): {message}")
    return None


@contextmanager
def aws_errors() -> Iterator[None]:
    """Turns AWS failures that users can act on into one UserError."""
    try:
        yield
    except UserError:
        raise
    except Exception as exc:
        translated = translate(exc)
        if translated is None:
            raise
        raise translated from exc
