"""Cross-stack lookups: a child's Ref into its sibling, and reverse lookups by property."""

from __future__ import annotations

from fargate_api.templates.query import StackQuery
from unit.templates.support import load

PARENT = """
Resources:
  Network:
    Type: AWS::CloudFormation::Stack
    Properties: {TemplateURL: network.yml}
  App:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: app.yml
      Parameters: {SubnetId: !GetAtt Network.Outputs.SubnetId}
"""
NETWORK = """
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
  Subnet: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.0.0/24}}
Outputs:
  SubnetId: {Value: !Ref Subnet}
"""
APP = """
Parameters:
  SubnetId: {Type: String}
Resources:
  Nat:
    Type: AWS::EC2::NatGateway
    Properties: {SubnetId: !Ref SubnetId}
  Listed:
    Type: AWS::EC2::NatGateway
    Properties: {SubnetId: [!Ref SubnetId]}
"""


def _query() -> StackQuery:
    stack_set = load(
        root="parent.yml", files={"parent.yml": PARENT, "network.yml": NETWORK, "app.yml": APP}
    )
    # The same set twice: each resource is still seen once.
    return StackQuery([stack_set, stack_set])


def test_refs_are_followed_across_nested_stacks() -> None:
    q = _query()
    (nat, _) = q.resources("AWS::EC2::NatGateway")
    subnet = q.deref(nat.properties["SubnetId"])
    assert subnet is not None and subnet.logical_id == "Subnet" and subnet.stack != nat.stack
    assert q.stack_resource(subnet.stack, "Subnet") is subnet
    assert len(list(q.resources())) == len({(r.stack, r.logical_id) for r in q.resources()})
    assert len(list(q.links())) == 4  # two links per copy of the set


def test_referrers_and_deref_all() -> None:
    q = _query()
    subnet = next(q.resources("AWS::EC2::Subnet"))
    # A list where one id is expected still counts: CloudFormation would reject it anyway.
    assert [r.logical_id for r in q.referrers(subnet, "AWS::EC2::NatGateway", "SubnetId")] == [
        "Nat",
        "Listed",
    ]
    found, partial = q.deref_all([subnet.ref, "subnet-0123"])
    assert found == [subnet] and partial
    assert q.deref("subnet-0123") is None
