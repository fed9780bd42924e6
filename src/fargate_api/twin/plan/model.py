"""What the twin builds, as plain data: the interpretation of a template set.

The planner (plan/load.py, with ec2.py, elbv2.py, ecs.py and autoscaling.py) fills these
from the reading layer (fargate_api.templates); the builders (network, security groups,
HAProxy, ECS) only read them. Keeping the boundary as frozen data makes the
interpretation testable without root, and lets each builder be tested on its own.
Keys are stable strings ("<stack name>/<LogicalId>") that name a resource in messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Literal

from fargate_api.templates.defaults import STOP_TIMEOUT

RouteTarget = Literal["internet-gateway", "nat-gateway", "blackhole"]
Protocol = Literal["tcp", "udp", "icmp", "all"]
ActionKind = Literal["forward", "redirect", "fixed-response"]
DEFAULT_STOP_TIMEOUT = STOP_TIMEOUT  # ECS's default container stopTimeout on Fargate, seconds


@dataclass(frozen=True)
class Route:
    destination: IPv4Network
    target: RouteTarget
    nat_gateway: str | None = None  # key of the NAT gateway when target is nat-gateway


@dataclass(frozen=True)
class RouteTable:
    key: str
    routes: tuple[Route, ...]  # besides the implicit VPC-local route


@dataclass(frozen=True)
class Subnet:
    key: str
    index: int  # position in the plan; short interface names use it
    cidr: IPv4Network
    az: str
    route_table: str | None  # None: the VPC's main route table (local only)
    public: bool  # its route table sends 0.0.0.0/0 to the internet gateway

    @property
    def gateway(self) -> IPv4Address:
        """The VPC router's address in the subnet: network + 1, as on AWS."""
        return self.cidr.network_address + 1


@dataclass(frozen=True)
class NatGateway:
    key: str
    subnet: str
    private_ip: IPv4Address
    public_ip: IPv4Address


@dataclass(frozen=True)
class SecurityGroupRule:
    protocol: Protocol
    from_port: int | None  # None: all ports (or not applicable, icmp)
    to_port: int | None
    cidr: IPv4Network | None = None
    group: str | None = None  # key of the peer security group
    description: str = ""


@dataclass(frozen=True)
class SecurityGroup:
    key: str
    name: str
    ingress: tuple[SecurityGroupRule, ...]
    egress: tuple[SecurityGroupRule, ...]


@dataclass(frozen=True)
class HealthCheck:
    path: str
    port: int | None  # None: the traffic port
    protocol: Literal["HTTP", "HTTPS"]
    interval: int
    timeout: int
    healthy_threshold: int
    unhealthy_threshold: int
    matcher: str  # ELB syntax: "200", "200,202", "200-299"


@dataclass(frozen=True)
class TargetGroup:
    key: str
    name: str
    port: int
    protocol: str
    health_check: HealthCheck
    deregistration_delay: int


@dataclass(frozen=True)
class WeightedTargetGroup:
    target_group: str
    weight: int = 1


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    target_groups: tuple[WeightedTargetGroup, ...] = ()
    # redirect: ELB's #{protocol}/#{host}/#{port}/#{path}/#{query} placeholders allowed
    redirect_protocol: str = "#{protocol}"
    redirect_host: str = "#{host}"
    redirect_port: str = "#{port}"
    redirect_path: str = "/#{path}"
    redirect_query: str = "#{query}"
    status_code: int = 0  # redirect: 301/302; fixed-response: the status
    content_type: str = "text/plain"
    body: str = ""


@dataclass(frozen=True)
class ListenerRule:
    key: str
    priority: int
    path_patterns: tuple[str, ...]  # ELB wildcards: * and ?
    host_patterns: tuple[str, ...]
    actions: tuple[Action, ...]


@dataclass(frozen=True)
class Listener:
    key: str
    port: int
    protocol: Literal["HTTP", "HTTPS"]
    default_actions: tuple[Action, ...]
    rules: tuple[ListenerRule, ...]  # sorted by priority
    # HTTPS: the names of its ACM certificates (DomainName, SubjectAlternativeNames) as
    # far as these templates tell; the twin's CA puts them on the listener's certificate.
    certificate_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadBalancerNode:
    """The ALB's presence in one subnet: an ENI with a private address, and a public one
    when the balancer is internet-facing. An internal balancer's nodes have none, so
    nothing outside the VPC can reach them, as on AWS."""

    subnet: str
    az: str
    private_ip: IPv4Address
    public_ip: IPv4Address | None


