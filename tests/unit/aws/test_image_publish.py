"""Publishing during a deploy: push once the repository exists, never deploy a digest
the registry does not have, and refuse an image for the wrong CPU before anything runs.

The builder and the registry are test doubles here (their real behaviour is tested in
tests/functional/images and tests/functional/aws against podman and a real registry on
loopback); ECR's token comes through botocore's Stubber.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from fargate_api.aws import image_publish
from fargate_api.aws.image_publish import ImagePublisher
from fargate_api.aws.stacks import load_plan
from fargate_api.errors import OperationError, UserError
from fargate_api.images.build_request import BuiltImage
from fargate_api.images.from_templates import SpecImage, check_architecture
from fargate_api.images.source_tag import SourceTag

from .support import stubbed

URI = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api"
DIGEST = "sha256:" + "d" * 64
IMAGE_ID = "sha256:" + "1" * 64


@dataclass
class FakeRegistry:
    """Answers manifest lookups from a dict: reference -> digest."""

    manifests: dict[str, str] = field(default_factory=dict)
    architecture: str | None = "amd64"
    config: str = IMAGE_ID  # the pushed image's id: by default, this build's
    asked: list[str] = field(default_factory=list)

    def manifest_digest(self, repository: str, reference: str) -> str | None:
        self.asked.append(f"{repository}:{reference}")
        return self.manifests.get(reference)

    def image_architecture(self, repository: str, reference: str) -> str | None:
        return self.architecture

    def config_digest(self, repository: str, reference: str) -> str | None:
        return self.config if reference in self.manifests else None


@dataclass
class FakeBuilder:
    name: str = "podman"
    digest: str = DIGEST
    pushes: list[str] = field(default_factory=list)
    on_push: Any = None

    def push(self, image: Any, destination: str, **_: Any) -> str:
        self.pushes.append(destination)
        if self.on_push:
            self.on_push()
        return self.digest


def _plan(tmp_path: Path) -> Any:
    config = tmp_path / "fargate-api.toml"
    config.write_text('name = "shop"\n[service]\nname = "api"\nbuild = "app"\n', encoding="utf-8")
    return load_plan(config, None, None)


def _built(plan: Any, architecture: str = "amd64") -> list[SpecImage]:
    [spec] = plan.build_specs
    image = BuiltImage(
        reference="localhost/shop-taskdefinition:abc",
        repository="localhost/shop-taskdefinition",
        tag="0123456789ab",
        image_id=IMAGE_ID,
        architecture=architecture,
        os="linux",
        builder="podman",
        local_digest=None,
        source=SourceTag(commit="0123456789ab", dirty=False),
    )
    return [SpecImage(spec=spec, image=image)]


def _token() -> dict[str, Any]:
    token = base64.b64encode(b"AWS:secret").decode()
    return {"authorizationData": [{"authorizationToken": token, "proxyEndpoint": "https://x"}]}


OUTPUTS = {"repository": {"RepositoryUri": URI}}


def _publish(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    registry: FakeRegistry,
    builder: FakeBuilder,
    outputs: dict[str, dict[str, str]],
) -> tuple[ImagePublisher, dict[str, str] | Exception]:
    """Runs a publisher of a built service once with `outputs`, against `registry`, with
    ECR's token stubbed when a repository URI is known; returns what it answered or
    raised."""
    monkeypatch.setattr(image_publish, "RegistryClient", lambda endpoint, auth: registry)
    plan = _plan(tmp_path)
    with stubbed() as stubs:
        if outputs:
            stubs.ecr.add_response("get_authorization_token", _token(), {})
        publisher = ImagePublisher(plan, _built(plan), builder, stubs.clients, Console(stderr=True))
        try:
            answer: dict[str, str] | Exception = publisher(outputs)
            assert publisher(outputs) == answer, "published once"
        except (OperationError, UserError) as exc:
            answer = exc
        stubs.assert_no_pending_responses()
    return publisher, answer


def test_nothing_is_published_before_the_repository_stack_has_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry, builder = FakeRegistry(), FakeBuilder()
    _, answer = _publish(tmp_path, monkeypatch, registry, builder, {})
    assert answer == {}
    assert builder.pushes == [] and registry.asked == []


def test_a_new_build_is_pushed_verified_and_its_digest_supplied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry, builder = FakeRegistry(), FakeBuilder()
    builder.on_push = lambda: registry.manifests.update({DIGEST: DIGEST, "0123456789ab": DIGEST})
    publisher, answer = _publish(tmp_path, monkeypatch, registry, builder, OUTPUTS)
    assert answer == {"ImageDigest": DIGEST}
    assert builder.pushes == [f"{URI}:0123456789ab"]
    assert registry.asked == ["shop-api:0123456789ab", f"shop-api:{DIGEST}"]
    [record] = publisher.published
    assert record.pushed and record.image == f"{URI}@{DIGEST}"


def test_a_tag_already_in_the_registry_is_not_pushed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry, builder = FakeRegistry({"0123456789ab": DIGEST}), FakeBuilder()
    publisher, answer = _publish(tmp_path, monkeypatch, registry, builder, OUTPUTS)
    assert answer == {"ImageDigest": DIGEST}
    assert builder.pushes == []
    assert not publisher.published[0].pushed


def test_another_build_under_the_same_tag_is_deployed_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same commit built elsewhere (or with other build args): the registry's image
    wins, as tags are immutable, and the user is told."""
    registry = FakeRegistry({"0123456789ab": DIGEST}, config="sha256:" + "9" * 64)
    _, answer = _publish(tmp_path, monkeypatch, registry, FakeBuilder(), OUTPUTS)
    assert answer == {"ImageDigest": DIGEST}
    said = " ".join(capsys.readouterr().err.split())
    assert "another build of the same source" in said
    assert "sha256:999999999999" in said and "sha256:111111111111" in said


def test_the_same_build_under_its_tag_says_nothing_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = FakeRegistry({"0123456789ab": DIGEST})
    _publish(tmp_path, monkeypatch, registry, FakeBuilder(), OUTPUTS)
    assert "another build" not in capsys.readouterr().err


def test_a_push_the_registry_does_not_have_is_never_supplied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push that "succeeded" but left no manifest (interrupted, a lost write)."""
    _, answer = _publish(tmp_path, monkeypatch, FakeRegistry(), FakeBuilder(), OUTPUTS)
    assert isinstance(answer, OperationError)
    assert "does not have it" in answer.what
    assert answer.fix is not None and "deploy again" in answer.fix


def test_a_registry_image_for_another_cpu_under_the_same_tag_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = FakeRegistry({"0123456789ab": DIGEST}, architecture="arm64")
    _, answer = _publish(tmp_path, monkeypatch, registry, FakeBuilder(), OUTPUTS)
    assert isinstance(answer, UserError)
    assert "is arm64, but this build is amd64" in answer.what


def test_an_image_for_another_cpu_than_the_task_is_refused(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    [item] = _built(plan, architecture="arm64")
    with pytest.raises(UserError, match="exec format error") as caught:
        check_architecture(item.spec, item.image)
    assert caught.value.where == "service.yml: TaskDefinition Metadata.fargate-api.build"


def test_a_build_platform_that_is_not_the_runtime_platform_is_refused(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    [item] = _built(plan)
    spec = item.spec.model_copy(update={"runtime_architecture": "ARM64"})
    with pytest.raises(UserError, match="RuntimePlatform is ARM64"):
        check_architecture(spec, item.image)
