"""Small pure pieces: durations, ECS ARNs and stopped-task wording, summaries."""

from __future__ import annotations

import pytest

from fargate_api.aws.ecs_diagnostics import ServiceRef, service_from_arn, stopped_task_message
from fargate_api.aws.logs import parse_since
from fargate_api.aws.summary import endpoint_summary
from fargate_api.errors import UserError


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("1h30m", 5400)]
)
def test_since_durations(text: str, seconds: float) -> None:
    assert parse_since(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "ten minutes", "5y", "10m x"])
def test_bad_since_is_a_user_error(text: str) -> None:
    with pytest.raises(UserError, match="not a duration"):
        parse_since(text)


def test_service_arns_new_and_old_format() -> None:
    new = "arn:aws:ecs:eu-west-1:123456789012:service/my-cluster/web"
    old = "arn:aws:ecs:eu-west-1:123456789012:service/web"
    assert service_from_arn(new) == ServiceRef("my-cluster", "web")
    assert service_from_arn(old, "c1") == ServiceRef("c1", "web")
    assert service_from_arn(old) is None
    assert service_from_arn("web") is None


def test_stopped_task_message_is_stable_across_task_ids() -> None:
    def task(n: str) -> dict[str, object]:
        return {
            "taskArn": f"arn:aws:ecs:eu-west-1:1:task/c/{n * 32}",
            "stoppedReason": "Task failed ELB health checks in (target-group arn:tg/abc)",
            "containers": [{"name": "web", "exitCode": 137}],
        }

    first, key1 = stopped_task_message(task("a"))
    second, key2 = stopped_task_message(task("b"))
    assert first.startswith("task aaaaaaaa stopped: Task failed ELB health checks")
    assert "web exited with code 137" in first
    assert key1 == key2 and first != second


def test_endpoint_summary_reads_outputs_by_name() -> None:
    summary = endpoint_summary(
        {
            "vpc": {"NatEgressIps": "203.0.113.1,203.0.113.2"},
            "service": {"ServiceUrl": "http://lb", "LogGroupName": "g"},
        }
    )
    assert summary.url == "http://lb"
    assert summary.egress_ips == ["203.0.113.1", "203.0.113.2"]
    assert summary.log_group == "g"
    assert endpoint_summary({}).egress_ips == []