@dataclass(frozen=True)
class LoadBalancer:
    key: str
    name: str
    internet_facing: bool
    nodes: tuple[LoadBalancerNode, ...]
    security_groups: tuple[str, ...]
    idle_timeout: int
    listeners: tuple[Listener, ...]


@dataclass(frozen=True)
class DnsRecord:
    """A Route 53 record the twin's resolvers answer: a name leading to one of the plan's
    load balancers (an alias, or a CNAME to its DNS name), or to literal addresses."""

    key: str  # the record set's key; "<key>[i]" for an item of a RecordSetGroup
    name: str  # lower case, no trailing dot; may start with "*." (a wildcard)
    load_balancer: str | None = None  # key of the LoadBalancer it leads to
    addresses: tuple[IPv4Address, ...] = ()  # an A record's literal values


@dataclass(frozen=True)
class LogTarget:
    group: str
    stream_prefix: str | None


DependencyCondition = Literal["START", "COMPLETE", "SUCCESS", "HEALTHY"]
Runtime = Literal["container", "process"]


@dataclass(frozen=True)
class ContainerHealthCheck:
    """A container definition's HealthCheck, with ECS's defaults filled in (seconds)."""

    command: tuple[str, ...]  # ECS's form: ("CMD-SHELL", "curl ...") or ("CMD", exe, arg...)
    interval: int = 30
    timeout: int = 5
    retries: int = 3
    start_period: int = 0


@dataclass(frozen=True)
class ContainerDependency:
    container: str
    condition: DependencyCondition


@dataclass(frozen=True)
class SecretReference:
    """`Secrets[]`: the variable `name` gets the value of `value_from` (an SSM parameter or
    a Secrets Manager secret, by ARN or name, perhaps with a JSON key suffix)."""

    name: str
    value_from: str


@dataclass(frozen=True)
class MountPoint:
    source_volume: str
    container_path: str
    read_only: bool = False


@dataclass(frozen=True)
class Ulimit:
    name: str
    soft: int
    hard: int


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    # Process mode: the local shell command, {port} already substituted; None where only
    # container mode can run the image (no --run, no [local] command, no stand-in).
    command: str | None
    environment: Mapping[str, str]
    port: int | None
    essential: bool
    stop_timeout: int
    log: LogTarget | None
    # Container mode: what the container definition says, as ECS passes it to the runtime.
    entry_point: tuple[str, ...] | None = None
    command_args: tuple[str, ...] | None = None  # `Command`: the image's CMD replaced
    working_directory: str | None = None
    user: str | None = None
    read_only_root: bool = False
    init_process: bool = False
    cpu: int | None = None  # CPU units (1024 = one vCPU): a relative share
    memory: int | None = None  # MiB: hard limit, the container is killed above it
    memory_reservation: int | None = None  # MiB: soft limit
    health_check: ContainerHealthCheck | None = None
    depends_on: tuple[ContainerDependency, ...] = ()
    secrets: tuple[SecretReference, ...] = ()
    mount_points: tuple[MountPoint, ...] = ()
    ulimits: tuple[Ulimit, ...] = ()
    port_mappings: tuple[int, ...] = ()  # every container port, the first one is `port`
    start_timeout: int | None = None  # seconds to wait for dependencies


@dataclass(frozen=True)
class TaskDefinition:
    key: str
    family: str
    cpu: str | None
    memory: str | None
    containers: tuple[Container, ...]
    volumes: tuple[str, ...] = ()  # names of task volumes (Fargate: ephemeral storage)
    task_role: str | None = None  # the role's ARN or, unresolved locally, its logical id
    execution_role: str | None = None


@dataclass(frozen=True)
class ServiceLoadBalancer:
    target_group: str
    container_name: str
    container_port: int


