"""What `deploy`, `outputs` and `status` print with --json, as types.

Scripts read these documents (the URL and egress IPs to allow-list, whether a deploy
changed anything, why it failed), so their shape is a contract: docs/schemas/ holds
their JSON Schemas (`make schemas`) and a unit test keeps them current. This module
imports pydantic only, never boto3, so that the schemas can be written (and the CLI
can start) without the AWS SDK.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer
from typing_extensions import TypedDict


class Result(BaseModel):
    """Frozen: a result describes what happened; nothing edits it afterwards."""

    model_config = ConfigDict(frozen=True)


class Endpoint(Result):
    """The values users act on, from whichever stack exports them."""

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


class StatusResult(OutputsResult):
    """`status --json`: the outputs, plus what CloudFormation does not track."""

    service_state: ServiceStatus | None
    targets: TargetHealth | None
