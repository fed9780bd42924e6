"""The diagram model, derived from template sets without Graphviz.

Every case loads templates through the loader, as the command does: the synthesized
variants from memory, the reference pattern from disk beside the repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fargate_api.config import parse_config
from fargate_api.diagram.command import synthesized_stack_set
from fargate_api.diagram.model import (
    INTERNET,
    DiagramModel,
    Edge,
    EdgeKind,
    Placement,
    Tier,
    build_model,
    spread,
)
from fargate_api.templates import MemoryReader, load_stack_set
from unit.templates.support import listener, listener_rule
from unit.variants import CERTIFICATE, PRIVATE_IMAGE, SERVICES_VARIANTS


def _model(toml: str = "") -> DiagramModel:
    return build_model(synthesized_stack_set(parse_config(toml, source="test.toml")))


def _edges(model: DiagramModel, kind: EdgeKind) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.label) for e in model.edges if e.kind is kind}


def _tiers(model: DiagramModel) -> dict[str, list[str | None]]:
    found: dict[str, list[str | None]] = {}
    for subnet in model.subnets():
        found.setdefault(subnet.tier.value, []).append(subnet.cidr)
    return found


def test_default_synth() -> None:
    model = _model()
    assert model.vpc_cidr == "10.0.0.0/16"
    assert model.internet_gateway == "InternetGateway"
    assert [z.name for z in model.zones] == ["us-east-1a", "us-east-1b"]
    assert [[(s.tier, s.cidr) for s in z.subnets] for z in model.zones] == [
        [(Tier.PUBLIC, "10.0.0.0/18"), (Tier.PRIVATE, "10.0.128.0/18")],
        [(Tier.PUBLIC, "10.0.64.0/18"), (Tier.PRIVATE, "10.0.192.0/18")],
    ]
    assert [(n.id, n.subnet, n.eip) for n in model.nat_gateways] == [
        ("NatGatewayOne", "PublicSubnetOne", "NatGatewayOneEIP"),
        ("NatGatewayTwo", "PublicSubnetTwo", "NatGatewayTwoEIP"),
    ]
    (lb,) = model.load_balancers
    assert (lb.kind, lb.internet_facing, lb.listeners) == ("application", True, ("HTTP 80",))
    assert lb.subnets == ("PublicSubnetOne", "PublicSubnetTwo")
    (service,) = model.services
    assert (service.name, service.desired_count, service.tasks_label) == ("web", 2, "2 tasks")
    assert service.container_ports == (80,)
    assert service.placements == (
        Placement("PrivateSubnetOne", 1),
        Placement("PrivateSubnetTwo", 1),
    )
    assert model.endpoints == ()
    assert _edges(model, EdgeKind.INGRESS) == {
        (INTERNET, "PublicLoadBalancer", "tcp 80 from 0.0.0.0/0"),
        ("PublicLoadBalancer", "Service", "tcp 80"),
    }
    assert _edges(model, EdgeKind.ROUTE) == {
        ("PrivateSubnetOne", "NatGatewayOne", "0.0.0.0/0"),
        ("PrivateSubnetTwo", "NatGatewayTwo", "0.0.0.0/0"),
        ("NatGatewayOne", "InternetGateway", "0.0.0.0/0"),
        ("NatGatewayTwo", "InternetGateway", "0.0.0.0/0"),
    }


def test_single_nat_routes_every_private_subnet_through_one_gateway() -> None:
    model = _model('[network]\nnat = "single"\n')
    (nat,) = model.nat_gateways
    assert nat.subnet == "PublicSubnetOne" and nat.eip is not None
    routes = _edges(model, EdgeKind.ROUTE)
    assert routes == {
        ("PrivateSubnetOne", nat.id, "0.0.0.0/0"),
        ("PrivateSubnetTwo", nat.id, "0.0.0.0/0"),
        (nat.id, "InternetGateway", "0.0.0.0/0"),
    }


def test_no_nat_with_endpoints() -> None:
    model = _model(
        f'[network]\nnat = "none"\nvpc_endpoints = true\n[service]\nimage = "{PRIVATE_IMAGE}"\n'
    )
    assert model.nat_gateways == ()
    assert _edges(model, EdgeKind.ROUTE) == set()
    assert set(model.endpoints) >= {"ecr.api", "ecr.dkr", "logs", "s3"}
    # Private subnets stay private (no internet gateway route), and tasks still spread.
    assert len(_tiers(model)["private"]) == 2
    assert [p.tasks for p in model.services[0].placements] == [1, 1]


def test_three_azs_spread_tasks_and_show_https() -> None:
    model = _model(
        "[network]\naz_count = 3\n[service]\ndesired_count = 4\n"
        f'[load_balancer]\ncertificate_arn = "{CERTIFICATE}"\n'
    )
    assert [z.name for z in model.zones] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert all([s.tier for s in z.subnets] == [Tier.PUBLIC, Tier.PRIVATE] for z in model.zones)
    assert len(model.nat_gateways) == 3
    (service,) = model.services
    assert [p.tasks for p in service.placements] == [2, 1, 1]
    assert {model.subnet(p.subnet).az for p in service.placements} == {  # type: ignore[union-attr]
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
    }
    (lb,) = model.load_balancers
    assert lb.listeners == ("HTTP 80", "HTTPS 443")
    ingress = [e for e in model.edges if e.kind is EdgeKind.INGRESS and e.source == INTERNET]
    assert ingress == [
        Edge(INTERNET, lb.id, EdgeKind.INGRESS, "tcp 80, tcp 443 from 0.0.0.0/0"),
    ]


def test_custom_ports_and_cidrs_label_the_edges() -> None:
    model = _model(
        "[service]\nport = 8080\n[load_balancer]\n"
        f'certificate_arn = "{CERTIFICATE}"\nhttp_port = 8081\nhttps_port = 8443\n'
        'ingress_cidrs = ["203.0.113.0/24", "198.51.100.0/24"]\n'
    )
    assert _edges(model, EdgeKind.INGRESS) == {
        (
            INTERNET,
            "PublicLoadBalancer",
            "tcp 8081, tcp 8443 from 203.0.113.0/24, 198.51.100.0/24",
        ),
        ("PublicLoadBalancer", "Service", "tcp 8080"),
    }


def test_autoscaling_range_is_read_from_the_scalable_target() -> None:
    model = _model("[autoscaling]\nmin = 2\nmax = 10\ncpu_target = 60\n")
    assert model.services[0].scaling == (2, 10)
    assert _model().services[0].scaling is None


def test_reference_templates(reference_dir: Path) -> None:
    """The reference pattern: same shape, but its security groups admit all traffic."""
    model = build_model(load_stack_set(reference_dir / "parent.yml"))
    assert _tiers(model) == {
        "public": ["10.0.0.0/18", "10.0.64.0/18"],
        "private": ["10.0.128.0/18", "10.0.192.0/18"],
    }
    assert [(n.subnet, n.eip) for n in model.nat_gateways] == [
        ("PublicSubnetOne", "NatGatewayOneAttachment"),
        ("PublicSubnetTwo", "NatGatewayTwoAttachment"),
    ]
    (service,) = model.services
    assert (service.name, service.tasks_label) == ("web", "2 tasks")
    assert _edges(model, EdgeKind.INGRESS) == {
        (INTERNET, "PublicLoadBalancer", "all traffic from 0.0.0.0/0"),
        ("PublicLoadBalancer", "Service", "all traffic"),
    }
    assert len(_edges(model, EdgeKind.ROUTE)) == 4


def test_unknowns_stay_unknown() -> None:
    """A lone subnet without a route table, a service whose count is a parameter without
    default: drawn as 'unknown', never guessed."""
    text = """
