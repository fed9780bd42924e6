"""A service built from source: its repository stack, the digest parameter and the build
Metadata that deploy, build and the twin read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fargate_api.config import parse_config
from fargate_api.config.loader import anchor_paths
from fargate_api.synth import synthesize
from fargate_api.synth.repository import repository_name
from fargate_api.templates.build_specs import build_specs_of

BUILT = '[service]\nname = "api"\nbuild = "app"\n'


def _templates(text: str, folder: Path, out: Path) -> dict[str, Any]:
    config = anchor_paths(parse_config(text), folder)
    return {name: t.to_dict() for name, t in synthesize(config, templates_dir=out).items()}


def test_an_image_service_has_no_repository(tmp_path: Path) -> None:
    docs = _templates('[service]\nimage = "x:1"\n', tmp_path, tmp_path)
    assert "repository.yml" not in docs
    assert "ImageDigest" not in docs["parent.yml"].get("Parameters", {})


def test_the_repository_is_scanned_immutable_encrypted_expiring_and_retained(
    tmp_path: Path,
) -> None:
    docs = _templates(BUILT, tmp_path, tmp_path)
    repo = docs["repository.yml"]["Resources"]["Repository"]
    props = repo["Properties"]
    assert repo["Type"] == "AWS::ECR::Repository"
    assert (repo["DeletionPolicy"], repo["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert props["ImageTagMutability"] == "IMMUTABLE"
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["EncryptionConfiguration"] == {"EncryptionType": "KMS"}
    rule = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"][0]
    assert rule["selection"]["countType"] == "imageCountMoreThan"
    assert rule["selection"]["countNumber"] == 30
    assert rule["action"] == {"type": "expire"}
    outputs = docs["repository.yml"]["Outputs"]
    assert set(outputs) == {"RepositoryUri", "RepositoryName", "RepositoryArn"}


def test_keep_images_sets_the_lifecycle_count(tmp_path: Path) -> None:
    text = '[service.build]\ncontext = "app"\nkeep_images = 7\n'
    docs = _templates(text, tmp_path, tmp_path)
    props = docs["repository.yml"]["Resources"]["Repository"]["Properties"]
    assert (
        json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])["rules"][0]["selection"][
            "countNumber"
        ]
        == 7
    )


def test_the_parent_deploys_the_repository_first_and_passes_the_digest(tmp_path: Path) -> None:
    parent = _templates(BUILT, tmp_path, tmp_path)["parent.yml"]
    resources = parent["Resources"]
    assert next(iter(resources)) == "RepositoryStack"
    digest = parent["Parameters"]["ImageDigest"]
    assert digest["AllowedPattern"] == "^sha256:[a-f0-9]{64}$"
    assert "Default" not in digest, "a digest is never guessed"
    wiring = resources["ServiceStack"]["Properties"]["Parameters"]
    assert wiring["ImageDigest"] == {"Ref": "ImageDigest"}
    assert wiring["ImageRepositoryUri"] == {
        "Fn::GetAtt": ["RepositoryStack", "Outputs.RepositoryUri"]
    }


def test_the_task_definition_names_the_image_by_digest(tmp_path: Path) -> None:
    service = _templates(BUILT, tmp_path, tmp_path)["service.yml"]
    assert "ImageUrl" not in service["Parameters"]
    definition = service["Resources"]["TaskDefinition"]
    image = definition["Properties"]["ContainerDefinitions"][0]["Image"]
    assert image == {"Fn::Sub": "${ImageRepositoryUri}@${ImageDigest}"}
    assert "suppress" not in definition["Metadata"]["fargate-api"] or all(
        s["id"] != "FA501" for s in definition["Metadata"]["fargate-api"]["suppress"]
    ), "the demo-image suppression is for the default image only"


def test_build_platform_arm64_sets_the_runtime_platform(tmp_path: Path) -> None:
    text = '[service.build]\ncontext = "app"\nplatform = "linux/arm64"\n'
    service = _templates(text, tmp_path, tmp_path)["service.yml"]
    props = service["Resources"]["TaskDefinition"]["Properties"]
    assert props["RuntimePlatform"]["CpuArchitecture"] == "ARM64"


@pytest.mark.parametrize(
    ("out", "expected"), [("out", "../app"), ("", "app"), ("a/b", "../../app")]
)
def test_the_context_is_written_relative_to_the_templates_folder(
    tmp_path: Path, out: str, expected: str
) -> None:
    service = _templates(BUILT, tmp_path, tmp_path / out)["service.yml"]
    build = service["Resources"]["TaskDefinition"]["Metadata"]["fargate-api"]["build"]
    assert build["DockerContext"] == expected
    [spec] = build_specs_of("service.yml", service, tmp_path / out)
    assert spec.context == (tmp_path / "app").resolve()
    assert spec.dockerfile == (tmp_path / "app" / "Dockerfile").resolve()


def test_the_metadata_round_trips_into_a_build_spec(tmp_path: Path) -> None:
    text = (
        '[service]\nname = "api"\n[service.build]\ncontext = "app"\ndockerfile = "D"\n'
        'target = "run"\nbuild_args = { V = "1" }\nplatform = "linux/arm64"\n'
    )
    service = _templates(text, tmp_path, tmp_path)["service.yml"]
    [spec] = build_specs_of("service.yml", service, tmp_path)
    assert spec.target == "run"
    assert spec.build_args == {"V": "1"}
    assert spec.platform == "linux/arm64"
    assert spec.runtime_architecture == "ARM64"
    assert spec.image_architecture == "arm64"
    assert (spec.repository_parameter, spec.digest_parameter) == (
        "ImageRepositoryUri",
        "ImageDigest",
    )


@pytest.mark.parametrize(
    ("name", "service", "expected"),
    [
        ("My-App", "api", "my-app-api"),
        ("a--b", "web", "a-b-web"),
    ],
)
def test_repository_names_follow_ecrs_rules(name: str, service: str, expected: str) -> None:
    config = parse_config(f'name = "{name}"\n[service]\nname = "{service}"\nbuild = "x"\n')
    assert repository_name(config) == expected
