"""The daemon's contracts without root: state.json and `local status --json` shapes, and
requests that must be answered, never crash the daemon, whatever is in the file."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from fargate_api.errors import OperationError, UserError
from fargate_api.twin.daemon import change_requests
from fargate_api.twin.daemon.change_requests import (
    ANSWER_FILE,
    REQUEST_FILE,
    MalformedRequestError,
    parse,
    serve,
)
from fargate_api.twin.daemon.contracts import (
    DeployRequest,
    LaunchSpec,
    LoadBalancerState,
    ScaleRequest,
    ServiceState,
    ServiceSummary,
    StackSource,
    TaskState,
    TwinAnswer,
    TwinState,
    TwinStatusReport,
)
from fargate_api.twin.daemon.state import PID_FILE, StateDir
from fargate_api.twin.daemon.twin import Twin
from fargate_api.twin.naming import TwinNames


@pytest.fixture
def state(tmp_path: Path) -> StateDir:
    folder = StateDir(TwinNames("unit", state_root=tmp_path))
    folder.path.mkdir(parents=True)
    return folder


def _state() -> TwinState:
    task = TaskState(
        id="abc123",
        private_ip="10.0.130.5",
        subnet="PrivateSubnet1",
        az="eu-west-1a",
        health="healthy",
        revision=1,
        last_status="RUNNING",
        service="web",
    )
    return TwinState(
        name="unit",
        url="http://127.0.0.1:8080",
        load_balancer=LoadBalancerState(public_ips=["198.51.100.10"], listeners=[80]),
        egress_ips=["203.0.113.1"],
        internet_echo_url="http://198.51.100.1:8080/",
        service=ServiceSummary(desired=1, running=1, revision=1),
        tasks=[task],
        phase="running",
        ready=True,
        ports={"80": 8080},
        services=[
            ServiceState(
                key="web",
                name="web",
                desired=1,
                running=1,
                revision=1,
                load_balanced=True,
                autoscaling=None,
                deployments=[],
            )
        ],
        events=["12:00:00 started task abc123"],
        stop_timeout=6.0,
        updated_at=1.0,
    )


# ---------------------------------------------------------------- documents


def test_state_round_trips_through_its_file(state: StateDir) -> None:
    state.write_state(_state())
    assert state.read_state() == _state()


def test_a_daemon_that_failed_early_writes_a_readable_state(state: StateDir) -> None:
    state.write_json("state.json", {"name": "unit", "phase": "failed", "error": "boom"})
    read = state.read_state()
    assert read is not None and read.phase == "failed" and read.error == "boom"
    assert read.tasks == [] and read.url is None


@pytest.mark.parametrize(
    ("name", "model", "document", "field"),
    [
        ("state.json", TwinState, {"name": "unit", "phase": "exploded"}, "phase"),
        ("answer.json", TwinAnswer, {"id": "r1", "ok": "perhaps"}, "ok"),
    ],
)
def test_a_document_of_another_version_is_an_operation_error_naming_the_field(
    state: StateDir, name: str, model: type[Any], document: dict[str, Any], field: str
) -> None:
    state.write_json(name, document)
    with pytest.raises(OperationError) as caught:
        state.read_document(name, model)
    assert caught.value.what.startswith(f"{name} is not what this version of fargate-api writes")
    assert f"{field}: " in caught.value.what
    assert caught.value.where == str(state.path / name)


def test_status_json_keeps_the_stable_keys_first_and_tasks_reduced() -> None:
    printed = json.loads(TwinStatusReport.of(_state()).model_dump_json())
    assert list(printed) == [
        "name",
        "url",
        "load_balancer",
        "egress_ips",
        "internet_echo_url",
        "service",
        "tasks",
        "phase",
        "ready",
        "error",
        "ports",
        "services",
        "stopped_tasks",
        "events",
        "notices",
        "stop_timeout",
        "updated_at",
        "runtime",
        "containers_conf",
        "domain_urls",
        "ca_file",
        "ca_bundle",
        "parts",
        "faults",
        "availability_zones",
        "load_balancers",
        "tasks_detail",
    ]
    assert printed["tasks"] == [
        {
            "id": "abc123",
            "private_ip": "10.0.130.5",
            "subnet": "PrivateSubnet1",
            "az": "eu-west-1a",
            "health": "healthy",
            "revision": 1,
        }
    ]
    assert printed["tasks_detail"][0]["last_status"] == "RUNNING"
    assert printed["service"] == {"desired": 1, "running": 1, "revision": 1}
    assert printed["load_balancer"] == {
        "public_ips": ["198.51.100.10"],
        "listeners": [80],
        "dns_names": [],
        "internal": False,
        "private_ips": [],
        "vpc_url": None,
    }


def test_launch_spec_round_trips() -> None:
    spec = LaunchSpec(
        stacks=[StackSource(path="/t/parent.yml")], image_commands={"nginx*": "sleep 1"}, port=8080
    )
    assert LaunchSpec.from_json(spec.to_json()) == spec


# ---------------------------------------------------------------- requests


def test_requests_round_trip_and_are_told_apart_by_kind() -> None:
    scale = ScaleRequest(kind="scale", id="r1", service=None, desired=3)
    deploy = DeployRequest(
        kind="deploy",
        id="r2",
        stacks=[StackSource(path="/t/p.yml", name="p")],
        image_commands={"a": "b"},
    )
    assert parse(scale.model_dump_json()) == scale
    assert parse(deploy.model_dump_json()) == deploy


@pytest.mark.parametrize(
    ("text", "expected_id", "mentions"),
    [
        ('{"kind": "scale", "id": "r1", "desired": "many"}', "r1", "desired"),
        ('{"kind": "scale", "id": "r1", "desired": 2.5}', "r1", "desired"),
        ('{"kind": "scale", "id": "r1", "desired": "3"}', "r1", "desired"),
        ('{"kind": "scale", "id": "r1", "desired": -1}', "r1", "desired"),
        ('{"kind": "scale", "id": "r1"}', "r1", "desired"),
        ('{"kind": "deploy", "id": "r2"}', "r2", "stacks"),
        ('{"kind": "restart", "id": "r3"}', "r3", "restart"),
        ('{"kind": "rollback", "id": "r5", "service": 3}', "r5", "service"),
        ('{"id": "r4", "desired": 1}', "r4", "kind"),
        ('{"kind": "scale", "desired": 1}', None, "id"),
        ("[1, 2]", None, "request"),
        ("not json", None, "request"),
    ],
)
def test_a_malformed_request_is_refused_with_its_id_and_the_field(
    text: str, expected_id: str | None, mentions: str
) -> None:
    with pytest.raises(MalformedRequestError) as caught:
        parse(text)
    assert caught.value.request_id == expected_id
    assert caught.value.what.startswith("malformed request: ")
    assert mentions in caught.value.what


def test_serve_answers_a_malformed_request_without_acting(state: StateDir) -> None:
    acted: list[object] = []
    reply = serve(state, '{"kind": "scale", "id": "r1", "desired": "many"}', acted.append)  # type: ignore[arg-type]
    assert acted == []
    assert reply.ok is False and reply.id == "r1" and "desired" in (reply.error or "")
    on_disk = state.read_json(ANSWER_FILE)
    assert on_disk is not None and TwinAnswer.model_validate(on_disk) == reply


def test_serve_answers_a_refusal_with_its_reason(state: StateDir) -> None:
    def refuse(request: Any) -> TwinAnswer:
        raise UserError("no service named 'api'", fix="use one of: web")

    reply = serve(state, ScaleRequest(kind="scale", id="r1", desired=1).model_dump_json(), refuse)
    assert reply == TwinAnswer(
        id="r1", ok=False, error="no service named 'api'\n  fix: use one of: web"
    )


def test_serve_answers_a_bug_then_raises_it_for_the_daemon_to_log(state: StateDir) -> None:
    def crash(request: Any) -> TwinAnswer:
        raise KeyError("weights")

    with pytest.raises(KeyError):
        serve(state, ScaleRequest(kind="scale", id="r9", desired=1).model_dump_json(), crash)
    on_disk = state.read_json(ANSWER_FILE)
    assert on_disk is not None
    answer = TwinAnswer.model_validate(on_disk)
    assert answer.id == "r9" and answer.ok is False
    assert "KeyError" in (answer.error or "")


class _Scheduler:
    def __init__(self) -> None:
        self.scaled: list[tuple[str, int]] = []

    def scale(self, key: str, desired: int) -> None:
        self.scaled.append((key, desired))


def _twin(state: StateDir) -> tuple[Twin, _Scheduler]:
    """A Twin with just what answering a scale request touches: no namespaces, no root."""
    twin = object.__new__(Twin)
    scheduler = _Scheduler()
    twin.state = state
    twin.plan = SimpleNamespace(services=[SimpleNamespace(name="web", key="web")])  # type: ignore[assignment]
    twin.scheduler = scheduler  # type: ignore[assignment]
    twin.write_state = lambda: None  # type: ignore[method-assign]
    return twin, scheduler


@pytest.mark.parametrize(
    "text",
    [
        '{"kind": "scale", "id": "bad", "desired": "many"}',
        '{"kind": "scale", "id": "bad"}',
        '{"kind": "launch-missiles", "id": "bad"}',
        '{"kind": "scale", "id": "bad", "desired": 1, "service": "api"}',
    ],
)
def test_the_daemon_answers_a_bad_request_and_keeps_going(state: StateDir, text: str) -> None:
    twin, scheduler = _twin(state)
    twin._handle(text)  # before: ValueError/KeyError escaped and the daemon tore down the twin
    answer = state.read_json(ANSWER_FILE)
    assert answer is not None and answer["ok"] is False and answer["id"] == "bad"
    assert scheduler.scaled == []
    twin._handle(ScaleRequest(kind="scale", id="good", desired=3).model_dump_json())
    assert state.read_json(ANSWER_FILE) == {"id": "good", "ok": True, "service": "web"}
    assert scheduler.scaled == [("web", 3)]


def test_send_gets_the_daemons_answer(state: StateDir) -> None:
    state.file(PID_FILE).write_text(f"{os.getpid()}\n")
    twin, scheduler = _twin(state)
    stop = threading.Event()

    def daemon() -> None:
        while not stop.is_set():
            text = change_requests.take(state)
            if text is not None:
                twin._handle(text)
            stop.wait(0.02)

    thread = threading.Thread(target=daemon)
    thread.start()
    try:
        answer = change_requests.send(
            state, ScaleRequest(kind="scale", id=change_requests.new_id(), desired=2)
        )
    finally:
        stop.set()
        thread.join()
    assert answer.ok and answer.service == "web" and scheduler.scaled == [("web", 2)]
    assert not (state.path / REQUEST_FILE).exists() and not (state.path / ANSWER_FILE).exists()
