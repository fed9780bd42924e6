"""ECS service deployments: the typed reading, the phase line, and what deploy and status
show of them, on Stubber sequences shaped after AWS's documented responses.

The shapes are checked against botocore's ecs model by the Stubber (a wrong key or type
fails the test); the values (reasons' wording, the order ECS moves through its stages
in, what CloudFormation's event says when the alarms roll a deployment back) are
modelled on the API reference and the ECS guide, unverified against a real account.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from fargate_api.aws.deploy import Deployer, DeployFailedError, describe_failure
from fargate_api.aws.results import StatusResult
from fargate_api.aws.root_cause import ALARM_ROLLBACK_HINT
from fargate_api.aws.service_deployments import (
    alarm_rollback,
    phase_text,
    read_deployment,
    unavailable_reason,
)
from fargate_api.aws.stacks import StackPlan
from fargate_api.aws.status import read_status
from unit.aws.support import (
    ALARM_5XX,
    ALARM_P99,
    ALARM_UNHEALTHY,
    CANARY,
    CLUSTER,
    MOTO_500,
    SERVICE_ARN,
    SERVICE_SPEC_RESOURCES,
    T0,
    Cli,
    FakeClock,
    ScriptedPrompter,
    Stubs,
    canary,
    console,
    deployment_arn,
    describe_stacks,
    event,
    events_page,
    expect_described,
    expect_in_progress,
    expect_listed,
    expect_service_stacks,
    expect_until_execute,
    not_implemented,
    revision,
    revision_arn,
    rolling_back,
    service_deployment,
    shifting,
    spec,
    stubbed,
    throttled,
    watch,
)

NAME = "shop-service"
SERVICE = spec("service", SERVICE_SPEC_RESOURCES)
PLAN = StackPlan(
    base="shop",
    stacks=[spec("cluster", {"ECSCluster": "AWS::ECS::Cluster"}), SERVICE],
)
# CloudFormation's event when ECS rolls the service back: modelled on the circuit
# breaker's wording, which AWS documents; the alarm case's real wording is unverified.
ALARM_FAILURE = (
    "Resource handler returned message: \"Error occurred during operation 'ECS Deployment "
    "Alarms triggered a rollback'.\" (RequestToken: 3f1a, HandlerErrorCode: "
    'GeneralServiceException)"'
)
BY_ALARMS = "Service deployment rolled back because alarms triggered."
CFN_ROLLBACK = "Jk0wYVB9-qUE1xzFRvgiA"


# --- the reading and the phase line ----------------------------------------------------------


def _pause(status: str, *, until: int) -> dict[str, Any]:
    """A PAUSE lifecycle hook that expires `until` minutes after T0, then continues."""
    return {
        "hookId": "3f1a",
        "targetType": "PAUSE",
        "status": status,
        "expiresAt": T0 + timedelta(minutes=until),
        "timeoutAction": "CONTINUE",
    }


def test_every_documented_field_is_read() -> None:
    raw = service_deployment(
        CANARY,
        "ROLLBACK_IN_PROGRESS",
        stage="PRODUCTION_TRAFFIC_SHIFT",
        strategy="CANARY",
        target=revision(2, requested=2, running=1, pending=1, production=5.0, test=0.0),
        sources=(revision(1, requested=2, running=2, production=95.0, test=100.0),),
        alarms=("TRIGGERED", [ALARM_5XX]),
        breaker=("MONITORING", 0, 3),
        rollback=(BY_ALARMS, 1),
        reason=BY_ALARMS,
        hooks=(_pause("SUCCEEDED", until=5),),
        minute=7,
    )
    record = read_deployment(raw)
    assert record.arn == deployment_arn(CANARY)
    assert (record.service_arn, record.cluster_arn) == (SERVICE_ARN, raw["clusterArn"])
    assert record.status == "ROLLBACK_IN_PROGRESS"
    assert record.status_reason == BY_ALARMS
    assert (record.lifecycle_stage, record.strategy) == ("PRODUCTION_TRAFFIC_SHIFT", "CANARY")
    assert record.created_at == T0 and record.updated_at == T0 + timedelta(minutes=7)
    assert record.target is not None
    assert record.target.arn == revision_arn(2)
    assert (record.target.requested_tasks, record.target.running_tasks) == (2, 1)
    assert record.target.pending_tasks == 1
    assert record.target.production_traffic_percent == 5.0
    assert record.target.test_traffic_percent == 0.0
    assert [s.production_traffic_percent for s in record.sources] == [95.0]
    assert record.alarms is not None
    assert record.alarms.status == "TRIGGERED" and record.alarms.triggered == [ALARM_5XX]
    assert record.alarms.alarm_names == [ALARM_5XX, ALARM_UNHEALTHY, ALARM_P99]
    assert record.circuit_breaker is not None
    assert (record.circuit_breaker.failure_count, record.circuit_breaker.threshold) == (0, 3)
    assert record.rollback is not None
    assert record.rollback.service_revision_arn == revision_arn(1)
    assert [(h.target_type, h.status, h.timeout_action) for h in record.hooks] == [
        ("PAUSE", "SUCCEEDED", "CONTINUE")
    ]
    assert record.phase == f"ROLLBACK_IN_PROGRESS: alarm {ALARM_5XX} triggered"


def test_alarm_names_the_reference_says_are_comma_separated_are_split() -> None:
    raw = service_deployment("x", "ROLLBACK_IN_PROGRESS", alarms=("TRIGGERED", []))
    raw["alarms"]["triggeredAlarmNames"] = [f"{ALARM_5XX},{ALARM_P99}"]
    assert read_deployment(raw).phase == (
        f"ROLLBACK_IN_PROGRESS: alarms {ALARM_5XX}, {ALARM_P99} triggered"
    )


@pytest.mark.parametrize(
    ("raw", "phase"),
    [
        (
            service_deployment(
                "x",
                "IN_PROGRESS",
                stage="SCALE_UP",
                target=revision(2, requested=4, running=1, pending=3),
            ),
            "SCALE_UP: new revision 1/4 tasks running, 3 pending",
        ),
        (
            service_deployment(
                "x", "IN_PROGRESS", stage="TEST_TRAFFIC_SHIFT", target=revision(2, test=100.0)
            ),
            "TEST_TRAFFIC_SHIFT: 100% of test traffic on the new revision",
        ),
        (
            service_deployment(
                "x",
                "IN_PROGRESS",
                stage="PRODUCTION_TRAFFIC_SHIFT",
                target=revision(2, production=10.0),
            ),
            "PRODUCTION_TRAFFIC_SHIFT: 10% of production traffic on the new revision",
        ),
        (
            service_deployment(
                "x",
                "IN_PROGRESS",
                stage="PRODUCTION_TRAFFIC_SHIFT",
                target=revision(2, production=2.5),
                alarms=("TRIGGERED", [ALARM_P99]),
            ),
            "PRODUCTION_TRAFFIC_SHIFT: 2.5% of production traffic on the new revision; "
            f"alarm {ALARM_P99} triggered",
        ),
        (
            service_deployment("x", "IN_PROGRESS", stage="PRODUCTION_TRAFFIC_SHIFT"),
            "PRODUCTION_TRAFFIC_SHIFT: production traffic shifting to the new revision",
        ),
        (
            service_deployment("x", "IN_PROGRESS", stage="BAKE_TIME", alarms=("MONITORING", [])),
            "BAKE_TIME: production traffic on the new revision; the old revision is kept "
            "for a rollback until the bake time ends; 3 alarms watching",
        ),
        (
            service_deployment(
                "x",
                "IN_PROGRESS",
                stage="CLEAN_UP",
                sources=(revision(1, requested=0, running=1),),
            ),
            "CLEAN_UP: stopping the old revision (1 tasks left)",
        ),
        (
            service_deployment(
                "x",
                "ROLLBACK_IN_PROGRESS",
                breaker=("TRIGGERED", 3, 3),
                rollback=("Circuit breaker triggered", 1),
            ),
            "ROLLBACK_IN_PROGRESS: circuit breaker triggered (3 failed tasks, threshold 3)",
        ),
        (
            service_deployment(
                "x",
                "ROLLBACK_SUCCESSFUL",
                alarms=("TRIGGERED", [ALARM_5XX]),
                rollback=("alarms", 7),
            ),
            f"ROLLBACK_SUCCESSFUL: back on revision 7 (alarm {ALARM_5XX} triggered)",
        ),
        (
            service_deployment(
                "x",
                "ROLLBACK_FAILED",
                reason="Service deployment rollback failed: tasks failed to start.",
                rollback=("Rollback requested by the user.", 1),
            ),
            "ROLLBACK_FAILED: Service deployment rollback failed: tasks failed to start. "
            "(Rollback requested by the user.)",
        ),
        (
            service_deployment(
                "x", "SUCCESSFUL", strategy="CANARY", target=revision(2, production=100.0)
            ),
            "SUCCESSFUL: new revision 2/2 tasks running, 100% of production traffic",
        ),
        (
            service_deployment("x", "SUCCESSFUL", target=revision(2, production=100.0)),
            "SUCCESSFUL: new revision 2/2 tasks running",
        ),
        (
            service_deployment("x", "STOPPED", reason="Service deployment stopped by user."),
            "STOPPED: Service deployment stopped by user.",
        ),
        (service_deployment("x", "PENDING"), "PENDING"),
    ],
)
def test_the_phase_in_one_line(raw: dict[str, Any], phase: str) -> None:
    record = read_deployment(raw)
    assert record.phase == phase
    assert phase_text(record) == phase


def test_a_paused_stage_says_until_when_and_what_then() -> None:
    raw = service_deployment(
        "x",
        "IN_PROGRESS",
        stage="POST_TEST_TRAFFIC_SHIFT",
        strategy="BLUE_GREEN",
        target=revision(2, test=100.0, production=0.0),
        hooks=(_pause("AWAITING_ACTION", until=5),),
    )
    assert read_deployment(raw).phase == (
        "POST_TEST_TRAFFIC_SHIFT: 100% of test traffic on the new revision "
        "(paused until 10:05:00 UTC, then CONTINUE)"
    )


def test_only_an_alarm_rollback_is_named_as_one() -> None:
    by_alarm = read_deployment(
        service_deployment(CANARY, "ROLLBACK_SUCCESSFUL", alarms=("TRIGGERED", [ALARM_5XX]))
    )
    by_breaker = read_deployment(
        service_deployment("b", "ROLLBACK_SUCCESSFUL", breaker=("TRIGGERED", 3, 3))
    )
    watching = read_deployment(
        service_deployment("c", "IN_PROGRESS", alarms=("TRIGGERED", [ALARM_5XX]))
    )
    assert alarm_rollback([by_breaker, watching]) is None
    assert alarm_rollback([by_breaker, by_alarm]) == (
        f"ECS rolled back service deployment {CANARY}: alarm {ALARM_5XX} triggered"
    )


# --- deploy: the phases live, and an alarm rollback as the root cause ------------------------


UPDATING = events_page(
    event(NAME, 1, NAME, "UPDATE_IN_PROGRESS", "User Initiated"),
    event(
        NAME,
        2,
        "Service",
        "UPDATE_IN_PROGRESS",
        resource_type="AWS::ECS::Service",
        physical_id=SERVICE_ARN,
    ),
)


def _poll(s: Stubs, status: str = "UPDATE_IN_PROGRESS", page: Any = UPDATING) -> None:
    """One watch poll: the stack, its events, and ECS's quiet service (no stopped tasks)."""
    s.cfn.add_response("describe_stacks", describe_stacks(NAME, status))
    s.cfn.add_response("describe_stack_events", page)
    if status.endswith("_IN_PROGRESS"):
        s.ecs.add_response(
            "describe_services",
            {
                "services": [
                    {
                        "serviceArn": SERVICE_ARN,
                        "serviceName": "web",
                        "deployments": [{"id": "ecs-svc/1", "status": "PRIMARY"}],
                        "events": [],
                    }
                ],
                "failures": [],
            },
            {"cluster": CLUSTER, "services": ["web"]},
        )
        s.ecs.add_response("list_tasks", {"taskArns": []})


