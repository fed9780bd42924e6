"""Registry credentials for ECR from boto3, so nobody runs `aws ecr get-login-password`.

ECR's token is a base64 "AWS:password" pair valid for 12 hours; it is asked for on every
deploy (never cached on disk), so an expired token is never the cause of a failed push.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from fargate_api.aws.session import aws_errors
from fargate_api.errors import OperationError
from fargate_api.images.registry_auth import RegistryAuth

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient


def ecr_login(ecr: ECRClient) -> RegistryAuth:
    with aws_errors():
        answer = ecr.get_authorization_token()
    data = answer.get("authorizationData") or []
    if not data or "authorizationToken" not in data[0]:
        raise OperationError(
            "ECR returned no authorization token",
            fix="check that the credentials may call ecr:GetAuthorizationToken",
        )
    try:
        decoded = base64.b64decode(data[0]["authorizationToken"], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    username, sep, password = decoded.partition(":")
    if not sep or not username or not password:
        raise OperationError(
            "ECR's authorization token is not a base64 user:password pair",
            fix="check --endpoint-url: it must point at ECR or an ECR-compatible API",
        )
    return RegistryAuth(
        username=username, password=password, server=data[0].get("proxyEndpoint", "")
    )
