"""What the diagram shows, derived from a loaded template set and nothing else.

The diagram is a picture of the templates, not of the config: a hand-edited template set
(or the reference pattern itself) is drawn as faithfully as a synthesized one. Deriving a
small typed model first keeps every decision ("is this subnet public?", "which traffic
may reach the tasks?") testable without Graphviz; render.py only lays the model out.

The questions are answered by the reading layer `check` and the twin use too
(templates/network.py for routes and security group rules, templates/topology.py for
service -> target group -> load balancer), so the picture and the findings never disagree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from fargate_api.templates import Resource, StackSet, Text
from fargate_api.templates.load_balancing import (
    ListenerAction,
    ListenerRuleView,
    ListenerView,
    read_listener,
)
from fargate_api.templates.network import (
    DEFAULT_ROUTES,
    INTERNET_GATEWAY,
    NAT_GATEWAY,
    SUBNET,
    VPC,
    VPC_ENDPOINT,
    Egress,
    SecurityGroupRule,
    default_routes,
    endpoint_service,
    ingress_rules,
    nat_gateway,
)
from fargate_api.templates.props import as_int, as_str, get
from fargate_api.templates.query import StackQuery
from fargate_api.templates.topology import (
    LOAD_BALANCER,
    SCALABLE_TARGET,
    ServiceView,
    is_application,
    is_internet_facing,
    listeners,
    load_balancer_subnets,
    scaled_services,
    services,
)

INTERNET = "internet"  # the node id of the internet, source of public ingress
UNKNOWN_AZ = "unknown AZ"


class Tier(StrEnum):
    """A subnet's role, from its route table (not from its name)."""

    PUBLIC = "public"  # default route to an internet gateway
    PRIVATE = "private"  # no internet gateway route
    UNKNOWN = "unknown"  # no route table the templates show


class EdgeKind(StrEnum):
    INGRESS = "ingress"  # a security group rule lets this traffic in
    ROUTE = "route"  # a default route sends outbound traffic this way


@dataclass(frozen=True)
class Subnet:
    id: str
    cidr: str | None
    az: str
    tier: Tier


@dataclass(frozen=True)
class Zone:
    """One availability zone and its subnets, public first."""

    name: str
    subnets: tuple[Subnet, ...]


@dataclass(frozen=True)
class NatGateway:
    id: str
    subnet: str | None  # the subnet it sits in
    eip: str | None  # the Elastic IP that is its fixed egress address


@dataclass(frozen=True)
class LoadBalancer:
    id: str
    kind: str  # "application" or "network"
    internet_facing: bool
    subnets: tuple[str, ...]
    listeners: tuple[str, ...]  # "HTTP 80", "HTTPS 443"


@dataclass(frozen=True)
class Placement:
    subnet: str
    tasks: int


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    desired_count: int | None  # None when the templates do not say (a parameter, say)
    scaling: tuple[int, int] | None  # autoscaling (min, max), when there is a target
    container_ports: tuple[int, ...]
    placements: tuple[Placement, ...]  # desired tasks spread over the service's subnets

    @property
    def tasks_label(self) -> str:
        if self.desired_count is None:
            return "? tasks"
        noun = "task" if self.desired_count == 1 else "tasks"
        return f"{self.desired_count} {noun}"


@dataclass(frozen=True)
class Edge:
    source: str  # a node id: INTERNET, a load balancer, a service, a subnet, a NAT gateway
    target: str
    kind: EdgeKind
    label: str  # the traffic the security group admits: "tcp 80"
    # Load balancer -> service: the requests its listeners send there, one per rule,
    # "/api/* (priority 10)"; empty when it sends every request to its only service.
    routes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DiagramModel:
    vpc_id: str | None
    vpc_cidr: str | None
    internet_gateway: str | None
    zones: tuple[Zone, ...]
    nat_gateways: tuple[NatGateway, ...]
    load_balancers: tuple[LoadBalancer, ...]
    services: tuple[Service, ...]
    endpoints: tuple[str, ...]  # short service names of the VPC endpoints: ecr.api, s3, ...
    edges: tuple[Edge, ...]

    def subnets(self) -> list[Subnet]:
        return [subnet for zone in self.zones for subnet in zone.subnets]

    def subnet(self, subnet_id: str) -> Subnet | None:
        return next((s for s in self.subnets() if s.id == subnet_id), None)


