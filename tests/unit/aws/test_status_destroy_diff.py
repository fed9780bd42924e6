"""status, destroy and diff on stubbed AWS answers (moto runs no tasks and never fails)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from fargate_api.aws import commands
from fargate_api.aws.deploy import Deployer, DeployFailedError, DeployStoppedError
from fargate_api.aws.destroy import Destroyer
from fargate_api.aws.guard import Protected
from fargate_api.aws.results import DeployResult, TargetHealth
from fargate_api.aws.session import error_code, translate
from fargate_api.aws.stacks import StackPlan, load_plan
from fargate_api.aws.status import read_status
from fargate_api.cli import app
from fargate_api.errors import CliError
from unit.aws.support import (
    SERVICE_ARN,
    SERVICE_SPEC_RESOURCES,
    FakeClock,
    ScriptedPrompter,
    change_set_arn,
    console,
    describe_stacks,
    described_change_set,
    event,
    events_page,
    resource_change,
    spec,
    stack_id,
    stubbed,
)

TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop/0123456789abcdef"
PLAN = StackPlan(
    base="shop",
    stacks=[
        spec("vpc", {"NatGatewayOneEIP": "AWS::EC2::EIP"}),
        spec("cluster", {"ECSCluster": "AWS::ECS::Cluster"}),
        spec("service", SERVICE_SPEC_RESOURCES),
    ],
)


def _missing(s: Any, name: str) -> None:
    s.cfn.add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message=f"Stack with id {name} does not exist",
    )


def test_status_shows_tasks_and_target_health() -> None:
    with stubbed() as s:
        s.cfn.add_response(
            "describe_stacks",
            describe_stacks(
                "shop-vpc",
                "CREATE_COMPLETE",
                role="vpc",
                outputs={"NatEgressIps": "203.0.113.1,203.0.113.2"},
            ),
        )
        s.cfn.add_response(
            "describe_stacks",
            describe_stacks(
                "shop-cluster",
                "CREATE_COMPLETE",
                role="cluster",
                outputs={"ClusterName": "shop-cluster-ECSCluster-AbC123"},
            ),
        )
        s.cfn.add_response(
            "describe_stacks",
            describe_stacks(
                "shop-service",
                "UPDATE_COMPLETE",
                outputs={
                    "ServiceUrl": "http://shop-123.eu-west-1.elb.amazonaws.com",
                    "ServiceArn": SERVICE_ARN,
                    "TargetGroupArn": TG,
                },
            ),
        )
        s.ecs.add_response(
            "describe_services",
            {
                "services": [
                    {
                        "serviceName": "web",
                        "status": "ACTIVE",
                        "runningCount": 1,
                        "desiredCount": 2,
                        "pendingCount": 1,
                        "deployments": [
                            {
                                "status": "PRIMARY",
                                "rolloutState": "COMPLETED",
                                "runningCount": 1,
                                "desiredCount": 2,
                                "failedTasks": 0,
                            }
                        ],
                        "events": [
                            {"id": "e", "message": "(service web) has reached a steady state."}
                        ],
                    }
                ]
            },
            {"cluster": "shop-cluster-ECSCluster-AbC123", "services": ["web"]},
        )
        s.ecs.add_response(
            "list_service_deployments",
            {"serviceDeployments": []},
            {"cluster": "shop-cluster-ECSCluster-AbC123", "service": "web"},
        )
        s.elbv2.add_response(
            "describe_target_health",
            {
                "TargetHealthDescriptions": [
                    {
                        "Target": {"Id": "10.0.130.5", "Port": 80},
                        "TargetHealth": {"State": "healthy"},
                    },
                    {
                        "Target": {"Id": "10.0.200.9", "Port": 80},
                        "TargetHealth": {
                            "State": "unhealthy",
                            "Reason": "Target.ResponseCodeMismatch",
                            "Description": "Health checks failed with these codes: [404]",
                        },
                    },
                ]
            },
            {"TargetGroupArn": TG},
        )
        data = read_status(s.clients, PLAN)
        s.assert_no_pending_responses()
    assert data.url == "http://shop-123.eu-west-1.elb.amazonaws.com"
    assert data.egress_ips == ["203.0.113.1", "203.0.113.2"]
    assert data.service_state is not None
    assert data.service_state.running == 1 and data.service_state.desired == 2
    assert data.targets == TargetHealth(
        states={"healthy": 1, "unhealthy": 1},
        reasons=["Health checks failed with these codes: [404]"],
    )
    assert data.service_deployment is None and data.service_deployment_unavailable is None


def test_destroy_failure_names_the_resource_that_blocked_it() -> None:
    out, buffer = console()
    name = "shop-service"
    with stubbed() as s:
        s.cfn.add_response("describe_stacks", describe_stacks(name, "UPDATE_COMPLETE"))
        _missing(s, "shop-cluster")
        _missing(s, "shop-vpc")
        s.cfn.add_response(
            "list_stack_resources",
            {
                "StackResourceSummaries": [
                    {
                        "LogicalResourceId": "LogGroup",
                        "PhysicalResourceId": "shop-service-LogGroup-1",
                        "ResourceType": "AWS::Logs::LogGroup",
                        "LastUpdatedTimestamp": "2026-11-25T10:00:00Z",
                        "ResourceStatus": "CREATE_COMPLETE",
                    }
                ]
            },
        )
        s.cfn.add_response(
            "describe_stack_events", events_page(event(name, 0, name, "UPDATE_COMPLETE"))
        )
        s.cfn.add_response("delete_stack", {}, {"StackName": stack_id(name)})
        s.cfn.add_response("describe_stacks", describe_stacks(name, "DELETE_FAILED"))
        s.cfn.add_response(
            "describe_stack_events",
            events_page(
                event(name, 0, name, "UPDATE_COMPLETE"),
                event(name, 1, name, "DELETE_IN_PROGRESS", "User Initiated"),
                event(
                    name,
                    2,
                    "ServiceTargetGroup",
                    "DELETE_FAILED",
                    "Target group 'arn:...' is currently in use by a listener or a rule",
                    resource_type="AWS::ElasticLoadBalancingV2::TargetGroup",
                ),
                event(
                    name,
                    3,
                    name,
                    "DELETE_FAILED",
                    "The following resource(s) failed to delete: [ServiceTargetGroup]. ",
                ),
            ),
        )
        destroyer = Destroyer(s.clients, out, FakeClock(), ScriptedPrompter())
        with pytest.raises(DeployFailedError) as raised:
            destroyer.destroy(PLAN)
        s.assert_no_pending_responses()
    cause = raised.value.cause
    assert cause is not None and cause.event.logical_id == "ServiceTargetGroup"
    assert "DELETE_FAILED" in buffer.getvalue()


def test_destroy_does_nothing_when_the_user_says_no() -> None:
    out, _ = console()
    with stubbed() as s:
        s.cfn.add_response("describe_stacks", describe_stacks("shop-service", "CREATE_COMPLETE"))
        _missing(s, "shop-cluster")
        _missing(s, "shop-vpc")
        destroyer = Destroyer(s.clients, out, FakeClock(), ScriptedPrompter(answers=[False]))
        with pytest.raises(DeployStoppedError, match="nothing was deleted"):
            destroyer.destroy(PLAN)
        s.assert_no_pending_responses()  # no delete_stack


EIP = "203.0.113.7"


def _vpc_with_a_retained_eip(s: Any) -> None:
    """The service and cluster stacks are gone; the VPC stack holds one retained EIP."""
    _missing(s, "shop-service")
    _missing(s, "shop-cluster")
    s.cfn.add_response(
        "describe_stacks", describe_stacks("shop-vpc", "CREATE_COMPLETE", role="vpc")
    )
    s.cfn.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": "NatGatewayOneEIP",
                    "PhysicalResourceId": EIP,
                    "ResourceType": "AWS::EC2::EIP",
                    "LastUpdatedTimestamp": "2026-11-25T10:00:00Z",
                    "ResourceStatus": "CREATE_COMPLETE",
                }
            ]
        },
    )


@pytest.mark.parametrize("code", ["InvalidAddress.NotFound", "InvalidAllocationID.NotFound"])
def test_destroy_takes_a_not_found_eip_as_released_by_hand(code: str) -> None:
    out, buffer = console()
    name = "shop-vpc"
    with stubbed() as s:
        _vpc_with_a_retained_eip(s)
        s.ec2.add_client_error(
            "describe_addresses",
            service_error_code=code,
            service_message=f"Address '{EIP}' not found.",
            expected_params={"PublicIps": [EIP]},
        )
        s.cfn.add_response(
            "describe_stack_events", events_page(event(name, 0, name, "CREATE_COMPLETE"))
        )
        s.cfn.add_response("delete_stack", {}, {"StackName": stack_id(name)})
        s.cfn.add_response("describe_stacks", describe_stacks(name, "DELETE_COMPLETE", role="vpc"))
        s.cfn.add_response(
            "describe_stack_events",
            events_page(
                event(name, 0, name, "CREATE_COMPLETE"),
                event(name, 1, name, "DELETE_IN_PROGRESS", "User Initiated"),
                event(name, 2, name, "DELETE_COMPLETE"),
            ),
        )
        result = Destroyer(s.clients, out, FakeClock(), ScriptedPrompter()).destroy(PLAN)
        s.assert_no_pending_responses()
    assert result["deleted"] == [name]
    (retained,) = result["retained"]
    assert retained["physical_id"] == EIP
    assert retained["release"].endswith(f"release-address --region eu-west-1 --public-ip {EIP}")
    assert EIP in buffer.getvalue()


@pytest.mark.parametrize(
    "code",
    [
        "UnauthorizedOperation",
        "RequestLimitExceeded",
        "AuthFailure",
        "RequestExpired",
        "InternalError",
    ],
)
def test_destroy_reports_describe_addresses_errors_and_deletes_nothing(code: str) -> None:
    """Only "not found" means released: an error that says nothing about the address is
    reported as aws_errors() reports every AWS failure, before any stack is deleted."""
    out, _ = console()
    with stubbed() as s:
        _vpc_with_a_retained_eip(s)
        s.ec2.add_client_error(
            "describe_addresses",
            service_error_code=code,
            service_message="no",
            http_status_code=403,
        )
        destroyer = Destroyer(s.clients, out, FakeClock(), ScriptedPrompter())
        with pytest.raises(CliError) as raised:
            destroyer.destroy(PLAN)
        s.assert_no_pending_responses()  # and no delete_stack was called
    cause = raised.value.__cause__
    assert isinstance(cause, ClientError) and error_code(cause) == code
    expected = translate(cause)
    assert expected is not None and raised.value.render() == expected.render()


def test_diff_command_prints_the_table_and_warns_about_a_load_balancer_replacement(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    plan = load_plan(None, None, "shop")
    no_change = "The submitted information didn't contain changes."
    with stubbed() as s:
        for spec_ in plan.stacks:
            name = spec_.name
            outputs = {
                "vpc": {"VpcId": "vpc-1", "PublicSubnetIds": "s1,s2", "PrivateSubnetIds": "s3,s4"},
                "cluster": {"ClusterName": "c", "ECSTaskExecutionRole": "r"},
                # A complete stack reports the outputs its template declares (AWS always
                # does; only endpoints like moto need them evaluated from the resources).
                "service": {"ServiceUrl": "http://shop-lb.us-east-1.elb.amazonaws.com"},
            }[spec_.role]
            s.cfn.add_response(
                "describe_stacks",
                describe_stacks(name, "UPDATE_COMPLETE", role=spec_.role, outputs=outputs),
            )
            s.cfn.add_response("create_change_set", {"Id": change_set_arn(name)})
            if spec_.role != "service":
                s.cfn.add_response(
                    "describe_change_set", described_change_set(name, "FAILED", [], no_change)
                )
                s.cfn.add_response("delete_change_set", {})
                continue
            done = described_change_set(
                name,
                "CREATE_COMPLETE",
                [
                    resource_change(
                        "Modify",
                        "PublicLoadBalancer",
                        "AWS::ElasticLoadBalancingV2::LoadBalancer",
                        replacement="True",
                        properties=(("Scheme", "Always"),),
                    ),
                    resource_change(
                        "Modify",
                        "Service",
                        "AWS::ECS::Service",
                        replacement="False",
                        properties=(("DesiredCount", "Never"),),
                    ),
                ],
            )
            s.cfn.add_response("describe_change_set", done)
            s.cfn.add_response("describe_change_set", done)
            s.cfn.add_response("delete_change_set", {}, {"ChangeSetName": change_set_arn(name)})
        monkeypatch.setattr(commands, "connect", lambda target: s.clients)
        result = CliRunner().invoke(app, ["diff", "--stack-name", "shop"])
        s.assert_no_pending_responses()
    assert result.exit_code == 0, result.output
    assert "shop-vpc: no changes" in result.stdout
    assert "shop-service: 2 changes" in result.stdout
    assert "Scheme (replaces)" in result.stdout
    assert "deploy needs --allow-replace load-balancer" in result.stderr


def test_deploy_flags_reach_the_deployer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    seen: dict[str, Any] = {}

    def fake_deploy(self: Deployer, plan: StackPlan, supply: object = None) -> DeployResult:
        seen["options"] = self.options
        seen["plan"] = plan
        return DeployResult(
            stack_name=plan.base,
            region="eu-west-1",
            url="http://x",
            egress_ips=["203.0.113.9"],
            load_balancer_dns=None,
            cluster=None,
            service=None,
            log_group=None,
            changed=False,
            stacks=[],
        )

    with stubbed() as s:
        monkeypatch.setattr(commands, "connect", lambda target: s.clients)
        monkeypatch.setattr(Deployer, "deploy", fake_deploy)
        result = CliRunner().invoke(
            app,
            [
                "deploy",
                "--yes",
                "--stack-name",
                "prod",
                "--allow-replace",
                "egress-ips",
                "--allow-replace",
                "load-balancer",
                "--cancel-on-failure",
                "--failure-repeats",
                "5",
            ],
        )
    assert result.exit_code == 0, result.output
    options = seen["options"]
    assert set(options.allow_replace) == {Protected.EGRESS_IPS, Protected.LOAD_BALANCER}
    assert options.watch.cancel_on_failure and options.watch.failure_repeats == 5
    assert seen["plan"].stacks[0].name == "prod-vpc"
    assert "url: http://x" in result.stdout and "203.0.113.9" in result.stdout
    bad = CliRunner().invoke(app, ["deploy", "--allow-replace", "everything"])
    assert bad.exit_code == 2
