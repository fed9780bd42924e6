"""FA502: containers run as a non-root user.

A process running as root inside the container turns any code execution bug into root
in the task: it can read every file, rewrite the app and, with a writable root
filesystem, persist.
"""

from __future__ import annotations

from collections.abc import Iterator

from fargate_api.check.context import CheckContext
from fargate_api.check.findings import Finding, References, RuleMeta, Severity
from fargate_api.check.rule import Rule
from fargate_api.templates.props import get
from fargate_api.templates.topology import TASK_DEFINITION, containers, is_windows


def is_root(user: str) -> bool:
    name = user.split(":", 1)[0].strip()
    return name in ("root", "0")


class RootUser(Rule):
    meta = RuleMeta(
        id="FA502",
        name="container-runs-as-root",
        severity=Severity.WARNING,
        title="A container runs as root",
        why="Without a User, the container runs as the image's user, which is root for most "
        "images; an exploit in the application then has root inside the task.",
        fix="Set User to an unprivileged uid:gid (and build the image to run as that user).",
        references=References(aws_config=("ecs-task-definition-linux-user-non-root",)),
    )

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for task in ctx.resources(TASK_DEFINITION):
            if is_windows(task):
                continue
            for index, container in containers(task):
                user = get(container, "User")
                name = get(container, "Name")
                base = ("Properties", "ContainerDefinitions", index)
                if user is None:
                    yield self.finding(
                        task,
                        f"container {name} sets no User, so it runs as the image's user "
                        "(root for most images)",
                        base,
                    )
                elif isinstance(user, str) and is_root(user):
                    yield self.finding(task, f"container {name} runs as {user}", (*base, "User"))


RULE = RootUser()
