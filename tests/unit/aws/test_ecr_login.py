"""ECR credentials come from boto3's get_authorization_token, never from the user."""

from __future__ import annotations

import base64

import pytest

from fargate_api.aws.ecr_login import ecr_login
from fargate_api.errors import OperationError

from .support import stubbed

PROXY = "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"


def _token(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_the_token_is_split_into_user_and_password() -> None:
    with stubbed() as stubs:
        stubs.ecr.add_response(
            "get_authorization_token",
            {
                "authorizationData": [
                    {"authorizationToken": _token("AWS:s3cr:et"), "proxyEndpoint": PROXY}
                ]
            },
            {},
        )
        auth = ecr_login(stubs.clients.ecr)
        stubs.assert_no_pending_responses()
    assert (auth.username, auth.password, auth.server) == ("AWS", "s3cr:et", PROXY)
    assert "s3cr" not in repr(auth), "the password never shows in a repr"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ([], "no authorization token"),
        ([{"authorizationToken": _token("no-colon")}], "not a base64 user:password"),
        ([{"authorizationToken": "%%%"}], "not a base64 user:password"),
    ],
)
def test_a_useless_answer_is_an_operation_error(data: list[dict[str, str]], says: str) -> None:
    with stubbed() as stubs:
        stubs.ecr.add_response("get_authorization_token", {"authorizationData": data}, {})
        with pytest.raises(OperationError, match=says):
            ecr_login(stubs.clients.ecr)


def test_access_denied_is_translated_not_a_traceback() -> None:
    from fargate_api.errors import CliError  # noqa: PLC0415

    with stubbed() as stubs:
        stubs.ecr.add_client_error(
            "get_authorization_token",
            service_error_code="AccessDeniedException",
            service_message="User is not authorized to perform: ecr:GetAuthorizationToken",
            http_status_code=400,
        )
        with pytest.raises(CliError) as caught:
            ecr_login(stubs.clients.ecr)
    assert "ecr:GetAuthorizationToken" in caught.value.render()
