"""Change sets on realistic AWS answers: replacements shown, empty ones deleted."""

from __future__ import annotations

import pytest

from fargate_api.aws import changeset
from fargate_api.aws.diff_view import change_table
from fargate_api.errors import UserError
from unit.aws.support import (
    ANY,
    FakeClock,
    change_set_arn,
    console,
    described_change_set,
    resource_change,
    spec,
    stubbed,
)

SERVICE = spec("service", {"PublicLoadBalancer": "AWS::ElasticLoadBalancingV2::LoadBalancer"})
UPDATE_CHANGES = [
    resource_change(
        "Modify",
        "TaskDefinition",
        "AWS::ECS::TaskDefinition",
        replacement="True",
        properties=(("ContainerDefinitions", "Always"),),
        physical_id="arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-web:3",
    ),
    resource_change(
        "Modify",
        "Service",
        "AWS::ECS::Service",
        replacement="False",
        properties=(("TaskDefinition", "Never"), ("DesiredCount", "Never")),
    ),
    resource_change(
        "Modify",
        "ServiceTargetGroup",
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        replacement="Conditional",
        properties=(("HealthCheckPath", "Never"), ("Port", "Conditionally")),
    ),
    resource_change("Add", "CpuScalingPolicy", "AWS::ApplicationAutoScaling::ScalingPolicy"),
    resource_change("Remove", "OldAlarm", "AWS::CloudWatch::Alarm", physical_id="old-alarm"),
]


def test_update_change_set_shows_replacements_and_changed_properties() -> None:
    with stubbed() as s:
        s.cfn.add_response(
            "create_change_set",
            {"Id": change_set_arn("shop-service"), "StackId": "x"},
            {
                "StackName": "shop-service",
                "ChangeSetName": ANY,
                "ChangeSetType": "UPDATE",
                "TemplateBody": SERVICE.body,
                "Parameters": [{"ParameterKey": "VpcId", "ParameterValue": "vpc-1"}],
                "Capabilities": ["CAPABILITY_IAM"],
                "Tags": ANY,
                "Description": ANY,
            },
        )
        s.cfn.add_response(
            "describe_change_set", described_change_set("shop-service", "CREATE_PENDING", [])
        )
        s.cfn.add_response(
            "describe_change_set", described_change_set("shop-service", "CREATE_IN_PROGRESS", [])
        )
        done = described_change_set("shop-service", "CREATE_COMPLETE", UPDATE_CHANGES)
        s.cfn.add_response("describe_change_set", done)
        s.cfn.add_response("describe_change_set", done)
        clock = FakeClock()
        cs = changeset.create(
            s.clients.cloudformation,
            SERVICE,
            base="shop",
            parameters=[{"ParameterKey": "VpcId", "ParameterValue": "vpc-1"}],
            kind="UPDATE",
            clock=clock,
        )
        s.assert_no_pending_responses()
    assert clock.sleeps == 2
    by_id = {c.logical_id: c for c in cs.changes}
    assert by_id["TaskDefinition"].replacement == "True"
    assert by_id["TaskDefinition"].properties == ["ContainerDefinitions (replaces)"]
    assert by_id["Service"].replacement == "False"
    assert by_id["ServiceTargetGroup"].replacement == "Conditional"
    assert by_id["ServiceTargetGroup"].properties == ["HealthCheckPath", "Port (may replace)"]
    assert by_id["CpuScalingPolicy"].action == "Add"
    assert by_id["OldAlarm"].action == "Remove"

    out, buffer = console()
    out.print(change_table("shop-service", cs.changes))
    text = buffer.getvalue()
    assert "shop-service: 5 changes" in text
    for expected in ("Modify", "Add", "Remove", "True", "Conditional", "ContainerDefinitions"):
        assert expected in text
    row = next(line for line in text.splitlines() if "TaskDefinition " in line)
    assert "True" in row and "AWS::ECS::TaskDefinition" in row


@pytest.mark.parametrize(
    "reason",
    [
        "The submitted information didn't contain changes. Submit different information to "
        "create a change set.",
        "No updates are to be performed.",
    ],
)
def test_empty_change_set_is_no_changes_and_is_deleted(reason: str) -> None:
    with stubbed() as s:
        s.cfn.add_response("create_change_set", {"Id": change_set_arn("shop-service")})
        s.cfn.add_response(
            "describe_change_set", described_change_set("shop-service", "FAILED", [], reason)
        )
        s.cfn.add_response(
            "delete_change_set", {}, {"ChangeSetName": change_set_arn("shop-service")}
        )
        cs = changeset.create(
            s.clients.cloudformation,
            SERVICE,
            base="shop",
            parameters=[],
            kind="UPDATE",
            clock=FakeClock(),
        )
        s.assert_no_pending_responses()
    assert cs.empty


def test_rejected_create_change_set_cleans_up_the_review_stack() -> None:
    reason = "Parameters: [ClusterName] must have values"
    with stubbed() as s:
        s.cfn.add_response("create_change_set", {"Id": change_set_arn("shop-service")})
        s.cfn.add_response(
            "describe_change_set", described_change_set("shop-service", "FAILED", [], reason)
        )
        s.cfn.add_response(
            "delete_change_set", {}, {"ChangeSetName": change_set_arn("shop-service")}
        )
        s.cfn.add_response("delete_stack", {}, {"StackName": "shop-service"})
        with pytest.raises(UserError, match="must have values"):
            changeset.create(
                s.clients.cloudformation,
                SERVICE,
                base="shop",
                parameters=[],
                kind="CREATE",
                clock=FakeClock(),
            )
        s.assert_no_pending_responses()