Parameters:
  Count: {Type: Number}
Resources:
  Subnet:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: vpc-1, CidrBlock: 10.9.0.0/24}
  Service:
    Type: AWS::ECS::Service
    Properties:
      DesiredCount: {Ref: Count}
      NetworkConfiguration:
        AwsvpcConfiguration:
          Subnets: [{Ref: Subnet}]
"""
    model = build_model(load_stack_set(Path("t.yml"), reader=MemoryReader({Path("t.yml"): text})))
    (zone,) = model.zones
    assert zone.name == "unknown AZ"
    assert zone.subnets[0].tier is Tier.UNKNOWN
    (service,) = model.services
    assert (service.desired_count, service.tasks_label) == (None, "? tasks")
    assert model.vpc_id is None and model.edges == ()


@pytest.mark.parametrize(
    ("tasks", "subnets", "expected"),
    [
        (2, ["a", "b"], [1, 1]),
        (5, ["a", "b"], [3, 2]),
        (1, ["a", "b", "c"], [1, 0, 0]),
        (0, ["a"], [0]),
    ],
)
def test_spread(tasks: int, subnets: list[str], expected: list[int]) -> None:
    placements = spread(tasks, subnets)
    assert [p.tasks for p in placements] == expected
    assert sum(p.tasks for p in placements) == tasks
    assert spread(3, []) == ()


def test_logical_ids_shared_by_two_stacks_are_qualified() -> None:
    files = {
        Path("parent.yml"): """
Resources:
  A:
    Type: AWS::CloudFormation::Stack
    Properties: {TemplateURL: child.yml}
  B:
    Type: AWS::CloudFormation::Stack
    Properties: {TemplateURL: child.yml}
""",
        Path("child.yml"): """
Resources:
  Subnet:
    Type: AWS::EC2::Subnet
    Properties: {VpcId: vpc-1, CidrBlock: 10.9.0.0/24, AvailabilityZone: us-east-1a}
