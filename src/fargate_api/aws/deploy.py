"""deploy: each child template as a top-level stack, in dependency order, through change sets.

Per stack: make the stack deployable (delete a rolled-back first create, continue a
failed rollback), preview the change set, refuse what the egress guard refuses, ask,
execute, watch, and on failure name the root cause. Stacks whose change set is empty
are not touched, so a service-only change touches only the service stack.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from rich.console import Console
from rich.markup import escape

from fargate_api.aws import changeset, guard
from fargate_api.aws.cfn import FAILED_FIRST_CREATE, StackState, describe, mark_seen
from fargate_api.aws.changeset import Change
from fargate_api.aws.clock import Clock
from fargate_api.aws.derived_outputs import outputs_of
from fargate_api.aws.diff_view import change_table
from fargate_api.aws.ecs_diagnostics import Signal
from fargate_api.aws.hosted_zone import hosted_zone_of
from fargate_api.aws.prompts import Prompter
from fargate_api.aws.results import (
    ChangeRecord,
    DeployFailure,
    DeployResult,
    RootCauseRecord,
    StackResult,
)
from fargate_api.aws.root_cause import RootCause, find_root_cause
from fargate_api.aws.service_deployments import alarm_rollback
from fargate_api.aws.session import Clients
from fargate_api.aws.stacks import OWNER_TAG, StackPlan, StackSpec, wire_parameters
from fargate_api.aws.summary import endpoint_summary
from fargate_api.aws.watch import StackWatcher, WatchOptions, WatchResult
from fargate_api.errors import UserError

SUCCESS = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE"})
Result = Literal["created", "updated", "no changes"]


@dataclass(frozen=True)
class DeployOptions:
    allow_replace: Collection[guard.Protected] = ()
    watch: WatchOptions = field(default_factory=WatchOptions)


@dataclass(frozen=True)
class StackOutcome:
    spec: StackSpec
    result: Result
    status: str
    changes: list[Change]
    outputs: dict[str, str]

    def record(self) -> StackResult:
        return StackResult(
            name=self.spec.name,
            role=self.spec.role,
            result=self.result,
            status=self.status,
            changes=[ChangeRecord.model_validate(c.to_json()) for c in self.changes],
            outputs=self.outputs,
        )


class DeployFailedError(Exception):
    """A stack operation ended in failure; the stack was left deployable where possible."""

    def __init__(
        self, stack: str, status: str, cause: RootCause | None, signals: list[Signal], note: str
    ) -> None:
        super().__init__(f"{stack}: {status}")
        self.stack = stack
        self.status = status
        self.cause = cause
        self.signals = signals
        self.note = note

    def result(self) -> DeployFailure:
        return DeployFailure(
            stack=self.stack,
            status=self.status,
            root_cause=RootCauseRecord.model_validate(self.cause.to_json()) if self.cause else None,
            ecs=[s.message for s in self.signals if s.kind != "event"],
            note=self.note,
        )


class DeployStoppedError(Exception):
    """The user said no, or left an operation running: nothing failed, nothing finished."""


class ParameterSupplier(Protocol):
    """Supplies the parent parameters that no stack outputs (the image digest, once the
    image is pushed). Called before each stack with the outputs so far; it answers as
    soon as it can (the repository stack deployed), so that the push comes right after
    the repository and before the slower stacks."""

    def __call__(self, outputs_by_role: Mapping[str, Mapping[str, str]]) -> dict[str, str]: ...


def supplying(
    values: Mapping[str, str], then: ParameterSupplier | None = None
) -> ParameterSupplier:
    """`values` known before any stack is deployed (a custom domain's hosted zone), and
    what `then` supplies as the deploy goes (the image digests)."""

    def supply(outputs_by_role: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
        later = then(outputs_by_role) if then is not None else {}
        return {**values, **later}

    return supply


@dataclass
class Deployer:
    clients: Clients
    console: Console
    clock: Clock
    prompter: Prompter
    options: DeployOptions = field(default_factory=DeployOptions)

    @property
    def watcher(self) -> StackWatcher:
        return StackWatcher(
            self.clients.cloudformation,
            self.clients.ecs,
            self.console,
            clock=self.clock,
            prompter=self.prompter,
            options=self.options.watch,
            polling_ecs=self.clients.polling_ecs,
            route53=self.clients.route53,
        )

    def deploy(self, plan: StackPlan, supply: ParameterSupplier | None = None) -> DeployResult:
        outputs_by_role: dict[str, dict[str, str]] = {}
        outcomes: list[StackOutcome] = []
        supplied: dict[str, str] = {}
        read_only = plan.read_only_roles()
        for spec in plan.stacks:
            if not plan.deploys(spec.role):
                if spec.role in read_only:
                    outputs_by_role[spec.role] = deployed_outputs(self.clients, plan.base, spec)
                continue
            if supply is not None:
                supplied.update(supply(outputs_by_role))
            outcome = self.deploy_stack(plan.base, spec, outputs_by_role, supplied)
            outputs_by_role[spec.role] = outcome.outputs
            outcomes.append(outcome)
        return DeployResult(
            stack_name=plan.base,
            region=self.clients.region,
            **dict(endpoint_summary(outputs_by_role)),
            changed=any(o.result != "no changes" for o in outcomes),
            stacks=[o.record() for o in outcomes],
        )

    def deploy_stack(
        self,
        base: str,
        spec: StackSpec,
        outputs_by_role: dict[str, dict[str, str]],
        supplied: Mapping[str, str] | None = None,
    ) -> StackOutcome:
        cfn = self.clients.cloudformation
        state = self._make_deployable(base, spec, describe(cfn, spec.name))
        kind: Literal["CREATE", "UPDATE"] = (
            "CREATE" if state is None or state.status == "REVIEW_IN_PROGRESS" else "UPDATE"
        )
        parameters = wire_parameters(spec, outputs_by_role, supplied)
        with self.console.status(f"{spec.name}: preparing the change set…"):
            cs = changeset.create(
                cfn, spec, base=base, parameters=parameters, kind=kind, clock=self.clock
            )
        if cs.empty:
            assert state is not None  # an empty change set needs an existing stack
            self.console.print(f"{spec.name}: no changes")
            self._protect(spec, state.status)
            outputs = outputs_of(self.clients, spec, state)
            return StackOutcome(spec, "no changes", state.status, [], outputs)
        self.console.print(
            change_table(spec.name, cs.changes, "new stack" if kind == "CREATE" else "")
        )
        found = guard.violations(spec.name, cs.changes, self.options.allow_replace)
        if found:
            changeset.discard(cfn, cs.arn, spec.name, kind)
            raise UserError(
                "refused: this deploy would change what customers depend on:\n  "
                + "\n  ".join(v.describe() for v in found),
                fix=guard.refusal_fix(found),
            )
        try:
            approved = self.prompter.confirm(
                f"apply these {len(cs.changes)} changes to {spec.name}?"
            )
        except (UserError, KeyboardInterrupt):  # nobody can answer: leave nothing behind
            changeset.discard(cfn, cs.arn, spec.name, kind)
            raise
        if not approved:
            changeset.discard(cfn, cs.arn, spec.name, kind)
            raise DeployStoppedError(f"nothing changed in {spec.name}: the change set was deleted")
        seen = mark_seen(cfn, spec.name)
        relax = (
            kind == "UPDATE"
            and guard.Protected.EGRESS_IPS in self.options.allow_replace
            and guard.protects_egress_ips(spec.resource_types.values())
        )
        if relax:
            cfn.set_stack_policy(StackName=spec.name, StackPolicyBody=guard.allow_all_policy())
        cfn.execute_change_set(ChangeSetName=cs.arn)
        stack_id = state.stack_id if state else _stack_id(cfn, spec.name)
        result = self.watcher.watch(
            stack_id,
            spec.name,
            seen,
            cluster_hint=_param(parameters, "ClusterName"),
            hosted_zone=hosted_zone_of(spec, parameters),
        )
        self._protect(spec, result.status)
        if result.detached:
            raise DeployStoppedError(f"{spec.name} is still {result.status} in AWS")
        if result.status in SUCCESS:
            after = describe(cfn, spec.name)
            outputs = outputs_of(self.clients, spec, after) if after else {}
            return StackOutcome(
                spec,
                "created" if kind == "CREATE" else "updated",
                result.status,
                cs.changes,
                outputs,
            )
        raise self._failed(base, spec, stack_id, result)

    def _make_deployable(
        self, base: str, spec: StackSpec, state: StackState | None
    ) -> StackState | None:
        if state is None or state.status == "REVIEW_IN_PROGRESS":
            return state
        _require_ours(base, spec, state)
        if state.in_progress:
            raise UserError(
                f"{spec.name} is {state.status}: another operation is running on it",
                fix="wait until it ends ('fargate-api status' shows it), then deploy again",
            )
        if state.status in FAILED_FIRST_CREATE:
            self.console.print(
                f"{spec.name} is {state.status}: its first create failed and rolled back, and "
                "CloudFormation can only delete such a stack"
            )
            if not self.prompter.confirm(
                f"delete {spec.name} so it can be created again?", default=True
            ):
                raise DeployStoppedError(f"{spec.name} was left as {state.status}")
            self._delete(state)
            return None
        if state.status == "UPDATE_ROLLBACK_FAILED":
            self.console.print(
                f"{spec.name} is UPDATE_ROLLBACK_FAILED: continuing the rollback first"
            )
            seen = mark_seen(self.clients.cloudformation, spec.name)
            self.clients.cloudformation.continue_update_rollback(StackName=state.stack_id)
            result = self.watcher.watch(state.stack_id, spec.name, seen)
            if result.status != "UPDATE_ROLLBACK_COMPLETE":
                raise DeployFailedError(
                    spec.name,
                    result.status,
                    find_root_cause(result.events, result.deployments),
                    result.signals,
                    "the rollback cannot finish: fix the resource it names (or skip it with "
                    "'aws cloudformation continue-update-rollback --resources-to-skip ID'), "
                    "then deploy again",
                )
            return describe(self.clients.cloudformation, spec.name)
        if state.status == "DELETE_FAILED":
            raise UserError(
                f"{spec.name} is DELETE_FAILED",
                fix="run 'fargate-api destroy' to finish the delete, then deploy again",
            )
        return state

    def _failed(
        self, base: str, spec: StackSpec, stack_id: str, result: WatchResult
    ) -> DeployFailedError:
        cause = find_root_cause(result.events, result.deployments)
        note = ""
        if result.status in FAILED_FIRST_CREATE:
            _report(self.console, spec.name, result, cause)
            if self.prompter.confirm(
                f"{spec.name} was rolled back; delete it so the next deploy can create it?",
                default=True,
            ):
                state = describe(self.clients.cloudformation, stack_id)
                if state is not None:
                    self._delete(state)
                note = "the rolled-back stack was deleted; fix the cause and deploy again"
            else:
                note = "the next deploy will offer to delete the rolled-back stack"
        elif result.status == "UPDATE_ROLLBACK_FAILED":
            _report(self.console, spec.name, result, cause)
            state = self._make_deployable(
                base, spec, describe(self.clients.cloudformation, stack_id)
            )
            note = (
                f"the rollback was continued; {spec.name} is "
                f"{state.status if state else 'gone'}: fix the cause and deploy again"
            )
        else:
            note = (
                "CloudFormation rolled back to the previous version; fix the cause and deploy again"
            )
        if result.cancelled:
            note = f"cancelled because {result.cancelled}; {note}"
        rolled_back = alarm_rollback(result.deployments)
        if cause is None and rolled_back:
            note = f"{rolled_back}; {note}"
        return DeployFailedError(spec.name, result.status, cause, result.signals, note)

    def _delete(self, state: StackState) -> None:
        seen = mark_seen(self.clients.cloudformation, state.stack_id)
        self.clients.cloudformation.delete_stack(StackName=state.stack_id)
        result = self.watcher.watch(state.stack_id, state.name, seen)
        if result.status != "DELETE_COMPLETE":
            raise DeployFailedError(
                state.name,
                result.status,
                find_root_cause(result.events),
                result.signals,
                "the stack could not be deleted; 'fargate-api destroy' retries",
            )

    def _protect(self, spec: StackSpec, status: str) -> None:
        """(Re)applies the EIP stack policy; also undoes a temporary --allow-replace one."""
        if status.endswith("_COMPLETE") and guard.protects_egress_ips(spec.resource_types.values()):
            self.clients.cloudformation.set_stack_policy(
                StackName=spec.name, StackPolicyBody=guard.protecting_policy()
            )


def deployed_outputs(clients: Clients, base: str, spec: StackSpec) -> dict[str, str]:
    """The outputs of a stack that a limited deploy (`--service`) reads but does not
    deploy: it must exist, be ours, and be settled, else the whole set is deployed first."""
    state = describe(clients.cloudformation, spec.name)
    if state is not None and state.in_progress and state.status != "REVIEW_IN_PROGRESS":
        raise UserError(
            f"this deploy reads the outputs of {spec.name}, which is {state.status}",
            fix="wait until it ends ('fargate-api status' shows it), then deploy again",
        )
    if (
        state is None
        or not state.status.endswith("_COMPLETE")
        or state.status in FAILED_FIRST_CREATE
        or "DELETE" in state.status
    ):
        what = f"is {state.status}" if state is not None else "does not exist"
        raise UserError(
            f"this deploy reads the outputs of {spec.name}, which {what}",
            fix="deploy everything first: fargate-api deploy",
        )
    _require_ours(base, spec, state)
    return outputs_of(clients, spec, state)


def _require_ours(base: str, spec: StackSpec, state: StackState) -> None:
    """Refuse a stack that fargate-api did not deploy for ``base`` (its owner tag)."""
    owner = state.tags.get(OWNER_TAG)
    if owner != base:
        raise UserError(
            f"stack {spec.name} exists but was not deployed by fargate-api for '{base}'"
            + (f" (it belongs to '{owner}')" if owner else ""),
            fix="choose another --stack-name, or delete that stack yourself",
        )


def _report(console: Console, stack: str, result: WatchResult, cause: RootCause | None) -> None:
    console.print(f"[bold red]{escape(stack)} failed: {result.status}[/bold red]")
    if cause:
        console.print(f"  root cause: {escape(cause.describe())}")
        if cause.hint:
            console.print(f"  hint: {escape(cause.hint)}")


def describe_failure(failure: DeployFailedError, operation: str = "deploy") -> str:
    """The failure as the one message the CLI edge prints (exit 1): the stack, its root
    cause and hint, the last ECS task stops, and what to do next."""
    lines = [f"{operation} failed: {failure.stack} {failure.status}"]
    if failure.cause:
        lines.append(f"  root cause: {failure.cause.describe()}")
        if failure.cause.hint:
            lines.append(f"  hint: {failure.cause.hint}")
    stopped = [s.message for s in failure.signals if s.kind != "event"]
    lines += [f"  ecs: {message}" for message in stopped[-5:]]
    if failure.note:
        lines.append(f"  {failure.note}")
    return "\n".join(lines)


def _param(parameters: list[dict[str, str]], key: str) -> str:
    for p in parameters:
        if p["ParameterKey"] == key:
            return p["ParameterValue"]
    return ""


def _stack_id(cfn: Any, name: str) -> str:
    state = describe(cfn, name)
    return state.stack_id if state else name
