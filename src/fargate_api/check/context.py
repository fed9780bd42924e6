"""What a rule sees: every loaded stack set, with lookups across stacks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from fargate_api.check.props import get
from fargate_api.templates import Resource, StackLink, StackSet


@dataclass(frozen=True)
class CheckContext:
    stack_sets: Sequence[StackSet]

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
        """Resources of `type_` whose property at `path` points at `target`."""
        for resource in self.resources(type_):
            if self.deref(get(resource.properties, *path)) is target:
                yield resource
