"""A stack's outputs, evaluated from its deployed resources when the endpoint omits them.

Real CloudFormation reports every output of a complete stack. Some compatible endpoints do
not: moto 5 completes a change set without ever computing the stack's outputs. Outputs are
a function of the template and of the deployed resources, so when a complete stack whose
template declares outputs reports none, they are evaluated here from live data: `Ref` is
the resource's physical id (DescribeStackResources), and the few `Fn::GetAtt` attributes
our outputs use are read from the owning service. Nothing is invented: an output that
needs anything else stays missing, and the caller says which.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from fargate_api.aws.cfn import StackState
from fargate_api.aws.session import Clients
from fargate_api.aws.stacks import StackSpec
from fargate_api.templates import (
    AttributeRef,
    MemoryReader,
    ResolveOptions,
    ResourceRef,
    TemplateError,
    Text,
    load_stack_set,
)

AttributeReader = Callable[[Clients, str], str | None]


def _vpc_cidr(clients: Clients, vpc_id: str) -> str | None:
    vpcs = clients.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    return vpcs[0].get("CidrBlock") if vpcs else None


def _subnet_az(clients: Clients, subnet_id: str) -> str | None:
    subnets = clients.ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
    return subnets[0].get("AvailabilityZone") if subnets else None


def _load_balancer_dns(clients: Clients, arn: str) -> str | None:
    found = clients.elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    return found[0].get("DNSName") if found else None


def _load_balancer_full_name(clients: Clients, arn: str) -> str | None:
    # arn:PARTITION:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/NAME/ID ->
    # app/NAME/ID, the LoadBalancer dimension of its metrics (AWS's definition of it).
    return arn.split(":loadbalancer/", 1)[1] if ":loadbalancer/" in arn else None


def _target_group_full_name(clients: Clients, arn: str) -> str | None:
    # ...:targetgroup/NAME/ID -> targetgroup/NAME/ID
    return "targetgroup/" + arn.split(":targetgroup/", 1)[1] if ":targetgroup/" in arn else None


def _cluster_arn(clients: Clients, name: str) -> str | None:
    clusters = clients.ecs.describe_clusters(clusters=[name])["clusters"]
    return clusters[0].get("clusterArn") if clusters else None


def _service_name(clients: Clients, arn: str) -> str | None:
    # arn:PARTITION:ecs:REGION:ACCOUNT:service/CLUSTER/NAME (or service/NAME, old format)
    return arn.rsplit("/", 1)[-1] if ":service/" in arn else None


ATTRIBUTES: dict[tuple[str, str], AttributeReader] = {
    ("AWS::EC2::VPC", "CidrBlock"): _vpc_cidr,
    ("AWS::EC2::Subnet", "AvailabilityZone"): _subnet_az,
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "DNSName"): _load_balancer_dns,
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerFullName"): (
        _load_balancer_full_name
    ),
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupFullName"): _target_group_full_name,
    ("AWS::ECS::Cluster", "Arn"): _cluster_arn,
    ("AWS::ECS::Service", "Name"): _service_name,
}


def outputs_of(clients: Clients, spec: StackSpec, state: StackState) -> dict[str, str]:
    """The stack's outputs as reported, or evaluated from its resources when none are."""
    declared = spec.document.get("Outputs") or {}
    if state.outputs or not declared or not state.status.endswith("_COMPLETE"):
        return state.outputs
    if "DELETE" in state.status or "ROLLBACK" in state.status:
        return state.outputs
    return _evaluate(clients, spec, state.name, _options(state.stack_id))


def _options(stack_id: str) -> ResolveOptions:
    """The stack's own partition, region and account, from its ARN: values the reading
    layer derives statically (an ECR repository's URI) must name the real ones."""
    parts = stack_id.split(":")
    if len(parts) < 5 or parts[0] != "arn":
        return ResolveOptions()
    partition, region, account = parts[1], parts[3], parts[4]
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return ResolveOptions(region=region, account_id=account, partition=partition, url_suffix=suffix)


def _evaluate(
    clients: Clients, spec: StackSpec, stack_name: str, options: ResolveOptions
) -> dict[str, str]:
    path = Path(spec.file)
    try:
        loaded = load_stack_set(path, reader=MemoryReader({path: spec.body}), options=options)
    except TemplateError:
        return {}
    resources = clients.cloudformation.describe_stack_resources(StackName=stack_name)
    physical = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in resources["StackResources"]
        if r.get("PhysicalResourceId")
    }
    types = spec.resource_types
    outputs: dict[str, str] = {}
    for name, output in loaded.root.outputs.items():
        value = _value(clients, output.value, physical, types)
        if value is not None:
            outputs[name] = value
    return outputs


def _value(
    clients: Clients, value: Any, physical: dict[str, str], types: dict[str, str]
) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, ResourceRef):
        return physical.get(value.logical_id)
    if isinstance(value, AttributeRef):
        reader = ATTRIBUTES.get((types.get(value.logical_id, ""), value.attribute))
        resource_id = physical.get(value.logical_id)
        if reader is None or resource_id is None:
            return None
        try:
            return reader(clients, resource_id)
        except ClientError:
            return None
    if isinstance(value, Text):
        parts = [_value(clients, part, physical, types) for part in value.parts]
        return None if any(p is None for p in parts) else "".join(p or "" for p in parts)
    if isinstance(value, list):
        items = [_value(clients, item, physical, types) for item in value]
        return None if any(i is None for i in items) else ",".join(i or "" for i in items)
    return None
