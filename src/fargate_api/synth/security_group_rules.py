"""Security group rule shapes shared by the templates.

Every rule carries a description (FSBP and auditors ask for one), and a group that must
send nothing by default gets the placeholder rule below, because CloudFormation keeps
the allow-all egress of a group that lists no egress rule at all.
"""

from __future__ import annotations

from typing import Any

from fargate_api.synth.intrinsics import Json

NO_EGRESS_RULE: Json = {
    "IpProtocol": "icmp",
    "FromPort": 252,
    "ToPort": 86,
    "CidrIp": "255.255.255.255/32",
    "Description": "Disallow all egress (placeholder that replaces the default rule)",
}


def tcp_rule(port: Any, description: str, **peer: Any) -> Json:
    """A single-port TCP rule; `peer` is CidrIp=…, SourceSecurityGroupId=… and the like."""
    return {
        "IpProtocol": "tcp",
        "FromPort": port,
        "ToPort": port,
        **peer,
        "Description": description,
    }