def _deployment_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("deployment:")]


def test_a_canary_deploy_shows_each_phase_once_as_it_changes() -> None:
    out, buffer = console()
    with stubbed() as s:
        expect_until_execute(s, NAME, "UPDATE_COMPLETE")
        scaling = canary(
            "IN_PROGRESS",
            stage="SCALE_UP",
            target=revision(2, running=1, pending=1, production=0.0),
            sources=(revision(1, production=100.0),),
        )
        _poll(s)
        expect_in_progress(s, scaling)
        expect_described(s, scaling)
        for _ in range(2):  # the same phase on two polls is shown once
            _poll(s)
            expect_described(s, shifting(minute=3))
        _poll(s)
        expect_described(
            s,
            canary(
                "IN_PROGRESS",
                stage="BAKE_TIME",
                target=revision(2, production=100.0),
                sources=(revision(1, production=0.0),),
                alarms=("MONITORING", []),
                minute=13,
            ),
        )
        _poll(
            s,
            "UPDATE_COMPLETE",
            events_page(
                event(NAME, 1, NAME, "UPDATE_IN_PROGRESS"),
                event(NAME, 40, "Service", "UPDATE_COMPLETE", resource_type="AWS::ECS::Service"),
                event(NAME, 41, NAME, "UPDATE_COMPLETE"),
            ),
        )
        # the stack completed between two polls: the deployment's last phase, once more
        expect_described(
            s,
            canary(
                "SUCCESSFUL",
                target=revision(2, production=100.0),
                alarms=("MONITORING_COMPLETE", []),
                minute=29,
            ),
        )
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "UPDATE_COMPLETE"))
        outcome = Deployer(s.clients, out, FakeClock(), ScriptedPrompter()).deploy_stack(
            "shop", SERVICE, {}
        )
        s.assert_no_pending_responses()
    assert outcome.result == "updated"
    assert _deployment_lines(buffer.getvalue()) == [
        f"deployment: {CANARY}, CANARY: SCALE_UP: new revision 1/2 tasks running, 1 pending",
        "deployment: PRODUCTION_TRAFFIC_SHIFT: 5% of production traffic on the new revision",
        "deployment: BAKE_TIME: production traffic on the new revision; the old revision is "
        "kept for a rollback until the bake time ends; 3 alarms watching",
        "deployment: SUCCESSFUL: new revision 2/2 tasks running, 100% of production traffic",
    ]


