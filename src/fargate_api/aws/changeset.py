"""Change sets: every create or update is previewed as one before anything changes.

An empty change set is how CloudFormation says "no changes"; it is deleted at once so
that the stack's change-set list does not fill up with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from fargate_api.aws.clock import Clock
from fargate_api.aws.stacks import StackSpec, tags
from fargate_api.errors import UserError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

CAPABILITIES: list[Any] = ["CAPABILITY_IAM"]
NO_CHANGE_MARKERS = ("didn't contain changes", "No updates are to be performed")
POLL_SECONDS = 2.0
TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True)
class Change:
    action: str
    logical_id: str
    resource_type: str
    replacement: str
    properties: list[str] = field(default_factory=list)
    physical_id: str = ""

    @property
    def replaces(self) -> bool:
        return self.replacement in ("True", "Conditional")

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "logical_id": self.logical_id,
            "type": self.resource_type,
            "replacement": self.replacement or None,
            "properties": self.properties,
            "physical_id": self.physical_id or None,
        }


@dataclass(frozen=True)
class ChangeSet:
    stack: str
    arn: str
    kind: Literal["CREATE", "UPDATE"]
    changes: list[Change]

    @property
    def empty(self) -> bool:
        return not self.changes


def change_set_name(clock: Clock) -> str:
    stamp = datetime.fromtimestamp(clock.wall(), tz=UTC).strftime("%Y%m%d-%H%M%S")
    return f"fargate-api-{stamp}"


def create(
    cfn: CloudFormationClient,
    spec: StackSpec,
    *,
    base: str,
    parameters: list[dict[str, str]],
    kind: Literal["CREATE", "UPDATE"],
    clock: Clock,
) -> ChangeSet:
    """Creates the change set and waits until it is ready (or known to be empty)."""
    response = cfn.create_change_set(
        StackName=spec.name,
        ChangeSetName=change_set_name(clock),
        ChangeSetType=kind,
        TemplateBody=spec.body,
        Parameters=parameters,  # type: ignore[arg-type]
        Capabilities=CAPABILITIES,
        Tags=tags(base, spec.role),  # type: ignore[arg-type]
        Description="fargate-api deploy",
    )
    arn = response["Id"]
    deadline = clock.now() + TIMEOUT_SECONDS
    while True:
        described = cfn.describe_change_set(ChangeSetName=arn)
        status = described["Status"]
        if status == "CREATE_COMPLETE":
            break
        if status == "FAILED":
            reason = described.get("StatusReason", "")
            if any(marker in reason for marker in NO_CHANGE_MARKERS):
                cfn.delete_change_set(ChangeSetName=arn)
                return ChangeSet(spec.name, arn, kind, [])
            discard(cfn, arn, spec.name, kind)
            raise UserError(
                f"CloudFormation rejected the change set for {spec.name}: {reason}",
                fix="fix the template or parameters it names ('fargate-api check' "
                "finds most template problems before AWS does)",
            )
        if clock.now() > deadline:
            raise UserError(f"the change set for {spec.name} is still {status} after 10 minutes")
        clock.sleep(POLL_SECONDS)
    return ChangeSet(spec.name, arn, kind, read_changes(cfn, arn))


def read_changes(cfn: CloudFormationClient, arn: str) -> list[Change]:
    changes: list[Change] = []
    token: str | None = None
    while True:
        page = (
            cfn.describe_change_set(ChangeSetName=arn, NextToken=token)
            if token
            else cfn.describe_change_set(ChangeSetName=arn)
        )
        for raw in page.get("Changes", []):
            rc: Any = raw.get("ResourceChange", {})
            changes.append(to_change(rc))
        token = page.get("NextToken")
        if not token:
            return changes


def to_change(rc: Any) -> Change:
    properties: list[str] = []
    for detail in rc.get("Details", []):
        target = detail.get("Target", {})
        name = target.get("Name") or target.get("Attribute", "")
        if target.get("Attribute") == "Properties" and name:
            label = name
            if target.get("RequiresRecreation") == "Always":
                label += " (replaces)"
            elif target.get("RequiresRecreation") == "Conditionally":
                label += " (may replace)"
            if label not in properties:
                properties.append(label)
        elif name and name not in properties:
            properties.append(name)
    return Change(
        action=rc.get("Action", ""),
        logical_id=rc.get("LogicalResourceId", ""),
        resource_type=rc.get("ResourceType", ""),
        replacement=rc.get("Replacement", "") if rc.get("Action") == "Modify" else "",
        properties=properties,
        physical_id=rc.get("PhysicalResourceId", ""),
    )


def discard(cfn: CloudFormationClient, arn: str, stack: str, kind: str) -> None:
    """Deletes a change set that will not run; for a new stack, the empty stack too.

    A CREATE change set leaves a stack in REVIEW_IN_PROGRESS behind; deleting it keeps
    the next deploy a plain create.
    """
    cfn.delete_change_set(ChangeSetName=arn)
    if kind == "CREATE":
        cfn.delete_stack(StackName=stack)


def planned_from_template(spec: StackSpec) -> list[Change]:
    """What creating `spec` adds, for a diff of a stack that does not exist yet."""
    return [
        Change(action="Add", logical_id=lid, resource_type=kind, replacement="")
        for lid, kind in spec.resource_types.items()
    ]
