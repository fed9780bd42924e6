"""Typed scalar reads: a marker (a Ref, an unresolved parameter) is never taken for a value."""

from __future__ import annotations

from typing import Any

import pytest

from fargate_api.templates import ResourceRef, Unresolved, UnresolvedKind
from fargate_api.templates.props import (
    as_bool,
    as_dict,
    as_int,
    as_list,
    as_str,
    get,
    key_index,
    key_values,
    walk,
)

UNKNOWN = Unresolved(UnresolvedKind.PARAMETER, "Port")


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (80, 80),
        ("80", 80),
        (" 80 ", 80),
        (80.0, 80),
        (80.5, None),
        (True, None),
        ("x", None),
        (UNKNOWN, None),
        (None, None),
    ],
)
def test_as_int(value: Any, number: int | None) -> None:
    assert as_int(value) == number


@pytest.mark.parametrize(
    ("value", "flag"),
    [(True, True), ("true", True), (" False ", False), ("yes", None), (1, None), (UNKNOWN, None)],
)
def test_as_bool(value: Any, flag: bool | None) -> None:
    assert as_bool(value) is flag


def test_get_walks_mappings_and_lists_and_stops_at_markers() -> None:
    value = {"A": [{"B": 1}, {"B": 2}], "Ref": ResourceRef("s", "X")}
    assert get(value, "A", -1, "B") == 2
    assert get(value, "A", 5, "B") is None
    assert get(value, "Ref", "B") is None
    assert as_str(UNKNOWN) is None and as_list("x") == [] and as_dict([1]) == {}


def test_key_value_lists() -> None:
    items = [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": 2}, {"Value": 3}]
    assert key_values(items) == {"a": "1", "b": 2}
    assert key_index(items, "b") == 1 and key_index(items, "c") is None


def test_walk_lists_every_leaf_with_its_path() -> None:
    assert walk({"A": [1, {"B": "x"}]}) == [(("A", 0), 1), (("A", 1, "B"), "x")]
