"""A hand-written template set in the several-services layout, as small dicts.

parent.yml wires VpcStack, ClusterStack, LoadBalancerStack, one Service<Name>Stack per
service and (with `built`) RepositoryStack, the way `fargate-api synth` lays out
[[services]]: the stacks are NAME-vpc, NAME-cluster, NAME-load-balancer,
NAME-service-<name>, NAME-repository. Only what the AWS back-end reads is in them:
resource types, the ECS service's ServiceName (a parameter's default), outputs, wiring.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fargate_api.aws.stacks import StackPlan, plan_from_templates
from fargate_api.templates.build_specs import BuildSpec

BASE = "shop"
SERVICES = ("api", "web")


def _get(child: str, output: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [child, f"Outputs.{output}"]}


def _outputs(*names: str) -> dict[str, Any]:
    return {name: {"Value": "x"} for name in names}


def service_template(name: str, *, built: bool = False) -> dict[str, Any]:
    params: dict[str, Any] = {
        p: {"Type": "String"}
        for p in (
            "VpcId",
            "PrivateSubnetIds",
            "ClusterName",
            "ECSTaskExecutionRole",
            "ListenerArn",
            "LoadBalancerFullName",
            "ServiceSecurityGroupId",
        )
    }
    params["ServiceName"] = {"Type": "String", "Default": name}
    if built:
        params["ImageRepositoryUri"] = {"Type": "String"}
        params["ImageDigest"] = {"Type": "String"}
    return {
        "Parameters": params,
        "Resources": {
            "LogGroup": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain"},
            "TaskDefinition": {"Type": "AWS::ECS::TaskDefinition"},
            "ServiceTargetGroup": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup"},
            "ServiceListenerRule": {"Type": "AWS::ElasticLoadBalancingV2::ListenerRule"},
            "Service": {
                "Type": "AWS::ECS::Service",
                "Properties": {"ServiceName": {"Ref": "ServiceName"}},
            },
        },
        "Outputs": _outputs("ServiceName", "ServiceArn", "LogGroupName", "TargetGroupArn"),
    }


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("-"))


def templates(
    services: tuple[str, ...] = SERVICES, *, built: tuple[str, ...] = ()
) -> dict[str, dict[str, Any]]:
    """The documents by file name; `built`: the services whose image deploy builds."""
    docs: dict[str, dict[str, Any]] = {
        "vpc.yml": {
            "Resources": {
                "VPC": {"Type": "AWS::EC2::VPC"},
                "NatGatewayOneEIP": {"Type": "AWS::EC2::EIP", "DeletionPolicy": "Retain"},
            },
            "Outputs": _outputs("VpcId", "PublicSubnetIds", "PrivateSubnetIds", "NatEgressIps"),
        },
        "cluster.yml": {
            "Resources": {"ECSCluster": {"Type": "AWS::ECS::Cluster"}},
            "Outputs": _outputs("ClusterName", "ECSTaskExecutionRole"),
        },
        "load-balancer.yml": {
            "Parameters": {"VpcId": {"Type": "String"}, "PublicSubnetIds": {"Type": "String"}},
            "Resources": {
                "PublicLoadBalancer": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer"},
                "PublicLoadBalancerListener": {"Type": "AWS::ElasticLoadBalancingV2::Listener"},
            },
            "Outputs": _outputs(
                "ServiceUrl",
                "LoadBalancerDNSName",
                "ListenerArn",
                "LoadBalancerFullName",
                *(f"{camel(s)}SecurityGroupId" for s in services),
            ),
        },
    }
    resources: dict[str, Any] = {
        "VpcStack": {"Type": "AWS::Serverless::Application", "Properties": {"Location": "vpc.yml"}},
        "ClusterStack": {
            "Type": "AWS::Serverless::Application",
            "Properties": {"Location": "cluster.yml"},
        },
        "LoadBalancerStack": {
            "Type": "AWS::Serverless::Application",
            "Properties": {
                "Location": "load-balancer.yml",
                "Parameters": {
                    "VpcId": _get("VpcStack", "VpcId"),
                    "PublicSubnetIds": _get("VpcStack", "PublicSubnetIds"),
                },
            },
        },
    }
    parent_params: dict[str, Any] = {}
    for service in services:
        file = f"service-{service}.yml"
        docs[file] = service_template(service, built=service in built)
        wiring = {
            "VpcId": _get("VpcStack", "VpcId"),
            "PrivateSubnetIds": _get("VpcStack", "PrivateSubnetIds"),
            "ClusterName": _get("ClusterStack", "ClusterName"),
            "ECSTaskExecutionRole": _get("ClusterStack", "ECSTaskExecutionRole"),
            "ListenerArn": _get("LoadBalancerStack", "ListenerArn"),
            "LoadBalancerFullName": _get("LoadBalancerStack", "LoadBalancerFullName"),
            "ServiceSecurityGroupId": _get("LoadBalancerStack", f"{camel(service)}SecurityGroupId"),
        }
        if service in built:
            digest = f"ImageDigest{camel(service)}" if len(built) > 1 else "ImageDigest"
            parent_params[digest] = {"Type": "String"}
            wiring["ImageRepositoryUri"] = _get("RepositoryStack", f"{camel(service)}RepositoryUri")
            wiring["ImageDigest"] = {"Ref": digest}
        resources[f"Service{camel(service)}Stack"] = {
            "Type": "AWS::Serverless::Application",
            "Properties": {"Location": file, "Parameters": wiring},
        }
    if built:
        docs["repository.yml"] = {
            "Resources": {
                f"{camel(s)}Repository": {
                    "Type": "AWS::ECR::Repository",
                    "DeletionPolicy": "Retain",
                }
                for s in built
            },
            "Outputs": _outputs(*(f"{camel(s)}RepositoryUri" for s in built)),
        }
        resources["RepositoryStack"] = {
            "Type": "AWS::Serverless::Application",
            "Properties": {"Location": "repository.yml"},
        }
    parent: dict[str, Any] = {"Resources": resources}
    if parent_params:
        parent["Parameters"] = parent_params
    docs["parent.yml"] = parent
    return docs


def plan(
    services: tuple[str, ...] = SERVICES, *, built: tuple[str, ...] = (), base: str = BASE
) -> StackPlan:
    docs = templates(services, built=built)
    texts = {name: json.dumps(doc) for name, doc in docs.items()}
    result = plan_from_templates(base, texts, docs)
    specs = [build_spec(s) for s in built]
    return StackPlan(base=result.base, stacks=result.stacks, build_specs=specs)


def build_spec(service: str) -> BuildSpec:
    return BuildSpec(
        file=f"service-{service}.yml",
        task_definition="TaskDefinition",
        context=Path(f"/src/{service}"),
        dockerfile=Path(f"/src/{service}/Dockerfile"),
        platform="linux/amd64",
        runtime_architecture="X86_64",
        repository_parameter="ImageRepositoryUri",
        digest_parameter="ImageDigest",
    )


def outputs(role: str) -> dict[str, str]:
    """Outputs as AWS reports them for each stack of the set (account 123456789012)."""
    region, account = "eu-west-1", "123456789012"
    cluster = "shop-cluster-ECSCluster-AbC123"
    if role == "vpc":
        return {
            "VpcId": "vpc-0abc",
            "PublicSubnetIds": "subnet-p1,subnet-p2",
            "PrivateSubnetIds": "subnet-q1,subnet-q2",
            "NatEgressIps": "203.0.113.1,203.0.113.2",
        }
    if role == "cluster":
        return {"ClusterName": cluster, "ECSTaskExecutionRole": "shop-exec"}
    if role == "load-balancer":
        lb = "app/shop-lb/0123456789abcdef"
        return {
            "ServiceUrl": "http://shop-lb-1.eu-west-1.elb.amazonaws.com",
            "LoadBalancerDNSName": "shop-lb-1.eu-west-1.elb.amazonaws.com",
            "ListenerArn": f"arn:aws:elasticloadbalancing:{region}:{account}:listener/{lb}/1",
            "LoadBalancerFullName": lb,
            **{f"{camel(s)}SecurityGroupId": f"sg-{s}" for s in SERVICES},
        }
    if role == "repository":
        return {
            f"{camel(s)}RepositoryUri": f"{account}.dkr.ecr.{region}.amazonaws.com/shop-{s}"
            for s in SERVICES
        }
    service = role.removeprefix("service-")
    return {
        "ServiceName": service,
        "ServiceArn": f"arn:aws:ecs:{region}:{account}:service/{cluster}/{service}",
        "LogGroupName": f"shop-service-{service}-LogGroup-1",
        "TargetGroupArn": (
            f"arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/shop-{service}/0a"
        ),
    }
