"""Shapes that real CDK output has, and what the loader and the rules make of them.

The template under fixtures/check/cdk-synth is what CDK synthesized for the pattern (see
fixtures/check/cdk-app/README.md). The smaller snippets here are copied from other real
CDK output: a nested stack reading another stack's output with Fn::GetStackOutput, and the
ARN CDK writes for a stack with a fixed region.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from fargate_api.check.context import CheckContext
from fargate_api.templates import DiskReader, Unresolved, load_stack_set
from fargate_api.templates import UnresolvedKind as Kind
from fargate_api.templates.network import is_public
from fargate_api.templates.topology import services
from unit.check.conftest import FIXTURES, CheckText, LoadText, rule_hits

CDK_TEMPLATE = FIXTURES / "cdk-synth" / "FargateApiCdkStack.template.json"
NAME = CDK_TEMPLATE.name
VPC = "Vpc8378EB38"
SERVICE = "Service9571FDD8"
PRIVATE = ["VpcPrivateSubnet1Subnet536B997A", "VpcPrivateSubnet2Subnet3788AAA1"]
PUBLIC = ["VpcPublicSubnet1Subnet5C2D37C4", "VpcPublicSubnet2Subnet691E08A3"]


def cdk_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CDK_TEMPLATE.read_text(encoding="utf-8"))
    return data


def check_cdk(check_text: CheckText, data: dict[str, Any]) -> set[tuple[str, str | None]]:
    return rule_hits(check_text(files={NAME: json.dumps(data, indent=1)}))


# -- the synthesized template ------------------------------------------------------------


def test_cdk_sections_load_as_cloudformation_would_read_them() -> None:
    stack = load_stack_set(CDK_TEMPLATE, reader=DiskReader()).root
    # CDKMetadataAvailable lists the regions with CDK analytics; us-east-1 is one of them.
    assert stack.conditions == {"CDKMetadataAvailable": True}
    assert "CDKMetadata" in stack.resources and stack.excluded == ()
    bootstrap = stack.parameters["BootstrapVersion"].value
    assert isinstance(bootstrap, Unresolved) and bootstrap.kind is Kind.SSM_PARAMETER
    # The custom resource's Lambda code sits in the bootstrap bucket, named by Fn::Sub.
    handler = next(r for r in stack.resources.values() if r.type == "AWS::Lambda::Function")
    assert handler.properties["Code"]["S3Bucket"] == "cdk-hnb659fds-assets-123456789012-us-east-1"


def test_cdk_service_topology_is_followed_to_the_end() -> None:
    """The absences in the functional test are earned: every link resolves."""
    ctx = CheckContext([load_stack_set(CDK_TEMPLATE, reader=DiskReader())])
    (view,) = services(ctx)
    assert [s.logical_id for s in view.subnets] == PRIVATE
    assert [is_public(ctx, s) for s in view.subnets] == [False, False]
    assert [lb.logical_id for lb in view.load_balancers] == ["ServiceLBE9A1ADBC"]
    assert [g.logical_id for g in view.security_groups] == ["ServiceSecurityGroupEEA09B68"]
    assert view.task_definition is not None and view.container_ports() == {80}
    zones = [s.properties["AvailabilityZone"] for s in view.subnets]
    assert zones == ["us-east-1a", "us-east-1b"]


def _service_network(data: dict[str, Any]) -> dict[str, Any]:
    network: dict[str, Any] = data["Resources"][SERVICE]["Properties"]["NetworkConfiguration"]
    return network["AwsvpcConfiguration"]


def _no_lockdown(data: dict[str, Any]) -> None:
    del data["Resources"]["VpcRestrictDefaultSecurityGroupCustomResourceC73DA2BE"]


def _public_tasks(data: dict[str, Any]) -> None:
    _service_network(data)["Subnets"] = [{"Ref": s} for s in PUBLIC]


def _public_ip(data: dict[str, Any]) -> None:
    _service_network(data)["AssignPublicIp"] = "ENABLED"


def _open_service_sg(data: dict[str, Any]) -> None:
    ingress = data["Resources"][
        "ServiceSecurityGroupfromFargateApiCdkStackServiceLBSecurityGroup06765C9B809533DE23"
    ]["Properties"]
    del ingress["SourceSecurityGroupId"]
    ingress["CidrIp"] = "0.0.0.0/0"


@pytest.mark.parametrize(
    ("change", "hit"),
    [
        (_no_lockdown, ("FA108", VPC)),
        (_public_tasks, ("FA101", SERVICE)),
        (_public_ip, ("FA102", SERVICE)),
        (
            _open_service_sg,
            (
                "FA301",
                "ServiceSecurityGroupfromFargateApiCdkStackServiceLBSecurityGroup06765C9B809533DE23",
            ),
        ),
    ],
)
def test_what_cdk_gets_right_would_be_reported_if_it_did_not(
    check_text: CheckText, change: Any, hit: tuple[str, str]
) -> None:
    as_synthesized = check_cdk(check_text, cdk_data())
    assert hit not in as_synthesized
    data = copy.deepcopy(cdk_data())
    change(data)
    assert check_cdk(check_text, data) - as_synthesized == {hit}


# -- Fn::GetStackOutput ------------------------------------------------------------------

# From a CDK nested stack whose load balancer uses the subnets of another top-level stack.
GET_STACK_OUTPUT = {
    "Resources": {
        "LB": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {
                "Scheme": "internet-facing",
                "Subnets": [
                    {
                        "Fn::GetStackOutput": {
                            "StackName": "Net",
                            "Region": {"Ref": "AWS::Region"},
                            "OutputName": "PublishOutputRefVpcPublicSubnet1Subnet5C2D37C4F5EE3F2D",
                        }
                    }
                ],
                "Type": "application",
            },
        }
    }
}


def test_get_stack_output_is_a_value_of_another_stack(load_text: LoadText) -> None:
    """CDK writes it for weak cross-stack references; it used to be an 'unknown function'."""
    stack_set = load_text(files={"t.json": json.dumps(GET_STACK_OUTPUT)}, root="t.json")
    (subnet,) = stack_set.root.resources["LB"].properties["Subnets"]
    assert isinstance(subnet, Unresolved) and subnet.kind is Kind.IMPORT
    assert "PublishOutputRefVpcPublicSubnet1Subnet5C2D37C4F5EE3F2D of stack Net" in subnet.detail


def test_get_stack_output_short_form_and_malformed(load_text: LoadText) -> None:
    stack_set = load_text(
        "Resources:\n"
        "  R:\n"
        "    Type: X\n"
        "    Properties:\n"
        "      A: !GetStackOutput {StackName: Net, OutputName: VpcId}\n"
        "      B: {'Fn::GetStackOutput': just-a-string}\n"
    )
    props = stack_set.root.resources["R"].properties
    assert isinstance(props["A"], Unresolved) and props["A"].kind is Kind.IMPORT
    assert isinstance(props["B"], Unresolved) and props["B"].kind is Kind.INVALID


def test_rules_stay_silent_on_another_stacks_subnets(check_text: CheckText) -> None:
    hits = rule_hits(check_text(files={"t.json": json.dumps(GET_STACK_OUTPUT)}))
    assert not {rule for rule, _ in hits} & {"FA202", "FA003"}


# -- ARNs of a stack with a fixed region (FA603) -------------------------------------------

# CDK's restrictDefaultSecurityGroup role in a stack with env=Environment(region=us-east-1):
# CDK knows the partition of the region and writes it, and the region, literally.
PINNED_ARN = ["arn:aws:ec2:us-east-1:", {"Ref": "AWS::AccountId"}, ":security-group/sg-1"]


def _role_with(resource: Any) -> str:
    statement = {"Effect": "Allow", "Action": "ec2:RevokeSecurityGroupIngress"}
    statement["Resource"] = resource
    role = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
            "Policies": [
                {
                    "PolicyName": "Inline",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]},
                }
            ],
        },
    }
    return json.dumps({"Resources": {"Role": role}})


@pytest.mark.parametrize(
    ("resource", "reported"),
    [
        ({"Fn::Join": ["", PINNED_ARN]}, False),
        ("arn:aws:ec2:eu-central-2:123456789012:security-group/sg-1", False),
        ({"Fn::Sub": "arn:aws:logs:ap-southeast-4:${AWS::AccountId}:log-group:x"}, False),
        # The partition of cn-north-1 is aws-cn: arn:aws: is wrong there whatever the account.
        ({"Fn::Join": ["", ["arn:aws:ec2:cn-north-1:", {"Ref": "AWS::AccountId"}, ":x"]]}, True),
        ({"Fn::Sub": "arn:aws:ec2:us-gov-west-1:${AWS::AccountId}:security-group/x"}, True),
        # Generic ARNs still count: a region from the stack, or none (IAM, S3).
        ({"Fn::Sub": "arn:aws:ec2:${AWS::Region}:${AWS::AccountId}:security-group/x"}, True),
        ({"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:role/x"}, True),
        ("arn:aws:s3:::bucket/*", True),
    ],
)
def test_fa603_region_pinned_arns(check_text: CheckText, resource: Any, reported: bool) -> None:
    hits = rule_hits(check_text(files={"t.json": _role_with(resource)}))
    assert hits == ({("FA603", "Role")} if reported else set())
