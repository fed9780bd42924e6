"""The stack plan read from the synthesized templates: names, order, wiring, inline bodies."""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_api.aws.stacks import (
    INLINE_LIMIT,
    inline_body,
    load_plan,
    plan_from_templates,
    wire_parameters,
)
from fargate_api.config import parse_config
from fargate_api.errors import UserError
from fargate_api.synth import synthesize, to_yaml


def test_default_plan_is_three_top_level_stacks_in_dependency_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    plan = load_plan(None, None, None)
    assert plan.base == "serverless-api-environment"
    assert [s.name for s in plan.stacks] == [
        "serverless-api-environment-vpc",
        "serverless-api-environment-cluster",
        "serverless-api-environment-service",
    ]
    service = plan.by_role("service")
    assert service.inputs == {
        "VpcId": ("vpc", "VpcId"),
        "PublicSubnetIds": ("vpc", "PublicSubnetIds"),
        "PrivateSubnetIds": ("vpc", "PrivateSubnetIds"),
        "ClusterName": ("cluster", "ClusterName"),
        "ECSTaskExecutionRole": ("cluster", "ECSTaskExecutionRole"),
    }
    for spec in plan.stacks:
        assert len(spec.body.encode()) <= INLINE_LIMIT
    assert set(plan.by_role("vpc").retained().values()) >= {"AWS::EC2::EIP"}


def test_stack_name_override_and_template_folder(tmp_path: Path) -> None:
    config = parse_config('name = "orders-api"\n')
    for file, template in synthesize(config).items():
        (tmp_path / file).write_text(to_yaml(template.to_dict()), encoding="utf-8")
    plan = load_plan(None, tmp_path, "orders-prod")
    assert [s.name for s in plan.stacks][-1] == "orders-prod-service"
    assert plan.by_role("vpc").body == (tmp_path / "vpc.yml").read_text(encoding="utf-8")


def test_folder_without_parent_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"no parent\.yml"):
        load_plan(None, tmp_path, None)


def test_wiring_needs_the_producing_stack_outputs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    service = load_plan(None, None, "x").by_role("service")
    outputs = {
        "vpc": {"VpcId": "vpc-1", "PublicSubnetIds": "a,b", "PrivateSubnetIds": "c,d"},
        "cluster": {"ClusterName": "c1", "ECSTaskExecutionRole": "role"},
    }
    params = {p["ParameterKey"]: p["ParameterValue"] for p in wire_parameters(service, outputs)}
    assert params["PublicSubnetIds"] == "a,b" and params["ClusterName"] == "c1"
    with pytest.raises(UserError, match="needs output ClusterName of the cluster stack"):
        wire_parameters(service, {"vpc": outputs["vpc"]})


def test_big_templates_go_as_compact_json_or_are_refused() -> None:
    doc = {"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}
    padded = "# " + "x" * INLINE_LIMIT + "\nResources:\n  T:\n    Type: AWS::SNS::Topic\n"
    assert inline_body("a.yml", padded, doc).startswith('{"Resources"')
    huge = {"Resources": {f"T{i}": {"Type": "AWS::SNS::Topic" + "x" * 100} for i in range(600)}}
    with pytest.raises(UserError, match="over CloudFormation's 51200-byte limit") as raised:
        inline_body("a.yml", padded, huge)
    assert raised.value.fix and "sam deploy" in raised.value.fix


def test_parent_with_a_literal_parameter_cannot_be_wired() -> None:
    parent = {
        "Resources": {
            "VpcStack": {
                "Type": "AWS::Serverless::Application",
                "Properties": {"Location": "v.yml"},
            },
            "ServiceStack": {
                "Type": "AWS::Serverless::Application",
                "Properties": {"Location": "s.yml", "Parameters": {"VpcId": "vpc-123"}},
            },
        }
    }
    docs = {"parent.yml": parent, "v.yml": {"Resources": {}}, "s.yml": {"Resources": {}}}
    texts = dict.fromkeys(docs, "x")
    with pytest.raises(UserError, match=r"is neither a child's output nor one of the parent's"):
        plan_from_templates("b", texts, docs)


BUILT_CONFIG = '[service]\nname = "api"\nbuild = "app"\n'


def test_a_built_service_plans_the_repository_first_and_the_digest_as_a_deploy_input(
    tmp_path: Path,
) -> None:
    config = tmp_path / "fargate-api.toml"
    config.write_text(BUILT_CONFIG, encoding="utf-8")
    plan = load_plan(config, None, "shop")
    assert [s.role for s in plan.stacks] == ["repository", "vpc", "cluster", "service"]
    service = plan.by_role("service")
    assert service.passed == {"ImageDigest": "ImageDigest"}
    assert service.inputs["ImageRepositoryUri"] == ("repository", "RepositoryUri")
    assert plan.by_role("repository").retained() == {"Repository": "AWS::ECR::Repository"}
    [spec] = plan.build_specs
    assert spec.context == (tmp_path / "app").resolve()
    assert spec.file == "service.yml"


def test_a_passed_parameter_needs_its_value_from_the_deploy(tmp_path: Path) -> None:
    config = tmp_path / "fargate-api.toml"
    config.write_text(BUILT_CONFIG, encoding="utf-8")
    service = load_plan(config, None, "shop").by_role("service")
    outputs = {
        "vpc": {"VpcId": "vpc-1", "PublicSubnetIds": "a,b", "PrivateSubnetIds": "c,d"},
        "cluster": {"ClusterName": "c1", "ECSTaskExecutionRole": "role"},
        "repository": {"RepositoryUri": "1.dkr.ecr.r.amazonaws.com/shop-api"},
    }
    digest = "sha256:" + "a" * 64
    params = wire_parameters(service, outputs, {"ImageDigest": digest})
    assert {"ParameterKey": "ImageDigest", "ParameterValue": digest} in params
    with pytest.raises(UserError, match="needs a value for the parent parameter ImageDigest"):
        wire_parameters(service, outputs)


def test_a_template_folder_reads_the_build_context_relative_to_itself(tmp_path: Path) -> None:
    config = parse_config(BUILT_CONFIG)
    out = tmp_path / "out"
    out.mkdir()
    from fargate_api.config.loader import anchor_paths  # noqa: PLC0415

    anchored = anchor_paths(config, tmp_path)
    for file, template in synthesize(anchored, templates_dir=out).items():
        (out / file).write_text(to_yaml(template.to_dict()), encoding="utf-8")
    plan = load_plan(None, out, "shop")
    assert [s.context for s in plan.build_specs] == [(tmp_path / "app").resolve()]


def test_a_parent_ref_to_a_pseudo_parameter_cannot_be_wired() -> None:
    parent = {
        "Parameters": {"Digest": {"Type": "String"}},
        "Resources": {
            "ServiceStack": {
                "Type": "AWS::Serverless::Application",
                "Properties": {"Location": "s.yml", "Parameters": {"R": {"Ref": "AWS::Region"}}},
            },
        },
    }
    docs = {"parent.yml": parent, "s.yml": {"Resources": {}}}
    with pytest.raises(UserError, match="nor one of the parent's parameters"):
        plan_from_templates("b", dict.fromkeys(docs, "x"), docs)
