"""`[service] build` in the twin, without podman or root: which images a template set
builds and where their digests go (the root template's parameter, to every plan load, the
daemon's LaunchSpec and a deploy's request); process mode builds nothing.

The real build, tag and run are in tests/twin/test_built_image_twin.py.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from fargate_api.config.loader import load_config
from fargate_api.errors import UserError
from fargate_api.images.build_request import BuildRequest, BuiltImage
from fargate_api.images.source_tag import SourceTag
from fargate_api.synth import synthesize, write_templates
from fargate_api.twin.cli import built_images, change_commands, lifecycle
from fargate_api.twin.cli.built_images import (
    PLACEHOLDER_DIGEST,
    BuildProgress,
    ImageBuilds,
    read_builds,
)
from fargate_api.twin.daemon import twin as twin_module
from fargate_api.twin.daemon.contracts import (
    REQUEST,
    DeployRequest,
    LaunchSpec,
    StackSource,
    TwinAnswer,
    TwinState,
)
from fargate_api.twin.daemon.state import StateDir
from fargate_api.twin.daemon.twin import Twin
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.load import load_plan
from fargate_api.twin.plan.model import TwinPlan

REPOSITORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/unit-built-api"
DIGEST = "sha256:" + "b" * 64
OTHER_DIGEST = "sha256:" + "c" * 64
IMAGE_ID = "sha256:" + "d" * 64
LOCAL_COMMAND = "python3 -m http.server {port}"


def _config(tmp_path: Path) -> Path:
    context = tmp_path / "app"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM localhost/fa-test-busybox:latest\n")
    config = tmp_path / "fargate-api.toml"
    config.write_text(
        'name = "unit-built"\n'
        "[service]\n"
        'name = "api"\n'
        'build = "app"\n'
        "port = 8080\n"
        "[local]\n"
        f'command = "{LOCAL_COMMAND}"\n'
    )
    return config


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """A synthesized built service: parent.yml and its children, the repository's too."""
    out = tmp_path / "templates"
    model = load_config(_config(tmp_path))
    write_templates(synthesize(model, templates_dir=out), out)
    return out / "parent.yml"


def _images(plan: TwinPlan) -> list[str]:
    return [c.image for d in plan.task_definitions for c in d.containers]


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


# ---------------------------------------------------------------- reading the targets


def test_a_built_service_is_one_target_with_a_literal_repository_and_a_root_parameter(
    templates: Path, tmp_path: Path
) -> None:
    builds = read_builds(templates)
    (target,) = builds.targets
    assert target.spec.context == (tmp_path / "app").resolve()
    assert target.repository_uri() == REPOSITORY
    assert target.digest_parameter == "ImageDigest"
    assert builds.placeholders() == {"ImageDigest": PLACEHOLDER_DIGEST}


def test_templates_with_a_named_image_build_nothing(tmp_path: Path, reference_dir: Path) -> None:
    assert not read_builds(reference_dir / "parent.yml")
    assert read_builds(reference_dir / "parent.yml").placeholders() == {}


def test_the_digest_parameter_reaches_the_plan(templates: Path) -> None:
    plan = load_plan(templates, runtime="container", parameters={"ImageDigest": DIGEST})
    assert _images(plan) == [f"{REPOSITORY}@{DIGEST}"]


def test_the_repository_is_noted_as_not_built_with_the_reason(templates: Path) -> None:
    plan = load_plan(templates, runtime="container", parameters={"ImageDigest": DIGEST})
    (notice,) = [n for n in plan.notices if n.type == "AWS::ECR::Repository"]
    assert notice.resource == "RepositoryStack/Repository"
    assert notice.reason == "images are built into the local store; nothing is pushed"


def test_a_repository_without_a_literal_name_cannot_be_built_for(templates: Path) -> None:
    def unnamed(doc: dict[str, Any]) -> None:
        del doc["Resources"]["Repository"]["Properties"]["RepositoryName"]

    _edit(templates.parent / "repository.yml", unnamed)
    (target,) = read_builds(templates).targets
    with pytest.raises(UserError) as caught:
        target.repository_uri()
    assert caught.value.exit_code == 2
    assert "cannot tell the repository" in caught.value.what
    assert "RepositoryName" in (caught.value.fix or "")


def test_a_digest_no_root_parameter_reaches_is_bad_input(templates: Path) -> None:
    def literal(doc: dict[str, Any]) -> None:
        doc["Resources"]["ServiceStack"]["Properties"]["Parameters"]["ImageDigest"] = DIGEST

    _edit(templates, literal)
    with pytest.raises(UserError) as caught:
        read_builds(templates)
    assert "no parameter of the root template reaches it" in caught.value.what
    assert "!Ref ImageDigest" in (caught.value.fix or "")


# ---------------------------------------------------------------- building


