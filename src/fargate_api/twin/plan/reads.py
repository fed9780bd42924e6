"""Reading resolved template values for the twin: refs to resources, and typed scalars.

The reading itself is the reading layer's (templates/props.py, templates/query.py), the
same `check` and the diagram use. What is the twin's own: it must build something
concrete, so where `check` may shrug at an unknown value the twin has to either find a
value or stop with a message naming the resource and the property; the `require_*`
helpers make that choice explicit at every read.
"""

from __future__ import annotations

from typing import Any

from fargate_api.templates import AttributeRef, Resource, ResourceRef, StackSet, Text
from fargate_api.templates.props import as_int, as_str
from fargate_api.templates.query import StackQuery
from fargate_api.twin.plan.errors import PlanError


def key_of(resource: Resource) -> str:
    """A short, stable name: "<stack name>/<LogicalId>", e.g. "VpcStack/PublicSubnetOne"."""
    stack = resource.stack.rsplit("/", 1)[-1]
    for suffix in (".template.json", ".json", ".yaml", ".yml", ".template"):
        stack = stack.removesuffix(suffix)
    return f"{stack}/{resource.logical_id}"


def where(resource: Resource, *path: str | int) -> str:
    line = resource.line_of(("Properties", *path)) if path else resource.line
    return f"{resource.file.display}:{line}" if line else resource.file.display


class Index(StackQuery):
    """The reading layer's lookups over the one stack set the twin runs, plus `require`."""

    def __init__(self, stack_set: StackSet) -> None:
        super().__init__([stack_set])
        self.stack_set = stack_set

    def of_type(self, *types: str) -> list[Resource]:
        return list(self.resources(*types)) if types else []

    def require(
        self, value: Any, owner: Resource, *path: str | int, types: tuple[str, ...]
    ) -> Resource:
        """The resource `value` points at; a PlanError naming the property when it cannot."""
        target = self.deref(value)
        if target is None or (types and target.type not in types):
            wanted = " or ".join(types)
            shown = "nothing" if value is None else _show(value)
            raise PlanError(
                f"{owner.logical_id}.{'.'.join(str(p) for p in path)} must point at a {wanted} "
                f"in these templates, but it is {shown}",
                where=where(owner, *path),
                fix="pass every template of the stack set (the parent and its children), or "
                "give the twin a single template that holds the whole pattern",
            )
        return target


def _show(value: Any) -> str:
    if isinstance(value, ResourceRef | AttributeRef | Text):
        return f"`{value}`"
    return repr(value)


def require_str(value: Any, owner: Resource, *path: str | int) -> str:
    text = as_str(value)
    if text is None:
        raise PlanError(
            f"{owner.logical_id}.{'.'.join(str(p) for p in path)} has no value the twin can "
            f"use ({_show(value)})",
            where=where(owner, *path),
            fix="give the parameter a value or a default; the twin does not read SSM, "
            "imports or outputs of stacks outside the set",
        )
    return text


def require_int(value: Any, owner: Resource, *path: str | int) -> int:
    number = as_int(value)
    if number is None:
        raise PlanError(
            f"{owner.logical_id}.{'.'.join(str(p) for p in path)} must be a number, "
            f"not {_show(value)}",
            where=where(owner, *path),
            fix="give the parameter a numeric value or default",
        )
    return number
