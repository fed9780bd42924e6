"""FA503: containers get a read-only root filesystem.

An attacker who gets code execution cannot then drop tools or modify the application on
disk; the app writes only to the volumes it declares.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.props import as_bool, get
from fargate_api.templates.topology import TASK_DEFINITION, containers, is_windows

KEY = "ReadonlyRootFilesystem"


class WritableRootFilesystem(Rule):
    meta = RuleMeta(
        id="FA503",
        name="writable-root-filesystem",
        severity=Severity.WARNING,
        title="A container can write to its root filesystem",
        why="A writable root filesystem lets a compromised process change the application's "
        "own files and stage tools; read-only confines writes to declared volumes.",
        fix=f"Set {KEY}: true and mount a volume for the paths the app writes (e.g. /tmp).",
        references=References(fsbp=("ECS.5",)),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for task in ctx.resources(TASK_DEFINITION):
            if is_windows(task):
                continue
            for index, container in containers(task):
                value = get(container, KEY)
                if value is not None and as_bool(value) is None:
                    continue  # a parameter we cannot see
                if as_bool(value) is not True:
                    base = ("Properties", "ContainerDefinitions", index)
                    yield self.finding(
                        task,
                        f"container {get(container, 'Name')} has a writable root filesystem",
                        (*base, KEY) if value is not None else base,
                    )


RULE = WritableRootFilesystem()
