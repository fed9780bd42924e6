"""FA504: no privileged containers.

Privileged gives the container the host's devices and capabilities; Fargate refuses it,
and on EC2 it is a container escape waiting to happen.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.props import as_bool, get
from fargate_api.templates.topology import TASK_DEFINITION, containers


class PrivilegedContainer(Rule):
    meta = RuleMeta(
        id="FA504",
        name="privileged-container",
        severity=Severity.ERROR,
        title="A container runs privileged",
        why="A privileged container has nearly all the host's capabilities and devices; "
        "Fargate rejects the task definition, and on EC2 it is root on the host.",
        fix="Remove Privileged, and add only the specific Linux capabilities the app needs.",
        references=References(fsbp=("ECS.4",)),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for task in ctx.resources(TASK_DEFINITION):
            for index, container in containers(task):
                if as_bool(get(container, "Privileged")):
                    yield self.finding(
                        task,
                        f"container {get(container, 'Name')} is privileged",
                        ("Properties", "ContainerDefinitions", index, "Privileged"),
                    )


RULE = PrivilegedContainer()
