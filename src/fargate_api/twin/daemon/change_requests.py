"""Changes to a running twin: `local deploy`, `local scale` and `local rollback` talk to
its daemon.

The CLI drops one request file in the twin's state folder and waits for the answer
file; the daemon picks the request up between two scheduler ticks, so a change never
races the scheduler. A request the daemon refuses (the templates changed more than task
definitions and counts), or cannot even read (a wrong field, an unknown kind: it may come
from another version of the tool, or from a hand-written file), is answered with the
reason, and nothing changes: a bad request must never take a healthy twin down.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from fargate_api.errors import OperationError, UserError
from fargate_api.twin.daemon.contracts import (
    REQUEST,
    ClearFaultsRequest,
    DeployRequest,
    FaultRequest,
    RollbackRequest,
    ScaleRequest,
    TwinAnswer,
    describe_errors,
)
from fargate_api.twin.daemon.state import StateDir
from fargate_api.twin.host.processes import pid_alive
from fargate_api.twin.plan.model import TwinPlan

REQUEST_FILE = "request.json"
ANSWER_FILE = "answer.json"
ANSWER_TIMEOUT = 60.0

Request = DeployRequest | ScaleRequest | RollbackRequest | FaultRequest | ClearFaultsRequest


@dataclass(frozen=True)
class Change:
    service: str
    new_definition: bool
    desired: int | None


class MalformedRequestError(UserError):
    """A request file that is not a valid request; carries its id when it had one, so
    that the CLI waiting for it still gets its answer."""

    def __init__(self, what: str, request_id: str | None) -> None:
        super().__init__(what)
        self.request_id = request_id


def new_id() -> str:
    return uuid.uuid4().hex


def send(state: StateDir, request: Request) -> TwinAnswer:
    """Hands a request to the daemon and returns its answer; a daemon that is gone or
    silent is an OperationError (exit 1), like any twin that stopped working."""
    (state.path / ANSWER_FILE).unlink(missing_ok=True)
    state.write_json(REQUEST_FILE, request.model_dump(mode="json"))
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while time.monotonic() < deadline:
        answer = state.read_document(ANSWER_FILE, TwinAnswer)
        if answer is not None and answer.id == request.id:
            (state.path / ANSWER_FILE).unlink(missing_ok=True)
            return answer
        if not pid_alive(state.daemon_pid()):
            raise OperationError(
                "the twin's daemon is not running", fix="`local down`, then `local up` again"
            )
        time.sleep(0.1)
    raise OperationError(
        f"the twin's daemon did not answer within {ANSWER_TIMEOUT:.0f} s",
        fix="see `local status`; `local down` removes the twin",
    )


def take(state: StateDir) -> str | None:
    """The pending request's text, removed so that it is answered once; parsed by
    `serve`, which answers even a request it cannot read."""
    path = state.path / REQUEST_FILE
    try:
        text = path.read_text()
    except OSError:
        return None
    path.unlink(missing_ok=True)
    return text


def parse(text: str) -> Request:
    try:
        return REQUEST.validate_json(text)
    except ValidationError as exc:
        raise MalformedRequestError(
            f"malformed request: {describe_errors(exc)}", _id_of(text)
        ) from None


def serve(state: StateDir, text: str, act: Callable[[Request], TwinAnswer]) -> TwinAnswer:
    """Parses a request, lets `act` carry it out, and writes the answer. A malformed
    request and a refused one (a UserError from `act`) are both answered `ok: false`;
    neither escapes, so the daemon and its twin keep running. Any other error is answered
    `ok: false` too, then raised for the daemon to log."""
    try:
        request = parse(text)
    except MalformedRequestError as exc:
        reply = TwinAnswer(id=exc.request_id, ok=False, error=exc.render())
    else:
        try:
            reply = act(request)
        except UserError as exc:
            reply = TwinAnswer(id=request.id, ok=False, error=exc.render())
        except Exception as exc:
            # A bug met while carrying it out: the CLI still gets an answer instead of
            # waiting out its timeout, and the caller logs the error.
            error = f"the twin could not do it: {type(exc).__name__}: {exc}"
            failed = TwinAnswer(id=request.id, ok=False, error=error)
            state.write_json(ANSWER_FILE, failed.model_dump(mode="json", exclude_none=True))
            raise
    state.write_json(ANSWER_FILE, reply.model_dump(mode="json", exclude_none=True))
    return reply


def _id_of(text: str) -> str | None:
    try:
        data: Any = json.loads(text)
    except ValueError:
        return None
    found = data.get("id") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None


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
            "dns_records",
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
