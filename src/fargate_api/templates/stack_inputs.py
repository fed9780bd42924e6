"""`-t PATH` and `-t NAME=PATH`: which top-level stacks a command reads, and their names.

Real setups are often several top-level stacks wired by `Export`/`Fn::ImportValue`, each
deployed under a name of its own. That name is what `AWS::StackName` gives, and export
names are usually built from it (`${AWS::StackName}-VpcId`), so the twin and `check` must
know it to resolve an import as CloudFormation would. Without NAME a stack is named after
its file (`vpc.yml` -> `vpc`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fargate_api.templates.errors import TemplateError

# CloudFormation's own rule for a stack name.
STACK_NAME = re.compile(r"[A-Za-z][-A-Za-z0-9]{0,127}")


@dataclass(frozen=True)
class StackInput:
    path: Path
    name: str | None = None  # None: the file's stem


def parse_stack_input(text: str | Path) -> StackInput:
    """`NAME=PATH` or `PATH`. A PATH that exists as written wins, so a file whose name
    holds `=` is still read; otherwise the part before `=` must be a valid stack name."""
    if isinstance(text, Path):
        return StackInput(text)
    if "=" not in text or Path(text).exists():
        return StackInput(Path(text))
    name, _, path = text.partition("=")
    if not STACK_NAME.fullmatch(name):
        raise TemplateError(
            f"{name!r} is not a valid stack name",
            where=text,
            fix="a stack name starts with a letter and holds only letters, digits and "
            "hyphens (at most 128): -t NAME=PATH, e.g. -t network=vpc.yml",
        )
    if not path:
        raise TemplateError(
            f"stack {name!r} has no template path", where=text, fix="write -t NAME=PATH"
        )
    return StackInput(Path(path), name)


def as_stack_inputs(stacks: Path | Sequence[StackInput]) -> list[StackInput]:
    """A single root template's path, as internal callers and tests pass it, or the
    inputs themselves."""
    return [StackInput(stacks)] if isinstance(stacks, Path) else list(stacks)


def parse_stack_inputs(texts: Sequence[str | Path]) -> list[StackInput]:
    """Each argument parsed; one stack name given twice is bad input, since two stacks
    of one account and region cannot share a name."""
    inputs = [parse_stack_input(text) for text in texts]
    seen: dict[str, StackInput] = {}
    for item in inputs:
        if item.name is None:
            continue
        if item.name in seen:
            raise TemplateError(
                f"two stacks are named {item.name!r}",
                where=f"{seen[item.name].path} and {item.path}",
                fix="give each -t NAME=PATH its own NAME",
            )
        seen[item.name] = item
    return inputs
