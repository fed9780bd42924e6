"""Routes and security group rules as every reader sees them (check, diagram, twin).

The protocol spelling, the implicit egress rule and "is this subnet public?" used to be
answered twice, differently; these pin the one answer.
"""

from __future__ import annotations

from typing import Any

import pytest

from fargate_api.templates import TemplateError, Unresolved
from fargate_api.templates.network import (
    ALL,
    ALL_PORTS,
    Egress,
    default_routes,
    egress_rules,
    endpoint_service,
    endpoint_services,
    has_egress,
    ingress_rules,
    internet_gateway,
    is_public,
    nat_gateway,
    normalise_protocol,
    route_tables,
)
from unit.templates.support import load, query, resource

NETWORK = """
Parameters:
  Gateway:
    Type: String
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties: {CidrBlock: 10.0.0.0/16}
  Igw:
    Type: AWS::EC2::InternetGateway
  Attach:
    Type: AWS::EC2::VPCGatewayAttachment
    Properties: {VpcId: !Ref Vpc, InternetGatewayId: !Ref Igw}
  StrayIgw:
    Type: AWS::EC2::InternetGateway
  Public:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.0.0/24}
  Private:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.1.0/24}
  Isolated:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.2.0/24}
  Hidden:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.3.0/24}
  ByLiteral:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.4.0/24}
  PublicTable:
    Type: AWS::EC2::RouteTable
    Properties: {VpcId: !Ref Vpc}
  PublicDefault:
    Type: AWS::EC2::Route
    Properties:
      RouteTableId: !Ref PublicTable
      DestinationCidrBlock: 0.0.0.0/0
      GatewayId: !Ref Igw
  PublicAssoc:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties: {SubnetId: !Ref Public, RouteTableId: !Ref PublicTable}
  Eip:
    Type: AWS::EC2::EIP
  Nat:
    Type: AWS::EC2::NatGateway
    Properties: {SubnetId: !Ref Public, AllocationId: !GetAtt Eip.AllocationId}
  PrivateTable:
    Type: AWS::EC2::RouteTable
    Properties: {VpcId: !Ref Vpc}
  PrivateDefault:
    Type: AWS::EC2::Route
    Properties:
      RouteTableId: !Ref PrivateTable
      DestinationCidrBlock: 0.0.0.0/0
      NatGatewayId: !Ref Nat
  PrivateAssoc:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties: {SubnetId: !Ref Private, RouteTableId: !Ref PrivateTable}
  IsolatedTable:
    Type: AWS::EC2::RouteTable
    Properties: {VpcId: !Ref Vpc}
  IsolatedAssoc:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties: {SubnetId: !Ref Isolated, RouteTableId: !Ref IsolatedTable}
  HiddenTable:
    Type: AWS::EC2::RouteTable
    Properties: {VpcId: !Ref Vpc}
  HiddenDefault:
    Type: AWS::EC2::Route
    Properties:
      RouteTableId: !Ref HiddenTable
      DestinationCidrBlock: 0.0.0.0/0
      GatewayId: !Ref Gateway
  HiddenAssoc:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties: {SubnetId: !Ref Hidden, RouteTableId: !Ref HiddenTable}
  LiteralTable:
    Type: AWS::EC2::RouteTable
    Properties: {VpcId: !Ref Vpc}
  LiteralDefault:
    Type: AWS::EC2::Route
    Properties:
      RouteTableId: !Ref LiteralTable
      DestinationIpv6CidrBlock: "::/0"
      GatewayId: igw-0123
  LiteralAssoc:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties: {SubnetId: !Ref ByLiteral, RouteTableId: !Ref LiteralTable}
  Endpoint:
    Type: AWS::EC2::VPCEndpoint
    Properties:
      VpcId: !Ref Vpc
      ServiceName: !Sub com.amazonaws.${AWS::Region}.ecr.api
"""


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("-1", ALL),
        (-1, ALL),
        ("all", ALL),
        ("ALL", ALL),
        ("tcp", "tcp"),
        ("TCP", "tcp"),
        ("6", "tcp"),
        (6, "tcp"),
        ("17", "udp"),
        ("1", "icmp"),
        ("58", "icmpv6"),
        ("50", "50"),  # ESP: no name, kept as its number
        (None, None),
    ],
)
def test_protocols_have_one_spelling(written: Any, canonical: str | None) -> None:
    assert normalise_protocol(written) == canonical


@pytest.mark.parametrize(
    ("subnet", "public", "egress"),
    [
        ("Public", True, False),
        ("Private", False, True),  # NAT default route
        ("Isolated", False, False),  # a table without a default route
        ("Hidden", None, True),  # the gateway is a parameter: cannot tell
        ("ByLiteral", True, False),  # an igw- id written in the template, IPv6 default
    ],
)
def test_public_is_read_from_the_route_table(
    subnet: str, public: bool | None, egress: bool
) -> None:
    q = query(NETWORK)
    assert is_public(q, resource(q, subnet)) is public
    assert has_egress(q, resource(q, subnet)) is egress


def test_a_subnet_without_route_table_is_unknown_not_private() -> None:
    q = query(
        """
        Resources:
          Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
          Lonely: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.0.0/24}}
        """
    )
    lonely = resource(q, "Lonely")
    assert route_tables(q, lonely) == []
    assert default_routes(q, lonely) is None
    assert is_public(q, lonely) is None and has_egress(q, lonely) is None


