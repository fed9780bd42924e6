"""Reading a task definition's build Metadata: what hand-written templates can get wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fargate_api.errors import UserError
from fargate_api.templates.build_specs import build_specs_of


def _template(build: Any, runtime: Any = None) -> dict[str, Any]:
    properties: dict[str, Any] = {"ContainerDefinitions": []}
    if runtime is not None:
        properties["RuntimePlatform"] = runtime
    return {
        "Resources": {
            "Other": {"Type": "AWS::ECS::TaskDefinition", "Properties": {}},
            "Task": {
                "Type": "AWS::ECS::TaskDefinition",
                "Metadata": {"fargate-api": {"build": build}},
                "Properties": properties,
            },
        }
    }


def test_only_task_definitions_with_build_metadata_build(tmp_path: Path) -> None:
    specs = build_specs_of("s.yml", _template({"DockerContext": "app"}), tmp_path)
    assert [s.task_definition for s in specs] == ["Task"]
    [spec] = specs
    assert spec.context == tmp_path / "app"
    assert spec.dockerfile == tmp_path / "app" / "Dockerfile"
    assert spec.platform == "linux/amd64"
    assert spec.runtime_architecture == "X86_64", "ECS's default without RuntimePlatform"
    assert spec.where == "s.yml: Task Metadata.fargate-api.build"


def test_a_runtime_platform_from_a_parameter_is_not_guessed(tmp_path: Path) -> None:
    template = _template({"DockerContext": "."}, {"CpuArchitecture": {"Ref": "Arch"}})
    [spec] = build_specs_of("s.yml", template, tmp_path)
    assert spec.runtime_architecture is None


@pytest.mark.parametrize(
    ("build", "says"),
    [
        ("app", "not a mapping"),
        ({}, "no DockerContext"),
        ({"DockerContext": 3}, "DockerContext must be a non-empty string"),
        ({"DockerContext": "a", "DockerPlatform": "linux/s390x"}, "not a platform"),
        ({"DockerContext": "a", "DockerBuildArgs": ["A=1"]}, "DockerBuildArgs"),
        ({"DockerContext": "a", "Dockerfile": ""}, "Dockerfile must be a non-empty string"),
    ],
)
def test_bad_metadata_is_a_user_error_naming_the_resource(
    tmp_path: Path, build: Any, says: str
) -> None:
    with pytest.raises(UserError) as caught:
        build_specs_of("s.yml", _template(build), tmp_path)
    assert says in caught.value.what
    assert caught.value.where == "s.yml: Task Metadata.fargate-api.build"


def test_a_template_without_resources_builds_nothing(tmp_path: Path) -> None:
    assert build_specs_of("x.yml", {"Resources": "nope"}, tmp_path) == []