def test_an_alarm_rollback_is_shown_live_and_named_in_the_root_cause() -> None:
    out, buffer = console()
    with stubbed() as s:
        expect_until_execute(s, NAME, "UPDATE_COMPLETE")
        triggered = {"alarms": ("TRIGGERED", [ALARM_5XX])}
        _poll(s)
        expect_in_progress(s, shifting())
        expect_described(s, shifting())
        _poll(s)
        expect_described(s, rolling_back("ROLLBACK_IN_PROGRESS", 4, BY_ALARMS, **triggered))
        failed_page = events_page(
            event(NAME, 2, "Service", "UPDATE_IN_PROGRESS", resource_type="AWS::ECS::Service"),
            event(
                NAME,
                30,
                "Service",
                "UPDATE_FAILED",
                ALARM_FAILURE,
                resource_type="AWS::ECS::Service",
                physical_id=SERVICE_ARN,
            ),
            event(
                NAME,
                31,
                NAME,
                "UPDATE_ROLLBACK_IN_PROGRESS",
                "The following resource(s) failed to update: [Service]. ",
            ),
        )
        _poll(s, "UPDATE_ROLLBACK_IN_PROGRESS", failed_page)
        expect_described(s, rolling_back("ROLLBACK_SUCCESSFUL", 6, BY_ALARMS, **triggered))
        # CloudFormation's own rollback of the service starts another deployment: followed.
        back = service_deployment(
            CFN_ROLLBACK,
            "IN_PROGRESS",
            stage="RECONCILE_SERVICE",
            target=revision(3, running=2),
            created=7,
            strategy="CANARY",
        )
        _poll(s, "UPDATE_ROLLBACK_IN_PROGRESS", failed_page)
        expect_in_progress(s, back)
        expect_described(s, back)
        _poll(
            s,
            "UPDATE_ROLLBACK_COMPLETE",
            events_page(
                event(NAME, 31, NAME, "UPDATE_ROLLBACK_IN_PROGRESS"),
                event(NAME, 50, NAME, "UPDATE_ROLLBACK_COMPLETE"),
            ),
        )
        expect_described(
            s,
            service_deployment(
                CFN_ROLLBACK,
                "SUCCESSFUL",
                target=revision(3, production=100.0),
                created=7,
                minute=9,
                strategy="CANARY",
            ),
        )
        deployer = Deployer(s.clients, out, FakeClock(), ScriptedPrompter())
        with pytest.raises(DeployFailedError) as raised:
            deployer.deploy_stack("shop", SERVICE, {})
        s.assert_no_pending_responses()
    failure = raised.value
    assert failure.status == "UPDATE_ROLLBACK_COMPLETE"
    assert failure.cause is not None
    assert failure.cause.event.logical_id == "Service"
    named = f"ECS rolled back service deployment {CANARY}: alarm {ALARM_5XX} triggered"
    assert failure.cause.deployment_rollback == named
    assert failure.cause.hint == ALARM_ROLLBACK_HINT
    record = failure.result().root_cause
    assert record is not None and record.deployment_rollback == named
    message = describe_failure(failure)
    assert "root cause: shop-service: Service (AWS::ECS::Service) UPDATE_FAILED: " in message
    assert message.count(named) == 1 and "describe-alarm-history" in message
    assert _deployment_lines(buffer.getvalue()) == [
        f"deployment: {CANARY}, CANARY: PRODUCTION_TRAFFIC_SHIFT: 5% of production traffic "
        "on the new revision",
        f"deployment: ROLLBACK_IN_PROGRESS: alarm {ALARM_5XX} triggered",
        f"deployment: ROLLBACK_SUCCESSFUL: back on revision 1 (alarm {ALARM_5XX} triggered)",
        f"deployment: {CFN_ROLLBACK}, CANARY: RECONCILE_SERVICE: new revision 2/2 tasks running",
        "deployment: SUCCESSFUL: new revision 2/2 tasks running, 100% of production traffic",
    ]


