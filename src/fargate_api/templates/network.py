"""Routes, gateways and security group rules, followed across resources and stacks.

"Is this subnet public?" is not a subnet property: it is whether the route table
associated with it sends the default route to an internet gateway. Likewise a security
group's rules are spread over its inline lists and separate Ingress/Egress resources, and
CloudFormation adds an allow-all egress rule that no template shows. Every reader (check's
rules, the diagram, the twin's planner) asks these questions; answering them here, once,
is what keeps the findings, the picture and the running twin in agreement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from fargate_api.templates.model import PropertyPath, Resource
from fargate_api.templates.props import as_int, as_list, as_str, get
from fargate_api.templates.query import StackQuery
from fargate_api.templates.values import Text

VPC = "AWS::EC2::VPC"
SUBNET = "AWS::EC2::Subnet"
ROUTE = "AWS::EC2::Route"
ROUTE_TABLE = "AWS::EC2::RouteTable"
ROUTE_TABLE_ASSOCIATION = "AWS::EC2::SubnetRouteTableAssociation"
INTERNET_GATEWAY = "AWS::EC2::InternetGateway"
GATEWAY_ATTACHMENT = "AWS::EC2::VPCGatewayAttachment"
NAT_GATEWAY = "AWS::EC2::NatGateway"
EIP = "AWS::EC2::EIP"
VPC_ENDPOINT = "AWS::EC2::VPCEndpoint"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
SECURITY_GROUP_INGRESS = "AWS::EC2::SecurityGroupIngress"
SECURITY_GROUP_EGRESS = "AWS::EC2::SecurityGroupEgress"

DEFAULT_ROUTES = ("0.0.0.0/0", "::/0")
ALL_PORTS = (0, 65535)
ALL = "all"  # the one spelling of IpProtocol -1 ("all protocols") every reader sees

# IpProtocol as written (name or IANA number, any case) -> the canonical name.
PROTOCOLS = {"-1": ALL, "all": ALL, "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


class Egress(StrEnum):
    """Where a route sends traffic, as far as the templates tell."""

    INTERNET_GATEWAY = "internet gateway"
    NAT_GATEWAY = "NAT gateway"
    OTHER = "other target"  # NAT instance, transit gateway, peering, egress-only IGW
    UNKNOWN = "unknown target"


@dataclass(frozen=True)
class Route:
    """An AWS::EC2::Route with its target followed."""

    resource: Resource
    destination: Any  # DestinationCidrBlock, else DestinationIpv6CidrBlock, as resolved
    destination_cidr: Any  # DestinationCidrBlock as resolved, None when absent (IPv6 route)
    target: Egress
    gateway_id: Any  # GatewayId as resolved, None when absent
    gateway: Resource | None  # the resource GatewayId points at
    nat_gateway_id: Any
    nat_gateway: Resource | None

    @property
    def is_default(self) -> bool:
        return self.destination in DEFAULT_ROUTES


def normalise_protocol(value: Any) -> str | None:
    """IpProtocol as one spelling: "all", "tcp", "udp", "icmp", "icmpv6", or the number
    as text for other protocols; None when the template does not say or cannot be read."""
    if value is None:
        return None
    text = str(value).lower()
    return PROTOCOLS.get(text, text)


def routes(query: StackQuery, table: Resource) -> list[Route]:
    """The routes of a route table, in template order."""
    return [route(query, r) for r in query.referrers(table, ROUTE, "RouteTableId")]


def route(query: StackQuery, resource: Resource) -> Route:
    """An AWS::EC2::Route resource with its destination and target read."""
    props = resource.properties
    gateway_id = get(props, "GatewayId")
    nat_id = get(props, "NatGatewayId")
    gateway = query.deref(gateway_id) if gateway_id is not None else None
    return Route(
        resource=resource,
        destination=get(props, "DestinationCidrBlock") or get(props, "DestinationIpv6CidrBlock"),
        destination_cidr=get(props, "DestinationCidrBlock"),
        target=_route_target(gateway_id, gateway, nat_id),
        gateway_id=gateway_id,
        gateway=gateway,
        nat_gateway_id=nat_id,
        nat_gateway=query.deref(nat_id) if nat_id is not None else None,
    )


def _route_target(gateway_id: Any, gateway: Resource | None, nat_id: Any) -> Egress:
    if gateway_id is not None:
        if gateway is not None and gateway.type == INTERNET_GATEWAY:
            return Egress.INTERNET_GATEWAY
        if isinstance(gateway_id, str) and gateway_id.startswith("igw-"):
            return Egress.INTERNET_GATEWAY
        return Egress.UNKNOWN if gateway is None else Egress.OTHER
    if nat_id is not None:
        return Egress.NAT_GATEWAY
    return Egress.OTHER


def route_tables(query: StackQuery, subnet: Resource) -> list[Resource]:
    """The route tables associated with a subnet; none means the VPC's main table."""
    tables = []
    for association in query.referrers(subnet, ROUTE_TABLE_ASSOCIATION, "SubnetId"):
        table = query.deref(get(association.properties, "RouteTableId"))
        if table is not None:
            tables.append(table)
    return tables


