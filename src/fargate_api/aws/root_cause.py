"""The one event that explains a failed deploy, and what to do about it.

When one resource fails, CloudFormation cancels every resource in flight and reports
each ("Resource creation cancelled"), then rolls back. The first FAILED event that is not
such a cancellation is the cause; everything after it is consequence.

A service whose deployment alarms fired fails the same way, but its event says only that
the ECS deployment failed; the service deployment the watch followed says which alarms
rolled it back, and the root cause names them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from fargate_api.aws.cfn import StackEvent
from fargate_api.aws.ecs_diagnostics import ECS_SERVICE_TYPE
from fargate_api.aws.results import ServiceDeploymentRecord
from fargate_api.aws.service_deployments import alarm_rollback

CANCELLED = re.compile(r"cancel", re.IGNORECASE)

ALARM_ROLLBACK_HINT = (
    "the deployment alarms fired while the new revision took traffic, so ECS moved the "
    "traffic back: read the alarms' history ('aws cloudwatch describe-alarm-history "
    "--alarm-name NAME') and the logs ('fargate-api logs --since 30m'), fix the revision, "
    "then deploy again"
)

HINTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), hint)
    for pattern, hint in (
        (
            r"CannotPullContainerError|pull image manifest|image.*not found",
            "ECS cannot pull the image: check the image URL and tag, that the execution role "
            "may read the repository, and that the private subnets reach the registry (NAT "
            "gateway or VPC endpoints)",
        ),
        # The wording CloudFormation uses when deployment alarms roll back is unverified;
        # the watch's service deployments name the alarms whatever the event says.
        (r"Deployment Alarms?\b|alarms? .*(triggered|in ALARM)", ALARM_ROLLBACK_HINT),
        (
            r"Circuit Breaker|did not stabilize|failed to stabilize",
            "the tasks never became healthy: read the stopped-task reasons above, the "
            "container logs ('fargate-api logs --since 30m'), and check that "
            "health_check_path answers 200 on the container port",
        ),
        (
            r"Essential container .* exited|exit code",
            "the container exits on start: run the image locally and read "
            "'fargate-api logs --since 30m'",
        ),
        (
            r"health checks? failed|Task failed ELB health checks",
            "the load balancer's health check fails: health_check_path must answer "
            "health_check_codes on the container port within health_check_timeout",
        ),
        (
            r"AddressLimitExceeded|maximum number of addresses",
            "the account has reached its Elastic IP quota (5 per region by default): release "
            "unused EIPs or request more in Service Quotas",
        ),
        (
            r"already exists",
            "a resource with that name exists outside this stack: delete it or choose "
            "another name (e.g. --stack-name, or the service name in the config)",
        ),
        (
            r"not authorized|AccessDenied|is not authorized to perform",
            "the credentials lack a permission: the message names the action to allow",
        ),
        (
            r"Certificate.*(not found|not valid|does not exist)|CertificateNotFound",
            "certificate_arn must name an ACM certificate in this region and account, "
            "issued (not pending validation)",
        ),
        (
            r"LimitExceeded|quota",
            "an AWS quota is reached: request an increase in Service Quotas",
        ),
        (
            r"secret|ssm parameter|ResourceInitializationError",
            "the task cannot read its secrets or reach AWS APIs at start: check the ARNs in "
            "[service.secrets] and the route to Secrets Manager / SSM",
        ),
    )
)


@dataclass(frozen=True)
class RootCause:
    event: StackEvent
    hint: str | None
    deployment_rollback: str | None = None
    """"ECS rolled back service deployment X: alarm Y triggered", when that is why."""

    def describe(self) -> str:
        e = self.event
        text = f"{e.stack_name}: {e.logical_id} ({e.resource_type}) {e.status}: {e.reason}"
        return f"{text}; {self.deployment_rollback}" if self.deployment_rollback else text

    def to_json(self) -> dict[str, str | None]:
        e = self.event
        return {
            "stack": e.stack_name,
            "logical_id": e.logical_id,
            "type": e.resource_type,
            "status": e.status,
            "reason": e.reason,
            "hint": self.hint,
            "deployment_rollback": self.deployment_rollback,
        }


def find_root_cause(
    events: Sequence[StackEvent], deployments: Sequence[ServiceDeploymentRecord] = ()
) -> RootCause | None:
    """`events` oldest first, as the watcher collects them; `deployments`, the ECS service
    deployments the watch followed."""
    cause = _first_failure(events)
    rolled_back = alarm_rollback(deployments)
    if cause is None or rolled_back is None:
        return cause
    # The alarms explain a failed service; another resource's failure keeps its own hint.
    hint = ALARM_ROLLBACK_HINT if cause.event.resource_type == ECS_SERVICE_TYPE else cause.hint
    return RootCause(cause.event, hint, rolled_back)


def _first_failure(events: Sequence[StackEvent]) -> RootCause | None:
    failed = [e for e in events if e.status.endswith("_FAILED")]
    for event in failed:
        if event.is_stack or CANCELLED.search(event.reason):
            continue
        return RootCause(event, hint_for(event.reason))
    for event in failed:  # only the stack's own summary: better than nothing
        if not CANCELLED.search(event.reason):
            return RootCause(event, hint_for(event.reason))
    return None


def hint_for(text: str) -> str | None:
    for pattern, hint in HINTS:
        if pattern.search(text):
            return hint
    return None