def _blue_green(status: str, **extra: Any) -> dict[str, Any]:
    return service_deployment("bg1", status, strategy="BLUE_GREEN", created=1, **extra)


def test_a_blue_green_deploy_through_test_traffic_pause_and_bake() -> None:
    out, buffer = console()
    stages: list[dict[str, Any]] = [
        _blue_green(
            "IN_PROGRESS",
            stage="SCALE_UP",
            target=revision(2, running=0, pending=2, test=0.0, production=0.0),
        ),
        _blue_green(
            "IN_PROGRESS",
            stage="TEST_TRAFFIC_SHIFT",
            target=revision(2, test=100.0, production=0.0),
        ),
        _blue_green(
            "IN_PROGRESS",
            stage="POST_TEST_TRAFFIC_SHIFT",
            target=revision(2, test=100.0, production=0.0),
            hooks=(_pause("AWAITING_ACTION", until=9),),
        ),
        _blue_green(
            "IN_PROGRESS",
            stage="PRODUCTION_TRAFFIC_SHIFT",
            target=revision(2, test=100.0, production=100.0),
            hooks=(_pause("SUCCEEDED", until=9),),
        ),
        _blue_green(
            "IN_PROGRESS",
            stage="BAKE_TIME",
            target=revision(2, production=100.0),
            sources=(revision(1, production=0.0),),
            alarms=("MONITORING", []),
        ),
        _blue_green(
            "IN_PROGRESS",
            stage="CLEAN_UP",
            target=revision(2, production=100.0),
            sources=(revision(1, requested=0, running=2, production=0.0),),
        ),
    ]
    with stubbed() as s:
        for n, stage in enumerate(stages):
            _poll(s)
            if n == 0:
                expect_in_progress(s, stage)
            expect_described(s, stage)
        _poll(s, "UPDATE_COMPLETE", events_page(event(NAME, 60, NAME, "UPDATE_COMPLETE")))
        expect_described(s, _blue_green("SUCCESSFUL", target=revision(2, production=100.0)))
        result = watch(s, out, NAME)
    assert result.status == "UPDATE_COMPLETE"
    assert [d.status for d in result.deployments] == ["SUCCESSFUL"]
    assert _deployment_lines(buffer.getvalue()) == [
        "deployment: bg1, BLUE_GREEN: SCALE_UP: new revision 0/2 tasks running, 2 pending",
        "deployment: TEST_TRAFFIC_SHIFT: 100% of test traffic on the new revision",
        "deployment: POST_TEST_TRAFFIC_SHIFT: 100% of test traffic on the new revision "
        "(paused until 10:09:00 UTC, then CONTINUE)",
        "deployment: PRODUCTION_TRAFFIC_SHIFT: 100% of production traffic on the new revision",
        "deployment: BAKE_TIME: production traffic on the new revision; the old revision is "
        "kept for a rollback until the bake time ends; 3 alarms watching",
        "deployment: CLEAN_UP: stopping the old revision (2 tasks left)",
        "deployment: SUCCESSFUL: new revision 2/2 tasks running, 100% of production traffic",
    ]


