"""`Secrets[].ValueFrom` resolved from local values, and the pure parts of reading them
from AWS: every way a reference may be spelled, and errors that never show a value."""

from __future__ import annotations

import pytest

from fargate_api.twin.ecs.secrets import (
    INIT_ERROR,
    SecretNotFoundError,
    SecretResolver,
    lookup_keys,
    parse_secret_options,
    parse_secrets_file,
    short_name,
)
from fargate_api.twin.ecs.secrets_aws import (
    SecretsManagerReference,
    region_of,
    secrets_manager_reference,
)
from fargate_api.twin.ecs.task_runtime import TaskLaunchError
from fargate_api.twin.plan.model import Container, SecretReference

SSM_ARN = "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db-password"
SM_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
VALUES = ("s3cr3t-one", "s3cr3t-two")


def _container(name: str, *secrets: SecretReference) -> Container:
    return Container(
        name=name, image="img", command=None, environment={}, port=None, essential=True,
        stop_timeout=30, log=None, secrets=secrets,
    )  # fmt: skip


# ---------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("value_from", "expected"),
    [
        (SSM_ARN, "prod/db-password"),
        ("arn:aws:ssm:eu-west-1:123456789012:parameter/flat", "flat"),
        (SM_ARN, "db-AbCdEf"),
        (f"{SM_ARN}:password::", "db-AbCdEf"),
        (f"{SM_ARN}:password:AWSPREVIOUS:", "db-AbCdEf"),
        (f"{SM_ARN}::AWSCURRENT:", "db-AbCdEf"),
        (f"{SM_ARN}:::0123-4567", "db-AbCdEf"),
        ("/prod/db-password", "prod/db-password"),
        ("db-password", "db-password"),
        ("arn:aws:s3:::bucket/key", "arn:aws:s3:::bucket/key"),  # neither: as given
    ],
)
def test_short_name(value_from: str, expected: str) -> None:
    assert short_name(value_from) == expected


def test_lookup_keys_are_the_name_the_reference_and_the_short_name_once_each() -> None:
    assert lookup_keys(SecretReference("DB_PASSWORD", SSM_ARN)) == [
        "DB_PASSWORD",
        SSM_ARN,
        "prod/db-password",
    ]
    assert lookup_keys(SecretReference("X", "plain")) == ["X", "plain"]


@pytest.mark.parametrize(
    ("key", "value_from"),
    [
        ("DB_PASSWORD", SSM_ARN),  # by the variable's name
        (SSM_ARN, SSM_ARN),  # by the whole ValueFrom
        ("prod/db-password", SSM_ARN),  # by the parameter's own name
        ("prod/db-password", "/prod/db-password"),  # a name with its leading slash
        ("db-AbCdEf", SM_ARN),  # by the secret's own name
        ("db-AbCdEf", f"{SM_ARN}:password::"),  # ... with a JSON key
        (f"{SM_ARN}:password:AWSCURRENT:", f"{SM_ARN}:password:AWSCURRENT:"),
    ],
)
def test_a_local_value_is_found_by_each_spelling(key: str, value_from: str) -> None:
    resolver = SecretResolver({key: "v", "unrelated": "no"})
    assert resolver.value(SecretReference("DB_PASSWORD", value_from)) == "v"


def test_the_variable_name_wins_over_the_reference_and_the_short_name() -> None:
    resolver = SecretResolver({"prod/db-password": "short", SSM_ARN: "full", "DB": "name"})
    assert resolver.value(SecretReference("DB", SSM_ARN)) == "name"
    assert resolver.value(SecretReference("OTHER", SSM_ARN)) == "full"
    only_short = SecretResolver({"prod/db-password": "short"})
    assert only_short.value(SecretReference("OTHER", SSM_ARN)) == "short"


def test_a_missing_local_value_names_the_variable_and_the_reference() -> None:
    with pytest.raises(SecretNotFoundError) as caught:
        SecretResolver({"OTHER": VALUES[0]}).value(SecretReference("DB", SSM_ARN))
    assert str(caught.value) == (
        f"secret DB ({SSM_ARN}) has no local value; give it with --secret DB=VALUE, a "
        "--secrets-file line, [local.secrets] in the config, or fetch it with "
        "--secrets-from-aws"
    )


def test_aws_is_asked_only_for_what_has_no_local_value() -> None:
    asked: list[str] = []

    def fetch(value_from: str) -> str:
        asked.append(value_from)
        return f"aws:{value_from}"

    resolver = SecretResolver({"LOCAL": "here"}).with_aws(fetch)
    assert resolver.value(SecretReference("LOCAL", SSM_ARN)) == "here"
    assert resolver.value(SecretReference("REMOTE", SM_ARN)) == f"aws:{SM_ARN}"
    assert asked == [SM_ARN]


# ---------------------------------------------------------------- a task's secrets


def test_for_task_gives_each_container_its_own_variables() -> None:
    resolver = SecretResolver({"DB": VALUES[0], "db-AbCdEf": VALUES[1]})
    containers = [
        _container("app", SecretReference("DB", SSM_ARN), SecretReference("API", SM_ARN)),
        _container("sidecar"),
    ]
    assert resolver.for_task(containers) == {
        "app": {"DB": VALUES[0], "API": VALUES[1]},
        "sidecar": {},
    }