class _Builder:
    name = "podman"

    def __init__(self) -> None:
        self.requests: list[BuildRequest] = []

    def build(self, request: BuildRequest, on_line: Callable[[str], None]) -> BuiltImage:
        self.requests.append(request)
        on_line("STEP 1/1: FROM localhost/fa-test-busybox:latest")
        return BuiltImage(
            reference=f"{request.repository}:build-dddddddddddd",
            repository=request.repository,
            tag="build-dddddddddddd",
            image_id=IMAGE_ID,
            architecture="amd64",
            os="linux",
            builder="podman",
            local_digest=DIGEST,
            source=SourceTag(),
        )


class _Store:
    """podman's store as name_in_store sees it."""

    def __init__(self, conf_path: Path) -> None:
        self.calls: list[tuple[str, ...]] = []

    def tag(self, image: str, *tags: str) -> None:
        self.calls.append(("tag", image, *tags))

    def remove_image(self, tag: str) -> None:
        self.calls.append(("rmi", tag))

    def image_digest(self, image: str) -> str | None:
        return DIGEST

    def image_exists(self, image: str) -> bool:
        self.calls.append(("exists", image))
        return image == f"{REPOSITORY}@{DIGEST}"


@pytest.fixture
def fake_podman(monkeypatch: pytest.MonkeyPatch) -> tuple[_Builder, list[_Store]]:
    builder = _Builder()
    stores: list[_Store] = []

    def store(conf_path: Path) -> _Store:
        stores.append(_Store(conf_path))
        return stores[-1]

    monkeypatch.setattr(built_images, "podman_builder", lambda conf: builder)
    monkeypatch.setattr(built_images, "Podman", store)
    return builder, stores


def test_a_build_names_the_image_in_the_store_and_passes_its_digest(
    templates: Path, tmp_path: Path, fake_podman: tuple[_Builder, list[_Store]]
) -> None:
    builder, stores = fake_podman
    steps: list[str] = []
    lines: list[str] = []
    parameters = read_builds(templates).build(
        tmp_path / "containers.conf", BuildProgress(steps.append, lines.append)
    )
    assert parameters == {"ImageDigest": DIGEST}
    (request,) = builder.requests
    assert request.dockerfile == (tmp_path / "app" / "Dockerfile").resolve()
    local = f"{request.repository}:build-dddddddddddd"
    assert stores[0].calls == [
        ("tag", IMAGE_ID, f"{REPOSITORY}:build-dddddddddddd"),
        ("rmi", local),  # one name per build: the one the task runs
        ("exists", f"{REPOSITORY}@{DIGEST}"),
    ]
    assert lines == ["STEP 1/1: FROM localhost/fa-test-busybox:latest"]
    assert steps[0].startswith(f"building {(tmp_path / 'app').resolve()} for linux/amd64")
    assert steps[-1] == f"built {REPOSITORY}:build-dddddddddddd ({DIGEST})"


def test_a_missing_dockerfile_is_bad_input_before_any_build(
    templates: Path, tmp_path: Path, fake_podman: tuple[_Builder, list[_Store]]
) -> None:
    (tmp_path / "app" / "Dockerfile").unlink()
    with pytest.raises(UserError) as caught:
        read_builds(templates).build(tmp_path / "c.conf", BuildProgress(print, print))
    assert caught.value.what == "no Dockerfile found"
    assert fake_podman[0].requests == []


def test_without_podman_the_twin_does_not_fall_back_to_docker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(built_images, "podman_available", lambda: None)
    with pytest.raises(UserError) as caught:
        built_images.podman_builder(tmp_path / "containers.conf")
    assert "podman is not installed" in caught.value.what
    assert "docker's store is not podman's" in caught.value.what


