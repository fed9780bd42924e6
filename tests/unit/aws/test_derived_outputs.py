"""Outputs evaluated from the deployed resources when the endpoint reports none (moto 5)."""

from __future__ import annotations

import yaml

from fargate_api.aws.cfn import StackState
from fargate_api.aws.derived_outputs import outputs_of
from fargate_api.aws.stacks import StackSpec
from fargate_api.config import Config
from fargate_api.synth import synthesize, to_yaml
from unit.aws.support import stubbed

LB_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/abc"
SERVICE_ARN = "arn:aws:ecs:us-east-1:123456789012:service/cluster-1/web"


def _spec(role: str) -> StackSpec:
    body = to_yaml(synthesize(Config())[f"{role}.yml"].to_dict())
    return StackSpec(
        role=role, name=f"shop-{role}", file=f"{role}.yml", body=body, document=yaml.safe_load(body)
    )


def _state(status: str = "CREATE_COMPLETE", outputs: dict[str, str] | None = None) -> StackState:
    return StackState(
        stack_id="id",
        name="shop-service",
        status=status,
        reason="",
        outputs=outputs or {},
        parameters={},
        tags={},
    )


def _resources(**physical: str) -> dict[str, object]:
    return {
        "StackResources": [
            {
                "LogicalResourceId": logical,
                "PhysicalResourceId": value,
                "ResourceType": "AWS::CloudFormation::Stack",
                "ResourceStatus": "CREATE_COMPLETE",
                "Timestamp": "2026-11-25T00:00:00Z",
            }
            for logical, value in physical.items()
        ]
    }


def test_reported_outputs_are_used_as_they_are() -> None:
    with stubbed() as stubs:
        got = outputs_of(stubs.clients, _spec("service"), _state(outputs={"ServiceUrl": "x"}))
        stubs.assert_no_pending_responses()
    assert got == {"ServiceUrl": "x"}


def test_missing_outputs_are_evaluated_from_the_resources() -> None:
    with stubbed() as stubs:
        stubs.cfn.add_response(
            "describe_stack_resources",
            _resources(
                PublicLoadBalancer=LB_ARN,
                ServiceTargetGroup="arn:tg",
                Service=SERVICE_ARN,
                LogGroup="shop-service-LogGroup-X",
                ServiceSecurityGroup="sg-1",
            ),
            {"StackName": "shop-service"},
        )
        # ServiceUrl and LoadBalancerDNSName each read the load balancer's DNS name.
        for _ in range(2):
            stubs.elbv2.add_response(
                "describe_load_balancers",
                {"LoadBalancers": [{"DNSName": "web-1.us-east-1.elb.amazonaws.com"}]},
                {"LoadBalancerArns": [LB_ARN]},
            )
        got = outputs_of(stubs.clients, _spec("service"), _state())
        stubs.assert_no_pending_responses()
    assert got["ServiceUrl"] == "http://web-1.us-east-1.elb.amazonaws.com"
    assert got["LoadBalancerDNSName"] == "web-1.us-east-1.elb.amazonaws.com"
    assert got["ServiceName"] == "web"
    assert got["ServiceArn"] == SERVICE_ARN
    assert got["LogGroupName"] == "shop-service-LogGroup-X"


def test_an_output_that_cannot_be_evaluated_stays_missing() -> None:
    """ECSTaskExecutionRoleArn needs IAM, which the back-end does not read: not invented."""
    with stubbed() as stubs:
        stubs.cfn.add_response(
            "describe_stack_resources",
            _resources(ECSCluster="cluster-1", ECSTaskExecutionRole="exec-role"),
            {"StackName": "shop-service"},
        )
        stubs.ecs.add_response(
            "describe_clusters",
            {"clusters": [{"clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/cluster-1"}]},
            {"clusters": ["cluster-1"]},
        )
        got = outputs_of(stubs.clients, _spec("cluster"), _state())
        stubs.assert_no_pending_responses()
    assert got["ClusterName"] == "cluster-1"
    assert got["ECSTaskExecutionRole"] == "exec-role"
    assert got["ClusterArn"].endswith(":cluster/cluster-1")
    assert "ECSTaskExecutionRoleArn" not in got


def test_a_stack_that_did_not_complete_is_not_evaluated() -> None:
    with stubbed() as stubs:
        got = outputs_of(stubs.clients, _spec("vpc"), _state(status="ROLLBACK_COMPLETE"))
        stubs.assert_no_pending_responses()
    assert got == {}


def test_a_repository_uri_names_the_stacks_own_account_and_region() -> None:
    """The reading layer derives RepositoryUri statically; the account and region are
    the deployed stack's (from its ARN), never the reading layer's stand-ins."""
    config = Config.model_validate({"service": {"build": "app"}})
    body = to_yaml(synthesize(config)["repository.yml"].to_dict())
    spec = StackSpec(
        role="repository",
        name="shop-repository",
        file="repository.yml",
        body=body,
        document=yaml.safe_load(body),
    )
    state = StackState(
        stack_id="arn:aws:cloudformation:eu-central-1:210987654321:stack/shop-repository/1",
        name="shop-repository",
        status="CREATE_COMPLETE",
        reason="",
        outputs={},
        parameters={},
        tags={},
    )
    with stubbed() as stubs:
        stubs.cfn.add_response(
            "describe_stack_resources",
            _resources(Repository="serverless-api-environment-web"),
            {"StackName": "shop-repository"},
        )
        got = outputs_of(stubs.clients, spec, state)
        stubs.assert_no_pending_responses()
    assert got["RepositoryUri"] == (
        "210987654321.dkr.ecr.eu-central-1.amazonaws.com/serverless-api-environment-web"
    )
    assert got["RepositoryName"] == "serverless-api-environment-web"
