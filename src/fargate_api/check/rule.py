"""The contract of a rule plugin: metadata plus a check over the whole stack set.

Rules see every stack at once because the pattern's rules cross resources and stacks
(the service in one template, its subnets' routes in another).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from fargate_api.check.findings import Finding, Location, RuleMeta
from fargate_api.templates import PropertyPath, Resource

if TYPE_CHECKING:
    from fargate_api.check.context import CheckContext


class Rule(ABC):
    meta: ClassVar[RuleMeta]

    @abstractmethod
    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        """Yields one finding per problem; silent when a value it needs is unknown."""

    def finding(self, resource: Resource, message: str, path: PropertyPath = ()) -> Finding:
        return Finding(
            rule_id=self.meta.id,
            severity=self.meta.severity,
            message=message,
            location=locate(resource, path),
            source=self.meta.source,
        )


def locate(resource: Resource, path: PropertyPath = ()) -> Location:
    return Location(
        file=resource.file.display,
        line=resource.line_of(path) or resource.line,
        stack=resource.stack,
        resource=resource.logical_id,
        path=path,
    )
