"""The egress IP guard: customers whitelist the NAT gateways' EIPs and point DNS at the ALB.

Replacing or removing an EIP changes an egress IP under someone's allow-list; replacing
the load balancer changes its DNS name. Both are refused unless the user names them in
--allow-replace. A stack policy enforces the EIP half on AWS's side as well, so another
tool's update cannot do it either.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from fargate_api.aws.changeset import Change

EIP_TYPE = "AWS::EC2::EIP"
LOAD_BALANCER_TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"


class Protected(StrEnum):
    EGRESS_IPS = "egress-ips"
    LOAD_BALANCER = "load-balancer"


@dataclass(frozen=True)
class Violation:
    stack: str
    change: Change
    protected: Protected

    def describe(self) -> str:
        what = (
            "an egress IP (EIP) your customers may whitelist"
            if self.protected is Protected.EGRESS_IPS
            else "the load balancer, whose DNS name would change"
        )
        verb = "removes" if self.change.action == "Remove" else "replaces"
        if self.change.replacement == "Conditional":
            verb = "may replace"
        return f"{self.stack}: {self.change.logical_id} {verb} {what}"


def violations(
    stack: str, changes: Sequence[Change], allowed: Collection[Protected]
) -> list[Violation]:
    found = []
    for change in changes:
        destructive = change.action == "Remove" or (change.action == "Modify" and change.replaces)
        if not destructive:
            continue
        if change.resource_type == EIP_TYPE and Protected.EGRESS_IPS not in allowed:
            found.append(Violation(stack, change, Protected.EGRESS_IPS))
        elif change.resource_type == LOAD_BALANCER_TYPE and Protected.LOAD_BALANCER not in allowed:
            found.append(Violation(stack, change, Protected.LOAD_BALANCER))
    return found


def refusal_fix(found: Sequence[Violation]) -> str:
    flags = sorted({v.protected.value for v in found})
    passes = " ".join(f"--allow-replace {flag}" for flag in flags)
    return (
        f"if you mean it, tell your customers first, then run again with {passes}; "
        "otherwise change the config so these resources stay as they are"
    )


def protects_egress_ips(resource_types: Collection[str]) -> bool:
    return EIP_TYPE in resource_types


def protecting_policy() -> str:
    """Allows every update except replacing or deleting an EIP."""
    return json.dumps(
        {
            "Statement": [
                {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": ["Update:Replace", "Update:Delete"],
                    "Principal": "*",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"ResourceType": [EIP_TYPE]}},
                },
            ]
        }
    )


def allow_all_policy() -> str:
    """Set for the one update that --allow-replace egress-ips permits, then put back."""
    return json.dumps(
        {
            "Statement": [
                {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}
            ]
        }
    )
