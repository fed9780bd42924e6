"""The inventory counts what the templates create, not what the config says."""

from __future__ import annotations

import pytest

from fargate_api.cost.inventory import from_stack_set, split_tasks
from unit.cost.support import PRIVATE_IMAGE, inventory_of, stack_set_from_text


def test_default_config_counts_the_reference_shape() -> None:
    inv = inventory_of()
    assert inv.nat_gateways == 2
    assert inv.nat_eips == 2
    assert inv.other_eips == 0
    assert inv.load_balancers == 1
    assert inv.load_balancer_public_ips == 2
    assert inv.private_subnets == 2
    assert inv.interface_endpoints == ()
    (group,) = inv.tasks
    assert (group.vcpu, group.memory_gb, group.architecture) == (0.25, 0.5, "X86_64")
    assert (group.on_demand_tasks, group.spot_tasks) == (2, 0)
    kinds = sorted(g.kind for g in inv.log_groups)
    assert kinds == ["flow-logs", "other", "tasks"]
    assert inv.notes == ()


def test_single_nat_and_three_azs() -> None:
    inv = inventory_of(network={"nat": "single", "az_count": 3})
    assert (inv.nat_gateways, inv.nat_eips) == (1, 1)
    assert inv.load_balancer_public_ips == 3
    assert inv.private_subnets == 3


def test_no_nat_with_endpoints_arm_and_spot() -> None:
    inv = inventory_of(
        network={"nat": "none", "vpc_endpoints": True, "az_count": 3},
        service={"image": PRIVATE_IMAGE, "platform": "ARM64", "spot": 30, "cpu": 512,
                 "memory": 1024},
    )  # fmt: skip
    assert (inv.nat_gateways, inv.nat_eips) == (0, 0)
    assert sorted((e.service, e.subnets) for e in inv.interface_endpoints) == [
        ("ecr.api", 3),
        ("ecr.dkr", 3),
        ("logs", 3),
    ]
    (group,) = inv.tasks
    assert (group.vcpu, group.memory_gb, group.architecture) == (0.5, 1.0, "ARM64")
    # Base 1 on FARGATE, then 70:30 over the one remaining task.
    assert group.on_demand_tasks == pytest.approx(1.7)
    assert group.spot_tasks == pytest.approx(0.3)


def test_desired_count_comes_from_the_parameter_default() -> None:
    inv = inventory_of(service={"desired_count": 5})
    assert inv.tasks[0].tasks == 5


@pytest.mark.parametrize(
    ("desired", "strategy", "expected"),
    [
        (4, [], (4, 0)),
        (4, [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}], (0, 4)),
        (
            4,
            [
                {"CapacityProvider": "FARGATE", "Base": 2, "Weight": 1},
                {"CapacityProvider": "FARGATE_SPOT", "Weight": 1},
            ],
            (3, 1),
        ),
        (1, [{"CapacityProvider": "FARGATE_SPOT", "Base": 3, "Weight": 0}], (0, 1)),
        (2, [{"CapacityProvider": "FARGATE", "Weight": 0}], (2, 0)),
    ],
)
def test_split_tasks(desired: float, strategy: list[object], expected: tuple[float, float]) -> None:
    assert split_tasks(desired, strategy) == expected


HAND_WRITTEN = """
Parameters:
  Count:
    Type: Number
  Subnets:
    Type: List<AWS::EC2::Subnet::Id>
Resources:
  Ip:
    Type: AWS::EC2::EIP
  Spare:
    Type: AWS::EC2::EIP
  Nat:
    Type: AWS::EC2::NatGateway
    Properties:
      AllocationId: !GetAtt Ip.AllocationId
      SubnetId: subnet-1
  PrivateNat:
    Type: AWS::EC2::NatGateway
    Properties:
      ConnectivityType: private
      SubnetId: subnet-1
  Lb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      Subnets: !Ref Subnets
  InternalLb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      Scheme: internal
      Subnets: [subnet-1, subnet-2]
  Nlb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      Type: network
      Subnets: [subnet-1, subnet-2]
  Cluster:
    Type: AWS::ECS::Cluster
    Properties:
      DefaultCapacityProviderStrategy:
        - CapacityProvider: FARGATE_SPOT
          Weight: 1
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Cpu: "1 vCPU"
      Memory: "2 GB"
      ContainerDefinitions: []
  Service:
    Type: AWS::ECS::Service
    Properties:
      TaskDefinition: !Ref Task
      DesiredCount: !Ref Count
  Logs:
    Type: AWS::Logs::LogGroup
"""


def test_a_hand_written_set_with_unknowns_falls_back_to_stated_assumptions() -> None:
    inv = from_stack_set(stack_set_from_text(**{"t.yml": HAND_WRITTEN}))
    assert inv.nat_gateways == 2
    assert inv.nat_eips == 1  # the private NAT gateway has no public IPv4
    assert inv.other_eips == 1  # the spare EIP is billed too
    assert inv.load_balancers == 2  # the NLB is not an ALB
    assert inv.load_balancer_public_ips == 2  # unknown subnets: 2 assumed; internal has none
    (group,) = inv.tasks
    assert (group.vcpu, group.memory_gb) == (1.0, 2.0)
    assert (group.on_demand_tasks, group.spot_tasks) == (0, 1)  # cluster default: spot
    assert inv.log_groups[0].retention_days is None
    assert any("Lb: subnets unknown" in n for n in inv.notes)
    assert any("desired count unknown" in n for n in inv.notes)


def test_a_service_without_its_task_definition_is_noted_not_priced() -> None:
    text = """
Resources:
  Service:
    Type: AWS::ECS::Service
    Properties:
      TaskDefinition: arn:aws:ecs:us-east-1:123456789012:task-definition/x:1
"""
    inv = from_stack_set(stack_set_from_text(**{"t.yml": text}))
    assert inv.tasks == ()
    assert any("task definition not in the templates" in n for n in inv.notes)
