"""The twin's address plan: which documentation ranges play the internet, and ENI IPs.

Public addresses come from RFC 5737 documentation ranges, which are never routed on the
real internet, so that nothing the twin does can leak out even by mistake. Private
addresses come from the templates' subnets and skip what AWS reserves in every subnet
(network, router, DNS, future use, broadcast), so the IPs match what AWS would hand out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from ipaddress import IPv4Address, IPv4Network

PUBLIC_POOL = IPv4Network("198.51.100.0/24")  # EIPs, the ALB's public IPs, task public IPs
INTERNET = IPv4Network("203.0.113.0/24")  # the "internet": gateway side, client, echo
INTERNET_GATEWAY_SIDE = IPv4Address("203.0.113.1")  # the IGW's address towards the internet
INTERNET_ROUTER = IPv4Address("203.0.113.2")  # the internet namespace's own address
CLIENT_HOST = IPv4Address("203.0.113.10")  # where requests from "the internet" come from
ECHO_HOST = IPv4Address("203.0.113.20")  # the what-is-my-IP service
ECHO_PORT = 80
INTERNET_DNS = IPv4Address("203.0.113.53")  # the internet's resolver (the twin's names)
# The link between the VPC router and the internet gateway: link-local, as inside AWS.
ROUTER_IGW_LINK = IPv4Network("169.254.0.0/30")
ROUTER_SIDE = IPv4Address("169.254.0.1")
IGW_SIDE = IPv4Address("169.254.0.2")
RESERVED_LOW = 4  # network address, VPC router, DNS, reserved for future use
STATIC_PUBLIC_FIRST = 10  # EIPs and LB nodes: 198.51.100.10 onwards
TASK_PUBLIC_FIRST = 100  # tasks with AssignPublicIp: 198.51.100.100 onwards


def usable_hosts(subnet: IPv4Network) -> Iterator[IPv4Address]:
    """Addresses AWS can assign in a subnet: not the first four, not the last."""
    first = int(subnet.network_address) + RESERVED_LOW
    last = int(subnet.broadcast_address) - 1
    for value in range(first, last + 1):
        yield IPv4Address(value)


def next_free(subnet: IPv4Network, used: Iterable[IPv4Address]) -> IPv4Address | None:
    taken = set(used)
    return next((ip for ip in usable_hosts(subnet) if ip not in taken), None)


def public_address(index: int, *, first: int = STATIC_PUBLIC_FIRST) -> IPv4Address:
    value = first + index
    if value >= PUBLIC_POOL.num_addresses - 1:
        raise ValueError(f"the twin's public pool {PUBLIC_POOL} is exhausted")
    return PUBLIC_POOL.network_address + value
