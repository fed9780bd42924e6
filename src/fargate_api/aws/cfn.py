"""Reads of CloudFormation state that every command needs: a stack, its outputs, events.

A stack that does not exist is None here rather than an exception, because "not
deployed yet" is an ordinary answer for deploy, diff, status and destroy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from fargate_api.aws.session import error_code, error_message

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

FAILED_FIRST_CREATE = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED"})


@dataclass(frozen=True)
class StackState:
    stack_id: str
    name: str
    status: str
    reason: str
    outputs: dict[str, str]
    parameters: dict[str, str]
    tags: dict[str, str]

    @property
    def in_progress(self) -> bool:
        return self.status.endswith("_IN_PROGRESS")


@dataclass(frozen=True)
class StackEvent:
    event_id: str
    stack_name: str
    logical_id: str
    physical_id: str
    resource_type: str
    status: str
    reason: str
    timestamp: datetime

    @property
    def is_stack(self) -> bool:
        return self.resource_type == "AWS::CloudFormation::Stack" and (
            self.logical_id == self.stack_name
        )


def describe(cfn: CloudFormationClient, name: str) -> StackState | None:
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if error_code(exc) == "ValidationError" and "does not exist" in error_message(exc):
            return None
        raise
    if not stacks:
        return None
    stack = stacks[0]
    if stack["StackStatus"] == "DELETE_COMPLETE":
        return None
    return StackState(
        stack_id=stack.get("StackId", name),
        name=stack["StackName"],
        status=stack["StackStatus"],
        reason=stack.get("StackStatusReason", ""),
        outputs={o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])},
        parameters={
            p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])
        },
        tags={t["Key"]: t["Value"] for t in stack.get("Tags", [])},
    )


def to_event(raw: Any) -> StackEvent:
    return StackEvent(
        event_id=raw["EventId"],
        stack_name=raw["StackName"],
        logical_id=raw.get("LogicalResourceId", ""),
        physical_id=raw.get("PhysicalResourceId", ""),
        resource_type=raw.get("ResourceType", ""),
        status=raw.get("ResourceStatus", ""),
        reason=raw.get("ResourceStatusReason", ""),
        timestamp=raw["Timestamp"],
    )


def new_events(cfn: CloudFormationClient, stack: str, seen: set[str]) -> list[StackEvent]:
    """Events not in `seen`, oldest first; `seen` is updated.

    The API returns newest first, so paging stops at the first page that reaches an
    event already seen.
    """
    fresh: list[StackEvent] = []
    token: str | None = None
    while True:
        page = (
            cfn.describe_stack_events(StackName=stack, NextToken=token)
            if token
            else cfn.describe_stack_events(StackName=stack)
        )
        reached_seen = False
        for raw in page["StackEvents"]:
            if raw["EventId"] in seen:
                reached_seen = True
                break
            fresh.append(to_event(raw))
        token = page.get("NextToken")
        if reached_seen or not token:
            break
    seen.update(event.event_id for event in fresh)
    return list(reversed(fresh))


def mark_seen(cfn: CloudFormationClient, stack: str) -> set[str]:
    """The ids of the events so far (first page), so a watch shows only what comes next."""
    page = cfn.describe_stack_events(StackName=stack)
    return {raw["EventId"] for raw in page["StackEvents"]}


def physical_ids(cfn: CloudFormationClient, stack: str) -> dict[str, tuple[str, str]]:
    """Logical id -> (type, physical id) of the stack's resources."""
    found: dict[str, tuple[str, str]] = {}
    paginator = cfn.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack):
        for summary in page["StackResourceSummaries"]:
            found[summary["LogicalResourceId"]] = (
                summary["ResourceType"],
                summary.get("PhysicalResourceId", ""),
            )
    return found


def joined(values: Iterable[str]) -> str:
    return ", ".join(values)