def default_routes(query: StackQuery, subnet: Resource) -> list[Route] | None:
    """The default routes of the subnet's route tables; None when it has no known table."""
    tables = route_tables(query, subnet)
    if not tables:
        return None
    return [found for table in tables for found in routes(query, table) if found.is_default]


def is_public(query: StackQuery, subnet: Resource) -> bool | None:
    """True with an internet gateway default route, False without, None when unknown."""
    found = default_routes(query, subnet)
    if found is None:
        return None
    kinds = {item.target for item in found}
    if Egress.INTERNET_GATEWAY in kinds:
        return True
    return None if Egress.UNKNOWN in kinds else False


def has_egress(query: StackQuery, subnet: Resource) -> bool | None:
    """Whether a private subnet has a default route through NAT or another appliance."""
    found = default_routes(query, subnet)
    if found is None:
        return None
    return any(item.target is not Egress.INTERNET_GATEWAY for item in found)


def subnets_of(query: StackQuery, vpc: Resource) -> list[Resource]:
    return list(query.referrers(vpc, SUBNET, "VpcId"))


def internet_gateway(query: StackQuery, vpc: Resource) -> Resource | None:
    """The internet gateway attached to the VPC (a gateway without attachment routes
    nothing)."""
    for attachment in query.referrers(vpc, GATEWAY_ATTACHMENT, "VpcId"):
        gateway = query.deref(get(attachment.properties, "InternetGatewayId"))
        if gateway is not None and gateway.type == INTERNET_GATEWAY:
            return gateway
    return None


def is_private_nat(nat: Resource) -> bool:
    """A private NAT gateway translates addresses but has no way to the internet."""
    return as_str(get(nat.properties, "ConnectivityType")) == "private"


@dataclass(frozen=True)
class NatGatewayView:
    resource: Resource
    subnet: Resource | None  # the subnet it sits in
    eip: Resource | None  # the Elastic IP that is its fixed egress address
    private: bool


def nat_gateway(query: StackQuery, nat: Resource) -> NatGatewayView:
    subnet = query.deref(get(nat.properties, "SubnetId"))
    eip = query.deref(get(nat.properties, "AllocationId"))
    return NatGatewayView(
        resource=nat,
        subnet=subnet,
        eip=eip if eip is not None and eip.type == EIP else None,
        private=is_private_nat(nat),
    )


# -- security groups --------------------------------------------------------------------


@dataclass(frozen=True)
class SecurityGroupRule:
    """One ingress or egress rule, wherever the template declares it."""

    group: Resource  # the security group the rule belongs to
    origin: Resource  # the resource that declares it (the group, or an Ingress/Egress)
    path: PropertyPath  # where in `origin`
    direction: Literal["ingress", "egress"]
    protocol: str | None  # normalise_protocol(IpProtocol)
    from_port: int | None  # FromPort as written (-1 included); None when absent/unknown
    to_port: int | None
    cidr: str | None  # CidrIp, else CidrIpv6
    peer: Resource | None  # the source/destination security group, when it is one
    peer_value: Any  # the group or prefix list value as resolved
    description: Any
    implicit: bool = False  # CloudFormation's allow-all egress, not in the template

    @property
    def all_traffic(self) -> bool:
        return self.protocol == ALL

    @property
    def ports(self) -> tuple[int, int] | None:
        """Inclusive port range; ALL_PORTS for every port; None when unknown."""
        if self.all_traffic:
            return ALL_PORTS
        low, high = self.from_port, self.to_port
        if low == -1 and high == -1:
            return ALL_PORTS
        return (low, high) if low is not None and high is not None and low >= 0 else None

    def only_ports(self, allowed: set[int]) -> bool | None:
        """True when the rule opens nothing but TCP ports in `allowed`; None if unknown."""
        if self.all_traffic:
            return False
        ports = self.ports
        if self.protocol is None or ports is None:
            return None
        low, high = ports
        return self.protocol == "tcp" and all(p in allowed for p in range(low, high + 1))

    def describe(self) -> str:
        ports = self.ports
        if self.all_traffic:
            what = "all protocols and ports"
        elif ports is None:
            what = f"{self.protocol} (ports unknown)"
        elif ports[0] == ports[1]:
            what = f"{self.protocol} port {ports[0]}"
        else:
            what = f"{self.protocol} ports {ports[0]}-{ports[1]}"
        peer = self.cidr or (self.peer.logical_id if self.peer else str(self.peer_value))
        return f"{what} from {peer}"


