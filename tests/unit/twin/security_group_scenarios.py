"""Security groups to render as nftables scripts, shared by two tiers.

tests/unit/twin/test_security_group_rules.py reads the rendered text (pure, no
privileges); tests/twin/test_nft_syntax.py feeds the same scripts to `nft -c` (the
kernel validates them, which needs CAP_NET_ADMIN: the twin tier).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network

from fargate_api.twin.plan.model import Protocol, SecurityGroup, SecurityGroupRule

TABLE = "fa-unit-sg"
IFACE = "eth0"
LB_KEY = "ServiceStack/LoadBalancerSecurityGroup"
SVC_KEY = "ServiceStack/ServiceSecurityGroup"
ANYWHERE = IPv4Network("0.0.0.0/0")

LB = SecurityGroup(
    key=LB_KEY,
    name="lb",
    ingress=(SecurityGroupRule("tcp", 80, 80, cidr=ANYWHERE, description="HTTP from anywhere"),),
    egress=(SecurityGroupRule("tcp", 8080, 8080, group=SVC_KEY, description="to tasks"),),
)
SVC = SecurityGroup(
    key=SVC_KEY,
    name="svc",
    ingress=(SecurityGroupRule("tcp", 8080, 8080, group=LB_KEY, description="from the ALB"),),
    egress=(SecurityGroupRule("all", None, None, cidr=ANYWHERE, description="default egress"),),
)
MEMBERS: dict[str, list[IPv4Address]] = {
    LB_KEY: [IPv4Address("192.0.2.10")],
    SVC_KEY: [IPv4Address("192.0.2.12"), IPv4Address("192.0.2.11"), IPv4Address("192.0.2.11")],
}


def rule(
    protocol: Protocol = "tcp", low: int | None = 80, high: int | None = 80
) -> SecurityGroupRule:
    return SecurityGroupRule(protocol, low, high, cidr=IPv4Network("198.51.100.0/24"))


def group(
    key: str, ingress: Sequence[SecurityGroupRule] = (), egress: Sequence[SecurityGroupRule] = ()
) -> SecurityGroup:
    return SecurityGroup(key=key, name=key, ingress=tuple(ingress), egress=tuple(egress))


# Groups and members whose rendered ruleset must load: every rule shape the renderer
# knows, and descriptions that try to break out of an nft comment.
SCENARIOS: dict[str, tuple[list[SecurityGroup], Mapping[str, Sequence[IPv4Address]]]] = {
    "lb and service": ([LB, SVC], MEMBERS),
    "lb only": ([LB], MEMBERS),
    "no groups": ([], {}),
    "referenced group without members": ([SVC], {}),
    "self reference": (
        [group("S/Self", ingress=[SecurityGroupRule("all", None, None, group="S/Self")])],
        {"S/Self": [IPv4Address("192.0.2.1")]},
    ),
    "every rule shape": (
        [
            group(
                "S/Shapes",
                ingress=[
                    rule("tcp", 80, 80),
                    rule("tcp", 8000, 8100),
                    rule("tcp", None, None),
                    rule("tcp", -1, -1),
                    rule("tcp", 0, 65535),
                    rule("udp", 53, 53),
                    rule("udp", None, None),
                    rule("icmp", 8, -1),
                    rule("icmp", 3, 4),
                    rule("icmp", -1, -1),
                    rule("icmp", None, None),
                    rule("all", None, None),
                    SecurityGroupRule("tcp", 22, 22, cidr=IPv4Network("203.0.113.7/32")),
                ],
                egress=[rule("udp", 123, 123), rule("icmp", 0, 0)],
            )
        ],
        {},
    ),
    "hostile descriptions": (
        [
            group(
                'S/"Quoted" group',
                ingress=[
                    SecurityGroupRule(
                        "tcp", 443, 443, cidr=ANYWHERE, description='say "hi"; drop } # \\ é\n'
                    ),
                    SecurityGroupRule("tcp", 444, 444, cidr=ANYWHERE, description="x" * 300),
                ],
            )
        ],
        {},
    ),
}
