"""Templates given as text, loaded as a stack set, for the reading layer's tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from fargate_api.templates import MemoryReader, Resource, StackSet, load_stack_set
from fargate_api.templates.query import StackQuery


def load(text: str = "", *, files: dict[str, str] | None = None, root: str = "t.yml") -> StackSet:
    """load("Resources: ...") or load(root="parent.yml", files={...})."""
    files = files or {root: text}
    reader = MemoryReader({Path(name): textwrap.dedent(body) for name, body in files.items()})
    return load_stack_set(Path(root), reader=reader)


def query(
    text: str = "", *, files: dict[str, str] | None = None, root: str = "t.yml"
) -> StackQuery:
    return StackQuery([load(text, files=files, root=root)])


def resource(q: StackQuery, logical_id: str) -> Resource:
    return next(r for r in q.resources() if r.logical_id == logical_id)
