"""The exports of a set of top-level stacks, and the errors CloudFormation would give.

CloudFormation refuses, at deploy time, an `Fn::ImportValue` of a name no stack in the
region exports, a second stack exporting a name already exported, and (by construction)
an import cycle: a stack cannot be created before the stack it imports from exists. The
loader raises the same three as bad input with file:line, before anything is deployed
or built, instead of leaving a value unresolved that would run wrong later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fargate_api.templates.errors import TemplateError


@dataclass(frozen=True)
class Export:
    name: str
    stack: str  # the key of the top-level stack that exports it
    output: str
    where: str  # file:line of the Export's Name


class ExportIndex:
    """Export name -> the output that carries it, one stack per name."""

    def __init__(self) -> None:
        self._exports: dict[str, Export] = {}

    def add(self, export: Export) -> None:
        first = self._exports.get(export.name)
        if first is not None:
            raise TemplateError(
                f"export {export.name!r} is exported twice: by output {first.output} "
                f"({first.where}) and by output {export.output}",
                where=export.where,
                fix="an export name is unique in an account and region: rename one "
                "(export names are often built from ${AWS::StackName}: give the stacks "
                "different names with -t NAME=PATH)",
            )
        self._exports[export.name] = export

    def get(self, name: str) -> Export | None:
        return self._exports.get(name)

    def names(self) -> list[str]:
        return sorted(self._exports)


def missing_export(name: str, where: str, index: ExportIndex) -> TemplateError:
    known = index.names()
    shown = ", ".join(known[:12]) + (" …" if len(known) > 12 else "") if known else "none"
    return TemplateError(
        f"Fn::ImportValue {name!r}: none of the given stacks exports it",
        where=where,
        fix=f"pass the stack that exports it too (-t NAME=PATH; NAME is its stack name, "
        f"which ${{AWS::StackName}} in an export name gives). Exported: {shown}",
    )


def import_cycle(cycle: Sequence[tuple[str, str, str]]) -> TemplateError:
    """`cycle`: (where the import stands, export name, the exporting stack's file) steps,
    the last exporter being the first importer."""
    steps = "; ".join(
        f"{importer} imports {name!r} from {exporter}" for importer, name, exporter in cycle
    )
    return TemplateError(
        f"an import cycle between top-level stacks: {steps}",
        where=cycle[-1][0],
        fix="a stack can only import from a stack created before it: move the shared "
        "resource into one stack, or pass the value as a parameter",
    )
