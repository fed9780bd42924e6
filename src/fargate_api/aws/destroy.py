"""destroy: the stacks deleted in reverse dependency order, then what was kept on purpose.

The templates retain the EIPs (customers whitelisted them), the log groups (they hold
the evidence) and the image repository (every version's image, rollback targets too); a
delete leaves them, and they cost money or count against quotas until
someone releases them, so they are listed with the command that does it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from rich.console import Console
from rich.markup import escape

from fargate_api.aws.cfn import StackState, describe, mark_seen, physical_ids
from fargate_api.aws.clock import Clock
from fargate_api.aws.deploy import DeployFailedError, DeployStoppedError
from fargate_api.aws.prompts import Prompter
from fargate_api.aws.root_cause import find_root_cause
from fargate_api.aws.session import Clients, aws_errors, error_code
from fargate_api.aws.stacks import OWNER_TAG, StackPlan, StackSpec
from fargate_api.aws.watch import StackWatcher, WatchOptions

# What EC2 answers when the address is not (any more) in the account: a retained EIP that
# someone released by hand. Any other error (AccessDenied, throttling, expired
# credentials) says nothing about the address and is reported, not taken for "released".
ADDRESS_GONE_CODES = frozenset({"InvalidAddress.NotFound", "InvalidAllocationID.NotFound"})


KEPT_NAMES = {
    "AWS::EC2::EIP": "egress IP",
    "AWS::Logs::LogGroup": "log group",
    "AWS::ECR::Repository": "image repository",
}


@dataclass(frozen=True)
class Retained:
    stack: str
    logical_id: str
    resource_type: str
    physical_id: str
    release: str

    def to_json(self) -> dict[str, str]:
        return {
            "stack": self.stack,
            "logical_id": self.logical_id,
            "type": self.resource_type,
            "physical_id": self.physical_id,
            "release": self.release,
        }


@dataclass
class Destroyer:
    clients: Clients
    console: Console
    clock: Clock
    prompter: Prompter

    def destroy(self, plan: StackPlan) -> dict[str, Any]:
        cfn = self.clients.cloudformation
        present: list[tuple[StackSpec, StackState]] = []
        for spec in reversed(plan.stacks):
            state = describe(cfn, spec.name)
            if state is None:
                continue
            owner = state.tags.get(OWNER_TAG)
            if owner != plan.base:
                raise DeployStoppedError(
                    f"{spec.name} was not deployed by fargate-api for '{plan.base}'; "
                    "not deleting it"
                )
            present.append((spec, state))
        if not present:
            self.console.print(f"no stacks of '{plan.base}' in {self.clients.region}")
            return {"ok": True, "stack_name": plan.base, "deleted": [], "retained": []}
        names = ", ".join(spec.name for spec, _ in present)
        if not self.prompter.confirm(f"delete {names} in {self.clients.region}?"):
            raise DeployStoppedError("nothing was deleted")
        retained: list[Retained] = []
        deleted: list[str] = []
        watcher = StackWatcher(
            cfn,
            self.clients.ecs,
            self.console,
            clock=self.clock,
            prompter=self.prompter,
            options=WatchOptions(service_deployments=False),
        )
        for spec, state in present:
            kept = self._retained(spec, state)
            seen = mark_seen(cfn, state.stack_id)
            cfn.delete_stack(StackName=state.stack_id)
            result = watcher.watch(state.stack_id, f"deleting {spec.name}", seen)
            if result.status != "DELETE_COMPLETE":
                raise DeployFailedError(
                    spec.name,
                    result.status,
                    find_root_cause(result.events),
                    result.signals,
                    "fix the cause (often a resource someone added by hand that depends on "
                    "this stack's), then run destroy again",
                )
            deleted.append(spec.name)
            retained.extend(kept)
        self._report(retained)
        return {
            "ok": True,
            "stack_name": plan.base,
            "deleted": deleted,
            "retained": [r.to_json() for r in retained],
        }

    def _retained(self, spec: StackSpec, state: StackState) -> list[Retained]:
        wanted = spec.retained()
        if not wanted:
            return []
        resources = physical_ids(self.clients.cloudformation, state.stack_id)
        found = []
        for logical_id, kind in wanted.items():
            if logical_id not in resources or not resources[logical_id][1]:
                continue
            physical = resources[logical_id][1]
            found.append(
                Retained(spec.name, logical_id, kind, physical, self._release(kind, physical))
            )
        return found

    def _release(self, kind: str, physical: str) -> str:
        region = self.clients.region
        if kind == "AWS::EC2::EIP":
            allocation = self._allocation_id(physical)
            if allocation:
                return f"aws ec2 release-address --region {region} --allocation-id {allocation}"
            return f"aws ec2 release-address --region {region} --public-ip {physical}"
        if kind == "AWS::Logs::LogGroup":
            return f"aws logs delete-log-group --region {region} --log-group-name {physical}"
        if kind == "AWS::ECR::Repository":
            # --force: the repository still holds the images, which is why it was kept.
            return (
                f"aws ecr delete-repository --region {region} --repository-name {physical} --force"
            )
        return f"delete {physical} in the console or with the AWS CLI"

    def _allocation_id(self, public_ip: str) -> str | None:
        if public_ip.startswith("eipalloc-"):
            return public_ip
        with aws_errors():
            try:
                answer = self.clients.ec2.describe_addresses(PublicIps=[public_ip])
            except ClientError as exc:
                if error_code(exc) in ADDRESS_GONE_CODES:
                    return None  # someone released it by hand already
                raise
        addresses = answer["Addresses"]
        return addresses[0].get("AllocationId") if addresses else None

    def _report(self, retained: list[Retained]) -> None:
        if not retained:
            return
        self.console.print(
            "[bold]kept on purpose[/bold] (retained by the templates; they cost money or count "
            "against quotas until you release them):"
        )
        for item in retained:
            what = KEPT_NAMES.get(item.resource_type, item.resource_type)
            self.console.print(f"  {what} {escape(item.physical_id)} ({item.logical_id})")
            self.console.print(f"    release: {escape(item.release)}")
