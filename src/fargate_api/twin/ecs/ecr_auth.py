"""Registry credentials for Amazon ECR private images, from the caller's AWS credentials.

`podman pull` of `<account>.dkr.ecr.<region>.amazonaws.com/...` needs user "AWS" and a
12-hour token that `ecr:GetAuthorizationToken` returns base64 encoded as "AWS:<token>".
"""

from __future__ import annotations

import base64

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from fargate_api.errors import UserError
from fargate_api.twin.ecs.image_store import ecr_account, ecr_region, ecr_registry
from fargate_api.twin.host.podman import RegistryAuth


def ecr_auth_from_boto3(image: str) -> RegistryAuth | None:
    """The pull credentials for an ECR image; None for a non-ECR image or when no AWS
    credentials are configured (the pull then fails with podman's own message)."""
    registry = ecr_registry(image)
    region = ecr_region(registry) if registry else None
    if registry is None or region is None:
        return None
    account = ecr_account(registry)
    try:
        client = boto3.client("ecr", region_name=region)
        kwargs = {"registryIds": [account]} if account else {}
        response = client.get_authorization_token(**kwargs)
    except NoCredentialsError:
        return None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise UserError(
            f"ECR refused a pull token for {registry}: "
            f"{error.get('Code', 'error')}: {error.get('Message', exc)}",
            fix="use AWS credentials allowed ecr:GetAuthorizationToken on that registry "
            "(AWS_PROFILE=... or AWS_ACCESS_KEY_ID=...)",
        ) from None
    except BotoCoreError as exc:
        raise UserError(
            f"cannot get an ECR pull token for {registry}: {exc}",
            fix="check the AWS configuration (region, profile, network access to AWS)",
        ) from None
    for entry in response.get("authorizationData", []):
        token = entry.get("authorizationToken")
        if not token:
            continue
        username, sep, password = base64.b64decode(token).decode().partition(":")
        if sep:
            return RegistryAuth(username, password)
    return None
