"""outputs and status: what is deployed, where it answers, and whether it is healthy.

`outputs` reads only CloudFormation; `status` adds what CloudFormation does not track:
running versus desired tasks, the rollout state, the ECS service deployment in progress
(or the latest: its phase, traffic shares, alarms), and the load balancer's view of the
targets (the first thing to look at when the URL answers 502/503), for each service
stack of the templates (service_stacks.py finds them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from botocore.exceptions import ClientError

from fargate_api.aws.cfn import describe
from fargate_api.aws.derived_outputs import outputs_of
from fargate_api.aws.ecs_diagnostics import ServiceRef, service_from_arn
from fargate_api.aws.results import (
    DeploymentStatus,
    OutputsResult,
    ServiceDeploymentRecord,
    ServiceReport,
    ServiceStatus,
    StackStatus,
    StatusResult,
    TargetHealth,
)
from fargate_api.aws.service_deployments import (
    READ_ERRORS,
    current_or_latest,
    unavailable_reason,
)
from fargate_api.aws.service_stacks import ServiceStack, select_service, service_stacks
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
    stacks = {s.role: s for s in outputs.stacks}
    services = service_stacks(plan)
    reports = [
        _service_report(clients, service, stacks[service.spec.role], by_role, len(services) == 1)
        for service in services
    ]
    only = reports[0] if len(reports) == 1 else None
    return StatusResult(
        **dict(outputs),  # the fields of OutputsResult, as the models they are
        service_state=only.service_state if only else None,
        targets=only.targets if only else None,
        service_deployment=only.service_deployment if only else None,
        service_deployment_unavailable=only.service_deployment_unavailable if only else None,
        services=reports,
    )


def _service_report(
    clients: Clients,
    service: ServiceStack,
    stack: StackStatus,
    by_role: Mapping[str, Mapping[str, str]],
    alone: bool,
) -> ServiceReport:
    ref = find_service(by_role, service.spec.role)
    state = _service_state(clients, ref)
    deployment, unavailable = _service_deployment(clients, ref)
    # The only service's target group may come from another stack of a template set
    # that keeps it beside the load balancer.
    target_group = stack.outputs.get("TargetGroupArn") or (
        find_output(by_role, "TargetGroupArn") if alone else None
    )
    return ServiceReport(
        name=service.name,
        stack=stack.name,
        role=stack.role,
        stack_status=stack.status,
        service_arn=stack.outputs.get("ServiceArn"),
        log_group=stack.outputs.get("LogGroupName"),
        service_state=state,
        targets=_target_health(clients, target_group),
        service_deployment=deployment,
        service_deployment_unavailable=unavailable,
    )


def find_service(by_role: Mapping[str, Mapping[str, str]], role: str) -> ServiceRef | None:
    """The ECS service of the stack `role` from its outputs (ServiceArn; the cluster from
    the ARN, else the ClusterName output), as every command that acts on a running
    service finds it."""
    arn = by_role.get(role, {}).get("ServiceArn") or ""
    return service_from_arn(arn, find_output(by_role, "ClusterName") or "")


def _service_deployment(
    clients: Clients, ref: ServiceRef | None
) -> tuple[ServiceDeploymentRecord | None, str | None]:
    """The deployment in progress or the latest, or why it cannot be read; a bonus that
    never fails `status`."""
    if ref is None:
        return None, None
    try:
        return current_or_latest(clients.polling_ecs, ref), None
    except READ_ERRORS as exc:
        return None, unavailable_reason(exc) or f"ECS did not answer: {exc}"


def _service_state(clients: Clients, ref: ServiceRef | None) -> ServiceStatus | None:
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


def log_group_of(clients: Clients, plan: StackPlan, service: str | None) -> str:
    """The log group of `service` (--service; required when the templates run several),
    from its stack's LogGroupName output."""
    chosen = select_service(plan, service, required=True, command="logs")
    outputs = read_outputs(clients, plan)
    # The only service's group may come from any stack; with several, from its own.
    group = outputs.log_group if len(service_stacks(plan)) <= 1 else None
    where = f"the stacks of '{plan.base}' export"
    if chosen is not None:
        own = next((s.outputs for s in outputs.stacks if s.role == chosen.spec.role), {})
        group = own.get("LogGroupName") or group
        where = f"{chosen.spec.name} exports"
    if not group:
        raise UserError(f"{where} no LogGroupName", fix="deploy the service stack first")
    return group
