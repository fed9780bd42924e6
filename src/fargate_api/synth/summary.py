"""A short account of a template set, read from the templates themselves.

It reads the rendered dicts rather than the config because the templates are the
contract: what is summarized is what would be deployed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from fargate_api.synth.intrinsics import Json


def summarize(documents: Mapping[str, Json]) -> dict[str, Any]:
    files: dict[str, Any] = {}
    for name, doc in documents.items():
        resources: Mapping[str, Json] = doc.get("Resources", {})
        counts = Counter(body["Type"] for body in resources.values())
        files[name] = {
            "resources": len(resources),
            "types": dict(sorted(counts.items())),
            "parameters": sorted(doc.get("Parameters", {})),
            "outputs": sorted(doc.get("Outputs", {})),
            "highlights": _highlights(resources),
        }
    return {"templates": files}


def _highlights(resources: Mapping[str, Json]) -> list[str]:
    notes: list[str] = []
    for logical_id, body in resources.items():
        props: Json = body.get("Properties", {})
        kind = body["Type"]
        if kind == "AWS::EC2::VPC":
            notes.append(f"VPC {props.get('CidrBlock')}")
        elif kind == "AWS::EC2::Subnet":
            notes.append(f"{logical_id} {props.get('CidrBlock')}")
        elif kind == "AWS::EC2::NatGateway":
            notes.append(f"{logical_id} in {_show(props.get('SubnetId'))}")
        elif kind == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            notes.append(f"{props.get('Scheme')} {props.get('Type')} load balancer")
        elif kind == "AWS::ElasticLoadBalancingV2::Listener":
            notes.append(f"listener {props.get('Protocol')} {props.get('Port')}")
        elif kind == "AWS::ECS::Service":
            network = props.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
            breaker = props.get("DeploymentConfiguration", {}).get("DeploymentCircuitBreaker", {})
            notes.append(
                f"service: AssignPublicIp {network.get('AssignPublicIp')}, circuit breaker "
                f"{'on' if breaker.get('Enable') else 'off'}"
            )
        elif kind == "AWS::Logs::LogGroup":
            notes.append(f"{logical_id} retention {props.get('RetentionInDays', 'never expires')}")
    return notes


def _show(value: Any) -> str:
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    return str(value)