def test_the_builder_uses_the_twins_containers_conf(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(built_images, "podman_available", lambda: "/usr/bin/podman")
    builder = built_images.podman_builder(tmp_path / "containers.conf")
    assert builder.name == "podman"
    assert builder.environ["CONTAINERS_CONF"] == str(tmp_path / "containers.conf")


# ---------------------------------------------------------------- local up


class _Daemon:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.stdin = io.BytesIO()
        self.pid = 4242


@pytest.fixture
def names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TwinNames:
    monkeypatch.setattr(lifecycle.subprocess, "Popen", _Daemon)
    return TwinNames("unit", state_root=tmp_path / "run")


def test_process_mode_builds_nothing_and_runs_the_local_command(
    templates: Path, names: TwinNames, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_build(*args: Any) -> dict[str, str]:
        raise AssertionError("process mode must not build")

    monkeypatch.setattr(ImageBuilds, "build", no_build)
    plan, _ = lifecycle.start(
        names,
        templates,
        {},
        port=0,
        time_scale=1.0,
        runtime="process",
        builds=read_builds(templates),
    )
    (container,) = plan.task_definitions[0].containers
    assert container.image == f"{REPOSITORY}@{PLACEHOLDER_DIGEST}"
    assert container.command == LOCAL_COMMAND.replace("{port}", "8080")
    launch = StateDir(names).read_launch()
    assert launch.parameters == {"ImageDigest": PLACEHOLDER_DIGEST}


def test_container_mode_builds_and_hands_the_digest_to_the_daemon(
    templates: Path, names: TwinNames, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(ImageBuilds, "build", lambda self, conf, progress: {"ImageDigest": DIGEST})
    monkeypatch.setattr(
        lifecycle, "prepare_images", lambda plan, conf, progress: seen.append(_images(plan))
    )
    plan, _ = lifecycle.start(
        names,
        templates,
        {},
        port=0,
        time_scale=1.0,
        runtime="container",
        builds=read_builds(templates),
    )
    assert seen == [[f"{REPOSITORY}@{DIGEST}"]] and _images(plan) == seen[0]
    assert StateDir(names).read_launch().parameters == {"ImageDigest": DIGEST}


# ---------------------------------------------------------------- local deploy


@pytest.fixture
def deploy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, Path], DeployRequest]:
    """Runs `local deploy -t TEMPLATES` against a fake twin; returns the request sent."""
    names = TwinNames("unit", state_root=tmp_path / "run")
    names.state_dir.mkdir(parents=True)
    sent: list[DeployRequest] = []

    def send(state: StateDir, request: DeployRequest) -> TwinAnswer:
        sent.append(request)
        return TwinAnswer(id=request.id, ok=True, revisions={})

    monkeypatch.setattr(change_commands, "names_for", lambda name, env=None: names)
    monkeypatch.setattr(change_commands, "check_prerequisites", lambda: None)
    monkeypatch.setattr(change_commands.change_requests, "send", send)
    monkeypatch.setattr(change_commands, "_wait_settled", lambda names, timeout: None)
    monkeypatch.setattr(change_commands, "prepare_images", lambda plan, conf, progress: None)

    def run(runtime: str, template: Path) -> DeployRequest:
        status = TwinState(name="unit", phase="running", runtime=runtime)  # type: ignore[arg-type]
        monkeypatch.setattr(change_commands, "read_status", lambda names: status)
        change_commands.deploy_command(template=[str(template)])
        return sent[-1]

    return run


def test_deploy_in_container_mode_sends_the_new_digest(
    templates: Path, deploy: Callable[[str, Path], DeployRequest], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ImageBuilds, "build", lambda self, conf, progress: {"ImageDigest": DIGEST})
    request = deploy("container", templates)
    assert request.parameters == {"ImageDigest": DIGEST}


def test_deploy_in_process_mode_sends_the_placeholder(
    templates: Path,
    deploy: Callable[[str, Path], DeployRequest],
    capsys: pytest.CaptureFixture[str],
) -> None:
    request = deploy("process", templates)
    assert request.parameters == {"ImageDigest": PLACEHOLDER_DIGEST}
    assert "the build of" in capsys.readouterr().err


# ---------------------------------------------------------------- the contracts


def test_launch_and_deploy_documents_carry_the_parameters() -> None:
    launch = LaunchSpec(
        stacks=[StackSource(path="/t/parent.yml")], parameters={"ImageDigest": DIGEST}
    )
    assert LaunchSpec.from_json(launch.to_json()).parameters == {"ImageDigest": DIGEST}
    deploy = DeployRequest(
        kind="deploy",
        id="r1",
        stacks=[StackSource(path="/t/parent.yml")],
        parameters={"ImageDigest": DIGEST},
    )
    assert REQUEST.validate_json(deploy.model_dump_json()) == deploy
    # Documents written without them (an older `local up`) still read.
    assert LaunchSpec.from_json('{"template": "/t/parent.yml"}').parameters == {}
    old = REQUEST.validate_json('{"kind": "deploy", "id": "r2", "template": "/t/p.yml"}')
    assert isinstance(old, DeployRequest) and old.parameters == {}


def test_the_daemon_rolls_to_the_digest_the_request_names(
    templates: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = load_plan(templates, runtime="container", parameters={"ImageDigest": DIGEST})
    deployed: list[Any] = []
    twin = object.__new__(Twin)
    twin.plan = running
    twin.spec = LaunchSpec(
        stacks=[StackSource(path=str(templates))],
        runtime="container",
        parameters={"ImageDigest": DIGEST},
    )
    (service,) = running.services
    current = SimpleNamespace(
        definitions={1: running.task_definition(service.task_definition)}, revision=1
    )
    twin.scheduler = SimpleNamespace(  # type: ignore[assignment]
        services={service.key: current},
        deploy=lambda key, definition, desired: deployed.append(definition) or 2,
    )
    monkeypatch.setattr(twin_module, "load_plan", load_plan)
    answer = twin._apply(
        DeployRequest(
            kind="deploy",
            id="r1",
            stacks=[StackSource(path=str(templates))],
            parameters={"ImageDigest": OTHER_DIGEST},
        )
    )
    assert answer.ok and answer.revisions == {service.key: 2}
    (definition,) = deployed
    assert [c.image for c in definition.containers] == [f"{REPOSITORY}@{OTHER_DIGEST}"]
