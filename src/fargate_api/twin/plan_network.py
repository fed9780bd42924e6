"""VPC, subnets, route tables, gateways and security groups, read from templates.

"Public" is not a subnet property on AWS: it is whether the subnet's route table sends
0.0.0.0/0 to an internet gateway. The twin reads routes exactly that way, so a template
that gets its routing wrong gets a twin with the same mistake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, ip_network
from typing import Any

from fargate_api.templates import Resource
from fargate_api.twin.addresses import next_free, public_address
from fargate_api.twin.model import (
    NatGateway,
    Notice,
    Route,
    RouteTable,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
)
from fargate_api.twin.plan_errors import PlanError
from fargate_api.twin.plan_reads import (
    Index,
    as_int,
    as_list,
    as_str,
    get,
    key_of,
    require_str,
    where,
)

DEFAULT_ROUTE = IPv4Network("0.0.0.0/0")
_PROTOCOLS = {"-1": "all", "all": "all", "6": "tcp", "17": "udp", "1": "icmp"}


@dataclass
class NetworkPlan:
    vpc: str
    vpc_cidr: IPv4Network
    subnets: list[Subnet]
    route_tables: list[RouteTable]
    internet_gateway: str | None
    nat_gateways: list[NatGateway]
    security_groups: list[SecurityGroup]
    notices: list[Notice] = field(default_factory=list)
    used: dict[str, set[IPv4Address]] = field(default_factory=dict)  # subnet key -> IPs
    public_used: int = 0

    def subnet(self, key: str) -> Subnet:
        return next(s for s in self.subnets if s.key == key)

    def allocate_private(self, subnet_key: str) -> IPv4Address:
        subnet = self.subnet(subnet_key)
        used = self.used.setdefault(subnet_key, set())
        ip = next_free(subnet.cidr, used)
        if ip is None:
            raise PlanError(
                f"subnet {subnet_key} ({subnet.cidr}) has no free address left",
                fix="use larger subnets",
            )
        used.add(ip)
        return ip

    def allocate_public(self) -> IPv4Address:
        ip = public_address(self.public_used)
        self.public_used += 1
        return ip


def read_network(index: Index) -> NetworkPlan:
    vpc = _the_vpc(index)
    vpc_cidr = _cidr(vpc, "CidrBlock")
    igw = _internet_gateway(index, vpc)
    subnets_res = sorted(
        (
            s
            for s in index.of_type("AWS::EC2::Subnet")
            if index.deref(get(s.properties, "VpcId")) is vpc
        ),
        key=lambda s: (_az(s), key_of(s)),
    )
    if not subnets_res:
        raise PlanError(
            f"VPC {vpc.logical_id} has no subnets",
            where=where(vpc),
            fix="add AWS::EC2::Subnet resources",
        )
    nat_res = index.of_type("AWS::EC2::NatGateway")
    tables = _route_tables(index, vpc, igw, nat_res)
    plan = NetworkPlan(
        vpc=key_of(vpc),
        vpc_cidr=vpc_cidr,
        subnets=[],
        route_tables=[t for t, _ in tables.values()],
        internet_gateway=key_of(igw) if igw else None,
        nat_gateways=[],
        security_groups=[],
    )
    for i, resource in enumerate(subnets_res):
        cidr = _cidr(resource, "CidrBlock")
        if not cidr.subnet_of(vpc_cidr):
            raise PlanError(
                f"subnet {resource.logical_id} ({cidr}) is outside its VPC's {vpc_cidr}",
                where=where(resource, "CidrBlock"),
                fix="give the subnet a CIDR inside the VPC's CidrBlock",
            )
        table = _table_of(index, resource, tables)
        plan.subnets.append(
            Subnet(
                key=key_of(resource),
                index=i,
                cidr=cidr,
                az=_az(resource),
                route_table=table[0].key if table else None,
                public=bool(table and table[1]),
            )
        )
    for resource in sorted(nat_res, key=key_of):
        subnet = index.require(
            get(resource.properties, "SubnetId"), resource, "SubnetId", types=("AWS::EC2::Subnet",)
        )
        if as_str(get(resource.properties, "ConnectivityType")) == "private":
            plan.notices.append(
                Notice(
                    key_of(resource),
                    resource.type,
                    "private NAT gateways are not built by the twin",
                )
            )
            continue
        plan.nat_gateways.append(
            NatGateway(
                key=key_of(resource),
                subnet=key_of(subnet),
                private_ip=plan.allocate_private(key_of(subnet)),
                public_ip=plan.allocate_public(),
            )
        )
    plan.security_groups = [
        _security_group(index, g)
        for g in sorted(index.of_type("AWS::EC2::SecurityGroup"), key=key_of)
    ]
    plan.notices += _route_notices(index)
    return plan


def _the_vpc(index: Index) -> Resource:
    vpcs = index.of_type("AWS::EC2::VPC")
    if not vpcs:
        raise PlanError(
            "these templates create no VPC (AWS::EC2::VPC)",
            fix="give the twin the whole stack set: the parent with its VPC child, or a "
            "single template with the VPC in it",
        )
    if len(vpcs) > 1:
        names = ", ".join(key_of(v) for v in vpcs)
        raise PlanError(
            f"these templates create {len(vpcs)} VPCs ({names}); the twin runs one",
            fix="run one environment per twin (`local up --name` for several)",
        )
    return vpcs[0]


def _cidr(resource: Resource, prop: str) -> IPv4Network:
    text = require_str(get(resource.properties, prop), resource, prop)
    try:
        network = ip_network(text)
    except ValueError:
        raise PlanError(
            f"{resource.logical_id}.{prop} is not an IPv4 CIDR: {text!r}",
            where=where(resource, prop),
            fix="use a CIDR such as 10.0.0.0/16",
        ) from None
    if not isinstance(network, IPv4Network):
        raise PlanError(
            f"{resource.logical_id}.{prop} is IPv6; the twin runs IPv4", where=where(resource, prop)
        )
    return network


def _az(subnet: Resource) -> str:
    value = get(subnet.properties, "AvailabilityZone")
    return value if isinstance(value, str) else f"az-{key_of(subnet)}"


def _internet_gateway(index: Index, vpc: Resource) -> Resource | None:
    for attachment in index.referrers(vpc, "AWS::EC2::VPCGatewayAttachment", "VpcId"):
        gateway = index.deref(get(attachment.properties, "InternetGatewayId"))
        if gateway is not None and gateway.type == "AWS::EC2::InternetGateway":
            return gateway
    return None


def _route_tables(
    index: Index, vpc: Resource, igw: Resource | None, nat_res: list[Resource]
) -> dict[str, tuple[RouteTable, bool]]:
    """Route table key -> (table, sends the default route to the internet gateway)."""
    tables: dict[str, tuple[RouteTable, bool]] = {}
    for table in sorted(index.of_type("AWS::EC2::RouteTable"), key=key_of):
        routes: list[Route] = []
        public = False
        for route in index.referrers(table, "AWS::EC2::Route", "RouteTableId"):
            props = route.properties
            destination_text = as_str(get(props, "DestinationCidrBlock"))
            if destination_text is None:
                continue  # IPv6 or prefix-list routes: reported by _route_notices
            destination = ip_network(destination_text)
            if not isinstance(destination, IPv4Network):
                continue
            gateway = index.deref(get(props, "GatewayId"))
            nat = index.deref(get(props, "NatGatewayId"))
            if gateway is not None and gateway is igw:
                routes.append(Route(destination, "internet-gateway"))
                public = public or destination == DEFAULT_ROUTE
            elif nat is not None and nat in nat_res:
                private = as_str(get(nat.properties, "ConnectivityType")) == "private"
                routes.append(
                    Route(destination, "blackhole" if private else "nat-gateway", key_of(nat))
                )
        tables[key_of(table)] = (
            RouteTable(
                key_of(table),
                tuple(sorted(routes, key=lambda r: (r.destination.prefixlen, str(r.destination)))),
            ),
            public,
        )
    return tables


def _table_of(
    index: Index, subnet: Resource, tables: dict[str, tuple[RouteTable, bool]]
) -> tuple[RouteTable, bool] | None:
    for association in index.referrers(subnet, "AWS::EC2::SubnetRouteTableAssociation", "SubnetId"):
        table = index.deref(get(association.properties, "RouteTableId"))
        if table is not None and key_of(table) in tables:
            return tables[key_of(table)]
    return None


def _route_notices(index: Index) -> list[Notice]:
    notices = []
    for route in index.of_type("AWS::EC2::Route"):
        props = route.properties
        if get(props, "GatewayId") is None and get(props, "NatGatewayId") is None:
            notices.append(
                Notice(key_of(route), route.type, "route target not modelled (only IGW and NAT)")
            )
        elif get(props, "DestinationCidrBlock") is None:
            notices.append(
                Notice(key_of(route), route.type, "IPv6 and prefix-list routes are not modelled")
            )
    return notices


def _security_group(index: Index, group: Resource) -> SecurityGroup:
    props = group.properties
    ingress: list[SecurityGroupRule | None] = [
        _rule(index, body, "Source") for body in as_list(get(props, "SecurityGroupIngress"))
    ]
    for extra in index.referrers(group, "AWS::EC2::SecurityGroupIngress", "GroupId"):
        ingress.append(_rule(index, extra.properties, "Source"))
    inline_egress = get(props, "SecurityGroupEgress")
    if inline_egress is None:
        # CloudFormation's default when SecurityGroupEgress is not given: allow all out.
        egress: list[SecurityGroupRule | None] = [
            SecurityGroupRule("all", None, None, cidr=DEFAULT_ROUTE, description="default egress")
        ]
    else:
        egress = [_rule(index, body, "Destination") for body in as_list(inline_egress)]
    for extra in index.referrers(group, "AWS::EC2::SecurityGroupEgress", "GroupId"):
        egress.append(_rule(index, extra.properties, "Destination"))
    return SecurityGroup(
        key=key_of(group),
        name=as_str(get(props, "GroupName")) or group.logical_id,
        ingress=tuple(r for r in ingress if r is not None),
        egress=tuple(r for r in egress if r is not None),
    )


def _rule(index: Index, body: Any, peer: str) -> SecurityGroupRule | None:
    """One rule; None for what the IPv4 twin cannot express (IPv6, prefix lists)."""
    raw = get(body, "IpProtocol")
    protocol = _PROTOCOLS.get(str(raw).lower(), str(raw).lower()) if raw is not None else None
    if protocol not in ("all", "tcp", "udp", "icmp"):
        return None
    low, high = as_int(get(body, "FromPort")), as_int(get(body, "ToPort"))
    if protocol == "all" or (low == -1 and (high == -1 or protocol != "icmp")):
        low = high = None
    if protocol == "icmp" and high == -1:
        high = None
    description = as_str(get(body, "Description")) or ""
    cidr_text = as_str(get(body, "CidrIp"))
    if cidr_text is not None:
        cidr = ip_network(cidr_text, strict=False)
        if not isinstance(cidr, IPv4Network):
            return None
        return SecurityGroupRule(protocol, low, high, cidr=cidr, description=description)  # type: ignore[arg-type]
    group = index.deref(get(body, f"{peer}SecurityGroupId"))
    if group is not None and group.type == "AWS::EC2::SecurityGroup":
        return SecurityGroupRule(protocol, low, high, group=key_of(group), description=description)  # type: ignore[arg-type]
    return None
