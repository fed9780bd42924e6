"""The loaded stack set: files, stacks, resources and the parent -> child wiring.

Resources carry both their resolved and their raw properties: most rules want values
("is this port 80?"), a few want the text as written ("is the partition hard-coded?").
Every resource knows its file and the lines of its keys, so findings can point there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fargate_api.templates.values import AttributeRef, ResourceRef

PropertyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class TemplateFile:
    path: Path
    display: str
    text: str
    format: Literal["yaml", "json"]
    data: dict[str, Any]
    lines: Mapping[PropertyPath, int]

    def line_of(self, path: PropertyPath) -> int | None:
        """The line of `path`, or of its nearest ancestor the source gives a line for."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    value: Any  # what Ref gives: the passed value, else the default, else Unresolved
    passed: bool
    has_default: bool
    no_echo: bool


@dataclass(frozen=True)
class Output:
    name: str
    value: Any
    raw: Any


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    properties: dict[str, Any]
    raw_properties: dict[str, Any]
    metadata: dict[str, Any]
    condition: str | None
    depends_on: tuple[str, ...]
    deletion_policy: str | None
    update_replace_policy: str | None
    stack: str
    file: TemplateFile = field(repr=False)

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(self.stack, self.logical_id)

    @property
    def line(self) -> int | None:
        return self.file.lines.get(("Resources", self.logical_id))

    def line_of(self, path: PropertyPath = ()) -> int | None:
        """Line of a path inside the resource, e.g. ("Properties", "Subnets", 0)."""
        return self.file.line_of(("Resources", self.logical_id, *path))


@dataclass(frozen=True)
class StackLink:
    """A nested stack: which resource of which parent creates which child, with what."""

    parent: str
    resource: str
    child: str
    location: str
    parameters: Mapping[str, Any]
    undeclared: tuple[str, ...]  # passed, but the child has no such parameter
    missing: tuple[str, ...]  # the child needs them (no default), the parent passes none


@dataclass(frozen=True)
class ImportLink:
    """An `Fn::ImportValue` answered by another top-level stack of the set."""

    importer: str  # the key of the stack that imports (a root or a nested stack)
    exporter: str  # the key of the top-level stack that exports
    name: str  # the export name
    output: str  # the exporter's output that carries it
    where: str  # file:line of the Fn::ImportValue


@dataclass(frozen=True)
class Stack:
    key: str  # unique in the set: the root file, then /LogicalId per nesting level
    name: str
    file: TemplateFile
    parameters: Mapping[str, Parameter]
    resources: Mapping[str, Resource]
    outputs: Mapping[str, Output]
    conditions: Mapping[str, bool | None]
    excluded: tuple[str, ...]  # resources whose condition is false
    parent: str | None


@dataclass(frozen=True)
class StackSet:
    """One or more top-level stacks with their nested stacks. `roots` are in the order a
    deploy must create them (an exporter before its importers); `root` is the first."""

    root: Stack
    stacks: Mapping[str, Stack]
    links: tuple[StackLink, ...]
    files: Mapping[Path, TemplateFile]
    roots: tuple[Stack, ...] = ()
    imports: tuple[ImportLink, ...] = ()

    def top_level(self) -> tuple[Stack, ...]:
        return self.roots or (self.root,)

    def root_of(self, stack_key: str) -> str:
        """The key of the top-level stack that `stack_key` is, or is nested in."""
        stack = self.stacks[stack_key]
        while stack.parent is not None:
            stack = self.stacks[stack.parent]
        return stack.key

    def resources(self, *types: str) -> Iterator[Resource]:
        for stack in self.stacks.values():
            for resource in stack.resources.values():
                if not types or resource.type in types:
                    yield resource

    def resource(self, value: Any) -> Resource | None:
        """The resource a Ref or GetAtt value points at, in whichever stack it lives."""
        if not isinstance(value, ResourceRef | AttributeRef):
            return None
        stack = self.stacks.get(value.stack)
        return stack.resources.get(value.logical_id) if stack else None

    def children(self, stack_key: str) -> list[Stack]:
        return [self.stacks[link.child] for link in self.links if link.parent == stack_key]
