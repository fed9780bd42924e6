"""`status` as text: each service's tasks, ECS deployments, service deployment, targets.

One service prints as it always has (`tasks: ...`, `targets: ...`); several print one
block each, headed by the service's name and stack, so that a line always says whose
tasks or targets it counts.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from fargate_api.aws.results import ServiceDeploymentRecord, ServiceReport, StatusResult
from fargate_api.aws.service_deployments import STOPPABLE, is_in_progress, short_id


def unavailable_notes(data: StatusResult) -> list[str]:
    """Why service deployments are not shown, once per distinct reason (stderr)."""
    reasons = dict.fromkeys(s.service_deployment_unavailable for s in data.services)
    if not data.services and data.service_deployment_unavailable:
        reasons = {data.service_deployment_unavailable: None}
    return [f"note: service deployments not shown: {r}" for r in reasons if r]


def print_services(out: Console, data: StatusResult) -> None:
    several = len(data.services) > 1
    for service in data.services:
        indent = "  " if several else ""
        if several:
            state = service.stack_status or "not deployed"
            out.print(f"service {escape(service.name)} ({escape(service.stack)}, {state}):")
        _print_service(out, service, indent)


def _print_service(out: Console, service: ServiceReport, indent: str) -> None:
    state = service.service_state
    if state:
        out.print(
            f"{indent}tasks: {state.running} running / {state.desired} desired"
            f" ({state.pending} pending)"
        )
        for deployment in state.deployments:
            out.print(
                f"{indent}  deployment {deployment.status}: {deployment.rollout or '-'}, "
                f"{deployment.running}/{deployment.desired}, "
                f"{deployment.failed_tasks or 0} failed tasks"
            )
        if state.last_event:
            out.print(f"{indent}  last event: {escape(state.last_event)}")
    if service.service_deployment is not None:
        _print_service_deployment(out, service.service_deployment, indent, service.name)
    targets = service.targets
    if targets is not None:
        states = ", ".join(f"{n} {s}" for s, n in sorted(targets.states.items())) or "none"
        out.print(f"{indent}targets: {states}")
        for reason in targets.reasons:
            out.print(f"{indent}  {escape(reason)}")


def _print_service_deployment(
    out: Console, record: ServiceDeploymentRecord, indent: str, name: str
) -> None:
    if is_in_progress(record):
        out.print(f"{indent}service deployment {short_id(record.arn)}: {escape(record.phase)}")
        if record.status in STOPPABLE:
            flag = f" --service {name}" if indent else ""
            out.print(
                f"{indent}  ('fargate-api rollback{escape(flag)}' rolls it back to the revision "
                "before)"
            )
        return
    when = record.finished_at or record.stopped_at
    at = f" (ended {when:%Y-%m-%d %H:%M:%S} UTC)" if when else ""
    out.print(
        f"{indent}latest service deployment {short_id(record.arn)}{at}: {escape(record.phase)}"
    )
