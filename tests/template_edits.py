"""Edits both the unit and the twin tier make to synthesized templates, written once.

Synth writes only internet-facing load balancers; the tests of internal ones add an
internal ALB beside it, in the private subnets, with one listener answering a fixed
response, so that reachability (twin tier) and planning (unit tier) see the same thing.
"""

from __future__ import annotations

from typing import Any

INTERNAL_PORT = 8080


def add_internal_load_balancer(
    resources: dict[str, Any], *, security_group: dict[str, Any], body: str
) -> None:
    """InternalLoadBalancer (Scheme internal, subnets PrivateSubnetIds) and its
    InternalListener on INTERNAL_PORT answering 200 `body`, into service.yml's
    `resources`; `security_group` is the balancer's SecurityGroups entry (a Ref)."""
    resources["InternalLoadBalancer"] = {
        "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "Properties": {
            "Scheme": "internal",
            "Subnets": {"Ref": "PrivateSubnetIds"},
            "SecurityGroups": [security_group],
        },
    }
    resources["InternalListener"] = {
        "Type": "AWS::ElasticLoadBalancingV2::Listener",
        "Properties": {
            "LoadBalancerArn": {"Ref": "InternalLoadBalancer"},
            "Port": INTERNAL_PORT,
            "Protocol": "HTTP",
            "DefaultActions": [
                {
                    "Type": "fixed-response",
                    "FixedResponseConfig": {
                        "StatusCode": "200",
                        "ContentType": "text/plain",
                        "MessageBody": body,
                    },
                }
            ],
        },
    }
