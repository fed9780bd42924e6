"""VPC, subnets, route tables, gateways and security groups, read from templates.

"Public" is not a subnet property on AWS: it is whether the subnet's route table sends
0.0.0.0/0 to an internet gateway. The twin reads routes exactly that way, so a template
that gets its routing wrong gets a twin with the same mistake. Routes, gateways and
security group rules (protocol names, CloudFormation's implicit egress) come read from
the reading layer (templates/network.py); what stays here is what the twin can build:
IPv4 only, routes to the VPC's own internet gateway and NAT gateways, no prefix lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, ip_network

from fargate_api.templates import Resource
from fargate_api.templates.network import (
    ALL,
    NAT_GATEWAY,
    ROUTE,
    ROUTE_TABLE,
    SECURITY_GROUP,
    SUBNET,
    VPC,
    egress_rules,
    ingress_rules,
    internet_gateway,
    is_private_nat,
    route,
    route_tables,
    routes,
    subnets_of,
)
from fargate_api.templates.network import SecurityGroupRule as TemplateRule
from fargate_api.templates.props import as_str, get
from fargate_api.templates.resolver import NESTED_STACK_TYPES
from fargate_api.twin.ec2.addresses import next_free, public_address
from fargate_api.twin.plan.errors import PlanError
from fargate_api.twin.plan.model import (
    NatGateway,
    Notice,
    Protocol,
    Route,
    RouteTable,
    RouteTarget,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
)
from fargate_api.twin.plan.reads import Index, key_of, require_str, where

DEFAULT_ROUTE = IPv4Network("0.0.0.0/0")
# What the IPv4 nftables rules express, in the reading layer's spelling.
BUILT_PROTOCOLS: dict[str | None, Protocol] = {
    ALL: "all",
    "tcp": "tcp",
    "udp": "udp",
    "icmp": "icmp",
}


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
    igw = internet_gateway(index, vpc)
    subnets_res = sorted(subnets_of(index, vpc), key=lambda s: (_az(s), key_of(s)))
    if not subnets_res:
        raise PlanError(
            f"VPC {vpc.logical_id} has no subnets",
            where=where(vpc),
            fix="add AWS::EC2::Subnet resources",
        )
    nat_res = index.of_type(NAT_GATEWAY)
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
            get(resource.properties, "SubnetId"), resource, "SubnetId", types=(SUBNET,)
        )
        if all(built.key != key_of(subnet) for built in plan.subnets):
            # A subnet of another VPC, or one whose VpcId leads nowhere: the twin builds
            # the one VPC's subnets only, so the NAT gateway would have no place.
            raise PlanError(
                f"NAT gateway {resource.logical_id} is in subnet {subnet.logical_id}, which "
                "is not a subnet of the VPC",
                where=where(resource, "SubnetId"),
                fix="put the NAT gateway in a public subnet of the VPC (check the subnet's VpcId)",
            )
        if is_private_nat(resource):
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
        _security_group(index, g) for g in sorted(index.of_type(SECURITY_GROUP), key=key_of)
    ]
    plan.notices += _route_notices(index)
    return plan


def _the_vpc(index: Index) -> Resource:
    vpcs = index.of_type(VPC)
    if not vpcs:
        remote = _remote_nested_stacks(index)
        if remote:
            raise PlanError(
                "these templates create no VPC (AWS::EC2::VPC) that the twin can read: "
                f"the templates of nested stacks {', '.join(remote)} are not local files "
                "(S3 or HTTPS URLs), which the twin does not download",
                fix="download the nested templates next to the parent and point each "
                "TemplateURL at its relative path (as `aws cloudformation package` reads it)",
            )
        raise PlanError(
            "these templates create no VPC (AWS::EC2::VPC)",
            fix="give the twin the whole stack set: the parent with its VPC child, a "
            "single template with the VPC in it, or the VPC stack beside the stacks that "
            "import its values (-t NAME=PATH, repeated)",
        )
    if len(vpcs) > 1:
        names = ", ".join(key_of(v) for v in vpcs)
        raise PlanError(
            f"these templates create {len(vpcs)} VPCs ({names}); the twin runs one",
            fix="run one environment per twin (`local up --name` for several)",
        )
    return vpcs[0]


def _remote_nested_stacks(index: Index) -> list[str]:
    """The nested stack resources that no local template was read for."""
    linked = {(link.parent, link.resource) for link in index.stack_set.links}
    return [
        key_of(r)
        for r in index.of_type(*NESTED_STACK_TYPES)
        if (r.stack, r.logical_id) not in linked
    ]


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


def _route_tables(
    index: Index, vpc: Resource, igw: Resource | None, nat_res: list[Resource]
) -> dict[str, tuple[RouteTable, bool]]:
    """Route table key -> (table, sends the default route to the internet gateway)."""
    tables: dict[str, tuple[RouteTable, bool]] = {}
    for table in sorted(index.of_type(ROUTE_TABLE), key=key_of):
        built: list[Route] = []
        public = False
        for read in routes(index, table):
            destination_text = as_str(read.destination_cidr)
            if destination_text is None:
                continue  # IPv6 or prefix-list routes: reported by _route_notices
            try:
                destination = ip_network(destination_text)
            except ValueError:
                raise PlanError(
                    f"route {read.resource.logical_id}: DestinationCidrBlock "
                    f"{destination_text!r} is not a CIDR",
                    where=where(read.resource, "DestinationCidrBlock"),
                    fix="use a CIDR such as 0.0.0.0/0, with no host bits set",
                ) from None
            if not isinstance(destination, IPv4Network):
                continue
            nat = read.nat_gateway
            if read.gateway is not None and read.gateway is igw:
                built.append(Route(destination, "internet-gateway"))
                public = public or destination == DEFAULT_ROUTE
            elif nat is not None and nat in nat_res:
                target: RouteTarget = "blackhole" if is_private_nat(nat) else "nat-gateway"
                built.append(Route(destination, target, key_of(nat)))
        tables[key_of(table)] = (
            RouteTable(
                key_of(table),
                tuple(sorted(built, key=lambda r: (r.destination.prefixlen, str(r.destination)))),
            ),
            public,
        )
    return tables


def _table_of(
    index: Index, subnet: Resource, tables: dict[str, tuple[RouteTable, bool]]
) -> tuple[RouteTable, bool] | None:
    for table in route_tables(index, subnet):
        if key_of(table) in tables:
            return tables[key_of(table)]
    return None


def _route_notices(index: Index) -> list[Notice]:
    notices = []
    for resource in index.of_type(ROUTE):
        read = route(index, resource)
        if read.gateway_id is None and read.nat_gateway_id is None:
            notices.append(
                Notice(
                    key_of(resource), resource.type, "route target not modelled (only IGW and NAT)"
                )
            )
        elif read.destination_cidr is None:
            notices.append(
                Notice(
                    key_of(resource), resource.type, "IPv6 and prefix-list routes are not modelled"
                )
            )
    return notices


def _security_group(index: Index, group: Resource) -> SecurityGroup:
    ingress = [_rule(rule) for rule in ingress_rules(index, group)]
    egress = [_rule(rule) for rule in egress_rules(index, group)]
    return SecurityGroup(
        key=key_of(group),
        name=as_str(get(group.properties, "GroupName")) or group.logical_id,
        ingress=tuple(r for r in ingress if r is not None),
        egress=tuple(r for r in egress if r is not None),
    )


def _rule(rule: TemplateRule) -> SecurityGroupRule | None:
    """One rule as nftables will apply it; None for what the IPv4 twin cannot express
    (IPv6, prefix lists, protocols other than TCP, UDP and ICMP)."""
    if rule.implicit:
        return SecurityGroupRule(
            "all", None, None, cidr=DEFAULT_ROUTE, description="default egress"
        )
    protocol = BUILT_PROTOCOLS.get(rule.protocol)
    if protocol is None:
        return None
    low, high = rule.from_port, rule.to_port
    if protocol == "all" or (low == -1 and (high == -1 or protocol != "icmp")):
        low = high = None
    if protocol == "icmp" and high == -1:
        high = None
    description = as_str(rule.description) or ""
    if rule.cidr is not None:
        cidr = ip_network(rule.cidr, strict=False)
        if not isinstance(cidr, IPv4Network):
            return None
        return SecurityGroupRule(protocol, low, high, cidr=cidr, description=description)
    if rule.peer is not None and rule.peer.type == SECURITY_GROUP:
        return SecurityGroupRule(
            protocol, low, high, group=key_of(rule.peer), description=description
        )
    return None