def build_model(stack_set: StackSet) -> DiagramModel:
    """The diagram of one template set: a pure function, so tests need no Graphviz."""
    ctx = StackQuery([stack_set])
    ids = _NodeIds(ctx)
    vpc = next(ctx.resources(VPC), None)
    subnets = [_subnet(ctx, ids, s) for s in ctx.resources(SUBNET)]
    igw = next(ctx.resources(INTERNET_GATEWAY), None)
    nats = [_nat(ctx, ids, n) for n in ctx.resources(NAT_GATEWAY)]
    balancers = [_load_balancer(ctx, ids, lb) for lb in ctx.resources(LOAD_BALANCER)]
    service_list = _services(ctx, ids)
    edges = _ingress_edges(ctx, ids) + _route_edges(ctx, ids, nats, igw)
    return DiagramModel(
        vpc_id=ids.of(vpc) if vpc else None,
        vpc_cidr=as_str(get(vpc.properties, "CidrBlock")) if vpc else None,
        internet_gateway=ids.of(igw) if igw else None,
        zones=_zones(subnets),
        nat_gateways=tuple(nats),
        load_balancers=tuple(balancers),
        services=tuple(service_list),
        endpoints=tuple(sorted(_endpoints(ctx))),
        edges=tuple(edges),
    )


class _NodeIds:
    """Logical ids as node ids, qualified by stack only where two stacks share one."""

    def __init__(self, ctx: StackQuery) -> None:
        self._counts = Counter(r.logical_id for r in ctx.resources())

    def of(self, resource: Resource) -> str:
        if self._counts[resource.logical_id] > 1:
            return f"{resource.logical_id}@{resource.stack.rsplit('/', 1)[-1]}"
        return resource.logical_id


def _subnet(ctx: StackQuery, ids: _NodeIds, subnet: Resource) -> Subnet:
    targets = default_routes(ctx, subnet)
    if targets is None:
        tier = Tier.UNKNOWN
    elif any(route.target is Egress.INTERNET_GATEWAY for route in targets):
        tier = Tier.PUBLIC
    else:
        tier = Tier.PRIVATE
    return Subnet(
        id=ids.of(subnet),
        cidr=as_str(get(subnet.properties, "CidrBlock")),
        az=as_str(get(subnet.properties, "AvailabilityZone")) or UNKNOWN_AZ,
        tier=tier,
    )


def _zones(subnets: list[Subnet]) -> tuple[Zone, ...]:
    order = {Tier.PUBLIC: 0, Tier.PRIVATE: 1, Tier.UNKNOWN: 2}
    names = sorted({s.az for s in subnets}, key=lambda az: (az == UNKNOWN_AZ, az))
    return tuple(
        Zone(
            name=az,
            subnets=tuple(sorted((s for s in subnets if s.az == az), key=lambda s: order[s.tier])),
        )
        for az in names
    )


def _nat(ctx: StackQuery, ids: _NodeIds, nat: Resource) -> NatGateway:
    view = nat_gateway(ctx, nat)
    return NatGateway(
        id=ids.of(nat),
        subnet=ids.of(view.subnet) if view.subnet else None,
        eip=ids.of(view.eip) if view.eip is not None else None,
    )


def _load_balancer(ctx: StackQuery, ids: _NodeIds, lb: Resource) -> LoadBalancer:
    ports = []
    for listener in listeners(ctx, lb):
        view = read_listener(ctx, listener)
        port = view.declared_port
        ports.append(f"{view.declared_protocol or '?'} {port if port is not None else '?'}")
    return LoadBalancer(
        id=ids.of(lb),
        kind="application" if is_application(lb) else "network",
        internet_facing=is_internet_facing(lb),
        subnets=tuple(ids.of(s) for s in load_balancer_subnets(ctx, lb)),
        listeners=tuple(ports),
    )


def _services(ctx: StackQuery, ids: _NodeIds) -> list[Service]:
    found = []
    for view in services(ctx):
        props = view.service.properties
        desired = as_int(get(props, "DesiredCount"))
        subnet_ids = [ids.of(s) for s in view.subnets]
        found.append(
            Service(
                id=ids.of(view.service),
                name=as_str(get(props, "ServiceName")) or view.service.logical_id,
                desired_count=desired,
                scaling=_scaling(ctx, view.service),
                container_ports=tuple(sorted(view.container_ports())),
                placements=spread(desired or 0, subnet_ids),
            )
        )
    return found


