"""Changes to a running twin: `local deploy` and `local scale` talk to its daemon.

The CLI drops one request file in the twin's state folder and waits for the answer
file; the daemon picks the request up between two scheduler ticks, so a change never
races the scheduler. A request the daemon refuses (the templates changed more than task
definitions and counts) is answered with the reason, and nothing changes.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fargate_api.errors import UserError
from fargate_api.twin.model import TwinPlan
from fargate_api.twin.processes import pid_alive
from fargate_api.twin.state import StateDir

REQUEST_FILE = "request.json"
ANSWER_FILE = "answer.json"
ANSWER_TIMEOUT = 60.0


@dataclass(frozen=True)
class Change:
    service: str
    new_definition: bool
    desired: int | None


def send(state: StateDir, request: dict[str, Any]) -> dict[str, Any]:
    """Hands a request to the daemon and returns its answer (or raises UserError)."""
    request = {**request, "id": uuid.uuid4().hex}
    (state.path / ANSWER_FILE).unlink(missing_ok=True)
    state.write_json(REQUEST_FILE, request)
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while time.monotonic() < deadline:
        answer = state.read_json(ANSWER_FILE)
        if answer is not None and answer.get("id") == request["id"]:
            (state.path / ANSWER_FILE).unlink(missing_ok=True)
            return answer
        if not pid_alive(state.daemon_pid()):
            raise UserError(
                "the twin's daemon is not running", fix="`local down`, then `local up` again"
            )
        time.sleep(0.1)
    raise UserError(
        f"the twin's daemon did not answer within {ANSWER_TIMEOUT:.0f} s",
        fix="see `local status`; `local down` removes the twin",
    )


def take(state: StateDir) -> dict[str, Any] | None:
    path: Path = state.path / REQUEST_FILE
    request = state.read_json(REQUEST_FILE)
    if request is not None:
        path.unlink(missing_ok=True)
    return request


def answer(state: StateDir, request: dict[str, Any], **fields: Any) -> None:
    state.write_json(ANSWER_FILE, {"id": request.get("id"), **fields})


def changes(current: TwinPlan, new: TwinPlan, definitions: dict[str, Any]) -> list[Change]:
    """What a deploy changes: task definitions and desired counts, nothing else.

    `definitions` maps a service key to its PRIMARY task definition. Anything else that
    differs (network, security groups, load balancer, target groups, services' wiring)
    would need CloudFormation to replace infrastructure: the twin refuses it.
    """
    different = [
        part
        for part in (
            "subnets",
            "route_tables",
            "nat_gateways",
            "security_groups",
            "load_balancers",
            "target_groups",
        )
        if getattr(current, part) != getattr(new, part)
    ]
    old_services = {s.key: s for s in current.services}
    new_services = {s.key: s for s in new.services}
    if set(old_services) != set(new_services):
        different.append("services")
    if different:
        raise UserError(
            f"these templates change more than task definitions and counts: {', '.join(different)}",
            fix="`local deploy` rolls task definitions like ECS does; for other changes run "
            "`local down`, then `local up` with the new templates",
        )
    found = []
    for key, old in old_services.items():
        service = new_services[key]
        wiring = ("subnets", "security_groups", "load_balancers", "assign_public_ip")
        if any(getattr(old, field) != getattr(service, field) for field in wiring):
            raise UserError(
                f"service {key}: its network or load balancer wiring changed",
                fix="run `local down`, then `local up` with the new templates",
            )
        definition = new.task_definition(service.task_definition)
        changed = definition != definitions[key]
        desired = service.desired_count if service.desired_count != old.desired_count else None
        if changed or desired is not None:
            found.append(Change(key, changed, desired))
    return found
