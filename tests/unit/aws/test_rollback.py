"""`fargate-api rollback` on Stubber sequences shaped after AWS's documented responses:
the command as users run it (exit code, stdout, stderr), with botocore's model checking
every request and response, and a fake clock for the waits.

StopServiceDeployment's answers (and ECS's reasons' wording) are modelled on the API
reference; they are unverified against a real account.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fargate_api.aws.results import RollbackResult
from fargate_api.aws.stacks import StackPlan
from unit.aws.support import (
    ALARM_5XX,
    CANARY,
    CLUSTER,
    IN_PROGRESS_FILTER,
    SERVICE_SPEC_RESOURCES,
    Cli,
    FakeClock,
    Stubs,
    deployment_arn,
    expect_described,
    expect_in_progress,
    expect_listed,
    expect_service_stacks,
    not_implemented,
    rolling_back,
    service_deployment,
    shifting,
    spec,
    stubbed,
    throttled,
)

PLAN = StackPlan(
    base="shop",
    stacks=[
        spec("cluster", {"ECSCluster": "AWS::ECS::Cluster"}),
        spec("service", SERVICE_SPEC_RESOURCES),
    ],
)
ARN = deployment_arn(CANARY)
SHIFTING = shifting()
BY_USER = "Service deployment rolled back because of a user request."


def _rolling_back(status: str, minute: int, **extra: Any) -> dict[str, Any]:
    return rolling_back(status, minute, BY_USER, **extra)


def _shifting_found(s: Stubs) -> None:
    """The stacks name the service; ECS lists SHIFTING as in progress, then describes it."""
    expect_service_stacks(s)
    expect_in_progress(s, SHIFTING)
    expect_described(s, SHIFTING)


STOP = {"serviceDeploymentArn": ARN, "stopType": "ROLLBACK"}


def _stop(s: Stubs) -> None:
    s.ecs.add_response("stop_service_deployment", {"serviceDeploymentArn": ARN}, STOP)


def _stop_refused(s: Stubs, code: str, message: str) -> None:
    s.ecs.add_client_error(
        "stop_service_deployment",
        service_error_code=code,
        service_message=message,
        http_status_code=400,
        expected_params=STOP,
    )


@pytest.fixture
def rollback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Cli:
    monkeypatch.chdir(tmp_path)
    return Cli(monkeypatch, capsys, PLAN, ("rollback", "--stack-name", "shop"))


@pytest.mark.parametrize("as_json", [False, True])
def test_rollback_stops_the_deployment_in_progress_and_follows_it_to_the_end(
    rollback: Cli, as_json: bool
) -> None:
    clock = FakeClock()
    with stubbed() as s:
        _shifting_found(s)
        _stop(s)
        expect_described(s, _rolling_back("ROLLBACK_REQUESTED", 5))
        expect_described(s, _rolling_back("ROLLBACK_IN_PROGRESS", 5))
        expect_described(s, _rolling_back("ROLLBACK_IN_PROGRESS", 6))  # same phase: once
        expect_described(s, _rolling_back("ROLLBACK_SUCCESSFUL", 7))
        code, out, err = rollback.run(s, *(["--json"] if as_json else []), clock=clock)
    assert code == 0, err
    assert clock.sleeps == 4  # one poll per sleep, no busy loop
    assert (
        f"rolling back service deployment {CANARY} of web (it was at PRODUCTION_TRAFFIC_SHIFT: "
        "5% of production traffic on the new revision)" in err
    )
    rollback_lines = [line.strip() for line in err.splitlines() if "rollback:" in line]
    assert rollback_lines == [
        f"rollback: ROLLBACK_REQUESTED: {BY_USER}",
        f"rollback: ROLLBACK_IN_PROGRESS: {BY_USER}",
        f"rollback: ROLLBACK_SUCCESSFUL: back on revision 1 ({BY_USER})",
    ]
    if as_json:
        result = RollbackResult.model_validate_json(out)
        assert result.ok and result.requested and result.waited
        assert result.status == "ROLLBACK_SUCCESSFUL"
        assert (result.cluster, result.service) == (CLUSTER, "web")
        assert result.service_deployment_arn == ARN
        assert result.deployment.rollback is not None
    else:
        assert out.strip() == f"rolled back: web service deployment {CANARY} ROLLBACK_SUCCESSFUL"


def test_no_wait_asks_once_and_reports_what_ecs_says_then(rollback: Cli) -> None:
    clock = FakeClock()
    with stubbed() as s:
        _shifting_found(s)
        _stop(s)
        expect_described(s, _rolling_back("ROLLBACK_REQUESTED", 5))
        code, out, err = rollback.run(s, "--no-wait", clock=clock)
    assert code == 0, err
    assert clock.sleeps == 0
    assert out.strip() == f"rollback requested: web service deployment {CANARY} ROLLBACK_REQUESTED"


def test_a_deployment_already_rolling_back_is_followed_not_stopped_again(rollback: Cli) -> None:
    by_alarm = {"alarms": ("TRIGGERED", [ALARM_5XX])}
    with stubbed() as s:
        expect_service_stacks(s)
        rolling = _rolling_back("ROLLBACK_IN_PROGRESS", 5, **by_alarm)
        expect_in_progress(s, rolling)
        expect_described(s, rolling)
        expect_described(s, _rolling_back("ROLLBACK_SUCCESSFUL", 7, **by_alarm))
        code, out, err = rollback.run(s, "--json")  # no stop_service_deployment is stubbed
    assert code == 0, err
    assert f"ECS is already rolling back service deployment {CANARY} of web" in err
    assert f"alarm {ALARM_5XX} triggered" in err
    result = RollbackResult.model_validate_json(out)
    assert result.ok and not result.requested and result.status == "ROLLBACK_SUCCESSFUL"


def test_nothing_in_progress_exits_2_with_one_message_and_the_fix(rollback: Cli) -> None:
    finished = service_deployment(CANARY, "SUCCESSFUL", created=1, minute=20)
    older = service_deployment("older", "SUCCESSFUL", created=0, minute=9)
    with stubbed() as s:
        expect_service_stacks(s)
        expect_in_progress(s)
        expect_listed(s, older, finished)
        code, out, err = rollback.run(s, "--json")
    assert code == 2
    assert out == ""
    assert err.startswith("error: no service deployment of web is in progress: nothing to roll")
    assert err.count("error:") == 1 and "\n  fix: " in err
    assert f"the latest, {CANARY}, ended SUCCESSFUL at 2026-11-25 10:20:00 UTC" in err
    assert "fargate-api deploy" in err


def test_a_service_never_deployed_says_deploy_first(rollback: Cli) -> None:
    with stubbed() as s:
        expect_service_stacks(s)
        expect_in_progress(s)
        expect_listed(s)
        code, _, err = rollback.run(s)
    assert code == 2 and "fix: deploy first" in err


def test_stacks_without_a_service_exit_2(rollback: Cli) -> None:
    with stubbed() as s:
        expect_service_stacks(s, service_outputs={})
        code, _, err = rollback.run(s)
    assert code == 2 and "shop-service exports no ServiceArn" in err and err.count("error:") == 1


def test_rollback_failed_exits_1_with_the_result_on_stdout_and_the_reason_once(
    rollback: Cli,
) -> None:
    reason = "Service deployment rollback failed: tasks of the previous revision failed to start."
    with stubbed() as s:
        _shifting_found(s)
        _stop(s)
        expect_described(s, _rolling_back("ROLLBACK_IN_PROGRESS", 5))
        expect_described(s, _rolling_back("ROLLBACK_FAILED", 9, reason=reason))
        code, out, err = rollback.run(s, "--json")
    assert code == 1
    result = RollbackResult.model_validate_json(out)
    assert not result.ok and result.status == "ROLLBACK_FAILED" and result.requested
    assert err.count("error:") == 1
    assert f"error: rollback of service deployment {CANARY} ended ROLLBACK_FAILED: {reason}" in err
    assert "fix: the service runs what ECS left running" in err


def test_access_denied_to_stop_exits_2_and_names_the_permission(rollback: Cli) -> None:
    with stubbed() as s:
        _shifting_found(s)
        _stop_refused(
            s,
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
            "ecs:StopServiceDeployment on resource: " + ARN,
        )
        code, out, err = rollback.run(s)
    assert code == 2 and out == ""
    assert err.startswith("error: not allowed to call ecs:StopServiceDeployment: User:")
    assert err.count("error:") == 1
    assert "fix: allow ecs:ListServiceDeployments, ecs:DescribeServiceDeployments and" in err


def test_a_stop_ecs_refuses_exits_1(rollback: Cli) -> None:
    with stubbed() as s:
        _shifting_found(s)
        _stop_refused(
            s, "ConflictException", "The service deployment is not in a state that can be stopped."
        )
        code, _, err = rollback.run(s)
    assert code == 1
    assert "ECS refused StopServiceDeployment (ConflictException)" in err
    assert "fargate-api status" in err


def test_an_endpoint_without_service_deployments_exits_1_and_says_so(rollback: Cli) -> None:
    with stubbed() as s:
        expect_service_stacks(s)
        not_implemented(
            s.ecs,
            "list_service_deployments",
            {"cluster": CLUSTER, "service": "web", "status": IN_PROGRESS_FILTER},
        )
        code, _, err = rollback.run(s)
    assert code == 1
    assert err.startswith(
        "error: the endpoint does not implement ListServiceDeployments (HTTP 500)"
    )
    assert "<!doctype" not in err and err.count("error:") == 1


def test_a_throttled_wait_poll_is_skipped(rollback: Cli) -> None:
    with stubbed() as s:
        _shifting_found(s)
        _stop(s)
        throttled(s.ecs, "describe_service_deployments")
        expect_described(s, _rolling_back("ROLLBACK_SUCCESSFUL", 7))
        code, _, err = rollback.run(s)
    assert code == 0, err


def test_ctrl_c_while_waiting_leaves_the_rollback_running_and_exits_130(rollback: Cli) -> None:
    with stubbed() as s:
        _shifting_found(s)
        _stop(s)
        code, out, err = rollback.run(s, clock=FakeClock(interrupt_at={1}))
    assert code == 130 and out == ""
    assert "the rollback goes on in AWS; 'fargate-api status' shows where it is" in err


def test_a_throttled_first_look_is_asked_again_with_full_retries(rollback: Cli) -> None:
    with stubbed() as s:
        expect_service_stacks(s)
        throttled(s.ecs, "list_service_deployments")
        expect_in_progress(s)
        expect_listed(s)
        code, _, err = rollback.run(s)
    assert code == 2 and "nothing to roll back" in err, err
