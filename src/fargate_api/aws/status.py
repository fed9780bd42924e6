"""outputs and status: what is deployed, where it answers, and whether it is healthy.

`outputs` reads only CloudFormation; `status` adds what CloudFormation does not track:
running versus desired tasks, the rollout state, and the load balancer's view of the
targets (the first thing to look at when the URL answers 502/503).
"""

from __future__ import annotations

from collections import Counter

from botocore.exceptions import ClientError

from fargate_api.aws.cfn import describe
from fargate_api.aws.derived_outputs import outputs_of
from fargate_api.aws.ecs_diagnostics import service_from_arn
from fargate_api.aws.results import (
    DeploymentStatus,
    OutputsResult,
    ServiceStatus,
    StackStatus,
    StatusResult,
    TargetHealth,
)
from fargate_api.aws.session import Clients
from fargate_api.aws.stacks import StackPlan
from fargate_api.aws.summary import endpoint_summary, find_output
from fargate_api.errors import UserError


def read_outputs(clients: Clients, plan: StackPlan) -> OutputsResult:
    stacks: list[StackStatus] = []
    outputs_by_role: dict[str, dict[str, str]] = {}
    for spec in plan.stacks:
        state = describe(clients.cloudformation, spec.name)
        if state is None:
            stacks.append(StackStatus(name=spec.name, role=spec.role, status=None, outputs={}))
            continue
        outputs = outputs_of(clients, spec, state)
        outputs_by_role[spec.role] = outputs
        stacks.append(
            StackStatus(
                name=spec.name,
                role=spec.role,
                status=state.status,
                reason=state.reason or None,
                outputs=outputs,
            )
        )
    if not outputs_by_role:
        raise UserError(
            f"nothing of '{plan.base}' is deployed in {clients.region}",
            fix="check --stack-name and --region, or run 'fargate-api deploy'",
        )
    return OutputsResult(
        stack_name=plan.base,
        region=clients.region,
        **endpoint_summary(outputs_by_role).model_dump(),
        stacks=stacks,
    )


def read_status(clients: Clients, plan: StackPlan) -> StatusResult:
    outputs = read_outputs(clients, plan)
    by_role = {s.role: s.outputs for s in outputs.stacks}
    return StatusResult(
        **dict(outputs),  # the fields of OutputsResult, as the models they are
        service_state=_service_state(clients, by_role),
        targets=_target_health(clients, find_output(by_role, "TargetGroupArn")),
    )


def _service_state(clients: Clients, by_role: dict[str, dict[str, str]]) -> ServiceStatus | None:
    arn = find_output(by_role, "ServiceArn") or ""
    ref = service_from_arn(arn, find_output(by_role, "ClusterName") or "")
    if ref is None:
        return None
    try:
        services = clients.ecs.describe_services(cluster=ref.cluster, services=[ref.service])
    except ClientError:
        return None
    for service in services.get("services", []):
        deployments = [
            DeploymentStatus(
                status=d.get("status"),
                rollout=d.get("rolloutState"),
                running=d.get("runningCount"),
                desired=d.get("desiredCount"),
                failed_tasks=d.get("failedTasks"),
            )
            for d in service.get("deployments", [])
        ]
        return ServiceStatus(
            status=service.get("status"),
            running=service.get("runningCount", 0),
            desired=service.get("desiredCount", 0),
            pending=service.get("pendingCount", 0),
            deployments=deployments,
            last_event=(service.get("events") or [{}])[0].get("message"),
        )
    return None


def _target_health(clients: Clients, target_group: str | None) -> TargetHealth | None:
    if not target_group:
        return None
    try:
        described = clients.elbv2.describe_target_health(TargetGroupArn=target_group)
    except ClientError:
        return None
    states: Counter[str] = Counter()
    reasons: list[str] = []
    for item in described.get("TargetHealthDescriptions", []):
        health = item.get("TargetHealth", {})
        states[health.get("State", "unknown")] += 1
        if health.get("Description") and health.get("State") != "healthy":
            reasons.append(str(health["Description"]))
    return TargetHealth(states=dict(states), reasons=sorted(set(reasons)))
