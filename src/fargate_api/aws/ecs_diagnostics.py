"""What ECS knows long before CloudFormation says anything: service events and why tasks stopped.

CloudFormation reports an ECS service that cannot stabilise only when the circuit
breaker fires or after hours. ECS itself says within seconds why a task stopped (an image
it cannot pull, an essential container that exited, failed ELB health checks); this
module reads that while the service stack is in progress.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

SignalKind = Literal["event", "stopped-task", "circuit-breaker"]
ECS_SERVICE_TYPE = "AWS::ECS::Service"
_IDS = re.compile(r"\b(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f-]{27}|sha256:[0-9a-f]+)\b")


@dataclass(frozen=True)
class Signal:
    kind: SignalKind
    message: str
    failure_key: str = ""


@dataclass(frozen=True)
class ServiceRef:
    cluster: str
    service: str


def service_from_arn(arn: str, cluster_hint: str = "") -> ServiceRef | None:
    """arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME (or the old form without CLUSTER)."""
    if ":service/" not in arn:
        return None
    parts = arn.split(":service/", 1)[1].split("/")
    if len(parts) == 2:
        return ServiceRef(cluster=parts[0], service=parts[1])
    if cluster_hint:
        return ServiceRef(cluster=cluster_hint, service=parts[0])
    return None


def stopped_task_message(task: Any) -> tuple[str, str]:
    """The reason a task stopped, in one line, and the same without ids (to count repeats)."""
    reasons: list[str] = []
    stopped = task.get("stoppedReason", "")
    if stopped:
        reasons.append(stopped)
    for container in task.get("containers", []):
        detail = container.get("reason", "")
        code = container.get("exitCode")
        name = container.get("name", "container")
        if detail:
            reasons.append(f"{name}: {detail}")
        elif code not in (None, 0):
            reasons.append(f"{name} exited with code {code}")
    text = "; ".join(reasons) or task.get("stopCode", "stopped")
    short_id = str(task.get("taskArn", "")).rsplit("/", 1)[-1][:8]
    return f"task {short_id} stopped: {text}", _IDS.sub("<id>", text)


@dataclass
class EcsProbe:
    """Polls one service; each poll returns only what is new since the last."""

    ecs: ECSClient
    ref: ServiceRef
    seen_events: set[str] = field(default_factory=set)
    seen_tasks: set[str] = field(default_factory=set)
    failures: Counter[str] = field(default_factory=Counter)
    breaker_reported: bool = False
    primed: bool = False

    def poll(self) -> list[Signal]:
        try:
            return self._poll()
        except ClientError:
            # The service may not exist yet, or be gone; ECS detail is a bonus, not a need.
            return []

    def _poll(self) -> list[Signal]:
        signals: list[Signal] = []
        described = self.ecs.describe_services(
            cluster=self.ref.cluster, services=[self.ref.service]
        )
        for service in described.get("services", []):
            events = list(service.get("events", []))
            for event in reversed(events[:20]):
                if event["id"] in self.seen_events:
                    continue
                self.seen_events.add(event["id"])
                if self.primed:
                    signals.append(Signal("event", event.get("message", "")))
            for deployment in service.get("deployments", []):
                if deployment.get("rolloutState") == "FAILED" and not self.breaker_reported:
                    self.breaker_reported = True
                    reason = deployment.get("rolloutStateReason", "deployment failed")
                    signals.append(Signal("circuit-breaker", reason, "circuit-breaker"))
        self.primed = True
        signals.extend(self._stopped_tasks())
        return signals

    def _stopped_tasks(self) -> list[Signal]:
        arns = self.ecs.list_tasks(
            cluster=self.ref.cluster, serviceName=self.ref.service, desiredStatus="STOPPED"
        ).get("taskArns", [])
        fresh = [arn for arn in arns if arn not in self.seen_tasks]
        if not fresh:
            return []
        tasks = self.ecs.describe_tasks(cluster=self.ref.cluster, tasks=fresh[:100])
        signals = []
        for task in tasks.get("tasks", []):
            self.seen_tasks.add(task["taskArn"])
            message, key = stopped_task_message(task)
            self.failures[key] += 1
            signals.append(Signal("stopped-task", message, key))
        return signals

    def repeated_failure(self, times: int) -> str | None:
        for key, count in self.failures.most_common(1):
            if count >= times:
                return key
        return None
