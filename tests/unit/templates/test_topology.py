"""service -> target group -> listener (or rule) -> load balancer, as every reader sees it."""

from __future__ import annotations

from fargate_api.templates.topology import (
    attribute,
    containers,
    forwarded_target_groups,
    is_application,
    is_internet_facing,
    is_windows,
    listener_rules,
    listeners,
    load_balancer_subnets,
    references,
    scaled_services,
    services,
    target_group_load_balancers,
)
from unit.templates.support import query, resource

PATTERN = """
Resources:
  Vpc: {Type: AWS::EC2::VPC, Properties: {CidrBlock: 10.0.0.0/16}}
  SubnetA: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.0.0/24}}
  SubnetB: {Type: AWS::EC2::Subnet, Properties: {VpcId: !Ref Vpc, CidrBlock: 10.0.1.0/24}}
  Group: {Type: AWS::EC2::SecurityGroup, Properties: {GroupDescription: g, VpcId: !Ref Vpc}}
  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      Subnets: [!Ref SubnetA]
      SubnetMappings: [{SubnetId: !Ref SubnetB}]
      LoadBalancerAttributes:
        - {Key: idle_timeout.timeout_seconds, Value: "30"}
  Internal:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: {Scheme: internal, Type: network, Subnets: [!Ref SubnetA]}
  Web:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {Port: 80, Protocol: HTTP, TargetType: ip, VpcId: !Ref Vpc}
  Admin:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {Port: 80, Protocol: HTTP, TargetType: ip, VpcId: !Ref Vpc}
  Http:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Alb
      Port: 80
      Protocol: HTTP
      DefaultActions: [{Type: forward, TargetGroupArn: !Ref Web}]
  AdminRule:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref Http
      Priority: 1
      Conditions: [{Field: path-pattern, Values: [/admin/*]}]
      Actions:
        - Type: forward
          ForwardConfig: {TargetGroups: [{TargetGroupArn: !Ref Admin, Weight: 1}]}
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      RuntimePlatform: {OperatingSystemFamily: WINDOWS_SERVER_2022_CORE}
      ContainerDefinitions:
        - {Name: app, Image: app:1, PortMappings: [{ContainerPort: 8080}]}
        - not a container
  Service:
    Type: AWS::ECS::Service
    Properties:
      TaskDefinition: !Ref Task
      NetworkConfiguration:
        AwsvpcConfiguration:
          Subnets: [!Ref SubnetA, !Ref SubnetB]
          SecurityGroups: [!Ref Group]
      LoadBalancers:
        - {TargetGroupArn: !Ref Web, ContainerName: app, ContainerPort: 8080}
        - {TargetGroupArn: !Ref Admin, ContainerName: app, ContainerPort: "8081"}
"""


def test_the_service_view_reaches_the_load_balancer_through_listeners_and_rules() -> None:
    q = query(PATTERN)
    (view,) = services(q)
    assert view.service is resource(q, "Service") and view.task_definition is resource(q, "Task")
    assert [s.logical_id for s in view.subnets] == ["SubnetA", "SubnetB"]
    assert [g.logical_id for g in view.security_groups] == ["Group"]
    assert [(t.target_group.logical_id, t.container_port, t.index) for t in view.targets] == [
        ("Web", 8080, 0),
        ("Admin", 8081, 1),
    ]
    # Web through the listener's default action, Admin through the rule: the same ALB once.
    assert [lb.logical_id for lb in view.load_balancers] == ["Alb"]
    assert view.container_ports() == {8080, 8081}
    assert target_group_load_balancers(q, resource(q, "Admin")) == [resource(q, "Alb")]


def test_listeners_rules_and_forward_actions() -> None:
    q = query(PATTERN)
    (http,) = listeners(q, resource(q, "Alb"))
    assert http is resource(q, "Http")
    (rule,) = listener_rules(q, http)
    assert rule is resource(q, "AdminRule")
    assert forwarded_target_groups(q, rule.properties["Actions"]) == [resource(q, "Admin")]
    assert listeners(q, resource(q, "Internal")) == []


def test_cloudformation_defaults_for_load_balancers() -> None:
    q = query(PATTERN)
    alb, internal = resource(q, "Alb"), resource(q, "Internal")
    # No Scheme and no Type: internet-facing application load balancer.
    assert is_internet_facing(alb) and is_application(alb)
    assert not is_internet_facing(internal) and not is_application(internal)
    assert [s.logical_id for s in load_balancer_subnets(q, alb)] == ["SubnetA", "SubnetB"]
    value, path = attribute(alb, "LoadBalancerAttributes", "idle_timeout.timeout_seconds")
    assert value == "30" and path == ("Properties", "LoadBalancerAttributes", 0, "Value")
    assert attribute(alb, "LoadBalancerAttributes", "deletion_protection.enabled") == (
        None,
        ("Properties", "LoadBalancerAttributes"),
    )


def test_containers_keep_their_index_and_skip_nothing() -> None:
    q = query(PATTERN)
    task = resource(q, "Task")
    (first, second) = containers(task)
    assert first == (
        0,
        {"Name": "app", "Image": "app:1", "PortMappings": [{"ContainerPort": 8080}]},
    )
    assert second == (1, {})  # not a mapping: an empty one, so a rule cannot crash on it
    assert is_windows(task)


def test_a_service_whose_task_definition_is_elsewhere_has_none() -> None:
    q = query(
        """
        Parameters:
          TaskArn: {Type: String}
        Resources:
          Service:
            Type: AWS::ECS::Service
            Properties: {TaskDefinition: !Ref TaskArn}
        """
    )
    (view,) = services(q)
    assert view.task_definition is None and view.targets == [] and view.load_balancers == []


def test_a_scalable_target_names_its_service_inside_a_sub() -> None:
    q = query(
        """
        Resources:
          Cluster: {Type: AWS::ECS::Cluster}
          Service: {Type: AWS::ECS::Service, Properties: {Cluster: !Ref Cluster}}
          Target:
            Type: AWS::ApplicationAutoScaling::ScalableTarget
            Properties:
              ResourceId: !Sub service/${Cluster}/${Service.Name}
              MinCapacity: 1
              MaxCapacity: 4
          Elsewhere:
            Type: AWS::ApplicationAutoScaling::ScalableTarget
            Properties: {ResourceId: service/other/other, MinCapacity: 1, MaxCapacity: 2}
        """
    )
    target = resource(q, "Target")
    assert [r.logical_id for r in references(target.properties["ResourceId"])] == [
        "Cluster",
        "Service",
    ]
    assert scaled_services(q, target) == [resource(q, "Service")]
    assert scaled_services(q, resource(q, "Elsewhere")) == []
