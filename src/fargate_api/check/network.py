"""Routes and security group rules, followed across resources and stacks.

"Is this subnet public?" is not a subnet property: it is whether the route table
associated with it sends 0.0.0.0/0 to an internet gateway. Likewise a security group's
rules are spread over its inline lists and separate Ingress/Egress resources. The
pattern rules ask these questions; this module answers them once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fargate_api.check.context import CheckContext
from fargate_api.check.props import as_int, as_list, as_str, get
from fargate_api.templates import PropertyPath, Resource, Text

DEFAULT_ROUTES = ("0.0.0.0/0", "::/0")
ALL_PORTS = (0, 65535)


class Egress(StrEnum):
    INTERNET_GATEWAY = "internet gateway"
    NAT_GATEWAY = "NAT gateway"
    OTHER = "other target"  # NAT instance, transit gateway, peering, egress-only IGW
    UNKNOWN = "unknown target"


def route_tables(ctx: CheckContext, subnet: Resource) -> list[Resource]:
    tables = []
    for association in ctx.referrers(subnet, "AWS::EC2::SubnetRouteTableAssociation", "SubnetId"):
        table = ctx.deref(get(association.properties, "RouteTableId"))
        if table is not None:
            tables.append(table)
    return tables


def default_route_targets(
    ctx: CheckContext, subnet: Resource
) -> list[tuple[Resource, Egress]] | None:
    """The default routes of the subnet's route table; None when it has no known table."""
    tables = route_tables(ctx, subnet)
    if not tables:
        return None
    targets: list[tuple[Resource, Egress]] = []
    for table in tables:
        for route in ctx.referrers(table, "AWS::EC2::Route", "RouteTableId"):
            props = route.properties
            destination = get(props, "DestinationCidrBlock") or get(
                props, "DestinationIpv6CidrBlock"
            )
            if destination in DEFAULT_ROUTES:
                targets.append((route, _route_target(ctx, props)))
    return targets


def _route_target(ctx: CheckContext, props: dict[str, Any]) -> Egress:
    gateway = get(props, "GatewayId")
    if gateway is not None:
        target = ctx.deref(gateway)
        if target is not None and target.type == "AWS::EC2::InternetGateway":
            return Egress.INTERNET_GATEWAY
        if isinstance(gateway, str) and gateway.startswith("igw-"):
            return Egress.INTERNET_GATEWAY
        return Egress.UNKNOWN if target is None else Egress.OTHER
    if get(props, "NatGatewayId") is not None:
        return Egress.NAT_GATEWAY
    return Egress.OTHER


def is_public(ctx: CheckContext, subnet: Resource) -> bool | None:
    """True with an internet gateway default route, False without, None when unknown."""
    targets = default_route_targets(ctx, subnet)
    if targets is None:
        return None
    kinds = {kind for _, kind in targets}
    if Egress.INTERNET_GATEWAY in kinds:
        return True
    return None if Egress.UNKNOWN in kinds else False


def has_egress(ctx: CheckContext, subnet: Resource) -> bool | None:
    """Whether a private subnet has a default route through NAT or another appliance."""
    targets = default_route_targets(ctx, subnet)
    if targets is None:
        return None
    return any(kind is not Egress.INTERNET_GATEWAY for _, kind in targets)


@dataclass(frozen=True)
class SgRule:
    group: Resource  # the security group the rule belongs to
    origin: Resource  # the resource that declares it (the group, or an Ingress/Egress)
    path: PropertyPath  # where in `origin`
    protocol: str | None  # "-1" for all; tcp/udp/icmp names; None when unknown
    ports: tuple[int, int] | None  # inclusive range; None when unknown
    cidr: str | None
    peer: Resource | None  # the source/destination security group, when it is one
    peer_value: Any
    description: Any

    @property
    def all_traffic(self) -> bool:
        return self.protocol == "-1"

    def only_ports(self, allowed: set[int]) -> bool | None:
        """True when the rule opens nothing but TCP ports in `allowed`; None if unknown."""
        if self.all_traffic:
            return False
        if self.protocol is None or self.ports is None:
            return None
        low, high = self.ports
        return self.protocol == "tcp" and all(p in allowed for p in range(low, high + 1))

    def describe(self) -> str:
        if self.all_traffic:
            what = "all protocols and ports"
        elif self.ports is None:
            what = f"{self.protocol} (ports unknown)"
        elif self.ports[0] == self.ports[1]:
            what = f"{self.protocol} port {self.ports[0]}"
        else:
            what = f"{self.protocol} ports {self.ports[0]}-{self.ports[1]}"
        peer = self.cidr or (self.peer.logical_id if self.peer else str(self.peer_value))
        return f"{what} from {peer}"