@pytest.mark.parametrize(
    ("code", "message", "http", "note"),
    [
        (
            "500",
            MOTO_500,
            500,
            "the endpoint does not implement ListServiceDeployments (HTTP 500)",
        ),
        (
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
            "ecs:ListServiceDeployments",
            400,
            "not allowed to call ecs:ListServiceDeployments",
        ),
        (
            "UnsupportedFeatureException",
            "Service deployments are not supported in this region.",
            400,
            "ECS does not support ListServiceDeployments here",
        ),
    ],
)
def test_without_service_deployments_the_deploy_goes_on_after_one_note(
    code: str, message: str, http: int, note: str
) -> None:
    out, buffer = console()
    with stubbed() as s:
        _poll(s)
        s.ecs.add_client_error(
            "list_service_deployments",
            service_error_code=code,
            service_message=message,
            http_status_code=http,
        )
        _poll(s)  # asked once: no further ListServiceDeployments is stubbed
        _poll(s, "UPDATE_COMPLETE", events_page(event(NAME, 9, NAME, "UPDATE_COMPLETE")))
        result = watch(s, out, NAME)
    assert result.status == "UPDATE_COMPLETE" and result.deployments == []
    lines = _deployment_lines(buffer.getvalue())
    assert len(lines) == 1, lines
    assert lines[0].startswith("deployment: service deployment phases not shown: ")
    assert note in lines[0]


