"""The AWS back-end's --json results as typed documents, and how a failed deploy ends:
exit 1, the failure on stdout as JSON when asked, its explanation on stderr once."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fargate_api import cli
from fargate_api.aws import commands
from fargate_api.aws.cfn import StackEvent
from fargate_api.aws.deploy import Deployer, DeployFailedError, DeployStoppedError
from fargate_api.aws.ecs_diagnostics import Signal
from fargate_api.aws.results import DeployFailure, StackStatus
from fargate_api.aws.root_cause import RootCause
from fargate_api.aws.stacks import StackPlan
from unit.aws.support import stubbed

CAUSE = RootCause(
    StackEvent(
        event_id="e1",
        stack_name="prod-service",
        physical_id="",
        logical_id="Service",
        resource_type="AWS::ECS::Service",
        status="UPDATE_FAILED",
        reason="Resource handler returned message: circuit breaker",
        timestamp=datetime(2026, 12, 1, tzinfo=UTC),
    ),
    hint="look at the stopped tasks",
)


def _main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["fargate-api", *args])
    with pytest.raises(SystemExit) as done:
        cli.main()
    return int(done.value.code or 0)


def _failing(error: Exception, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)

    def deploy(self: Deployer, plan: StackPlan, supply: object = None) -> None:
        raise error

    monkeypatch.setattr(Deployer, "deploy", deploy)


def test_a_failed_deploy_exits_1_with_json_on_stdout_and_the_cause_once_on_stderr(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failure = DeployFailedError(
        "prod-service",
        "UPDATE_ROLLBACK_COMPLETE",
        CAUSE,
        [Signal("stopped-task", "task 1234 stopped: exit 1")],
        "CloudFormation rolled back to the previous version; fix the cause and deploy again",
    )
    _failing(failure, monkeypatch, tmp_path)
    with stubbed() as s:
        monkeypatch.setattr(commands, "connect", lambda target: s.clients)
        code = _main(monkeypatch, "deploy", "--yes", "--stack-name", "prod", "--json")
    out, err = capsys.readouterr()
    assert code == 1
    printed = DeployFailure.model_validate_json(out)
    assert printed.ok is False and printed.stack == "prod-service"
    assert printed.root_cause is not None and printed.root_cause.logical_id == "Service"
    assert printed.ecs == ["task 1234 stopped: exit 1"]
    assert err.count("deploy failed: prod-service UPDATE_ROLLBACK_COMPLETE") == 1, err
    assert err.count("error:") == 1 and "root cause: prod-service: Service" in err, err
    assert "hint: look at the stopped tasks" in err and "rolled back" in err


def test_a_deploy_the_user_stopped_exits_1_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _failing(DeployStoppedError("nothing changed in prod-vpc"), monkeypatch, tmp_path)
    with stubbed() as s:
        monkeypatch.setattr(commands, "connect", lambda target: s.clients)
        code = _main(monkeypatch, "deploy", "--stack-name", "prod")
    _, err = capsys.readouterr()
    assert code == 1
    assert err.count("stopped: nothing changed in prod-vpc") == 1, err


def test_a_stack_that_is_not_deployed_has_no_reason_key() -> None:
    missing = StackStatus(name="prod-vpc", role="vpc", status=None, outputs={})
    deployed = StackStatus(name="prod-vpc", role="vpc", status="CREATE_COMPLETE", outputs={})
    assert json.loads(missing.model_dump_json()) == {
        "name": "prod-vpc",
        "role": "vpc",
        "status": None,
        "outputs": {},
    }
    assert json.loads(deployed.model_dump_json())["reason"] is None
