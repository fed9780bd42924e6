"""Lookups across one or more stack sets: follow a Ref, find who points at whom.

A template says "this route belongs to that table" on the route, not on the table, and a
nested stack's resources point at its parent's. Every reader (check, diagram, cost, the
twin's planner) needs the reverse lookups as well as the forward ones; doing them here
keeps one answer to "which resource is this value?" for all of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fargate_api.templates.model import Resource, StackLink, StackSet
from fargate_api.templates.props import get


class StackQuery:
    """Every resource of the given stack sets, each once, with cross-stack lookups."""

    def __init__(self, stack_sets: Sequence[StackSet]) -> None:
        self.stack_sets = tuple(stack_sets)

    def resources(self, *types: str) -> Iterator[Resource]:
        seen: set[tuple[str, str]] = set()
        for stack_set in self.stack_sets:
            for resource in stack_set.resources(*types):
                key = (resource.stack, resource.logical_id)
                if key not in seen:
                    seen.add(key)
                    yield resource

    def links(self) -> Iterator[StackLink]:
        for stack_set in self.stack_sets:
            yield from stack_set.links

    def deref(self, value: Any) -> Resource | None:
        """The resource a Ref/GetAtt value points at, in any stack; None if not known."""
        for stack_set in self.stack_sets:
            found = stack_set.resource(value)
            if found is not None:
                return found
        return None

    def deref_all(self, value: Any) -> tuple[list[Resource], bool]:
        """Resources a list value points at, and whether some items could not be followed."""
        items = value if isinstance(value, list) else [value]
        found = [r for r in (self.deref(item) for item in items) if r is not None]
        return found, len(found) != len(items)

    def stack_resource(self, stack_key: str, logical_id: str) -> Resource | None:
        for stack_set in self.stack_sets:
            stack = stack_set.stacks.get(stack_key)
            if stack is not None:
                return stack.resources.get(logical_id)
        return None

    def referrers(self, target: Resource, type_: str, *path: str) -> Iterator[Resource]:
        """Resources of `type_` whose property at `path` points at `target`.

        A list value counts when one of its items does: CloudFormation rejects a list
        where it wants one id, so this only widens what malformed templates match.
        """
        for resource in self.resources(type_):
            value = get(resource.properties, *path)
            values = value if isinstance(value, list) else [value]
            if any(self.deref(item) is target for item in values):
                yield resource