def test_a_throttled_poll_is_skipped_and_the_next_one_shows_the_phase() -> None:
    out, buffer = console()
    scaling = service_deployment("r1", "IN_PROGRESS", target=revision(2, running=1))
    with stubbed() as s:
        _poll(s)
        throttled(s.ecs, "list_service_deployments")
        _poll(s)
        expect_in_progress(s, scaling)
        expect_described(s, scaling)
        _poll(s, "UPDATE_COMPLETE", events_page(event(NAME, 9, NAME, "UPDATE_COMPLETE")))
        expect_described(s, service_deployment("r1", "SUCCESSFUL"))
        watch(s, out, NAME)
    assert _deployment_lines(buffer.getvalue()) == [
        "deployment: r1, ROLLING: IN_PROGRESS: new revision 1/2 tasks running",
        "deployment: SUCCESSFUL: new revision 2/2 tasks running",
    ]


def test_unavailable_reason_tells_transient_failures_from_missing_operations() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError  # noqa: PLC0415

    def error(code: str, http: int) -> ClientError:
        return ClientError(
            {
                "Error": {"Code": code, "Message": "m"},
                "ResponseMetadata": {"HTTPStatusCode": http},
            },
            "DescribeServiceDeployments",
        )

    assert unavailable_reason(error("ThrottlingException", 400)) is None
    assert unavailable_reason(error("ServerException", 500)) is None
    assert unavailable_reason(EndpointConnectionError(endpoint_url="http://x")) is None
    assert unavailable_reason(error("500", 500)) == (
        "the endpoint does not implement DescribeServiceDeployments (HTTP 500)"
    )
    assert unavailable_reason(error("InvalidParameterException", 400)) == (
        "DescribeServiceDeployments failed (InvalidParameterException): m"
    )


# --- status --------------------------------------------------------------------------------


def _status_stacks(s: Stubs) -> None:
    expect_service_stacks(s)
    s.ecs.add_response(
        "describe_services",
        {"services": [{"serviceName": "web", "status": "ACTIVE", "runningCount": 4}]},
        {"cluster": CLUSTER, "services": ["web"]},
    )


@pytest.fixture
def status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Cli:
    monkeypatch.chdir(tmp_path)
    return Cli(monkeypatch, capsys, PLAN, ("status", "--stack-name", "shop"))