def spread(tasks: int, subnets: list[str]) -> tuple[Placement, ...]:
    """Tasks over subnets the way ECS's default AZ-balanced spread places them: evenly,
    the first subnets taking one more when the count does not divide."""
    if not subnets:
        return ()
    share, extra = divmod(tasks, len(subnets))
    return tuple(
        Placement(subnet=subnet, tasks=share + (1 if index < extra else 0))
        for index, subnet in enumerate(subnets)
    )


def _scaling(ctx: StackQuery, service: Resource) -> tuple[int, int] | None:
    """The min and max of a scalable target whose ResourceId names this service."""
    for target in ctx.resources(SCALABLE_TARGET):
        resource_id = get(target.properties, "ResourceId")
        parts = resource_id.parts if isinstance(resource_id, Text) else (resource_id,)
        names_service = service in scaled_services(ctx, target) or any(
            isinstance(part, str) and part.endswith(f"/{_service_name(service)}") for part in parts
        )
        low = as_int(get(target.properties, "MinCapacity"))
        high = as_int(get(target.properties, "MaxCapacity"))
        if names_service and low is not None and high is not None:
            return (low, high)
    return None


def _service_name(service: Resource) -> str:
    return as_str(get(service.properties, "ServiceName")) or service.logical_id


def _traffic(rule: SecurityGroupRule) -> str:
    if rule.all_traffic:
        return "all traffic"
    if rule.ports is None:
        return f"{rule.protocol or '?'} (ports unknown)"
    low, high = rule.ports
    return f"{rule.protocol} {low}" if low == high else f"{rule.protocol} {low}-{high}"


def _join(items: list[str]) -> str:
    return ", ".join(dict.fromkeys(items))


def _ingress_edges(ctx: StackQuery, ids: _NodeIds) -> list[Edge]:
    """Internet -> load balancer on its security groups' CIDR rules, load balancer ->
    service where a service security group admits a load balancer's security group (with
    the listener rules that route to the service), and service -> service where one
    service's security group admits another's."""
    edges: list[Edge] = []
    views = services(ctx)
    routes = _routes(ctx, ids, views)
    lb_groups: dict[str, list[Resource]] = {}  # security group node id -> load balancers
    service_groups: dict[str, list[Resource]] = {}  # security group node id -> services
    for view in views:
        for group in view.security_groups:
            service_groups.setdefault(ids.of(group), []).append(view.service)
    for lb in ctx.resources(LOAD_BALANCER):
        groups, _ = ctx.deref_all(get(lb.properties, "SecurityGroups"))
        for group in groups:
            lb_groups.setdefault(ids.of(group), []).append(lb)
        rules = [r for g in groups for r in ingress_rules(ctx, g) if r.cidr is not None]
        if rules:
            cidrs = _join([r.cidr for r in rules if r.cidr is not None])
            edges.append(
                Edge(
                    INTERNET,
                    ids.of(lb),
                    EdgeKind.INGRESS,
                    f"{_join([_traffic(r) for r in rules])} from {cidrs}",
                )
            )
    for view in views:
        target = ids.of(view.service)
        by_source: dict[str, list[str]] = {}
        for group in view.security_groups:
            for rule in ingress_rules(ctx, group):
                if rule.peer is not None:
                    peer = ids.of(rule.peer)
                    peers = lb_groups.get(peer, []) + service_groups.get(peer, [])
                    for resource in peers:
                        if resource is not view.service:
                            by_source.setdefault(ids.of(resource), []).append(_traffic(rule))
                elif rule.cidr is not None:
                    by_source.setdefault(INTERNET, []).append(f"{_traffic(rule)} from {rule.cidr}")
        for source, traffic in by_source.items():
            found = routes.get((source, target), ())
            edges.append(Edge(source, target, EdgeKind.INGRESS, _join(traffic), found))
    return edges


