"""`--secrets-from-aws`: a task's secrets read from AWS with the user's credentials, the
way the task execution role reads them on Fargate (SSM GetParameter with decryption,
Secrets Manager GetSecretValue with the JSON key, version stage and version id that a
ValueFrom may carry).

boto3 honours AWS_ENDPOINT_URL, so the tests point it at a moto server on loopback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fargate_api.twin.ecs.secrets import SecretNotFoundError


@dataclass(frozen=True)
class SecretsManagerReference:
    secret_id: str
    json_key: str | None
    version_stage: str | None
    version_id: str | None


def secrets_manager_reference(value_from: str) -> SecretsManagerReference | None:
    """ECS's syntax: arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[:json-key:stage:id]."""
    parts = value_from.split(":")
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "secretsmanager":
        return None
    extra = [*parts[7:], "", "", ""][:3]
    return SecretsManagerReference(
        secret_id=":".join(parts[:7]),
        json_key=extra[0] or None,
        version_stage=extra[1] or None,
        version_id=extra[2] or None,
    )


def region_of(value_from: str) -> str | None:
    parts = value_from.split(":")
    return parts[3] or None if value_from.startswith("arn:") and len(parts) > 3 else None


class AwsSecrets:
    """Callable with a ValueFrom; raises SecretNotFoundError with AWS's reason."""

    def __init__(self, region: str | None = None) -> None:
        self.region = region

    def __call__(self, value_from: str) -> str:
        # boto3 takes a third of a second to import: only twins that read AWS pay it.
        import boto3  # noqa: PLC0415
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        region = region_of(value_from) or self.region
        try:
            reference = secrets_manager_reference(value_from)
            if reference is not None:
                client: Any = boto3.client("secretsmanager", region_name=region)
                arguments: dict[str, str] = {"SecretId": reference.secret_id}
                if reference.version_stage:
                    arguments["VersionStage"] = reference.version_stage
                if reference.version_id:
                    arguments["VersionId"] = reference.version_id
                text = str(client.get_secret_value(**arguments)["SecretString"])
                return _json_key(text, reference) if reference.json_key else text
            # GetParameter takes the name or the whole ARN, as the ECS agent passes it.
            ssm: Any = boto3.client("ssm", region_name=region)
            answer = ssm.get_parameter(Name=value_from, WithDecryption=True)
            return str(answer["Parameter"]["Value"])
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise SecretNotFoundError(
                f"AWS refused {value_from}: {error.get('Code')}: {error.get('Message')}"
            ) from None
        except BotoCoreError as exc:
            raise SecretNotFoundError(f"cannot read {value_from} from AWS: {exc}") from None


def _json_key(text: str, reference: SecretsManagerReference) -> str:
    try:
        document = json.loads(text)
    except ValueError:
        raise SecretNotFoundError(
            f"secret {reference.secret_id} is not JSON, so it has no key {reference.json_key}"
        ) from None
    if not isinstance(document, dict) or reference.json_key not in document:
        raise SecretNotFoundError(f"secret {reference.secret_id} has no key {reference.json_key}")
    return str(document[reference.json_key])