_PROTOCOLS = {"-1": "-1", "all": "-1", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


def ingress_rules(ctx: CheckContext, group: Resource) -> list[SgRule]:
    return _rules(ctx, group, "SecurityGroupIngress", "AWS::EC2::SecurityGroupIngress", "Source")


def egress_rules(ctx: CheckContext, group: Resource) -> list[SgRule]:
    return _rules(ctx, group, "SecurityGroupEgress", "AWS::EC2::SecurityGroupEgress", "Destination")


def _rules(
    ctx: CheckContext, group: Resource, inline: str, standalone: str, peer_prefix: str
) -> list[SgRule]:
    rules = [
        _rule(
            ctx,
            group=group,
            origin=group,
            path=("Properties", inline, i),
            body=body,
            peer_prefix=peer_prefix,
        )
        for i, body in enumerate(as_list(get(group.properties, inline)))
    ]
    for resource in ctx.referrers(group, standalone, "GroupId"):
        rules.append(
            _rule(
                ctx,
                group=group,
                origin=resource,
                path=("Properties",),
                body=resource.properties,
                peer_prefix=peer_prefix,
            )
        )
    return rules


def _rule(
    ctx: CheckContext,
    *,
    group: Resource,
    origin: Resource,
    path: PropertyPath,
    body: Any,
    peer_prefix: str,
) -> SgRule:
    raw_protocol = get(body, "IpProtocol")
    protocol = None if raw_protocol is None else str(raw_protocol).lower()
    protocol = _PROTOCOLS.get(protocol, protocol) if protocol is not None else None
    if protocol == "-1":
        ports: tuple[int, int] | None = ALL_PORTS
    else:
        low, high = as_int(get(body, "FromPort")), as_int(get(body, "ToPort"))
        ports = (low, high) if low is not None and high is not None and low >= 0 else None
        if low == -1 and high == -1:
            ports = ALL_PORTS
    peer_value = get(body, f"{peer_prefix}SecurityGroupId")
    return SgRule(
        group=group,
        origin=origin,
        path=path,
        protocol=protocol,
        ports=ports,
        cidr=as_str(get(body, "CidrIp")) or as_str(get(body, "CidrIpv6")),
        peer=ctx.deref(peer_value),
        peer_value=peer_value
        if peer_value is not None
        else get(body, f"{peer_prefix}PrefixListId"),
        description=get(body, "Description"),
    )


# What a Fargate task needs from AWS when it has no NAT: image pulls (ECR API, the
# Docker registry endpoint, and S3 where the layers live) and log delivery.
REQUIRED_ENDPOINTS = ("ecr.api", "ecr.dkr", "s3", "logs")
_ENDPOINT_NAME = re.compile(r"amazonaws\.[a-z0-9-]+\.(.+)$")


def endpoint_services(ctx: CheckContext, vpc: Resource) -> set[str]:
    """Short service names (ecr.api, s3, ...) of the VPC endpoints in `vpc`."""
    names = set()
    for endpoint in ctx.referrers(vpc, "AWS::EC2::VPCEndpoint", "VpcId"):
        value = get(endpoint.properties, "ServiceName")
        text = value.literal() if isinstance(value, Text) else value
        match = _ENDPOINT_NAME.search(text) if isinstance(text, str) else None
        if match:
            names.add(match.group(1))
    return names


def missing_endpoints(ctx: CheckContext, vpc: Resource) -> list[str]:
    present = endpoint_services(ctx, vpc)
    return [name for name in REQUIRED_ENDPOINTS if name not in present]
