"""Stubbed AWS clients, a fake clock and scripted answers for the back-end's unit tests.

Clients are real botocore clients (so every stubbed request and response is validated
against the service model), with fake credentials, pointed at a closed loopback port
so that a request the Stubber does not expect can never leave the machine.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from rich.console import Console

from fargate_api import cli
from fargate_api.aws import commands
from fargate_api.aws.prompts import InterruptChoice
from fargate_api.aws.session import Clients
from fargate_api.aws.stacks import OWNER_TAG, ROLE_TAG, StackPlan, StackSpec
from fargate_api.aws.watch import StackWatcher, WatchResult

REGION = "eu-west-1"
ACCOUNT = "123456789012"
CLOSED_ENDPOINT = "http://127.0.0.1:9"
T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)

__all__ = ["ANY"]


@dataclass
class Stubs:
    clients: Clients
    cfn: Stubber
    ecs: Stubber
    elbv2: Stubber
    logs: Stubber
    ec2: Stubber
    ecr: Stubber

    def assert_no_pending_responses(self) -> None:
        for stub in (self.cfn, self.ecs, self.elbv2, self.logs, self.ec2, self.ecr):
            stub.assert_no_pending_responses()


# One session for every test: its loader caches the service models, which takes most of
# the time of making a client.
_SESSION = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
)


@contextmanager
def stubbed() -> Iterator[Stubs]:
    session = _SESSION

    def make(service: str) -> Any:
        return session.client(service, endpoint_url=CLOSED_ENDPOINT)  # type: ignore[call-overload]

    clients = Clients(
        cloudformation=make("cloudformation"),
        ecs=make("ecs"),
        elbv2=make("elbv2"),
        logs=make("logs"),
        ec2=make("ec2"),
        ecr=make("ecr"),
        region=REGION,
    )
    stubs = Stubs(
        clients,
        Stubber(clients.cloudformation),
        Stubber(clients.ecs),
        Stubber(clients.elbv2),
        Stubber(clients.logs),
        Stubber(clients.ec2),
        Stubber(clients.ecr),
    )
    for stub in (stubs.cfn, stubs.ecs, stubs.elbv2, stubs.logs, stubs.ec2, stubs.ecr):
        stub.activate()
    try:
        yield stubs
    finally:
        for stub in (stubs.cfn, stubs.ecs, stubs.elbv2, stubs.logs, stubs.ec2, stubs.ecr):
            stub.deactivate()


@dataclass
class FakeClock:
    """Time moves only when the code sleeps; `interrupt_at` raises Ctrl-C at those sleeps."""

    t: float = 0.0
    sleeps: int = 0
    interrupt_at: set[int] = field(default_factory=set)

    def now(self) -> float:
        return self.t

    def wall(self) -> float:
        return T0.timestamp() + self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.t += seconds
        if self.sleeps in self.interrupt_at:
            raise KeyboardInterrupt


@dataclass
class ScriptedPrompter:
    answers: list[bool] = field(default_factory=list)
    interrupts: list[InterruptChoice] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    def confirm(self, question: str, default: bool = False) -> bool:
        self.asked.append(question)
        return self.answers.pop(0) if self.answers else True

    def interrupted(self, stack: str, status: str) -> InterruptChoice:
        self.asked.append(f"interrupted {stack} {status}")
        return self.interrupts.pop(0)


def console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=200, highlight=False, emoji=False), buffer


def watch(
    s: Stubs,
    out: Console,
    name: str,
    *,
    clock: FakeClock | None = None,
    prompter: ScriptedPrompter | None = None,
) -> WatchResult:
    """Watches stack `name` to its end on the stubbed clients; fails when a scripted answer
    was left unasked."""
    watcher = StackWatcher(
        s.clients.cloudformation,
        s.clients.ecs,
        out,
        clock=clock or FakeClock(),
        prompter=prompter or ScriptedPrompter(),
    )
    result = watcher.watch(stack_id(name), name, set())
    s.assert_no_pending_responses()
    return result


@dataclass
class Cli:
    """`fargate-api COMMAND...` as users run it, on stubbed clients, with `plan` in place of
    the templates a config would give."""

    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]
    plan: StackPlan
    command: tuple[str, ...]

    def run(self, s: Stubs, *args: str, clock: FakeClock | None = None) -> tuple[int, str, str]:
        """The exit code, stdout and stderr; fails when a scripted answer was left unasked."""
        self.monkeypatch.setattr(commands, "connect", lambda target: s.clients)
        self.monkeypatch.setattr(commands, "load_plan", lambda *args, **kwargs: self.plan)
        self.monkeypatch.setattr(commands, "SystemClock", lambda: clock or FakeClock())
        self.monkeypatch.setattr(sys, "argv", ["fargate-api", *self.command, *args])
        with pytest.raises(SystemExit) as done:
            cli.main()
        s.assert_no_pending_responses()
        out, err = self.capsys.readouterr()
        return int(done.value.code or 0), out, err


def stack_id(name: str) -> str:
    suffix = "0a1b2c3d-0000-1111-2222-333344445555"
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/{suffix}"


def describe_stacks(
    name: str,
    status: str,
    *,
    base: str = "shop",
    role: str = "service",
    outputs: dict[str, str] | None = None,
    reason: str = "",
) -> dict[str, Any]:
    stack: dict[str, Any] = {
        "StackId": stack_id(name),
        "StackName": name,
        "CreationTime": T0,
        "StackStatus": status,
        "Tags": [{"Key": OWNER_TAG, "Value": base}, {"Key": ROLE_TAG, "Value": role}],
        "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in (outputs or {}).items()],
        "Parameters": [],
    }
    if reason:
        stack["StackStatusReason"] = reason
    return {"Stacks": [stack]}


def event(
    name: str,
    n: int,
    logical_id: str,
    status: str,
    reason: str = "",
    *,
    resource_type: str = "",
    physical_id: str = "",
) -> dict[str, Any]:
    is_stack = logical_id == name
    raw: dict[str, Any] = {
        "StackId": stack_id(name),
        "EventId": f"{logical_id}-{status}-{n}",
        "StackName": name,
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": stack_id(name) if is_stack else physical_id,
        "ResourceType": "AWS::CloudFormation::Stack" if is_stack else resource_type,
        "Timestamp": T0 + timedelta(seconds=n),
        "ResourceStatus": status,
    }
    if reason:
        raw["ResourceStatusReason"] = reason
    return raw


def events_page(*events: dict[str, Any]) -> dict[str, Any]:
    """Newest first, as DescribeStackEvents returns them; pass events oldest first."""
    return {"StackEvents": list(reversed(events))}


def resource_change(
    action: str,
    logical_id: str,
    resource_type: str,
    *,
    replacement: str | None = None,
    properties: tuple[tuple[str, str], ...] = (),
    physical_id: str = "",
) -> dict[str, Any]:
    change: dict[str, Any] = {
        "Action": action,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "Scope": ["Properties"] if properties else [],
        "Details": [
            {
                "Target": {
                    "Attribute": "Properties",
                    "Name": name,
                    "RequiresRecreation": recreation,
                },
                "Evaluation": "Static",
                "ChangeSource": "DirectModification",
            }
            for name, recreation in properties
        ],
    }
    if physical_id:
        change["PhysicalResourceId"] = physical_id
    if replacement is not None:
        change["Replacement"] = replacement
    return {"Type": "Resource", "ResourceChange": change}


def change_set_arn(name: str) -> str:
    return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/fargate-api-1/{name}-cs"


def described_change_set(
    name: str, status: str, changes: list[dict[str, Any]], reason: str = ""
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ChangeSetId": change_set_arn(name),
        "ChangeSetName": "fargate-api-1",
        "StackId": stack_id(name),
        "StackName": name,
        "Status": status,
        "ExecutionStatus": "AVAILABLE" if status == "CREATE_COMPLETE" else "UNAVAILABLE",
        "Changes": changes,
    }
    if reason:
        body["StatusReason"] = reason
    return body


def expect_until_execute(s: Stubs, name: str, status: str | None) -> None:
    """deploy_stack's calls up to ExecuteChangeSet for a new task definition: an update of
    a stack in `status`, or (None) the creation of a stack that does not exist yet."""
    if status is None:
        s.cfn.add_client_error(
            "describe_stacks",
            service_error_code="ValidationError",
            service_message=f"Stack with id {name} does not exist",
        )
    else:
        s.cfn.add_response("describe_stacks", describe_stacks(name, status))
    s.cfn.add_response("create_change_set", {"Id": change_set_arn(name)})
    done = described_change_set(
        name,
        "CREATE_COMPLETE",
        [
            resource_change(
                "Modify" if status else "Add",
                "TaskDefinition",
                "AWS::ECS::TaskDefinition",
                replacement="True" if status else None,
                properties=(("ContainerDefinitions", "Always"),) if status else (),
            )
        ],
    )
    s.cfn.add_response("describe_change_set", done)
    s.cfn.add_response("describe_change_set", done)
    s.cfn.add_response(
        "describe_stack_events", events_page(event(name, 0, name, "REVIEW_IN_PROGRESS"))
    )
    s.cfn.add_response("execute_change_set", {}, {"ChangeSetName": change_set_arn(name)})


def spec(
    role: str, resources: dict[str, str], inputs: dict[str, tuple[str, str]] | None = None
) -> StackSpec:
    document = {"Resources": {lid: {"Type": kind} for lid, kind in resources.items()}}
    for lid, kind in resources.items():
        if kind in ("AWS::EC2::EIP", "AWS::Logs::LogGroup"):
            document["Resources"][lid]["DeletionPolicy"] = "Retain"
    return StackSpec(
        role=role,
        name=f"shop-{role}",
        file=f"{role}.yml",
        body="Resources: {}",
        document=document,
        inputs=inputs or {},
    )


VPC_SPEC_RESOURCES = {
    "VPC": "AWS::EC2::VPC",
    "NatGatewayOneEIP": "AWS::EC2::EIP",
    "NatGatewayOne": "AWS::EC2::NatGateway",
}
SERVICE_SPEC_RESOURCES = {
    "PublicLoadBalancer": "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "TaskDefinition": "AWS::ECS::TaskDefinition",
    "Service": "AWS::ECS::Service",
    "LogGroup": "AWS::Logs::LogGroup",
}
SERVICE_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/shop-cluster-ECSCluster-AbC123/web"
# What moto 5 answers an operation it does not implement (HTTP 500).
MOTO_500 = (
    "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
    "<h1>Internal Server Error</h1>\n"
)


def throttled(stub: Stubber, operation: str) -> None:
    stub.add_client_error(
        operation,
        service_error_code="ThrottlingException",
        service_message="Rate exceeded",
        http_status_code=400,
    )


def not_implemented(stub: Stubber, operation: str, params: dict[str, Any] | None = None) -> None:
    stub.add_client_error(
        operation,
        service_error_code="500",
        service_message=MOTO_500,
        http_status_code=500,
        expected_params=params,
    )


# --- ECS service deployments ------------------------------------------------------------------
# Shaped after the API reference's DescribeServiceDeployments / ListServiceDeployments
# syntax (ARN formats as in its examples: service-deployment/CLUSTER/SERVICE/ID and
# service-revision/CLUSTER/SERVICE/ID); the Stubber checks every key and type against
# botocore's ecs model. Real AWS values (reasons' wording above all) are unverified.

CLUSTER = "shop-cluster-ECSCluster-AbC123"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"
IN_PROGRESS_FILTER = [
    "PENDING",
    "IN_PROGRESS",
    "STOP_REQUESTED",
    "ROLLBACK_REQUESTED",
    "ROLLBACK_IN_PROGRESS",
]
ALARM_5XX = "shop-service-target-5xx-rate"
ALARM_UNHEALTHY = "shop-service-unhealthy-hosts"
ALARM_P99 = "shop-service-p99-response-time"
CANARY = "NCWGC2ZR-taawPAYrIaU5"


def deployment_arn(short: str) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{CLUSTER}/web/{short}"


def revision_arn(n: int) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/{CLUSTER}/web/{n}"


def revision(
    n: int,
    *,
    requested: int = 2,
    running: int = 2,
    pending: int = 0,
    production: float | None = None,
    test: float | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "arn": revision_arn(n),
        "requestedTaskCount": requested,
        "runningTaskCount": running,
        "pendingTaskCount": pending,
    }
    if production is not None:
        body["requestedProductionTrafficWeight"] = production
    if test is not None:
        body["requestedTestTrafficWeight"] = test
    return body


def service_deployment(
    short: str,
    status: str,
    *,
    stage: str | None = None,
    strategy: str = "ROLLING",
    target: dict[str, Any] | None = None,
    sources: tuple[dict[str, Any], ...] = (),
    alarms: tuple[str, list[str]] | None = None,
    breaker: tuple[str, int, int] | None = None,
    rollback: tuple[str, int] | None = None,
    reason: str | None = None,
    hooks: tuple[dict[str, Any], ...] = (),
    minute: int = 0,
    created: int = 0,
) -> dict[str, Any]:
    """One DescribeServiceDeployments entry; `alarms` is (status, triggered names) over
    the three deployment alarms, `breaker` (status, failures, threshold), `rollback`
    (reason, revision number it goes back to); `minute` is when this state was reached,
    `created` when the deployment was, both in minutes after T0."""
    body: dict[str, Any] = {
        "serviceDeploymentArn": deployment_arn(short),
        "serviceArn": SERVICE_ARN,
        "clusterArn": CLUSTER_ARN,
        "createdAt": T0 + timedelta(minutes=created),
        "startedAt": T0 + timedelta(minutes=created),
        "updatedAt": T0 + timedelta(minutes=minute),
        "sourceServiceRevisions": list(sources),
        "targetServiceRevision": target if target is not None else revision(2),
        "status": status,
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
            "alarms": {
                "alarmNames": [ALARM_5XX, ALARM_UNHEALTHY, ALARM_P99],
                "enable": True,
                "rollback": True,
            },
            "strategy": strategy,
        },
    }
    if strategy != "ROLLING":
        body["deploymentConfiguration"]["bakeTimeInMinutes"] = 15
    if strategy == "CANARY":
        body["deploymentConfiguration"]["canaryConfiguration"] = {
            "canaryPercent": 5.0,
            "canaryBakeTimeInMinutes": 10,
        }
    if stage:
        body["lifecycleStage"] = stage
    if reason:
        body["statusReason"] = reason
    if status in ("SUCCESSFUL", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED", "STOPPED"):
        body["finishedAt"] = T0 + timedelta(minutes=minute)
    if alarms is not None:
        body["alarms"] = {
            "status": alarms[0],
            "alarmNames": [ALARM_5XX, ALARM_UNHEALTHY, ALARM_P99],
            "triggeredAlarmNames": alarms[1],
        }
    if breaker is not None:
        body["deploymentCircuitBreaker"] = {
            "status": breaker[0],
            "failureCount": breaker[1],
            "threshold": breaker[2],
        }
    if rollback is not None:
        body["rollback"] = {
            "reason": rollback[0],
            "startedAt": T0 + timedelta(minutes=minute),
            "serviceRevisionArn": revision_arn(rollback[1]),
        }
    if hooks:
        body["lifecycleHookDetails"] = list(hooks)
    return body


def canary(status: str, **extra: Any) -> dict[str, Any]:
    """Service deployment CANARY, of strategy CANARY, created a minute after T0."""
    options: dict[str, Any] = {"strategy": "CANARY", "created": 1, **extra}
    return service_deployment(CANARY, status, **options)


def shifting(**extra: Any) -> dict[str, Any]:
    """The canary with 5 % of production traffic on the new revision, its alarms watching."""
    return canary(
        "IN_PROGRESS",
        stage="PRODUCTION_TRAFFIC_SHIFT",
        target=revision(2, production=5.0),
        sources=(revision(1, production=95.0),),
        alarms=("MONITORING", []),
        **extra,
    )


def rolling_back(status: str, minute: int, cause: str, **extra: Any) -> dict[str, Any]:
    """The canary rolled back (for `cause`) to revision 1, which has all production traffic
    again; the new revision's tasks stop once the rollback has succeeded."""
    options: dict[str, Any] = {"alarms": ("MONITORING", []), **extra}
    return canary(
        status,
        stage="PRODUCTION_TRAFFIC_SHIFT",
        target=revision(2, production=0.0, running=0 if status == "ROLLBACK_SUCCESSFUL" else 2),
        sources=(revision(1, production=100.0),),
        rollback=(cause, 1),
        minute=minute,
        **options,
    )


