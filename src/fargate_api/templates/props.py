"""Typed reads of resolved property values.

Resolved values are JSON data mixed with markers; these helpers answer "is it a known
int/str/bool here?" so that rules stay short and never mistake a marker for a value.
"""

from __future__ import annotations

from typing import Any

from fargate_api.templates import PropertyPath


def get(value: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(key, int):
            value = (
                value[key] if isinstance(value, list) and -len(value) <= key < len(value) else None
            )
        else:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def key_values(value: Any) -> dict[str, Any]:
    """[{Key: k, Value: v}, ...] (load balancer and target group attributes) as a dict."""
    result: dict[str, Any] = {}
    for item in as_list(value):
        key = as_str(get(item, "Key"))
        if key is not None:
            result[key] = get(item, "Value")
    return result


def key_index(value: Any, key: str) -> int | None:
    """The list index of {Key: key} in a key/value list, for pointing a finding at it."""
    for index, item in enumerate(as_list(value)):
        if get(item, "Key") == key:
            return index
    return None


def walk(value: Any, path: PropertyPath = ()) -> list[tuple[PropertyPath, Any]]:
    """Every (path, leaf) in a nested value, in document order."""
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in walk(v, (*path, k))]
    if isinstance(value, list):
        return [pair for i, v in enumerate(value) for pair in walk(v, (*path, i))]
    return [(path, value)]
