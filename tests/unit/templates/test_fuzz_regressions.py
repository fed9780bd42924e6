"""Named regressions for what the template fuzzer (test_fuzz_templates.py) found.

Each test holds the smallest template that showed the defect.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from fargate_api.errors import UserError
from fargate_api.twin.plan.load import load_plan

IMPOSSIBLE_ROUTE_CIDR = """\
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.0.0.0/16}
  Inside:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.0.0/24}
  Igw:
    Type: AWS::EC2::InternetGateway
  Table:
    Type: AWS::EC2::RouteTable
    Properties: {VpcId: !Ref Vpc}
  Route:
    Type: AWS::EC2::Route
    Properties: {RouteTableId: !Ref Table, DestinationCidrBlock: 10.0.0.0/33, GatewayId: !Ref Igw}
"""

NAT_IN_SUBNET_OUTSIDE_VPC = """\
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.0.0.0/16}
  Inside:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.0.0/24}
  Subnet:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: a string, CidrBlock: 10.0.1.0/24}
  Eip:
    Type: AWS::EC2::EIP
  Nat:
    Type: AWS::EC2::NatGateway
    Properties: {SubnetId: !Ref Subnet, AllocationId: !GetAtt Eip.AllocationId}
"""


def _write(tmp_path: Path, text: str) -> Path:
    template = tmp_path / "t.yml"
    template.write_text(textwrap.dedent(text), encoding="utf-8")
    return template


def test_twin_plan_rejects_an_impossible_route_destination_cidr(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=re.escape("10.0.0.0/33")):
        load_plan(_write(tmp_path, IMPOSSIBLE_ROUTE_CIDR))


def test_twin_plan_rejects_a_nat_gateway_in_a_subnet_outside_the_vpc(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a subnet of the VPC"):
        load_plan(_write(tmp_path, NAT_IN_SUBNET_OUTSIDE_VPC))
