"""rollback: the ECS service deployment in progress, rolled back, then followed to its end.

A deployment whose alarms have not fired (or that has none) can still be serving a bad
revision. StopServiceDeployment with stopType ROLLBACK moves the service back to the
revision that ran before, without a new deploy: during a blue/green, canary or linear
deployment the old revision still runs until the bake time ends, so production traffic
goes back at once. A deployment that has finished is not rolled back here: deploying the
earlier version is the way back then, and the error says so.

The service is found as `status` and `logs` find it, from its stack's outputs
(ServiceArn, ClusterName), so it works for any template set deployed by this tool; with
several services (one stack each), `--service NAME` says which.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from botocore.exceptions import ClientError
from rich.console import Console
from rich.markup import escape

from fargate_api.aws.clock import Clock
from fargate_api.aws.ecs_diagnostics import ServiceRef
from fargate_api.aws.results import RollbackResult, ServiceDeploymentRecord
from fargate_api.aws.service_deployments import (
    IN_PROGRESS,
    READ_ERRORS,
    ROLLING_BACK,
    STOPPABLE,
    DeploymentBrief,
    describe_one,
    is_in_progress,
    list_deployments,
    short_id,
    unavailable_reason,
)
from fargate_api.aws.service_stacks import select_service
from fargate_api.aws.session import Clients, error_code, error_message
from fargate_api.aws.stacks import StackPlan
from fargate_api.aws.status import find_service, read_outputs
from fargate_api.errors import CliError, OperationError, UserError

POLL_SECONDS = 5.0
PERMISSIONS_FIX = (
    "allow ecs:ListServiceDeployments, ecs:DescribeServiceDeployments and "
    "ecs:StopServiceDeployment to these credentials (IAM)"
)
DEPLOY_INSTEAD = (
    "a finished deployment is not rolled back: deploy the version to go back to (its "
    "commit, or the config that ran it) with 'fargate-api deploy'"
)


@dataclass(frozen=True)
class RollbackOptions:
    wait: bool = True
    poll_seconds: float = POLL_SECONDS


class RollbackFailedError(Exception):
    """The rollback was asked for and did not end in ROLLBACK_SUCCESSFUL: exit 1, with
    the result (ok: false) for --json."""

    def __init__(self, result: RollbackResult, fix: str) -> None:
        super().__init__(
            f"rollback of service deployment {short_id(result.service_deployment_arn)} "
            f"ended {result.deployment.phase}"
        )
        self.result = result
        self.fix = fix


@dataclass
class RollBacker:
    clients: Clients
    console: Console
    clock: Clock
    options: RollbackOptions = field(default_factory=RollbackOptions)

    def roll_back(self, plan: StackPlan, service: str | None = None) -> RollbackResult:
        """Rolls back the deployment of `service` (--service: required when the templates
        run several services)."""
        chosen = select_service(plan, service, required=True, command="rollback")
        outputs = read_outputs(self.clients, plan)
        by_role = {s.role: s.outputs for s in outputs.stacks}
        ref = find_service(by_role, chosen.spec.role) if chosen is not None else None
        if ref is None:
            where = (
                f"{chosen.spec.name} exports" if chosen else f"the stacks of '{plan.base}' export"
            )
            raise UserError(
                f"{where} no ServiceArn: there is no service to roll back",
                fix="deploy the service stack first ('fargate-api deploy')",
            )
        with _deployment_errors():
            active = self._in_progress(ref)
            stoppable = [b for b in active if b.status in STOPPABLE]
            rolling_back = [b for b in active if b.status in ROLLING_BACK]
            if stoppable:
                arn, requested = stoppable[0].arn, True
                self._stop(ref, arn)
            elif rolling_back:
                arn, requested = rolling_back[0].arn, False
                record = describe_one(self.clients.ecs, arn)
                phase = record.phase if record else rolling_back[0].status
                self.console.print(
                    f"ECS is already rolling back service deployment {short_id(arn)} of "
                    f"{escape(ref.service)}: {escape(phase)}"
                )
            else:
                raise self._nothing_to_roll_back(ref, active)
        try:
            record = self._wait(arn) if self.options.wait else self._read(arn)
        except KeyboardInterrupt:
            self.console.print(
                "the rollback goes on in AWS; 'fargate-api status' shows where it is"
            )
            raise
        result = RollbackResult(
            ok=record.status == "ROLLBACK_SUCCESSFUL" or not self.options.wait,
            stack_name=plan.base,
            region=self.clients.region,
            cluster=ref.cluster,
            service=ref.service,
            service_deployment_arn=arn,
            requested=requested,
            waited=self.options.wait,
            status=record.status,
            deployment=record,
        )
        if not result.ok:
            raise RollbackFailedError(result, _fix_for(record))
        return result

    def _in_progress(self, ref: ServiceRef) -> list[DeploymentBrief]:
        """First with the single-retry client, so that an endpoint without the operation
        (moto 5 answers HTTP 500, which botocore retries) fails in a second; a failure
        worth retrying gets the full retries."""
        try:
            return list_deployments(self.clients.polling_ecs, ref, IN_PROGRESS)
        except READ_ERRORS as exc:
            if unavailable_reason(exc) is not None:
                raise
        return list_deployments(self.clients.ecs, ref, IN_PROGRESS)

    def _stop(self, ref: ServiceRef, arn: str) -> None:
        before = describe_one(self.clients.ecs, arn)
        self.clients.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
        where = f" (it was at {before.phase})" if before else ""
        self.console.print(
            f"rolling back service deployment {short_id(arn)} of {escape(ref.service)}"
            f"{escape(where)}"
        )

    def _read(self, arn: str) -> ServiceDeploymentRecord:
        with _deployment_errors():
            record = _still_described(describe_one(self.clients.ecs, arn), arn)
        self.console.print(f"  rollback: {escape(record.phase)} (not waiting: --no-wait)")
        return record

    def _wait(self, arn: str) -> ServiceDeploymentRecord:
        """Polls with the single-retry client: a throttled poll is skipped, not fatal."""
        shown = ""
        waiting = self.console.status("waiting for ECS to roll back… (Ctrl-C leaves it running)")
        with waiting, _deployment_errors():
            while True:
                self.clock.sleep(self.options.poll_seconds)
                try:
                    found = describe_one(self.clients.polling_ecs, arn)
                except READ_ERRORS as exc:
                    if unavailable_reason(exc) is None:
                        continue
                    raise
                record = _still_described(found, arn)
                if record.phase != shown:
                    shown = record.phase
                    self.console.print(f"  rollback: {escape(record.phase)}")
                if not is_in_progress(record):
                    return record

    def _nothing_to_roll_back(self, ref: ServiceRef, active: list[DeploymentBrief]) -> UserError:
        stopping = next((b for b in active if b.status == "STOP_REQUESTED"), None)
        if stopping is not None:
            return UserError(
                f"service deployment {short_id(stopping.arn)} of {ref.service} is being "
                "stopped (STOP_REQUESTED): there is no deployment in progress to roll back",
                fix="wait until it has stopped ('fargate-api status'); then " + DEPLOY_INSTEAD,
            )
        latest = next(iter(list_deployments(self.clients.ecs, ref)), None)
        what = f"no service deployment of {ref.service} is in progress: nothing to roll back"
        if latest is None:
            return UserError(what, fix="deploy first ('fargate-api deploy')")
        when = f" at {latest.finished_at:%Y-%m-%d %H:%M:%S} UTC" if latest.finished_at else ""
        return UserError(
            what,
            fix=f"the latest, {short_id(latest.arn)}, ended {latest.status}{when}; "
            + DEPLOY_INSTEAD,
        )


def _still_described(record: ServiceDeploymentRecord | None, arn: str) -> ServiceDeploymentRecord:
    if record is None:
        raise OperationError(f"ECS no longer describes service deployment {short_id(arn)}")
    return record


def _fix_for(record: ServiceDeploymentRecord) -> str:
    if record.status == "ROLLBACK_FAILED":
        return (
            "the service runs what ECS left running: 'fargate-api status' shows its tasks "
            "and targets; deploy a known-good version with 'fargate-api deploy'"
        )
    return (
        f"the deployment ended {record.status} before the rollback took effect; " + DEPLOY_INSTEAD
    )


@contextmanager
def _deployment_errors() -> Iterator[None]:
    """ECS's refusals in user terms; any other failure goes on to aws_errors()."""
    try:
        yield
    except ClientError as exc:
        translated = _translate(exc)
        if translated is None:
            raise
        raise translated from exc


def _translate(exc: ClientError) -> CliError | None:
    code, message, operation = error_code(exc), error_message(exc), exc.operation_name
    if code in ("AccessDenied", "AccessDeniedException"):
        return UserError(f"not allowed to call ecs:{operation}: {message}", fix=PERMISSIONS_FIX)
    if code in ("ConflictException", "ServiceDeploymentNotFoundException"):
        return OperationError(
            f"ECS refused {operation} ({code}): {message}",
            fix="'fargate-api status' shows where the service deployment is",
        )
    reason = unavailable_reason(exc)
    if reason is not None and "does not implement" in reason:
        return OperationError(
            reason,
            fix="'rollback' needs ECS service deployments: run it against AWS (moto 5 does "
            "not implement them)",
        )
    if code == "UnsupportedFeatureException":
        return OperationError(f"ECS does not support {operation} here: {message}")
    return None
