"""`local up --env NAME` names the twin after the environment unless --name says otherwise."""

from __future__ import annotations

import pytest

from fargate_api.errors import UserError
from fargate_api.twin.cli.common import names_for
from fargate_api.twin.naming import DEFAULT_NAME


def test_the_environment_names_the_twin_when_no_name_is_given() -> None:
    assert names_for(DEFAULT_NAME, "staging").name == "staging"


def test_an_explicit_name_wins_over_the_environment() -> None:
    assert names_for("mine", "staging").name == "mine"


def test_without_an_environment_the_default_name_stays() -> None:
    assert names_for(DEFAULT_NAME).name == DEFAULT_NAME


def test_a_name_the_twin_cannot_use_is_still_refused() -> None:
    with pytest.raises(UserError):
        names_for("Not_Valid", None)