""",
    }
    model = build_model(load_stack_set(Path("parent.yml"), reader=MemoryReader(files)))
    assert sorted(s.id for s in model.subnets()) == ["Subnet@A", "Subnet@B"]


def test_several_services_show_their_routes_and_the_calls_between_them() -> None:
    """tests/variants/services.toml: /api/* to api at 10, the rest to web at 20, and api's
    tasks may call web's port (allow_from, a rule in load-balancer.yml)."""
    model = _model(SERVICES_VARIANTS["services"])
    api, web = (s.id for s in model.services)
    assert [s.name for s in model.services] == ["api", "web"]
    ingress = {(e.source, e.target): (e.label, e.routes) for e in model.edges
               if e.kind is EdgeKind.INGRESS}  # fmt: skip
    assert ingress == {
        (INTERNET, "PublicLoadBalancer"): ("tcp 80 from 0.0.0.0/0", ()),
        ("PublicLoadBalancer", api): ("tcp 80", ("/api/* (priority 10)",)),
        ("PublicLoadBalancer", web): ("tcp 8080", ("/* (priority 20)",)),
        (api, web): ("tcp 8080", ()),
    }


def test_without_allow_from_no_service_reaches_another() -> None:
    text = SERVICES_VARIANTS["services"].replace('allow_from = ["api"]\n', "")
    model = _model(text)
    services = {s.id for s in model.services}
    assert len(services) == 2
    between = [e for e in model.edges if e.source in services and e.target in services]
    assert between == []
    from_lb = [e for e in model.edges if e.source == "PublicLoadBalancer"]
    assert sorted(e.routes for e in from_lb) == [("/* (priority 20)",), ("/api/* (priority 10)",)]


def test_routes_on_two_listeners_name_them() -> None:
    """A canary's test listener carries the same rules as the production listener."""
    model = _model(SERVICES_VARIANTS["services-canary"])
    routes = {e.routes for e in model.edges if e.source == "PublicLoadBalancer"}
    assert routes == {
        ("/api/* (priority 10) on HTTP 80, HTTP 9000",),
        ("/* (priority 20) on HTTP 80, HTTP 9000",),
    }


def test_host_rules_show_hosts_then_paths() -> None:
    model = _model(SERVICES_VARIANTS["services-https-hosts"])
    routes = sorted(e.routes for e in model.edges if e.source == "PublicLoadBalancer")
    assert routes == [
        ("api.example.com; /v2/*, /v2 (priority 5) on HTTPS 443, HTTPS 8443",),
        ("docs.example.com (priority 20) on HTTPS 443, HTTPS 8443",),
    ]


def test_one_service_taking_every_request_shows_no_route() -> None:
    """The single-service picture stays as it was: its listener forwards everything (by
    default action, or a canary's "/*" rule), which a route would only repeat."""
    for toml in ("", '[deployment]\nstrategy = "canary"\ntest_listener_port = 8080\n'):
        model = _model(toml)
        (edge,) = [e for e in model.edges if e.source == "PublicLoadBalancer"]
        assert (edge.target, edge.label, edge.routes) == ("Service", "tcp 80", ())


ROUTED = (
    """
Parameters:
  Paths: {Type: CommaDelimitedList}
Resources:
  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: {Subnets: [subnet-1], SecurityGroups: [!Ref AlbSg]}
  AlbSg:
    Type: AWS::EC2::SecurityGroup
    Properties: {GroupDescription: alb}
  TaskSg:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: tasks
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 80, ToPort: 80, SourceSecurityGroupId: !Ref AlbSg}
        - {IpProtocol: tcp, FromPort: 9090, ToPort: 9090, SourceSecurityGroupId: !Ref TaskSg}
  Group:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {TargetType: ip, Port: 80, Protocol: HTTP}"""
    + listener()
    + listener_rule("Route", 7, "CONDITIONS")
    + """
  Service:
    Type: AWS::ECS::Service
    Properties:
      DesiredCount: 1
      NetworkConfiguration: {AwsvpcConfiguration: {SecurityGroups: [!Ref TaskSg]}}
      LoadBalancers: [{ContainerName: app, ContainerPort: 80, TargetGroupArn: !Ref Group}]
"""
)


@pytest.mark.parametrize(
    ("conditions", "routes"),
    [
        ("[{Field: path-pattern, Values: [/api/*]}]", ("/api/* (priority 7)",)),
        (
            "[{Field: http-header, HttpHeaderConfig: {HttpHeaderName: X, Values: ['1']}}, "
            "{Field: path-pattern, Values: [/*]}]",
            ("/*; http-header 1 (priority 7)",),
        ),
        ("[{Field: path-pattern, Values: !Ref Paths}]", ("? (priority 7)",)),
        ("[{Field: path-pattern, Values: ['/*']}]", ()),  # everything, to its only service
        ("[]", ()),
    ],
)
def test_a_hand_written_rule_is_shown_unless_it_takes_everything(
    conditions: str, routes: tuple[str, ...]
) -> None:
    text = ROUTED.replace("CONDITIONS", conditions)
    model = build_model(load_stack_set(Path("t.yml"), reader=MemoryReader({Path("t.yml"): text})))
    (edge,) = [e for e in model.edges if e.source == "Alb"]
    assert (edge.target, edge.label, edge.routes) == ("Service", "tcp 80", routes)
    # A service's security group admitting itself (task to task) draws no edge.
    assert [e for e in model.edges if e.source == "Service"] == []