def test_for_task_fails_with_ecs_reason_and_without_any_value() -> None:
    resolver = SecretResolver({"DB": VALUES[0], "TOKEN": VALUES[1]})
    containers = [
        _container("app", SecretReference("DB", SSM_ARN), SecretReference("TOKEN", "t")),
        _container("sidecar", SecretReference("API", SM_ARN)),
    ]
    with pytest.raises(TaskLaunchError) as caught:
        resolver.for_task(containers)
    message = str(caught.value)
    assert message.startswith("ResourceInitializationError")
    assert message.startswith(f"{INIT_ERROR}: secret API ({SM_ARN}) has no local value")
    for value in VALUES:
        assert value not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_for_task_carries_an_aws_refusal_without_the_values_it_got() -> None:
    def fetch(value_from: str) -> str:
        if value_from == SM_ARN:
            raise SecretNotFoundError(f"AWS refused {value_from}: ResourceNotFoundException: x")
        return VALUES[1]

    resolver = SecretResolver({"DB": VALUES[0]}).with_aws(fetch)
    containers = [
        _container("app", SecretReference("DB", SSM_ARN), SecretReference("T", "/t")),
        _container("sidecar", SecretReference("API", SM_ARN)),
    ]
    with pytest.raises(TaskLaunchError) as caught:
        resolver.for_task(containers)
    assert str(caught.value) == (
        f"{INIT_ERROR}: AWS refused {SM_ARN}: ResourceNotFoundException: x"
    )
    assert all(value not in str(caught.value) for value in VALUES)


def test_missing_lists_references_without_a_local_value_in_order() -> None:
    db = SecretReference("DB", SSM_ARN)
    api = SecretReference("API", f"{SM_ARN}:key::")
    token = SecretReference("TOKEN", "/prod/token")
    containers = [_container("app", db, token), _container("sidecar", api)]
    assert SecretResolver({"prod/token": "x"}).missing(containers) == [db, api]
    assert (
        SecretResolver({"prod/db-password": "x", "db-AbCdEf": "y", "TOKEN": "z"}).missing(
            containers
        )
        == []
    )
    assert SecretResolver({}).with_aws(lambda _: "").missing(containers) == []


# ---------------------------------------------------------------- options and files


def test_secret_options() -> None:
    assert parse_secret_options(["A=1", " B =x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    assert parse_secret_options([]) == {}


@pytest.mark.parametrize("option", ["NOSEP", "=value-s3cr3t", "  =value-s3cr3t"])
def test_a_bad_secret_option_never_echoes_it(option: str) -> None:
    with pytest.raises(ValueError, match=r"^a --secret option is not NAME=VALUE$") as caught:
        parse_secret_options(["GOOD=1", option])
    assert "s3cr3t" not in str(caught.value) and option.strip() not in str(caught.value)


def test_secrets_file_syntax() -> None:
    text = "\n".join(
        [
            "# a comment",
            "",
            "PLAIN=one",
            "export EXPORTED=two",
            'DOUBLE="three four"',
            "SINGLE='five'",
            "  SPACED  =  six  ",
            'HALF="seven',
            "EQUALS=a=b",
            "EMPTY=",
            'QUOTE_ONLY="',
            "prod/db-password=eight",
        ]
    )
    assert parse_secrets_file(text, "s.env") == {
        "PLAIN": "one",
        "EXPORTED": "two",
        "DOUBLE": "three four",
        "SINGLE": "five",
        "SPACED": "six",
        "HALF": '"seven',
        "EQUALS": "a=b",
        "EMPTY": "",
        "QUOTE_ONLY": '"',
        "prod/db-password": "eight",
    }


def test_a_later_line_of_a_file_wins() -> None:
    assert parse_secrets_file("A=1\nA=2\n", "f") == {"A": "2"}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("A=1\nthe-s3cr3t-value\n", 2),
        ("# c\n\nA=1\n=the-s3cr3t-value\n", 4),
        ("export the-s3cr3t-value", 1),
    ],
)
def test_a_bad_line_names_the_file_and_line_but_not_the_value(text: str, line: int) -> None:
    with pytest.raises(ValueError) as caught:
        parse_secrets_file(text, "/home/me/secrets.env")
    assert str(caught.value) == f"/home/me/secrets.env:{line} is not NAME=VALUE"
    assert "s3cr3t" not in str(caught.value)


# ---------------------------------------------------------------- AWS references


@pytest.mark.parametrize(
    ("value_from", "expected"),
    [
        (SM_ARN, SecretsManagerReference(SM_ARN, None, None, None)),
        (f"{SM_ARN}:password::", SecretsManagerReference(SM_ARN, "password", None, None)),
        (
            f"{SM_ARN}:password:AWSPREVIOUS:",
            SecretsManagerReference(SM_ARN, "password", "AWSPREVIOUS", None),
        ),
        (f"{SM_ARN}::AWSCURRENT:", SecretsManagerReference(SM_ARN, None, "AWSCURRENT", None)),
        (
            f"{SM_ARN}:user::abcd-1234",
            SecretsManagerReference(SM_ARN, "user", None, "abcd-1234"),
        ),
        (f"{SM_ARN}:user", SecretsManagerReference(SM_ARN, "user", None, None)),
        (SSM_ARN, None),
        ("db-AbCdEf", None),
        ("arn:aws:secretsmanager:us-east-1:123456789012", None),
    ],
)
def test_secrets_manager_reference(
    value_from: str, expected: SecretsManagerReference | None
) -> None:
    assert secrets_manager_reference(value_from) == expected


@pytest.mark.parametrize(
    ("value_from", "region"),
    [
        (SSM_ARN, "eu-west-1"),
        (SM_ARN, "us-east-1"),
        ("arn:aws:ssm::123456789012:parameter/x", None),
        ("/prod/db-password", None),
        ("arn:aws", None),
    ],
)
def test_region_of(value_from: str, region: str | None) -> None:
    assert region_of(value_from) == region
