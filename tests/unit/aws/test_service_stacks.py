"""Stack roles, the service stacks read from the templates, and `--service NAME` among them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fargate_api.aws.service_stacks import (
    ecs_service_name,
    for_service,
    select_service,
    service_stacks,
)
from fargate_api.aws.stacks import StackSpec, load_plan, plan_from_templates, role_of
from fargate_api.aws.summary import endpoint_summary
from fargate_api.errors import UserError
from unit.aws import multi_layout


@pytest.mark.parametrize(
    ("child", "role"),
    [
        ("VpcStack", "vpc"),
        ("ClusterStack", "cluster"),
        ("ServiceStack", "service"),
        ("RepositoryStack", "repository"),
        ("LoadBalancerStack", "load-balancer"),
        ("ServiceApiStack", "service-api"),
        ("ServiceApiV2Stack", "service-api-v2"),
        ("ECSClusterStack", "ecs-cluster"),
        ("Network", "network"),
    ],
)
def test_a_role_is_the_kebab_case_of_the_child_id_without_stack(child: str, role: str) -> None:
    assert role_of(child) == role


def test_the_multi_layout_plans_every_stack_in_dependency_order() -> None:
    plan = multi_layout.plan(built=("api",))
    roles = [s.role for s in plan.stacks]
    assert [s.name for s in plan.stacks] == [f"shop-{r}" for r in roles]
    assert set(roles) == {
        "vpc",
        "cluster",
        "load-balancer",
        "service-api",
        "service-web",
        "repository",
    }
    position = {role: roles.index(role) for role in roles}
    for spec in plan.stacks:
        for source, _ in spec.inputs.values():
            assert position[source] < position[spec.role], (spec.role, source)
    # destroy walks the plan backwards: services first, then load-balancer, cluster, vpc
    backwards = [r for r in reversed(roles) if r != "repository"]
    assert backwards == ["service-web", "service-api", "load-balancer", "cluster", "vpc"]
    api = plan.by_role("service-api")
    assert api.inputs["ServiceSecurityGroupId"] == ("load-balancer", "ApiSecurityGroupId")
    assert api.inputs["ImageRepositoryUri"] == ("repository", "ApiRepositoryUri")
    assert api.passed == {"ImageDigest": "ImageDigest"}


def test_service_stacks_are_the_stacks_whose_template_holds_an_ecs_service() -> None:
    plan = multi_layout.plan()
    found = service_stacks(plan)
    assert [(s.spec.role, s.name, s.named) for s in found] == [
        ("service-api", "api", True),
        ("service-web", "web", True),
    ]


def _spec(role: str, document: dict[str, object]) -> StackSpec:
    return StackSpec(
        role=role,
        name=f"b-{role}",
        file=f"{role}.yml",
        body=json.dumps(document),
        document=document,  # type: ignore[arg-type]
    )


def test_the_service_name_comes_from_the_template_not_from_the_stack_name() -> None:
    literal = {
        "Resources": {"S": {"Type": "AWS::ECS::Service", "Properties": {"ServiceName": "x"}}}
    }
    unnamed = {"Resources": {"S": {"Type": "AWS::ECS::Service", "Properties": {}}}}
    no_default = {
        "Parameters": {"N": {"Type": "String"}},
        "Resources": {
            "S": {"Type": "AWS::ECS::Service", "Properties": {"ServiceName": {"Ref": "N"}}}
        },
    }
    assert ecs_service_name(_spec("app", literal)) == "x"
    assert ecs_service_name(_spec("app", unnamed)) is None
    assert ecs_service_name(_spec("app", no_default)) is None
    assert ecs_service_name(_spec("app", {"Resources": {}})) is None

    # A stack called "service-..." without an ECS service is not a service stack; one
    # of any name with an ECS service is (its name is then its role).
    docs = {
        "parent.yml": {
            "Resources": {
                "ServiceExtraStack": {
                    "Type": "AWS::CloudFormation::Stack",
                    "Properties": {"TemplateURL": "a.yml"},
                },
                "WorkersStack": {
                    "Type": "AWS::CloudFormation::Stack",
                    "Properties": {"TemplateURL": "b.yml"},
                },
            }
        },
        "a.yml": {"Resources": {"T": {"Type": "AWS::SNS::Topic"}}},
        "b.yml": unnamed,
    }
    plan = plan_from_templates("b", {k: json.dumps(v) for k, v in docs.items()}, docs)
    assert [(s.spec.role, s.name, s.named) for s in service_stacks(plan)] == [
        ("workers", "workers", False)
    ]


def test_the_single_layout_has_one_service_stack_named_by_its_parameter(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    plan = load_plan(None, None, "shop")
    [service] = service_stacks(plan)
    assert (service.spec.name, service.name) == ("shop-service", "web")
    assert select_service(plan, None, required=True, command="logs") == service
    assert select_service(plan, "web", required=True, command="logs") == service


def test_select_service_by_name_role_or_stack_name_and_its_errors() -> None:
    plan = multi_layout.plan()
    for name in ("api", "service-api", "shop-service-api"):
        chosen = select_service(plan, name, required=True, command="logs")
        assert chosen is not None and chosen.spec.role == "service-api"
    assert select_service(plan, None, required=False, command="status") is None
    with pytest.raises(UserError) as several:
        select_service(plan, None, required=True, command="logs")
    assert "'logs' needs --service" in str(several.value)
    assert several.value.fix == "pass --service NAME, one of: api, web"
    with pytest.raises(UserError) as unknown:
        select_service(plan, "admin", required=True, command="logs")
    assert "--service 'admin'" in str(unknown.value)
    assert unknown.value.fix == "pass one of: api, web"


def test_deploy_service_plans_that_stack_and_reads_the_ones_it_needs() -> None:
    plan = for_service(multi_layout.plan(), "web")
    assert plan.only == {"service-web"}
    assert plan.read_only_roles() == {"vpc", "cluster", "load-balancer"}
    assert [s.role for s in plan.stacks if plan.deploys(s.role)] == ["service-web"]
    assert plan.build_specs == []


def test_deploy_service_of_a_built_service_deploys_its_repository_and_builds_only_it() -> None:
    full = multi_layout.plan(built=("api", "web"))
    plan = for_service(full, "api")
    assert plan.only == {"service-api", "repository"}
    assert plan.read_only_roles() == {"vpc", "cluster", "load-balancer"}
    assert [b.file for b in plan.build_specs] == ["service-api.yml"]
    assert [b.file for b in full.build_specs] == ["service-api.yml", "service-web.yml"]
    # a service that does not build leaves the repository alone
    other = for_service(multi_layout.plan(built=("api",)), "web")
    assert other.only == {"service-web"} and other.build_specs == []
    with pytest.raises(UserError, match="--service 'nope'"):
        for_service(full, "nope")


def test_the_endpoint_names_no_service_when_several_export_their_own() -> None:
    outputs = {role: multi_layout.outputs(role) for role in ("load-balancer", "service-api")}
    one = endpoint_summary(outputs)
    assert (one.service, one.log_group) == ("api", "shop-service-api-LogGroup-1")
    outputs["service-web"] = multi_layout.outputs("service-web")
    both = endpoint_summary(outputs)
    assert (both.service, both.log_group) == (None, None)
    assert both.url == "http://shop-lb-1.eu-west-1.elb.amazonaws.com"
