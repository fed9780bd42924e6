"""AWS failures in user terms, for every command that calls AWS.

Both the AWS back-end (deploy, status, destroy) and `cost --live` (the Price List API)
turn the same botocore failures (no credentials, no region, throttling, access denied)
into one message. It lives outside both back-ends so that neither imports the other.

What the user fixes before running again (credentials, region, profile, permissions) is
bad input: UserError, exit 2. What went wrong while a well-formed request ran (the
endpoint unreachable, throttling that outlasted the retries, a waiter that gave up, any
other refusal by the service) is OperationError, exit 1: the same command may succeed
later, and a script should tell the two apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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

from fargate_api.errors import CliError, OperationError, UserError

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


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


def translate(exc: Exception) -> CliError | None:
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
        return OperationError(
            f"cannot reach the AWS endpoint: {exc}",
            fix="check the network, --region and --endpoint-url",
        )
    if isinstance(exc, WaiterError):
        return OperationError(f"AWS did not reach the expected state: {exc}")
    if isinstance(exc, ClientError):
        code, message = error_code(exc), error_message(exc)
        operation = exc.operation_name
        if code in THROTTLING_CODES:
            return OperationError(
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
        return OperationError(f"{operation} failed ({code}): {message}")
    return None


@contextmanager
def aws_errors() -> Iterator[None]:
    """Turns AWS failures into one CliError: bad setup exits 2, a failed call exits 1."""
    try:
        yield
    except CliError:
        raise
    except Exception as exc:
        translated = translate(exc)
        if translated is None:
            raise
        raise translated from exc