def test_routes_follow_their_targets() -> None:
    q = query(NETWORK)
    (nat_route,) = default_routes(q, resource(q, "Private")) or []
    assert nat_route.target is Egress.NAT_GATEWAY
    assert nat_route.nat_gateway is resource(q, "Nat")
    assert nat_route.destination_cidr == "0.0.0.0/0" and nat_route.gateway is None
    (hidden,) = default_routes(q, resource(q, "Hidden")) or []
    assert hidden.target is Egress.UNKNOWN and isinstance(hidden.gateway_id, Unresolved)
    (literal,) = default_routes(q, resource(q, "ByLiteral")) or []
    assert literal.destination == "::/0" and literal.destination_cidr is None


def test_gateways_nat_and_endpoints() -> None:
    q = query(NETWORK)
    # Only the attached gateway counts; StrayIgw routes nothing.
    assert internet_gateway(q, resource(q, "Vpc")) is resource(q, "Igw")
    view = nat_gateway(q, resource(q, "Nat"))
    assert view.subnet is resource(q, "Public") and view.eip is resource(q, "Eip")
    assert not view.private
    assert endpoint_service(resource(q, "Endpoint")) == "ecr.api"
    assert endpoint_services(q, resource(q, "Vpc")) == {"ecr.api"}


GROUPS = """
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
  LbGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: lb
      VpcId: !Ref Vpc
      SecurityGroupIngress:
        - {IpProtocol: "-1", CidrIp: 0.0.0.0/0}
        - {IpProtocol: tcp, FromPort: 80, ToPort: 443, CidrIpv6: "::/0", Description: web}
        - {IpProtocol: 6, FromPort: -1, ToPort: -1, CidrIp: 10.0.0.0/8}
        - {IpProtocol: icmp, FromPort: 8, ToPort: -1, CidrIp: 10.0.0.0/8}
        - {IpProtocol: tcp, CidrIp: 10.0.0.0/8}
  ServiceGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: service
      VpcId: !Ref Vpc
      SecurityGroupEgress:
        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0}
  ClosedGroup:
    Type: AWS::EC2::SecurityGroup
    Properties: {GroupDescription: closed, VpcId: !Ref Vpc, SecurityGroupEgress: []}
  FromLb:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !Ref ServiceGroup
      IpProtocol: tcp
      FromPort: 8080
      ToPort: 8080
      SourceSecurityGroupId: !GetAtt LbGroup.GroupId
  ToService:
    Type: AWS::EC2::SecurityGroupEgress
    Properties:
      GroupId: !Ref LbGroup
      IpProtocol: tcp
      FromPort: 8080
      ToPort: 8080
      DestinationSecurityGroupId: !Ref ServiceGroup
  FromOutside:
    Type: AWS::EC2::SecurityGroupIngress
    Properties:
      GroupId: !Ref ServiceGroup
      IpProtocol: tcp
      FromPort: 8080
      ToPort: 8080
      SourceSecurityGroupId: !ImportValue other-stack-group
"""


def test_ingress_rules_are_normalised_once() -> None:
    q = query(GROUPS)
    everything, web, all_tcp, ping, unknown = ingress_rules(q, resource(q, "LbGroup"))
    assert everything.protocol == ALL and everything.all_traffic
    assert everything.ports == ALL_PORTS and everything.only_ports({80}) is False
    assert everything.describe() == "all protocols and ports from 0.0.0.0/0"
    assert (web.protocol, web.ports, web.cidr, web.description) == ("tcp", (80, 443), "::/0", "web")
    assert web.only_ports({80, 443}) is False  # 81..442 are open too
    assert web.path == ("Properties", "SecurityGroupIngress", 1)
    assert (all_tcp.protocol, all_tcp.ports) == ("tcp", ALL_PORTS)  # -1/-1: every port
    assert (ping.protocol, ping.from_port, ping.to_port) == ("icmp", 8, -1)
    assert unknown.ports is None and unknown.only_ports({80}) is None
    assert unknown.describe() == "tcp (ports unknown) from 10.0.0.0/8"


def test_rules_in_their_own_resources_point_at_peer_groups() -> None:
    q = query(GROUPS)
    service, lb = resource(q, "ServiceGroup"), resource(q, "LbGroup")
    from_lb, from_outside = ingress_rules(q, service)
    assert from_lb.origin is resource(q, "FromLb") and from_lb.group is service
    assert from_lb.peer is lb and from_lb.cidr is None and from_lb.path == ("Properties",)
    assert from_lb.only_ports({8080}) is True
    assert from_lb.describe() == "tcp port 8080 from LbGroup"
    # A group outside the templates cannot be followed: no peer, the value kept.
    assert from_outside.peer is None and isinstance(from_outside.peer_value, Unresolved)


def test_cloudformation_adds_allow_all_egress_only_when_none_is_declared() -> None:
    q = query(GROUPS)
    lb = resource(q, "LbGroup")
    implicit, to_service = egress_rules(q, lb)
    assert implicit.implicit and implicit.all_traffic and implicit.cidr == "0.0.0.0/0"
    assert implicit.direction == "egress" and implicit.origin is lb
    assert to_service.peer is resource(q, "ServiceGroup") and not to_service.implicit
    # Asked for the written rules only (FA303 has nothing to describe on the implicit one).
    assert [r.origin.logical_id for r in egress_rules(q, lb, implicit=False)] == ["ToService"]
    # A declared egress list replaces the default, and an empty one means no egress.
    (declared,) = egress_rules(q, resource(q, "ServiceGroup"))
    assert not declared.implicit and declared.ports == (443, 443)
    assert egress_rules(q, resource(q, "ClosedGroup")) == []


def test_a_template_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(TemplateError):
        load("- just\n- a list\n")