def deployments_page(*deployments: dict[str, Any]) -> dict[str, Any]:
    """ListServiceDeployments' brief of each (pass full entries, any order)."""
    keys = (
        "serviceDeploymentArn",
        "serviceArn",
        "clusterArn",
        "startedAt",
        "createdAt",
        "finishedAt",
        "status",
        "statusReason",
    )
    briefs = []
    for d in deployments:
        brief = {k: d[k] for k in keys if k in d}
        brief["targetServiceRevisionArn"] = d["targetServiceRevision"]["arn"]
        briefs.append(brief)
    return {"serviceDeployments": briefs}


def expect_listed(
    stubs: Stubs, *deployments: dict[str, Any], statuses: list[str] | None = None
) -> None:
    params: dict[str, Any] = {"cluster": CLUSTER, "service": "web"}
    if statuses:
        params["status"] = statuses
    stubs.ecs.add_response("list_service_deployments", deployments_page(*deployments), params)


def expect_in_progress(stubs: Stubs, *deployments: dict[str, Any]) -> None:
    """The follower's (and rollback's) look for what is in progress."""
    expect_listed(stubs, *deployments, statuses=IN_PROGRESS_FILTER)


def expect_service_stacks(stubs: Stubs, service_outputs: dict[str, str] | None = None) -> None:
    """shop-cluster, then shop-service (updating), whose outputs name the ECS service."""
    stubs.cfn.add_response(
        "describe_stacks",
        describe_stacks(
            "shop-cluster", "CREATE_COMPLETE", role="cluster", outputs={"ClusterName": CLUSTER}
        ),
    )
    stubs.cfn.add_response(
        "describe_stacks",
        describe_stacks(
            "shop-service",
            "UPDATE_IN_PROGRESS",
            outputs={"ServiceArn": SERVICE_ARN} if service_outputs is None else service_outputs,
        ),
    )


def expect_described(stubs: Stubs, deployment: dict[str, Any]) -> None:
    stubs.ecs.add_response(
        "describe_service_deployments",
        {"serviceDeployments": [deployment], "failures": []},
        {"serviceDeploymentArns": [deployment["serviceDeploymentArn"]]},
    )
