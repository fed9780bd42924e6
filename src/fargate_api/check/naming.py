"""How findings name resources: by logical id, with the stack when it is another one."""

from __future__ import annotations

from typing import Any

from fargate_api.templates import Resource


def stack_label(stack_key: str) -> str:
    """The nested stack's logical id, or the root template's file name."""
    return stack_key.rsplit("/", 1)[-1]


def label(resource: Resource, seen_from: Resource | None = None) -> str:
    if seen_from is not None and seen_from.stack != resource.stack:
        return f"{resource.logical_id} (stack {stack_label(resource.stack)})"
    return resource.logical_id


def labels(resources: list[Resource], seen_from: Resource | None = None) -> str:
    return ", ".join(label(r, seen_from) for r in resources)


def from_parameter(raw: Any) -> str:
    """' (parameter X)' when a raw value is a Ref to a parameter, so users find the source."""
    if isinstance(raw, dict) and isinstance(raw.get("Ref"), str) and "::" not in raw["Ref"]:
        return f" (parameter {raw['Ref']})"
    return ""


def ports_text(ports: set[int]) -> str:
    return ", ".join(str(p) for p in sorted(ports))