def ingress_rules(query: StackQuery, group: Resource) -> list[SecurityGroupRule]:
    return _rules(
        query,
        group,
        direction="ingress",
        inline="SecurityGroupIngress",
        standalone=SECURITY_GROUP_INGRESS,
        peer_prefix="Source",
    )


def egress_rules(
    query: StackQuery, group: Resource, *, implicit: bool = True
) -> list[SecurityGroupRule]:
    """The group's egress rules; with `implicit`, CloudFormation's allow-all rule too when
    the group declares no SecurityGroupEgress (an empty list means none at all)."""
    rules = _rules(
        query,
        group,
        direction="egress",
        inline="SecurityGroupEgress",
        standalone=SECURITY_GROUP_EGRESS,
        peer_prefix="Destination",
    )
    if implicit and get(group.properties, "SecurityGroupEgress") is None:
        rules.insert(
            0,
            SecurityGroupRule(
                group=group,
                origin=group,
                path=("Properties",),
                direction="egress",
                protocol=ALL,
                from_port=None,
                to_port=None,
                cidr=DEFAULT_ROUTES[0],
                peer=None,
                peer_value=None,
                description=None,
                implicit=True,
            ),
        )
    return rules


def _rules(
    query: StackQuery,
    group: Resource,
    *,
    direction: Literal["ingress", "egress"],
    inline: str,
    standalone: str,
    peer_prefix: str,
) -> list[SecurityGroupRule]:
    rules = [
        _rule(
            query,
            group,
            origin=group,
            path=("Properties", inline, i),
            body=body,
            direction=direction,
            peer_prefix=peer_prefix,
        )
        for i, body in enumerate(as_list(get(group.properties, inline)))
    ]
    for resource in query.referrers(group, standalone, "GroupId"):
        rules.append(
            _rule(
                query,
                group,
                origin=resource,
                path=("Properties",),
                body=resource.properties,
                direction=direction,
                peer_prefix=peer_prefix,
            )
        )
    return rules


def _rule(
    query: StackQuery,
    group: Resource,
    *,
    origin: Resource,
    path: PropertyPath,
    body: Any,
    direction: Literal["ingress", "egress"],
    peer_prefix: str,
) -> SecurityGroupRule:
    peer_value = get(body, f"{peer_prefix}SecurityGroupId")
    return SecurityGroupRule(
        group=group,
        origin=origin,
        path=path,
        direction=direction,
        protocol=normalise_protocol(get(body, "IpProtocol")),
        from_port=as_int(get(body, "FromPort")),
        to_port=as_int(get(body, "ToPort")),
        cidr=as_str(get(body, "CidrIp")) or as_str(get(body, "CidrIpv6")),
        peer=query.deref(peer_value),
        peer_value=peer_value
        if peer_value is not None
        else get(body, f"{peer_prefix}PrefixListId"),
        description=get(body, "Description"),
    )


# -- VPC endpoints ----------------------------------------------------------------------

_ENDPOINT_NAME = re.compile(r"amazonaws\.[a-z0-9-]+\.(.+)$")


def endpoint_service(endpoint: Resource) -> str | None:
    """The short service name (ecr.api, s3, ...) of a VPC endpoint; None when unreadable."""
    value = get(endpoint.properties, "ServiceName")
    text = value.literal() if isinstance(value, Text) else value
    match = _ENDPOINT_NAME.search(text) if isinstance(text, str) else None
    return match.group(1) if match else None


def endpoint_services(query: StackQuery, vpc: Resource) -> set[str]:
    """Short service names of the VPC endpoints in `vpc`."""
    names = set()
    for endpoint in query.referrers(vpc, VPC_ENDPOINT, "VpcId"):
        name = endpoint_service(endpoint)
        if name is not None:
            names.add(name)
    return names
