"""`fargate-api rollback` on Stubber sequences shaped after AWS's documented responses:
the command as users run it (exit code, stdout, stderr), with botocore's model checking
every request and response, and a fake clock for the waits.

StopServiceDeployment's answers (and ECS's reasons' wording) are modelled on the API
reference; they are unverified against a real account.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from fargate_api import cli
from fargate_api.aws import commands
from fargate_api.aws.results import RollbackResult
from fargate_api.aws.stacks import StackPlan
from unit.aws.support import (
    ALARM_5XX,
    CLUSTER,
    IN_PROGRESS_FILTER,
    SERVICE_ARN,
    SERVICE_SPEC_RESOURCES,
    FakeClock,
    Stubs,
    deployment_arn,
    deployments_page,
    describe_stacks,
    expect_described,
    expect_in_progress,
    revision,
    service_deployment,
    spec,
    stubbed,
)

PLAN = StackPlan(
    base="shop",
    stacks=[
        spec("cluster", {"ECSCluster": "AWS::ECS::Cluster"}),
        spec("service", SERVICE_SPEC_RESOURCES),
    ],
)
SD = "NCWGC2ZR-taawPAYrIaU5"
ARN = deployment_arn(SD)


def _canary(status: str, **extra: Any) -> dict[str, Any]:
    return service_deployment(SD, status, strategy="CANARY", created=1, **extra)


SHIFTING = _canary(
    "IN_PROGRESS",
    stage="PRODUCTION_TRAFFIC_SHIFT",
    target=revision(2, production=5.0),
    sources=(revision(1, production=95.0),),
    alarms=("MONITORING", []),
)
BY_USER = "Service deployment rolled back because of a user request."


def _rolling_back(status: str, minute: int, **extra: Any) -> dict[str, Any]:
    extra.setdefault("alarms", ("MONITORING", []))
    return _canary(
        status,
        stage="PRODUCTION_TRAFFIC_SHIFT",
        target=revision(2, production=0.0, running=2 if status != "ROLLBACK_SUCCESSFUL" else 0),
        sources=(revision(1, production=100.0),),
        rollback=(BY_USER, 1),
        minute=minute,
        **extra,
    )


def _stacks(s: Stubs, *, service_outputs: dict[str, str] | None = None) -> None:
    s.cfn.add_response(
        "describe_stacks",
        describe_stacks(
            "shop-cluster", "CREATE_COMPLETE", role="cluster", outputs={"ClusterName": CLUSTER}
        ),
    )
    s.cfn.add_response(
        "describe_stacks",
        describe_stacks(
            "shop-service",
            "UPDATE_IN_PROGRESS",
            outputs={"ServiceArn": SERVICE_ARN} if service_outputs is None else service_outputs,
        ),
    )


def _stop(s: Stubs) -> None:
    s.ecs.add_response(
        "stop_service_deployment",
        {"serviceDeploymentArn": ARN},
        {"serviceDeploymentArn": ARN, "stopType": "ROLLBACK"},
    )


def _run(
    monkeypatch: pytest.MonkeyPatch,
    s: Stubs,
    *args: str,
    clock: FakeClock | None = None,
) -> int:
    monkeypatch.setattr(commands, "connect", lambda target: s.clients)
    monkeypatch.setattr(commands, "load_plan", lambda config, templates, name: PLAN)
    monkeypatch.setattr(commands, "SystemClock", lambda: clock or FakeClock())
    monkeypatch.setattr(sys, "argv", ["fargate-api", "rollback", "--stack-name", "shop", *args])
    with pytest.raises(SystemExit) as done:
        cli.main()
    return int(done.value.code or 0)


@pytest.fixture(autouse=True)
def _in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("as_json", [False, True])
def test_rollback_stops_the_deployment_in_progress_and_follows_it_to_the_end(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    clock = FakeClock()
    with stubbed() as s:
        _stacks(s)
        expect_in_progress(s, SHIFTING)
        expect_described(s, SHIFTING)
        _stop(s)
        expect_described(s, _rolling_back("ROLLBACK_REQUESTED", 5))
        expect_described(s, _rolling_back("ROLLBACK_IN_PROGRESS", 5))
        expect_described(s, _rolling_back("ROLLBACK_IN_PROGRESS", 6))  # same phase: once
        expect_described(s, _rolling_back("ROLLBACK_SUCCESSFUL", 7))
        code = _run(monkeypatch, s, *(["--json"] if as_json else []), clock=clock)
        s.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert code == 0, err
    assert clock.sleeps == 4  # one poll per sleep, no busy loop
    assert (
        f"rolling back service deployment {SD} of web (it was at PRODUCTION_TRAFFIC_SHIFT: "
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
        assert out.strip() == f"rolled back: web service deployment {SD} ROLLBACK_SUCCESSFUL"


def test_no_wait_asks_once_and_reports_what_ecs_says_then(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    with stubbed() as s:
        _stacks(s)
        expect_in_progress(s, SHIFTING)
        expect_described(s, SHIFTING)
        _stop(s)
        expect_described(s, _rolling_back("ROLLBACK_REQUESTED", 5))
        code = _run(monkeypatch, s, "--no-wait", clock=clock)
        s.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert code == 0, err
    assert clock.sleeps == 0
    assert out.strip() == f"rollback requested: web service deployment {SD} ROLLBACK_REQUESTED"


def test_a_deployment_already_rolling_back_is_followed_not_stopped_again(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    by_alarm = {"alarms": ("TRIGGERED", [ALARM_5XX])}
    with stubbed() as s:
        _stacks(s)
        rolling = _rolling_back("ROLLBACK_IN_PROGRESS", 5, **by_alarm)
        expect_in_progress(s, rolling)
        expect_described(s, rolling)
        expect_described(s, _rolling_back("ROLLBACK_SUCCESSFUL", 7, **by_alarm))
        code = _run(monkeypatch, s, "--json")  # no stop_service_deployment is stubbed
        s.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"ECS is already rolling back service deployment {SD} of web" in err
    assert f"alarm {ALARM_5XX} triggered" in err
    result = RollbackResult.model_validate_json(out)
    assert result.ok and not result.requested and result.status == "ROLLBACK_SUCCESSFUL"


def test_nothing_in_progress_exits_2_with_one_message_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    finished = service_deployment(SD, "SUCCESSFUL", created=1, minute=20)
    older = service_deployment("older", "SUCCESSFUL", created=0, minute=9)
    with stubbed() as s:
        _stacks(s)
        expect_in_progress(s)
        s.ecs.add_response(
            "list_service_deployments",
            deployments_page(older, finished),
            {"cluster": CLUSTER, "service": "web"},
        )
        code = _run(monkeypatch, s, "--json")
        s.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("error: no service deployment of web is in progress: nothing to roll")
    assert err.count("error:") == 1 and "\n  fix: " in err
    assert f"the latest, {SD}, ended SUCCESSFUL at 2026-11-25 10:20:00 UTC" in err
    assert "fargate-api deploy" in err


def test_a_service_never_deployed_says_deploy_first(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with stubbed() as s:
        _stacks(s)
        expect_in_progress(s)
        s.ecs.add_response("list_service_deployments", {"serviceDeployments": []})
        code = _run(monkeypatch, s)
        s.assert_no_pending_responses()
    _, err = capsys.readouterr()
    assert code == 2 and "fix: deploy first" in err


def test_stacks_without_a_service_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with stubbed() as s:
        _stacks(s, service_outputs={})
        code = _run(monkeypatch, s)
        s.assert_no_pending_responses()
    _, err = capsys.readouterr()
    assert code == 2 and "export no ServiceArn" in err and err.count("error:") == 1


def test_rollback_failed_exits_1_with_the_result_on_stdout_and_the_reason_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reason = "Service deployment rollback failed: tasks of the previous revision failed to start."
    with stubbed() as s:
        _stacks(s)
        expect_in_progress(s, SHIFTING)
        expect_described(s, SHIFTING)
        _stop(s)
        expect_described(s, _rolling_back("ROLLBACK_IN_PROGRESS", 5))
        expect_described(s, _rolling_back("ROLLBACK_FAILED", 9, reason=reason))
        code = _run(monkeypatch, s, "--json")
        s.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert code == 1
    result = RollbackResult.model_validate_json(out)
    assert not result.ok and result.status == "ROLLBACK_FAILED" and result.requested
    assert err.count("error:") == 1
    assert f"error: rollback of service deployment {SD} ended ROLLBACK_FAILED: {reason}" in err
    assert "fix: the service runs what ECS left running" in err


def test_access_denied_to_stop_exits_2_and_names_the_permission(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with stubbed() as s:
        _stacks(s)
        expect_in_progress(s, SHIFTING)
        expect_described(s, SHIFTING)
        s.ecs.add_client_error(
            "stop_service_deployment",
            service_error_code="AccessDeniedException",
            service_message="User: arn:aws:iam::123456789012:user/ci is not authorized to "
            "perform: ecs:StopServiceDeployment on resource: " + ARN,
            http_status_code=400,
            expected_params={"serviceDeploymentArn": ARN, "stopType": "ROLLBACK"},
        )
        code = _run(monkeypatch, s)
        s.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("error: not allowed to call ecs:StopServiceDeployment: User:")
    assert err.count("error:") == 1
    assert "fix: allow ecs:ListServiceDeployments, ecs:DescribeServiceDeployments and" in err


def test_a_stop_ecs_refuses_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with stubbed() as s:
        _stacks(s)
        expect_in_progress(s, SHIFTING)
        expect_described(s, SHIFTING)
        s.ecs.add_client_error(
            "stop_service_deployment",
            service_error_code="ConflictException",
            service_message="The service deployment is not in a state that can be stopped.",
            http_status_code=400,
        )
        code = _run(monkeypatch, s)
        s.assert_no_pending_responses()
    _, err = capsys.readouterr()
    assert code == 1
    assert "ECS refused StopServiceDeployment (ConflictException)" in err
    assert "fargate-api status" in err


def test_an_endpoint_without_service_deployments_exits_1_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with stubbed() as s:
        _stacks(s)
        s.ecs.add_client_error(
            "list_service_deployments",
            service_error_code="500",
            service_message="<!doctype html>\n<title>500 Internal Server Error</title>\n",
            http_status_code=500,
            expected_params={"cluster": CLUSTER, "service": "web", "status": IN_PROGRESS_FILTER},
        )
        code = _run(monkeypatch, s)
        s.assert_no_pending_responses()
    _, err = capsys.readouterr()
    assert code == 1
    assert err.startswith(
        "error: the endpoint does not implement ListServiceDeployments (HTTP 500)"
    )
    assert "<!doctype" not in err and err.count("error:") == 1


def test_a_throttled_wait_poll_is_skipped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with stubbed() as s:
        _stacks(s)
        expect_in_progress(s, SHIFTING)
        expect_described(s, SHIFTING)
        _stop(s)
        s.ecs.add_client_error(
            "describe_service_deployments",
            service_error_code="ThrottlingException",
            service_message="Rate exceeded",
            http_status_code=400,
        )
        expect_described(s, _rolling_back("ROLLBACK_SUCCESSFUL", 7))
        code = _run(monkeypatch, s)
        s.assert_no_pending_responses()
    _, err = capsys.readouterr()
    assert code == 0, err


def test_ctrl_c_while_waiting_leaves_the_rollback_running_and_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with stubbed() as s:
        _stacks(s)
        expect_in_progress(s, SHIFTING)
        expect_described(s, SHIFTING)
        _stop(s)
        code = _run(monkeypatch, s, clock=FakeClock(interrupt_at={1}))
        s.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert code == 130 and out == ""
    assert "the rollback goes on in AWS; 'fargate-api status' shows where it is" in err


def test_a_throttled_first_look_is_asked_again_with_full_retries(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with stubbed() as s:
        _stacks(s)
        s.ecs.add_client_error(
            "list_service_deployments",
            service_error_code="ThrottlingException",
            service_message="Rate exceeded",
            http_status_code=400,
        )
        expect_in_progress(s)
        s.ecs.add_response("list_service_deployments", {"serviceDeployments": []})
        code = _run(monkeypatch, s)
        s.assert_no_pending_responses()
    _, err = capsys.readouterr()
    assert code == 2 and "nothing to roll back" in err, err