def test_status_shows_the_deployment_in_progress_as_text_and_as_a_typed_field(
    status: Cli,
) -> None:
    old = service_deployment("old1", "SUCCESSFUL", created=0, minute=20)
    current = shifting(created=30)
    for args in ([], ["--json"]):
        with stubbed() as s:
            _status_stacks(s)
            # newest is chosen by creation time, whatever order the page lists them in
            expect_listed(s, old, current)
            expect_described(s, current)
            code, out, err = status.run(s, *args)
        assert code == 0, err
        if "--json" in args:
            data = StatusResult.model_validate_json(out)
            assert data.service_deployment is not None
            assert data.service_deployment.arn == deployment_arn(CANARY)
            assert data.service_deployment.lifecycle_stage == "PRODUCTION_TRAFFIC_SHIFT"
            assert data.service_deployment.target is not None
            assert data.service_deployment.target.production_traffic_percent == 5.0
            assert json.loads(out)["service_deployment"]["phase"].startswith(
                "PRODUCTION_TRAFFIC_SHIFT: 5% of production traffic"
            )
        else:
            assert (
                f"service deployment {CANARY}: PRODUCTION_TRAFFIC_SHIFT: 5% of production "
                "traffic on the new revision" in out
            )
            assert "'fargate-api rollback' rolls it back" in out


def test_status_shows_the_latest_finished_deployment() -> None:
    done = service_deployment(
        "r9", "ROLLBACK_SUCCESSFUL", alarms=("TRIGGERED", [ALARM_UNHEALTHY]), minute=12
    )
    with stubbed() as s:
        _status_stacks(s)
        s.ecs.add_response(
            "list_service_deployments",
            {"serviceDeployments": [{"serviceDeploymentArn": deployment_arn("r9")}]},
        )
        expect_described(s, done)
        data = read_status(s.clients, PLAN)
        s.assert_no_pending_responses()
    assert data.service_deployment is not None
    assert data.service_deployment.phase == (
        f"ROLLBACK_SUCCESSFUL: back on the old revision (alarm {ALARM_UNHEALTHY} triggered)"
    )


def test_status_against_an_endpoint_without_service_deployments_says_why_once(
    status: Cli,
) -> None:
    with stubbed() as s:
        _status_stacks(s)
        not_implemented(s.ecs, "list_service_deployments")
        code, out, err = status.run(s, "--json")
    assert code == 0, err
    data = StatusResult.model_validate_json(out)
    assert data.service_deployment is None
    assert data.service_deployment_unavailable == (
        "the endpoint does not implement ListServiceDeployments (HTTP 500)"
    )
    assert err.count("note: service deployments not shown:") == 1, err
    assert "error" not in err


def test_an_alarm_rollback_replaces_the_hint_only_when_the_service_failed() -> None:
    from fargate_api.aws.cfn import to_event  # noqa: PLC0415
    from fargate_api.aws.root_cause import find_root_cause  # noqa: PLC0415

    rolled = [
        read_deployment(
            service_deployment(CANARY, "ROLLBACK_SUCCESSFUL", alarms=("TRIGGERED", [ALARM_5XX]))
        )
    ]
    service_failed = [
        to_event(
            event(
                NAME,
                1,
                "Service",
                "UPDATE_FAILED",
                ALARM_FAILURE,
                resource_type="AWS::ECS::Service",
            )
        )
    ]
    rule_failed = [
        to_event(
            event(
                NAME,
                1,
                "ProductionListenerRule",
                "UPDATE_FAILED",
                "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
                "elasticloadbalancing:ModifyRule",
                resource_type="AWS::ElasticLoadBalancingV2::ListenerRule",
            )
        )
    ]
    by_service = find_root_cause(service_failed, rolled)
    by_rule = find_root_cause(rule_failed, rolled)
    assert by_service is not None and by_service.hint == ALARM_ROLLBACK_HINT
    assert by_rule is not None and by_rule.hint is not None
    assert "lack a permission" in by_rule.hint
    assert by_rule.deployment_rollback is not None and ALARM_5XX in by_rule.deployment_rollback
    # Without the followed deployments (not allowed to read them, say), the event's
    # wording alone still gets the alarm hint, but no alarm is named.
    without = find_root_cause(service_failed)
    assert without is not None and without.deployment_rollback is None
    assert without.hint == ALARM_ROLLBACK_HINT