def _routes(
    ctx: StackQuery, ids: _NodeIds, views: list[ServiceView]
) -> dict[tuple[str, str], tuple[str, ...]]:
    """(load balancer, service) -> the routes of the load balancer's listeners that
    forward to one of the service's target groups. A load balancer that sends all its
    requests to one service gets no routes: they would only say "everything"."""
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for lb in ctx.resources(LOAD_BALANCER):
        views_of_lb = [read_listener(ctx, listener) for listener in listeners(ctx, lb)]
        per_service: dict[str, list[tuple[str, str, bool]]] = {}
        for view in views:
            groups = {(t.target_group.stack, t.target_group.logical_id) for t in view.targets}
            matched = [route for lv in views_of_lb for route in _listener_routes(lv, groups)]
            if matched:
                per_service[ids.of(view.service)] = matched
        for service, matched in per_service.items():
            if len(per_service) == 1 and all(catch_all for _, _, catch_all in matched):
                continue
            on = {listener for listener, _, _ in matched}
            texts: dict[str, list[str]] = {}
            for listener, text, _ in matched:
                texts.setdefault(text, []).append(listener)
            found[(ids.of(lb), service)] = tuple(
                f"{text} on {', '.join(dict.fromkeys(where))}" if len(on) > 1 else text
                for text, where in texts.items()
            )
    return found


def _listener_routes(
    listener: ListenerView, groups: set[tuple[str, str]]
) -> list[tuple[str, str, bool]]:
    """(listener, route, whether it takes every request) for each way `listener` forwards
    to one of `groups`: its rules by priority, then its default action."""
    name = f"{listener.protocol} {listener.port}"
    found = []
    ordered = sorted(listener.rules, key=lambda r: (r.priority is None, r.priority or 0))
    for rule in ordered:
        if _forwards_to(rule.actions, groups):
            found.append((name, route_text(rule), rule.matches_all))
    if _forwards_to(listener.default_actions, groups):
        found.append((name, "default action", True))
    return found


def _forwards_to(actions: tuple[ListenerAction, ...], groups: set[tuple[str, str]]) -> bool:
    return any(
        target.target_group is not None
        and (target.target_group.stack, target.target_group.logical_id) in groups
        for action in actions
        for target in action.target_groups
    )


def route_text(rule: ListenerRuleView) -> str:
    """A listener rule as the edge shows it: "api.example.com; /v2/*, /v2 (priority 5)",
    hosts first, then paths, then other conditions by field; "?" where not known."""
    order = {"host-header": 0, "path-pattern": 1}
    parts = []
    for condition in sorted(rule.conditions, key=lambda c: order.get(c.field or "", 2)):
        values = ", ".join(condition.values) if condition.known else "?"
        field = condition.field or "?"
        parts.append(values if field in order else f"{field} {values}")
    if not rule.conditions_known:
        parts = ["?"]
    priority = "?" if rule.priority is None else rule.priority
    return f"{'; '.join(parts) or 'every request'} (priority {priority})"


def _route_edges(
    ctx: StackQuery, ids: _NodeIds, nats: list[NatGateway], igw: Resource | None
) -> list[Edge]:
    """Private subnet -> NAT gateway on its default route; NAT gateway -> internet gateway
    when the NAT's own subnet routes there (the path the fixed egress IPs take)."""
    edges: list[Edge] = []
    for subnet in ctx.resources(SUBNET):
        for route in default_routes(ctx, subnet) or []:
            if route.target is not Egress.NAT_GATEWAY:
                continue
            gateway = route.nat_gateway
            if gateway is not None:
                destination = route.destination_cidr or DEFAULT_ROUTES[0]
                edges.append(
                    Edge(ids.of(subnet), ids.of(gateway), EdgeKind.ROUTE, str(destination))
                )
    if igw is not None:
        public = {
            ids.of(s)
            for s in ctx.resources(SUBNET)
            if any(
                route.target is Egress.INTERNET_GATEWAY for route in default_routes(ctx, s) or []
            )
        }
        for nat in nats:
            if nat.subnet in public:
                edges.append(Edge(nat.id, ids.of(igw), EdgeKind.ROUTE, DEFAULT_ROUTES[0]))
    return edges


def _endpoints(ctx: StackQuery) -> set[str]:
    names = set()
    for endpoint in ctx.resources(VPC_ENDPOINT):
        names.add(endpoint_service(endpoint) or endpoint.logical_id)
    return names
