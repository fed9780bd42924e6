"""What a resolved value can be besides plain JSON data.

A physical id, an attribute only known after deploy, a string built from them, or
something that cannot be known statically. Rules follow ResourceRef/AttributeRef to
other resources (also across stacks) and must treat Unresolved as "unknown", never as a
value: that is what keeps check free of false positives on templates it cannot fully see.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class ResourceRef:
    """`Ref` to a resource: its physical id, known only after deploy."""

    stack: str
    logical_id: str

    def __str__(self) -> str:
        return f"${{{self.logical_id}}}"


@dataclass(frozen=True)
class AttributeRef:
    """`Fn::GetAtt` on a resource of the same stack."""

    stack: str
    logical_id: str
    attribute: str

    def __str__(self) -> str:
        return f"${{{self.logical_id}.{self.attribute}}}"


class UnresolvedKind(StrEnum):
    PARAMETER = "parameter"  # no default and no value passed
    SSM_PARAMETER = "ssm-parameter"  # read from SSM at deploy time
    IMPORT = "import"  # Fn::ImportValue, Fn::GetStackOutput: another stack's output
    CONDITION = "condition"  # Fn::If on a condition that cannot be decided
    REFERENCE = "reference"  # Ref/GetAtt to something that does not exist or is not created
    NESTED_OUTPUT = "nested-output"  # output of a nested stack that is not a local file
    TRANSFORM = "transform"  # Fn::Transform, macros
    INVALID = "invalid"  # malformed arguments; cfn-lint reports the details
    UNSUPPORTED = "unsupported"  # valid but not evaluated statically (Fn::ForEach, ...)


@dataclass(frozen=True)
class Unresolved:
    kind: UnresolvedKind
    detail: str

    def __str__(self) -> str:
        return f"<unresolved {self.kind.value}: {self.detail}>"


Symbol = ResourceRef | AttributeRef | Unresolved


@dataclass(frozen=True)
class Text:
    """A string with deploy-time pieces, e.g. Fn::Sub "${Subnet1},${Subnet2}"."""

    parts: tuple[str | Symbol, ...]

    def __str__(self) -> str:
        return "".join(str(part) for part in self.parts)

    def literal(self) -> str:
        """The known characters only, for checks like "does it end in :latest"."""
        return "".join(part for part in self.parts if isinstance(part, str))


def concat(parts: list[Any]) -> Any:
    """Joins string pieces; stays a Text only while a piece is symbolic.

    Runs of plain strings are collected and joined once: appending to the last string
    piece by piece copied it each time, quadratic in the number of pieces (a Fn::Sub with
    hundreds of thousands of holes took minutes).
    """
    flat: list[str | Symbol] = []
    run: list[str] = []  # the plain strings since the last symbol
    for part in parts:
        if isinstance(part, Unresolved):
            return part
        pieces = part.parts if isinstance(part, Text) else (part,)
        for piece in pieces:
            if isinstance(piece, str):
                run.append(piece)
                continue
            _flush(run, flat)
            if piece != "":
                flat.append(piece)
    _flush(run, flat)
    if not flat:
        return ""
    if len(flat) == 1:
        return flat[0]
    return Text(tuple(flat))


def _flush(run: list[str], flat: list[str | Symbol]) -> None:
    """Moves the collected plain strings into `flat` as one piece (none if empty)."""
    text = "".join(run)
    run.clear()
    if text:
        flat.append(text)


def split(value: Any, delimiter: str) -> Any:
    """Fn::Split, also over Text, as long as the delimiter is in the known pieces."""
    if isinstance(value, str):
        return value.split(delimiter)
    if isinstance(value, ResourceRef | AttributeRef):
        return [value]
    if not isinstance(value, Text):
        return (
            value
            if isinstance(value, Unresolved)
            else Unresolved(UnresolvedKind.INVALID, f"cannot split {type(value).__name__}")
        )
    items: list[Any] = []
    current: list[Any] = []
    for part in value.parts:
        if isinstance(part, str):
            chunks = part.split(delimiter)
            current.append(chunks[0])
            for chunk in chunks[1:]:
                items.append(concat(current))
                current = [chunk]
        else:
            current.append(part)
    items.append(concat(current))
    return items


def is_plain(value: Any) -> bool:
    """True when the value holds no marker anywhere: it is fully known."""
    if isinstance(value, dict):
        return all(is_plain(v) for v in value.values())
    if isinstance(value, list):
        return all(is_plain(v) for v in value)
    return not isinstance(value, ResourceRef | AttributeRef | Text | Unresolved)


def first_unresolved(value: Any) -> Unresolved | None:
    if isinstance(value, Unresolved):
        return value
    if isinstance(value, Text):
        return next((p for p in value.parts if isinstance(p, Unresolved)), None)
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    for child in children:
        found = first_unresolved(child)
        if found:
            return found
    return None
