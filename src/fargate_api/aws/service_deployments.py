"""ECS service deployments (ListServiceDeployments, DescribeServiceDeployments): typed, and
their phase in one line.

CloudFormation sees a service update as one resource in progress for as long as ECS
takes; ECS's service deployments say where a blue/green, canary or linear deployment
is (scaling up, 10 % of production traffic shifted, baking) and why it rolled back
(which alarm fired). This module reads them into `ServiceDeploymentRecord`s and
follows them while a stack operation or a rollback runs.

Every shape here comes from botocore's service model and AWS's API reference; it is
exercised with botocore's Stubber only, never against a real account. Endpoints that
do not implement these operations (moto 5 answers HTTP 500) and credentials not allowed
to call them are expected: a reader says why once and the caller goes on without phases.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from fargate_api.aws.ecs_diagnostics import ServiceRef
from fargate_api.aws.results import (
    DeploymentAlarmsRecord,
    DeploymentCircuitBreakerRecord,
    DeploymentRollbackRecord,
    LifecycleHookRecord,
    ServiceDeploymentRecord,
    ServiceRevisionRecord,
)
from fargate_api.aws.session import error_code, error_message
from fargate_api.aws_errors import THROTTLING_CODES

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_ecs.literals import ServiceDeploymentStatusType

# What StopServiceDeployment(ROLLBACK) can act on: a deployment that still moves forward.
STOPPABLE: tuple[ServiceDeploymentStatusType, ...] = ("PENDING", "IN_PROGRESS")
ROLLING_BACK: tuple[ServiceDeploymentStatusType, ...] = (
    "ROLLBACK_REQUESTED",
    "ROLLBACK_IN_PROGRESS",
)
IN_PROGRESS: tuple[ServiceDeploymentStatusType, ...] = (
    *STOPPABLE,
    "STOP_REQUESTED",
    *ROLLING_BACK,
)
ROLLBACK_STATUSES = frozenset({*ROLLING_BACK, "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"})
TRAFFIC_STAGES = {
    "TEST_TRAFFIC_SHIFT": "test",
    "POST_TEST_TRAFFIC_SHIFT": "test",
    "PRODUCTION_TRAFFIC_SHIFT": "production",
    "POST_PRODUCTION_TRAFFIC_SHIFT": "production",
}
# Errors worth one more try at the next poll; any other says the operation is not there
# for us (not implemented, not allowed, not supported here) and will not be next time.
TRANSIENT_CODES = THROTTLING_CODES | {
    "ServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "RequestTimeout",
}
# The failures a read of service deployments may meet and get past: AWS's answers, and the
# network. Anything else (a request botocore refuses to send, a test's Stubber finding an
# unexpected call) is a bug and propagates.
READ_ERRORS = (ClientError, BotoConnectionError, HTTPClientError)


@dataclass(frozen=True)
class DeploymentBrief:
    """A ListServiceDeployments entry: enough to choose which deployment to describe."""

    arn: str
    status: str
    status_reason: str | None
    created_at: datetime | None
    finished_at: datetime | None
    target_revision_arn: str | None

    @property
    def in_progress(self) -> bool:
        return self.status in IN_PROGRESS


def short_id(arn: str | None) -> str:
    """The last part of a service deployment or revision ARN: what the console shows."""
    return (arn or "?").rsplit("/", 1)[-1]


def list_deployments(
    ecs: ECSClient, ref: ServiceRef, statuses: Sequence[ServiceDeploymentStatusType] = ()
) -> list[DeploymentBrief]:
    """The first page (ECS's default size), newest first by creation time.

    Newest first is sorted here: the API reference does not promise an order."""
    if statuses:
        page = ecs.list_service_deployments(
            cluster=ref.cluster, service=ref.service, status=list(statuses)
        )
    else:
        page = ecs.list_service_deployments(cluster=ref.cluster, service=ref.service)
    briefs = [
        DeploymentBrief(
            arn=raw["serviceDeploymentArn"],
            status=str(raw.get("status", "")),
            status_reason=raw.get("statusReason"),
            created_at=raw.get("createdAt"),
            finished_at=raw.get("finishedAt"),
            target_revision_arn=raw.get("targetServiceRevisionArn"),
        )
        for raw in page.get("serviceDeployments", [])
        if raw.get("serviceDeploymentArn")
    ]
    return newest_first(briefs)


def newest_first(briefs: Iterable[DeploymentBrief]) -> list[DeploymentBrief]:
    return sorted(briefs, key=lambda b: b.created_at.timestamp() if b.created_at else 0.0)[::-1]


def describe_deployments(ecs: ECSClient, arns: Sequence[str]) -> list[ServiceDeploymentRecord]:
    if not arns:
        return []
    answer = ecs.describe_service_deployments(serviceDeploymentArns=list(arns))
    return [
        read_deployment(raw)
        for raw in answer.get("serviceDeployments", [])
        if raw.get("serviceDeploymentArn")
    ]


def describe_one(ecs: ECSClient, arn: str) -> ServiceDeploymentRecord | None:
    found = describe_deployments(ecs, [arn])
    return found[0] if found else None


def current_or_latest(ecs: ECSClient, ref: ServiceRef) -> ServiceDeploymentRecord | None:
    """The deployment in progress (the newest, if several), else the newest of all."""
    briefs = list_deployments(ecs, ref)
    if not briefs:
        return None
    chosen = next((b for b in briefs if b.in_progress), briefs[0])
    return describe_one(ecs, chosen.arn)


def read_deployment(raw: Mapping[str, Any]) -> ServiceDeploymentRecord:
    """A DescribeServiceDeployments entry as a record; every field AWS may leave out is
    None (or empty), never guessed."""
    config = raw.get("deploymentConfiguration") or {}
    rollback = raw.get("rollback")
    alarms = raw.get("alarms")
    breaker = raw.get("deploymentCircuitBreaker")
    target = raw.get("targetServiceRevision")
    record = ServiceDeploymentRecord(
        arn=str(raw["serviceDeploymentArn"]),
        service_arn=raw.get("serviceArn"),
        cluster_arn=raw.get("clusterArn"),
        status=str(raw.get("status", "")),
        status_reason=raw.get("statusReason"),
        lifecycle_stage=raw.get("lifecycleStage"),
        strategy=config.get("strategy"),
        created_at=raw.get("createdAt"),
        started_at=raw.get("startedAt"),
        finished_at=raw.get("finishedAt"),
        stopped_at=raw.get("stoppedAt"),
        updated_at=raw.get("updatedAt"),
        target=_revision(target) if target else None,
        sources=[_revision(r) for r in raw.get("sourceServiceRevisions", [])],
        rollback=DeploymentRollbackRecord(
            reason=rollback.get("reason"),
            started_at=rollback.get("startedAt"),
            service_revision_arn=rollback.get("serviceRevisionArn"),
        )
        if rollback
        else None,
        alarms=DeploymentAlarmsRecord(
            status=alarms.get("status"),
            alarm_names=_names(alarms.get("alarmNames")),
            triggered=_names(alarms.get("triggeredAlarmNames")),
        )
        if alarms
        else None,
        circuit_breaker=DeploymentCircuitBreakerRecord(
            status=breaker.get("status"),
            failure_count=breaker.get("failureCount"),
            threshold=breaker.get("threshold"),
        )
        if breaker
        else None,
        hooks=[
            LifecycleHookRecord(
                hook_id=h.get("hookId"),
                target_type=h.get("targetType"),
                status=h.get("status"),
                expires_at=h.get("expiresAt"),
                timeout_action=h.get("timeoutAction"),
            )
            for h in raw.get("lifecycleHookDetails", [])
        ],
        phase="",
    )
    return record.model_copy(update={"phase": phase_text(record)})


def _revision(raw: Mapping[str, Any]) -> ServiceRevisionRecord:
    return ServiceRevisionRecord(
        arn=raw.get("arn"),
        requested_tasks=raw.get("requestedTaskCount"),
        running_tasks=raw.get("runningTaskCount"),
        pending_tasks=raw.get("pendingTaskCount"),
        production_traffic_percent=raw.get("requestedProductionTrafficWeight"),
        test_traffic_percent=raw.get("requestedTestTrafficWeight"),
    )


def _names(value: Iterable[str] | None) -> list[str]:
    """The API reference says a "," separates the names; the model says a list. Both."""
    names: list[str] = []
    for item in value or []:
        names += [part.strip() for part in str(item).split(",") if part.strip()]
    return names


# --- the phase in one line ----------------------------------------------------------------


def is_in_progress(record: ServiceDeploymentRecord) -> bool:
    return record.status in IN_PROGRESS


def phase_text(record: ServiceDeploymentRecord) -> str:
    """`STAGE: detail` while it runs, `STATUS: detail` once it ends or rolls back, e.g.
    "PRODUCTION_TRAFFIC_SHIFT: 10% of production traffic on the new revision" or
    "ROLLBACK_IN_PROGRESS: alarm shop-service-target-5xx-rate triggered"."""
    status = record.status or "UNKNOWN"
    if status == "IN_PROGRESS":
        head = record.lifecycle_stage or status
        detail = _stage_detail(record)
        triggered = _triggered(record)
        if triggered:
            detail = f"{detail}; {triggered}" if detail else triggered
    elif status in ROLLBACK_STATUSES:
        head, detail = status, _rollback_detail(record)
    elif status == "SUCCESSFUL":
        head, detail = status, _tasks_and_traffic(record)
    else:  # PENDING, STOP_REQUESTED, STOPPED, or a status this version does not know
        head, detail = status, record.status_reason or ""
    return f"{head}: {detail}" if detail else head


def _stage_detail(record: ServiceDeploymentRecord) -> str:
    stage = record.lifecycle_stage or ""
    target = record.target
    if stage in TRAFFIC_STAGES:
        kind = TRAFFIC_STAGES[stage]
        share = None
        if target is not None:
            share = (
                target.production_traffic_percent
                if kind == "production"
                else target.test_traffic_percent
            )
        text = (
            f"{percent(share)} of {kind} traffic on the new revision"
            if share is not None
            else f"{kind} traffic shifting to the new revision"
        )
        return text + _paused(record)
    if stage == "BAKE_TIME":
        return (
            "production traffic on the new revision; the old revision is kept for a rollback "
            "until the bake time ends" + _watching(record)
        )
    if stage == "CLEAN_UP":
        left = sum(s.running_tasks or 0 for s in record.sources)
        return (
            f"stopping the old revision ({left} tasks left)"
            if left
            else "removing the old revision"
        )
    return _tasks(target) + _paused(record)


def _tasks(target: ServiceRevisionRecord | None) -> str:
    if target is None or target.requested_tasks is None:
        return ""
    text = f"new revision {target.running_tasks or 0}/{target.requested_tasks} tasks running"
    if target.pending_tasks:
        text += f", {target.pending_tasks} pending"
    return text


def _tasks_and_traffic(record: ServiceDeploymentRecord) -> str:
    text = _tasks(record.target)
    share = record.target.production_traffic_percent if record.target else None
    if share is not None and record.strategy not in (None, "ROLLING"):
        text += f", {percent(share)} of production traffic"
    return text


def _paused(record: ServiceDeploymentRecord) -> str:
    for hook in record.hooks:
        if hook.target_type == "PAUSE" and hook.status in ("AWAITING_ACTION", "IN_PROGRESS"):
            until = f" until {hook.expires_at:%H:%M:%S} UTC" if hook.expires_at else ""
            then = f", then {hook.timeout_action}" if hook.timeout_action else ""
            return f" (paused{until}{then})"
    return ""


def _watching(record: ServiceDeploymentRecord) -> str:
    alarms = record.alarms
    if alarms is not None and alarms.status == "MONITORING" and alarms.alarm_names:
        return f"; {len(alarms.alarm_names)} alarms watching"
    return ""


def _triggered(record: ServiceDeploymentRecord) -> str:
    names = triggered_alarms(record)
    if names:
        return _alarms_triggered(names)
    breaker = record.circuit_breaker
    if breaker is not None and breaker.status == "TRIGGERED":
        counts = (
            f" ({breaker.failure_count} failed tasks, threshold {breaker.threshold})"
            if breaker.failure_count is not None and breaker.threshold is not None
            else ""
        )
        return f"circuit breaker triggered{counts}"
    return ""


def _alarms_triggered(names: list[str]) -> str:
    return f"{'alarm' if len(names) == 1 else 'alarms'} {', '.join(names)} triggered"


def triggered_alarms(record: ServiceDeploymentRecord) -> list[str]:
    alarms = record.alarms
    if alarms is None or alarms.status != "TRIGGERED":
        return []
    return list(alarms.triggered) or list(alarms.alarm_names)


def rollback_cause(record: ServiceDeploymentRecord) -> str:
    """Why ECS rolls (or rolled) the deployment back, most specific first."""
    reason = record.rollback.reason if record.rollback else None
    return _triggered(record) or reason or record.status_reason or ""


def _rollback_detail(record: ServiceDeploymentRecord) -> str:
    cause = rollback_cause(record)
    if record.status == "ROLLBACK_SUCCESSFUL":
        back_to = record.rollback.service_revision_arn if record.rollback else None
        where = f"back on revision {short_id(back_to)}" if back_to else "back on the old revision"
        return f"{where} ({cause})" if cause else where
    if record.status == "ROLLBACK_FAILED" and record.status_reason:
        return (
            record.status_reason
            if record.status_reason == cause
            else f"{record.status_reason} ({cause})"
        )
    return cause


def alarm_rollback(records: Iterable[ServiceDeploymentRecord]) -> str | None:
    """ "ECS rolled back service deployment X: alarm Y triggered" for the first deployment
    its alarms rolled back, for a failure's root cause; None when none did."""
    for record in records:
        names = triggered_alarms(record)
        if record.status in ROLLBACK_STATUSES and names:
            verb = "rolled back" if record.status == "ROLLBACK_SUCCESSFUL" else "rolls back"
            if record.status == "ROLLBACK_FAILED":
                verb = "could not roll back"
            which = f"service deployment {short_id(record.arn)}"
            return f"ECS {verb} {which}: {_alarms_triggered(names)}"
    return None


def percent(value: float | None) -> str:
    return "?%" if value is None else f"{value:g}%"


# --- when the operations are not there ------------------------------------------------------


def unavailable_reason(exc: Exception) -> str | None:
    """Why service deployments cannot be read here, or None for a failure worth retrying
    at the next poll (throttling, a passing server error, the network)."""
    if not isinstance(exc, ClientError):
        return None
    code, message = error_code(exc), error_message(exc)
    operation = exc.operation_name
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        return f"not allowed to call ecs:{operation} ({message})"
    if code == "UnsupportedFeatureException":
        return f"ECS does not support {operation} here ({message})"
    if code.isdigit() or code in ("NotImplemented", "InvalidAction", "UnknownOperationException"):
        # moto 5 answers an operation it does not implement with an HTML HTTP 500.
        return f"the endpoint does not implement {operation} (HTTP {status or code})"
    if code in TRANSIENT_CODES or status >= 500:
        return None
    return f"{operation} failed ({code}): {message}"


# --- following deployments while something else runs ----------------------------------------


@dataclass
class DeploymentFollower:
    """Follows a service's deployments, one poll at a time; each poll returns the lines to
    show (a phase that changed, or once, why phases cannot be shown).

    With no `arn`, it looks for a deployment in progress; once it has one it describes
    that one until it ends (the status filter alone would lose a rollback's last state),
    then looks again, so the deployment CloudFormation starts for its own rollback is
    followed too."""

    ecs: ECSClient
    ref: ServiceRef
    arn: str | None = None
    records: dict[str, ServiceDeploymentRecord] = field(default_factory=dict)
    shown: dict[str, str] = field(default_factory=dict)
    unavailable: str | None = None

    def poll(self) -> list[str]:
        if self.unavailable is not None:
            return []
        try:
            return self._poll()
        except READ_ERRORS as exc:
            reason = unavailable_reason(exc)
            if reason is None:
                return []
            self.unavailable = reason
            return [f"service deployment phases not shown: {reason}"]

    def _poll(self) -> list[str]:
        if self.arn is None:
            fresh = [
                b
                for b in list_deployments(self.ecs, self.ref, IN_PROGRESS)
                if b.arn not in self.records or is_in_progress(self.records[b.arn])
            ]
            if not fresh:
                return []
            self.arn = fresh[0].arn
        record = describe_one(self.ecs, self.arn)
        if record is None:
            self.arn = None
            return []
        first = record.arn not in self.records
        self.records[record.arn] = record
        if not is_in_progress(record):
            self.arn = None
        if self.shown.get(record.arn) == record.phase:
            return []
        self.shown[record.arn] = record.phase
        if first:
            strategy = f", {record.strategy}" if record.strategy else ""
            return [f"{short_id(record.arn)}{strategy}: {record.phase}"]
        return [record.phase]

    @property
    def following(self) -> bool:
        return self.arn is not None and self.unavailable is None

    @property
    def current(self) -> ServiceDeploymentRecord | None:
        return self.records.get(self.arn) if self.arn else None
