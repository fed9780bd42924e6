"""Failure paths on realistic AWS sequences: root causes, rollbacks, ECS reasons, Ctrl-C.

Each test scripts what CloudFormation and ECS answer, call by call, as they do for a
real failing deploy; the Stubber fails a test if the code calls anything else, in
another order, or leaves an expected call (a delete, a cancel) unmade.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from fargate_api.aws.cfn import to_event
from fargate_api.aws.deploy import Deployer, DeployFailedError, DeployOptions
from fargate_api.aws.root_cause import find_root_cause
from fargate_api.aws.watch import WatchOptions
from unit.aws.support import (
    REGION,
    SERVICE_ARN,
    SERVICE_SPEC_RESOURCES,
    T0,
    FakeClock,
    ScriptedPrompter,
    Stubs,
    change_set_arn,
    console,
    describe_stacks,
    described_change_set,
    event,
    events_page,
    expect_in_progress,
    expect_until_execute,
    spec,
    stack_id,
    stubbed,
    watch,
)

NAME = "shop-service"
SERVICE = spec("service", SERVICE_SPEC_RESOURCES)
CLUSTER = "shop-cluster-ECSCluster-AbC123"
CIRCUIT_BREAKER = (
    "Resource handler returned message: \"Error occurred during operation 'ECS Deployment "
    "Circuit Breaker was triggered'.\" (RequestToken: 1b2c, "
    "HandlerErrorCode: GeneralServiceException)"
)
PULL_FAILED = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to "
    "resolve ref 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:1.4.3: not found"
)


def _task(n: int, stopped: str, container_reason: str = "", exit_code: int | None = None) -> Any:
    container: dict[str, Any] = {"name": "web", "lastStatus": "STOPPED"}
    if container_reason:
        container["reason"] = container_reason
    if exit_code is not None:
        container["exitCode"] = exit_code
    return {
        "taskArn": f"arn:aws:ecs:{REGION}:123456789012:task/{CLUSTER}/{n:032x}",
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "stopCode": "TaskFailedToStart" if container_reason else "EssentialContainerExited",
        "stoppedReason": stopped,
        "containers": [container],
    }


def _service(events: list[tuple[str, str]], rollout: str = "IN_PROGRESS") -> Any:
    deployment: dict[str, Any] = {
        "id": "ecs-svc/1234567890",
        "status": "PRIMARY",
        "desiredCount": 2,
        "runningCount": 0,
        "failedTasks": 2,
        "rolloutState": rollout,
    }
    if rollout == "FAILED":
        deployment["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
    return {
        "services": [
            {
                "serviceArn": SERVICE_ARN,
                "serviceName": "web",
                "desiredCount": 2,
                "runningCount": 0,
                "deployments": [deployment],
                "events": [
                    {"id": eid, "createdAt": T0, "message": message}
                    for eid, message in reversed(events)
                ],
            }
        ],
        "failures": [],
    }


def _stopped(s: Stubs, arns: list[int], tasks: list[Any] | None) -> None:
    s.ecs.add_response(
        "list_tasks",
        {"taskArns": [_task(n, "")["taskArn"] for n in arns]},
        {"cluster": CLUSTER, "serviceName": "web", "desiredStatus": "STOPPED"},
    )
    if tasks is not None:
        s.ecs.add_response("describe_tasks", {"tasks": tasks, "failures": []})


def test_root_cause_is_the_first_failure_that_is_not_a_cancellation() -> None:
    raw = [
        event(NAME, 1, NAME, "CREATE_IN_PROGRESS", "User Initiated"),
        event(
            NAME,
            2,
            "LogGroup",
            "CREATE_FAILED",
            "Resource creation cancelled",
            resource_type="AWS::Logs::LogGroup",
        ),
        event(
            NAME,
            3,
            "PublicLoadBalancer",
            "CREATE_FAILED",
            'Resource handler returned message: "A load balancer cannot be attached to '
            'multiple subnets in the same Availability Zone"',
            resource_type="AWS::ElasticLoadBalancingV2::LoadBalancer",
        ),
        event(
            NAME,
            4,
            "Service",
            "CREATE_FAILED",
            "Resource creation cancelled",
            resource_type="AWS::ECS::Service",
        ),
        event(
            NAME,
            5,
            NAME,
            "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [LogGroup, PublicLoadBalancer, "
            "Service]. Rollback requested by user.",
        ),
    ]
    cause = find_root_cause([to_event(e) for e in raw])
    assert cause is not None
    assert cause.event.logical_id == "PublicLoadBalancer"
    assert "multiple subnets" in cause.describe()


@pytest.mark.parametrize(
    ("reason", "hint_word"),
    [
        (CIRCUIT_BREAKER, "stopped-task reasons"),
        (PULL_FAILED, "cannot pull the image"),
        (
            "The maximum number of addresses has been reached. (Service: Ec2, Status Code: 400)",
            "Elastic IP quota",
        ),
        ("web already exists in stack arn:aws:cloudformation:...", "exists outside this stack"),
        (
            "User: arn:aws:iam::123:user/ci is not authorized to perform: iam:CreateRole",
            "lack a permission",
        ),
    ],
)
def test_common_failures_get_a_hint(reason: str, hint_word: str) -> None:
    cause = find_root_cause(
        [to_event(event(NAME, 1, "X", "CREATE_FAILED", reason, resource_type="AWS::X::Y"))]
    )
    assert cause is not None and cause.hint is not None
    assert hint_word in cause.hint


def test_failed_first_create_shows_ecs_reasons_root_cause_and_is_deleted_after_asking() -> None:
    out, buffer = console()
    sid = stack_id(NAME)
    prompter = ScriptedPrompter(answers=[True, True])  # apply? yes. delete the rollback? yes.
    with stubbed() as s:
        expect_until_execute(s, NAME, None)
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "CREATE_IN_PROGRESS"))
        # poll 1: resources starting; ECS already knows a task could not pull its image
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "CREATE_IN_PROGRESS"))
        s.cfn.add_response(
            "describe_stack_events",
            events_page(
                event(NAME, 0, NAME, "REVIEW_IN_PROGRESS"),
                event(NAME, 1, NAME, "CREATE_IN_PROGRESS", "User Initiated"),
                event(
                    NAME,
                    2,
                    "Service",
                    "CREATE_IN_PROGRESS",
                    "Resource creation Initiated",
                    resource_type="AWS::ECS::Service",
                    physical_id=SERVICE_ARN,
                ),
            ),
        )
        s.ecs.add_response(
            "describe_services",
            _service([("e1", "(service web) has started 2 tasks: (task 1) (task 2).")]),
            {"cluster": CLUSTER, "services": ["web"]},
        )
        _stopped(s, [1], [_task(1, "Task failed to start", PULL_FAILED)])
        expect_in_progress(s)  # no service deployment to show yet
        # poll 2: the circuit breaker fires, CloudFormation fails the service and rolls back
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "ROLLBACK_IN_PROGRESS"))
        s.cfn.add_response(
            "describe_stack_events",
            events_page(
                event(NAME, 2, "Service", "CREATE_IN_PROGRESS", resource_type="AWS::ECS::Service"),
                event(
                    NAME,
                    30,
                    "Service",
                    "CREATE_FAILED",
                    CIRCUIT_BREAKER,
                    resource_type="AWS::ECS::Service",
                    physical_id=SERVICE_ARN,
                ),
                event(
                    NAME,
                    31,
                    "LogGroup",
                    "CREATE_FAILED",
                    "Resource creation cancelled",
                    resource_type="AWS::Logs::LogGroup",
                ),
                event(
                    NAME,
                    32,
                    NAME,
                    "ROLLBACK_IN_PROGRESS",
                    "The following resource(s) failed to create: [Service, LogGroup]. "
                    "Rollback requested by user.",
                ),
            ),
        )
        s.ecs.add_response("describe_services", _service([], rollout="FAILED"))
        _stopped(s, [1], None)
        expect_in_progress(s)
        # poll 3: rolled back
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "ROLLBACK_COMPLETE"))
        s.cfn.add_response(
            "describe_stack_events",
            events_page(
                event(NAME, 32, NAME, "ROLLBACK_IN_PROGRESS"),
                event(NAME, 40, "Service", "DELETE_COMPLETE", resource_type="AWS::ECS::Service"),
                event(NAME, 41, NAME, "ROLLBACK_COMPLETE"),
            ),
        )
        # asked, then the rolled-back stack is deleted so the next deploy can create it
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "ROLLBACK_COMPLETE"))
        s.cfn.add_response(
            "describe_stack_events", events_page(event(NAME, 41, NAME, "ROLLBACK_COMPLETE"))
        )
        s.cfn.add_response("delete_stack", {}, {"StackName": sid})
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "DELETE_COMPLETE"))
        s.cfn.add_response(
            "describe_stack_events",
            events_page(
                event(NAME, 41, NAME, "ROLLBACK_COMPLETE"),
                event(NAME, 50, NAME, "DELETE_IN_PROGRESS", "User Initiated"),
                event(NAME, 51, NAME, "DELETE_COMPLETE"),
            ),
        )
        deployer = Deployer(s.clients, out, FakeClock(), prompter)
        with pytest.raises(DeployFailedError) as raised:
            deployer.deploy_stack("shop", SERVICE, {})
        s.assert_no_pending_responses()
    failure = raised.value
    assert failure.status == "ROLLBACK_COMPLETE"
    assert failure.cause is not None
    assert failure.cause.event.logical_id == "Service"
    assert "Circuit Breaker" in failure.cause.event.reason
    assert failure.cause.hint and "stopped-task reasons" in failure.cause.hint
    stopped = [sig.message for sig in failure.signals if sig.kind == "stopped-task"]
    assert len(stopped) == 1 and "CannotPullContainerError" in stopped[0]
    assert any(sig.kind == "circuit-breaker" for sig in failure.signals)
    assert "deleted" in failure.note
    assert any("delete it so the next deploy" in q for q in prompter.asked)
    text = buffer.getvalue()
    assert "CannotPullContainerError" in text  # shown while it happened, not only at the end
    assert "root cause: shop-service: Service (AWS::ECS::Service) CREATE_FAILED" in text


def test_cancel_on_failure_cancels_the_update_when_the_same_task_failure_repeats() -> None:
    out, buffer = console()
    sid = stack_id(NAME)
    crash = "Essential container in task exited"
    with stubbed() as s:
        expect_until_execute(s, NAME, "UPDATE_COMPLETE")
        first_page = events_page(
            event(NAME, 0, NAME, "REVIEW_IN_PROGRESS"),
            event(NAME, 1, NAME, "UPDATE_IN_PROGRESS", "User Initiated"),
            event(
                NAME,
                2,
                "TaskDefinition",
                "UPDATE_COMPLETE",
                resource_type="AWS::ECS::TaskDefinition",
            ),
            event(
                NAME,
                3,
                "Service",
                "UPDATE_IN_PROGRESS",
                resource_type="AWS::ECS::Service",
                physical_id=SERVICE_ARN,
            ),
        )
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "UPDATE_IN_PROGRESS"))
        s.cfn.add_response("describe_stack_events", first_page)
        s.ecs.add_response("describe_services", _service([("e1", "old event")]))
        _stopped(s, [1], [_task(1, crash, exit_code=1)])
        expect_in_progress(s)
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "UPDATE_IN_PROGRESS"))
        s.cfn.add_response("describe_stack_events", first_page)
        s.ecs.add_response(
            "describe_services",
            _service([("e1", "old event"), ("e2", "(service web) has started 1 tasks: (task 2).")]),
        )
        _stopped(s, [1, 2], [_task(2, crash, exit_code=1)])
        expect_in_progress(s)
        s.cfn.add_response("cancel_update_stack", {}, {"StackName": sid})
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "UPDATE_ROLLBACK_IN_PROGRESS"))
        s.cfn.add_response(
            "describe_stack_events",
            events_page(
                event(NAME, 3, "Service", "UPDATE_IN_PROGRESS", resource_type="AWS::ECS::Service"),
                event(
                    NAME,
                    60,
                    "Service",
                    "UPDATE_FAILED",
                    "Resource update cancelled",
                    resource_type="AWS::ECS::Service",
                ),
                event(
                    NAME,
                    61,
                    NAME,
                    "UPDATE_ROLLBACK_IN_PROGRESS",
                    "The following resource(s) failed to update: [Service]. ",
                ),
            ),
        )
        s.ecs.add_response("describe_services", _service([("e2", "x")]))
        _stopped(s, [1, 2], None)
        expect_in_progress(s)
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "UPDATE_ROLLBACK_COMPLETE"))
        s.cfn.add_response(
            "describe_stack_events",
            events_page(
                event(NAME, 61, NAME, "UPDATE_ROLLBACK_IN_PROGRESS"),
                event(NAME, 70, NAME, "UPDATE_ROLLBACK_COMPLETE"),
            ),
        )
        options = DeployOptions(watch=WatchOptions(cancel_on_failure=True, failure_repeats=2))
        deployer = Deployer(s.clients, out, FakeClock(), ScriptedPrompter(), options)
        with pytest.raises(DeployFailedError) as raised:
            deployer.deploy_stack("shop", SERVICE, {})
        s.assert_no_pending_responses()
    failure = raised.value
    assert failure.status == "UPDATE_ROLLBACK_COMPLETE"
    assert "the same task failure 2 times" in failure.note
    assert "web exited with code 1" in failure.note
    text = buffer.getvalue()
    assert text.count("Essential container in task exited") >= 2
    assert "has started 1 tasks" in text  # the new ECS service event, not the old one
    assert "old event" not in text


def test_update_rollback_failed_is_continued_before_deploying() -> None:
    out, buffer = console()
    sid = stack_id(NAME)
    with stubbed() as s:
        s.cfn.add_response(
            "describe_stacks",
            describe_stacks(
                NAME,
                "UPDATE_ROLLBACK_FAILED",
                reason="The following resource(s) failed to update: [Service].",
            ),
        )
        s.cfn.add_response(
            "describe_stack_events", events_page(event(NAME, 0, NAME, "UPDATE_ROLLBACK_FAILED"))
        )
        s.cfn.add_response("continue_update_rollback", {}, {"StackName": sid})
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "UPDATE_ROLLBACK_IN_PROGRESS"))
        s.cfn.add_response(
            "describe_stack_events",
            events_page(
                event(NAME, 0, NAME, "UPDATE_ROLLBACK_FAILED"),
                event(NAME, 1, NAME, "UPDATE_ROLLBACK_IN_PROGRESS", "Continue rollback requested"),
            ),
        )
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "UPDATE_ROLLBACK_COMPLETE"))
        s.cfn.add_response(
            "describe_stack_events",
            events_page(
                event(NAME, 1, NAME, "UPDATE_ROLLBACK_IN_PROGRESS"),
                event(NAME, 2, NAME, "UPDATE_ROLLBACK_COMPLETE"),
            ),
        )
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "UPDATE_ROLLBACK_COMPLETE"))
        s.cfn.add_response("create_change_set", {"Id": change_set_arn(NAME)})
        s.cfn.add_response(
            "describe_change_set",
            described_change_set(
                NAME, "FAILED", [], "The submitted information didn't contain changes."
            ),
        )
        s.cfn.add_response("delete_change_set", {}, {"ChangeSetName": change_set_arn(NAME)})
        deployer = Deployer(s.clients, out, FakeClock(), ScriptedPrompter())
        outcome = deployer.deploy_stack("shop", SERVICE, {})
        s.assert_no_pending_responses()
    assert outcome.result == "no changes"
    assert "continuing the rollback" in buffer.getvalue()


def _watch_update(s: Stubs, *, after_cancel: bool) -> None:
    s.cfn.add_response("describe_stacks", describe_stacks(NAME, "UPDATE_IN_PROGRESS"))
    s.cfn.add_response(
        "describe_stack_events",
        events_page(event(NAME, 1, NAME, "UPDATE_IN_PROGRESS", "User Initiated")),
    )
    final = "UPDATE_ROLLBACK_COMPLETE" if after_cancel else "UPDATE_COMPLETE"
    if after_cancel:
        s.cfn.add_response("cancel_update_stack", {}, {"StackName": stack_id(NAME)})
    s.cfn.add_response("describe_stacks", describe_stacks(NAME, final))
    s.cfn.add_response(
        "describe_stack_events",
        events_page(event(NAME, 1, NAME, "UPDATE_IN_PROGRESS"), event(NAME, 9, NAME, final)),
    )


@pytest.mark.parametrize(
    ("choice", "final", "cancelled"),
    [("cancel", "UPDATE_ROLLBACK_COMPLETE", True), ("watch", "UPDATE_COMPLETE", False)],
)
def test_ctrl_c_asks_then_cancels_or_keeps_watching(
    choice: str, final: str, cancelled: bool
) -> None:
    out, buffer = console()
    prompter = ScriptedPrompter(interrupts=[choice])  # type: ignore[list-item]
    with stubbed() as s:
        _watch_update(s, after_cancel=cancelled)
        result = watch(s, out, NAME, clock=FakeClock(interrupt_at={1}), prompter=prompter)
    assert prompter.asked == [f"interrupted {NAME} UPDATE_IN_PROGRESS"]
    assert result.status == final
    assert (result.cancelled == "interrupted by the user") is cancelled
    assert not result.detached
    assert ("cancelling the update" in buffer.getvalue()) is cancelled


def test_ctrl_c_then_leave_detaches_and_says_where_to_look() -> None:
    out, buffer = console()
    with stubbed() as s:
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "UPDATE_IN_PROGRESS"))
        s.cfn.add_response(
            "describe_stack_events", events_page(event(NAME, 1, NAME, "UPDATE_IN_PROGRESS"))
        )
        result = watch(
            s,
            out,
            NAME,
            clock=FakeClock(interrupt_at={1}),
            prompter=ScriptedPrompter(interrupts=["leave"]),
        )
    assert result.detached and result.status == "UPDATE_IN_PROGRESS"
    assert "fargate-api status" in buffer.getvalue()


def test_live_view_on_a_terminal_shows_resources_and_ends_cleanly() -> None:
    buffer = io.StringIO()
    terminal = Console(file=buffer, width=120, force_terminal=True, color_system=None)
    with stubbed() as s:
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "UPDATE_IN_PROGRESS"))
        s.cfn.add_response(
            "describe_stack_events",
            events_page(
                event(NAME, 1, NAME, "UPDATE_IN_PROGRESS", "User Initiated"),
                event(
                    NAME,
                    2,
                    "TaskDefinition",
                    "UPDATE_IN_PROGRESS",
                    resource_type="AWS::ECS::TaskDefinition",
                ),
            ),
        )
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "UPDATE_COMPLETE"))
        s.cfn.add_response(
            "describe_stack_events",
            events_page(
                event(
                    NAME,
                    2,
                    "TaskDefinition",
                    "UPDATE_IN_PROGRESS",
                    resource_type="AWS::ECS::TaskDefinition",
                ),
                event(
                    NAME,
                    3,
                    "TaskDefinition",
                    "UPDATE_COMPLETE",
                    resource_type="AWS::ECS::TaskDefinition",
                ),
                event(NAME, 4, NAME, "UPDATE_COMPLETE"),
            ),
        )
        result = watch(s, terminal, NAME)
    assert result.status == "UPDATE_COMPLETE"
    text = buffer.getvalue()
    assert "TaskDefinition" in text and "1/1 resources done" in text
    assert f"{NAME}: UPDATE_COMPLETE after" in text


def test_ctrl_c_cancel_that_aws_refuses_keeps_watching() -> None:
    out, buffer = console()
    with stubbed() as s:
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "UPDATE_IN_PROGRESS"))
        s.cfn.add_response(
            "describe_stack_events", events_page(event(NAME, 1, NAME, "UPDATE_IN_PROGRESS"))
        )
        s.cfn.add_client_error(
            "cancel_update_stack",
            service_error_code="ValidationError",
            service_message="CancelUpdateStack cannot be called from current stack status",
        )
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "UPDATE_COMPLETE"))
        s.cfn.add_response(
            "describe_stack_events",
            events_page(
                event(NAME, 1, NAME, "UPDATE_IN_PROGRESS"), event(NAME, 2, NAME, "UPDATE_COMPLETE")
            ),
        )
        result = watch(
            s,
            out,
            NAME,
            clock=FakeClock(interrupt_at={1}),
            prompter=ScriptedPrompter(interrupts=["cancel"]),
        )
    assert result.status == "UPDATE_COMPLETE" and result.cancelled is None
    assert "could not cancel" in buffer.getvalue()
