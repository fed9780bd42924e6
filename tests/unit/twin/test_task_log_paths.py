"""Where a task's container logs go: one file per awslogs stream (twin/ecs/task_process.py).

Pure path arithmetic, moved out of the twin tier (tests/twin/test_task_process.py runs
the processes themselves, as root, in network namespaces).
"""

from __future__ import annotations

from pathlib import Path

from fargate_api.twin.ecs.task_process import log_stream_path
from fargate_api.twin.plan.model import LogTarget
from unit.twin.task_definitions import TASK_ID, container


def test_log_stream_path_follows_the_awslogs_stream_name(tmp_path: Path) -> None:
    with_prefix = container(LogTarget("/ecs/fa-demo", "web"), name="api")
    assert log_stream_path(tmp_path, with_prefix, TASK_ID) == (
        tmp_path / "ecs" / "fa-demo" / "web" / "api" / TASK_ID
    )
    without_prefix = container(LogTarget("/ecs/fa-demo", None), name="api")
    assert log_stream_path(tmp_path, without_prefix, TASK_ID) == (
        tmp_path / "ecs" / "fa-demo" / TASK_ID
    )
    no_config = container(None, name="api")
    assert log_stream_path(tmp_path, no_config, TASK_ID) == (
        tmp_path / "_no_log_config" / "api" / TASK_ID
    )


def test_log_stream_path_stays_under_the_logs_folder(tmp_path: Path) -> None:
    sneaky = container(LogTarget("/../../etc", "../x"), name="api")
    path = log_stream_path(tmp_path, sneaky, TASK_ID)
    assert path.resolve().is_relative_to(tmp_path)
    assert ".." not in path.parts
