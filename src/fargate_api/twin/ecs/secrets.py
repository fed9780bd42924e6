"""`Secrets[].ValueFrom` resolved for a local task, as the ECS agent resolves them at
launch: every secret of every container, or the task does not start.

Values come from the user (`[local.secrets]`, `--secret NAME=VALUE`, `--secrets-file`)
or, with `--secrets-from-aws`, from SSM Parameter Store and Secrets Manager
(secrets_aws.py). A local value is looked up by the variable's name, then by the whole
ValueFrom, then by the parameter's or secret's own name, so one local file serves
templates that spell the reference differently.

Values never leave this process except into the container's environment: errors name
the variable and the reference, never a value, and nothing here is written to disk.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from fargate_api.twin.ecs.task_runtime import TaskLaunchError
from fargate_api.twin.plan.model import Container, SecretReference

INIT_ERROR = "ResourceInitializationError: unable to pull secrets or registry auth"


class SecretNotFoundError(Exception):
    """A source has no value for a reference; the message names it, never a value."""


AwsFetch = Callable[[str], str]


def short_name(value_from: str) -> str:
    """The parameter's or secret's own name inside an ARN (or the reference itself).

    arn:aws:ssm:us-east-1:123456789012:parameter/prod/db-password -> prod/db-password
    arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:password:: -> db-AbCdEf
    """
    if value_from.startswith("arn:"):
        parts = value_from.split(":")
        if len(parts) >= 6 and parts[2] == "ssm":
            return ":".join(parts[5:]).removeprefix("parameter").lstrip("/")
        if len(parts) >= 7 and parts[2] == "secretsmanager":
            return parts[6]
    return value_from.lstrip("/")


def lookup_keys(reference: SecretReference) -> list[str]:
    keys = [reference.name, reference.value_from, short_name(reference.value_from)]
    return list(dict.fromkeys(k for k in keys if k))


class SecretResolver:
    def __init__(self, local: Mapping[str, str], aws: AwsFetch | None = None) -> None:
        self._local = dict(local)
        self._aws = aws

    def with_aws(self, aws: AwsFetch) -> SecretResolver:
        """Local values first, then AWS for the rest (`--secrets-from-aws`)."""
        return SecretResolver(self._local, aws)

    def value(self, reference: SecretReference) -> str:
        for key in lookup_keys(reference):
            if key in self._local:
                return self._local[key]
        if self._aws is not None:
            return self._aws(reference.value_from)
        raise SecretNotFoundError(
            f"secret {reference.name} ({reference.value_from}) has no local value; give it "
            f"with --secret {reference.name}=VALUE, a --secrets-file line, [local.secrets] "
            "in the config, or fetch it with --secrets-from-aws"
        )

    def for_task(self, containers: Sequence[Container]) -> dict[str, dict[str, str]]:
        """Container name -> variable -> value; TaskLaunchError (ECS's reason) if any
        reference cannot be resolved, so no container of the task starts."""
        values: dict[str, dict[str, str]] = {}
        for container in containers:
            mine: dict[str, str] = {}
            for reference in container.secrets:
                try:
                    mine[reference.name] = self.value(reference)
                except SecretNotFoundError as exc:
                    raise TaskLaunchError(f"{INIT_ERROR}: {exc}") from None
            values[container.name] = mine
        return values

    def missing(self, containers: Sequence[Container]) -> list[SecretReference]:
        """References without a local value (for `local up`'s check before it builds)."""
        if self._aws is not None:
            return []
        return [
            reference
            for container in containers
            for reference in container.secrets
            if not any(key in self._local for key in lookup_keys(reference))
        ]


def parse_secret_options(values: Sequence[str]) -> dict[str, str]:
    """`--secret NAME=VALUE` options; the error never repeats the value."""
    parsed: dict[str, str] = {}
    for value in values:
        name, sep, secret = value.partition("=")
        if not sep or not name.strip():
            raise ValueError("a --secret option is not NAME=VALUE")
        parsed[name.strip()] = secret
    return parsed


def parse_secrets_file(text: str, source: str) -> dict[str, str]:
    """A dotenv-style file: NAME=VALUE lines, # comments, optional quotes, `export `."""
    parsed: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{source}:{number} is not NAME=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        parsed[name.strip()] = value
    return parsed
