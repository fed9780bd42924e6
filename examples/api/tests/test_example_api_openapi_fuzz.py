"""Schemathesis against the app's own OpenAPI document, in process (no server, no network).

For every operation it generates valid and invalid requests from the schema and checks
the responses: no 5xx, only documented status codes, bodies and content types that
match the schema, invalid input rejected and valid input accepted. A bounded number of
examples keeps it to a few seconds.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from example_api_support import make_app
from hypothesis import HealthCheck, settings

# The echo lookup is off: /whoami must not reach the internet from a test.
schema = schemathesis.openapi.from_asgi("/openapi.json", make_app())


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,  # the same cases on every run: no flaky CI
    database=None,  # and no .hypothesis folder written next to the tests
)
def test_api_conforms_to_its_openapi_spec(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate()
