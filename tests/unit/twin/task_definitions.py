"""A container of a task definition, as the twin's plan holds it: the one the task-process
tests (unit: log paths; twin tier: processes in namespaces) both build."""

from __future__ import annotations

from fargate_api.twin.plan.model import Container, LogTarget

TASK_ID = "0123456789abcdef0123456789abcdef"


def container(log: LogTarget | None, name: str = "app") -> Container:
    return Container(
        name=name,
        image="example/app:1",
        command=None,
        environment={},
        port=None,
        essential=True,
        stop_timeout=30,
        log=log,
    )
