"""What `deploy`, `outputs`, `status` and `rollback` print with --json, as types.

Scripts read these documents (the URL and egress IPs to allow-list, whether a deploy
changed anything, why it failed), so their shape is a contract: docs/schemas/ holds
their JSON Schemas (`make schemas`) and a unit test keeps them current. This module
imports pydantic only, never boto3, so that the schemas can be written (and the CLI
can start) without the AWS SDK.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, NotRequired

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)
from typing_extensions import TypedDict


class Result(BaseModel):
    """Frozen: a result describes what happened; nothing edits it afterwards."""

    model_config = ConfigDict(frozen=True)


class Endpoint(Result):
    """The values users act on, from whichever stack exports them (`service` and
    `log_group` are null when several services export their own)."""

    url: str | None
    egress_ips: list[str]
    load_balancer_dns: str | None
    cluster: str | None
    service: str | None
    log_group: str | None


class ChangeRecord(Result):
    """One row of a change set."""

    action: str
    logical_id: str
    type: str
    replacement: str | None
    properties: list[str]
    physical_id: str | None


class StackResult(Result):
    """What a deploy did to one stack."""

    name: str
    role: str
    result: Literal["created", "updated", "no changes"]
    status: str
    changes: list[ChangeRecord]
    outputs: dict[str, str]


class ImageResult(Result):
    """An image that a deploy built from source and found in, or pushed to, its registry."""

    repository_uri: str
    tag: str
    digest: str
    image: str  # repository_uri@digest: what the task definition names
    pushed: bool  # False when the registry had the tag already
    builder: str
    architecture: str


class DeployResult(Result):
    """`deploy --json` when every stack is deployed."""

    ok: Literal[True] = True
    stack_name: str
    region: str
    url: str | None
    egress_ips: list[str]
    load_balancer_dns: str | None
    cluster: str | None
    service: str | None
    log_group: str | None
    changed: bool
    stacks: list[StackResult]
    images: list[ImageResult] = []


class RootCauseRecord(Result):
    """The first failed resource event, the one to fix."""

    stack: str | None
    logical_id: str | None
    type: str | None
    status: str | None
    reason: str | None
    hint: str | None
    deployment_rollback: str | None = Field(
        default=None,
        description="Set when ECS rolled the service deployment back because its alarms "
        "fired: which deployment and which alarms.",
    )


class DeployFailure(Result):
    """`deploy --json` (and `destroy --json`) when a stack operation failed: exit 1."""

    ok: Literal[False] = False
    stack: str
    status: str
    root_cause: RootCauseRecord | None
    ecs: list[str]
    note: str


class StackStatusJson(TypedDict):
    """StackStatus as printed: a stack that is not deployed has no `reason` key."""

    name: str
    role: str
    status: str | None
    reason: NotRequired[str | None]
    outputs: dict[str, str]


class StackStatus(Result):
    """A stack as `outputs` and `status` show it; `status` is null when it is not
    deployed, and then it has no `reason` key (the shape scripts already read)."""

    name: str
    role: str
    status: str | None
    reason: str | None = None
    outputs: dict[str, str]

    @model_serializer(mode="wrap", return_type=StackStatusJson)
    def _no_reason_when_not_deployed(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if self.status is None and isinstance(data, dict):
            data.pop("reason", None)
        return data


class OutputsResult(Result):
    """`outputs --json`."""

    stack_name: str
    region: str
    url: str | None
    egress_ips: list[str]
    load_balancer_dns: str | None
    cluster: str | None
    service: str | None
    log_group: str | None
    stacks: list[StackStatus]


class DeploymentStatus(Result):
    """An ECS deployment as DescribeServices reports it (any field may be missing)."""

    status: str | None
    rollout: str | None
    running: int | None
    desired: int | None
    failed_tasks: int | None


class ServiceStatus(Result):
    status: str | None
    running: int
    desired: int
    pending: int
    deployments: list[DeploymentStatus]
    last_event: str | None


class TargetHealth(Result):
    """Targets counted by state, and the distinct reasons of those not healthy."""

    states: dict[str, int]
    reasons: list[str]


class ServiceRevisionRecord(Result):
    """A service revision as a service deployment reports it (the target or a source)."""

    arn: str | None
    requested_tasks: int | None
    running_tasks: int | None
    pending_tasks: int | None
    production_traffic_percent: float | None = Field(
        description="requestedProductionTrafficWeight, 0..100: the share of production "
        "traffic ECS asked for (a snapshot, not a measurement)."
    )
    test_traffic_percent: float | None = Field(
        description="requestedTestTrafficWeight, 0..100, the same for the test listener."
    )


class DeploymentRollbackRecord(Result):
    """Why and when ECS started rolling a service deployment back, and to what."""

    reason: str | None
    started_at: datetime | None
    service_revision_arn: str | None


class DeploymentAlarmsRecord(Result):
    """The deployment alarms as ECS watches them during one service deployment."""

    status: str | None = Field(description="TRIGGERED, MONITORING, MONITORING_COMPLETE, DISABLED")
    alarm_names: list[str]
    triggered: list[str]


class DeploymentCircuitBreakerRecord(Result):
    status: str | None = Field(description="TRIGGERED, MONITORING, MONITORING_COMPLETE, DISABLED")
    failure_count: int | None
    threshold: int | None


class LifecycleHookRecord(Result):
    """A lifecycle hook of the deployment (a PAUSE hook holds a stage until it expires)."""

    hook_id: str | None
    target_type: str | None
    status: str | None
    expires_at: datetime | None
    timeout_action: str | None


class ServiceDeploymentRecord(Result):
    """One ECS service deployment (DescribeServiceDeployments), and its phase in one line.

    Field values are AWS's own (status, lifecycle stage, alarm and circuit-breaker
    statuses) so that they can be looked up in the ECS documentation; `phase` is the
    line the CLI prints for it."""

    arn: str
    service_arn: str | None
    cluster_arn: str | None
    status: str = Field(
        description="PENDING, IN_PROGRESS, SUCCESSFUL, STOP_REQUESTED, STOPPED, "
        "ROLLBACK_REQUESTED, ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED"
    )
    status_reason: str | None
    lifecycle_stage: str | None = Field(
        description="RECONCILE_SERVICE, PRE_SCALE_UP, SCALE_UP, POST_SCALE_UP, "
        "TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT, "
        "POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME, CLEAN_UP"
    )
    strategy: str | None = Field(description="ROLLING, BLUE_GREEN, LINEAR, CANARY")
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    stopped_at: datetime | None
    updated_at: datetime | None
    target: ServiceRevisionRecord | None
    sources: list[ServiceRevisionRecord]
    rollback: DeploymentRollbackRecord | None
    alarms: DeploymentAlarmsRecord | None
    circuit_breaker: DeploymentCircuitBreakerRecord | None
    hooks: list[LifecycleHookRecord]
    phase: str = Field(description="The phase in one line, as the CLI prints it.")


class ServiceReport(Result):
    """One ECS service of the templates (one per service stack) as `status` sees it."""

    name: str = Field(
        description="The service's name as the templates set it (what --service takes)."
    )
    stack: str
    role: str
    stack_status: str | None = Field(description="Its stack's status; null: not deployed.")
    service_arn: str | None
    log_group: str | None
    service_state: ServiceStatus | None
    targets: TargetHealth | None
    service_deployment: ServiceDeploymentRecord | None = Field(
        description="The service deployment in progress, else the latest one."
    )
    service_deployment_unavailable: str | None = Field(
        description="Why service_deployment is null although the service exists."
    )


class StatusResult(OutputsResult):
    """`status --json`: the outputs, plus what CloudFormation does not track.

    `services` has one entry per ECS service; the top-level service_state, targets and
    service_deployment fields repeat the entry of the only service, and are null when
    the templates run several (read `services` then)."""

    service_state: ServiceStatus | None
    targets: TargetHealth | None
    service_deployment: ServiceDeploymentRecord | None = Field(
        default=None,
        description="The service deployment in progress, else the latest one.",
    )
    service_deployment_unavailable: str | None = Field(
        default=None,
        description="Why service_deployment is null although the service exists (the "
        "endpoint does not implement ListServiceDeployments, a missing permission, ...).",
    )
    services: list[ServiceReport] = Field(
        default=[], description="Every ECS service of the templates, in deploy order."
    )


class RollbackResult(Result):
    """`rollback --json`: the service deployment rolled back and how it ended (ok is
    false, and the exit code 1, when the rollback failed or did not happen)."""

    ok: bool
    stack_name: str
    region: str
    cluster: str
    service: str
    service_deployment_arn: str
    requested: bool = Field(
        description="False when ECS was already rolling the deployment back: nothing was "
        "asked, the command only followed it."
    )
    waited: bool
    status: str
    deployment: ServiceDeploymentRecord