Strategy = Literal["ROLLING", "BLUE_GREEN", "CANARY", "LINEAR"]
Comparison = Literal[
    "GreaterThanThreshold",
    "GreaterThanOrEqualToThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]
TreatMissingData = Literal["missing", "notBreaching", "breaching", "ignore"]


@dataclass(frozen=True)
class TrafficShift:
    """A LoadBalancers entry with AdvancedConfiguration: ECS moves the production (and
    test) listener rule's forward weights between the two target groups."""

    target_group: str  # the entry's TargetGroupArn: production before the first deployment
    alternate_target_group: str
    production_rule: str  # key of the ListenerRule (or Listener, for its default action)
    test_rule: str | None = None


@dataclass(frozen=True)
class DeploymentPlan:
    """DeploymentConfiguration, with ECS's defaults; durations in seconds, unscaled."""

    strategy: Strategy = "ROLLING"
    bake_time: int = 0
    canary_percent: float = 5.0
    canary_interval: int = 600
    linear_percent: float = 10.0
    linear_interval: int = 360
    alarms: tuple[str, ...] = ()  # keys of the AlarmRules ECS watches (Alarms.Enable)
    alarm_rollback: bool = False
    # A PAUSE lifecycle hook at POST_TEST_TRAFFIC_SHIFT that times out with CONTINUE: how
    # long the test listener alone reaches the new revision (0: no pause).
    test_traffic_pause: int = 0
    shifts: tuple[TrafficShift, ...] = ()


@dataclass(frozen=True)
class MetricQuery:
    """One entry of an alarm's Metrics (or the alarm's own single metric, id "m1")."""

    id: str
    return_data: bool
    expression: str | None = None  # metric math; None for a metric stat
    metric: str | None = None  # an AWS/ApplicationELB metric name
    target_group: str | None = None  # key of the target group of its TargetGroup dimension
    stat: str | None = None  # "Sum", "Average", "Maximum", "Minimum", "SampleCount", "p99"...


@dataclass(frozen=True)
class AlarmRule:
    """A CloudWatch alarm on the load balancer's target group metrics that the twin can
    evaluate from HAProxy's counters."""

    key: str
    name: str
    queries: tuple[MetricQuery, ...]
    threshold: float
    comparison: Comparison
    period: int  # seconds, unscaled
    evaluation_periods: int
    datapoints_to_alarm: int
    treat_missing_data: TreatMissingData = "missing"


@dataclass(frozen=True)
class Service:
    key: str
    name: str
    cluster: str
    task_definition: str
    desired_count: int
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    assign_public_ip: bool
    load_balancers: tuple[ServiceLoadBalancer, ...]
    health_check_grace_period: int
    minimum_healthy_percent: int
    maximum_percent: int
    circuit_breaker: bool
    rollback: bool
    deployment: DeploymentPlan = field(default=DeploymentPlan())


@dataclass(frozen=True)
class Autoscaling:
    """Application Auto Scaling target tracking on ALBRequestCountPerTarget."""

    service: str
    minimum: int
    maximum: int
    requests_per_target: float  # per target and minute, as the ALB metric counts them
    target_group: str
    scale_in_cooldown: int
    scale_out_cooldown: int


@dataclass(frozen=True)
class Notice:
    """A resource the twin does not build, and why that does not matter locally."""

    resource: str
    type: str
    reason: str


@dataclass(frozen=True)
class TwinPlan:
    vpc: str
    vpc_cidr: IPv4Network
    subnets: tuple[Subnet, ...]
    route_tables: tuple[RouteTable, ...]
    internet_gateway: str | None
    nat_gateways: tuple[NatGateway, ...]
    security_groups: tuple[SecurityGroup, ...]
    load_balancers: tuple[LoadBalancer, ...]
    target_groups: tuple[TargetGroup, ...]
    task_definitions: tuple[TaskDefinition, ...]
    services: tuple[Service, ...]
    log_groups: tuple[str, ...]
    notices: tuple[Notice, ...] = field(default=())
    autoscaling: tuple[Autoscaling, ...] = field(default=())
    alarms: tuple[AlarmRule, ...] = field(default=())
    dns_records: tuple[DnsRecord, ...] = field(default=())

    def alarm(self, key: str) -> AlarmRule:
        return next(a for a in self.alarms if a.key == key)

    def subnet(self, key: str) -> Subnet:
        return next(s for s in self.subnets if s.key == key)

    def security_group(self, key: str) -> SecurityGroup:
        return next(g for g in self.security_groups if g.key == key)

    def target_group(self, key: str) -> TargetGroup:
        return next(t for t in self.target_groups if t.key == key)

    def task_definition(self, key: str) -> TaskDefinition:
        return next(t for t in self.task_definitions if t.key == key)

    def route_table(self, key: str) -> RouteTable:
        return next(t for t in self.route_tables if t.key == key)
