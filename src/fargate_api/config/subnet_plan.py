"""Carves the VPC range into one public and one private subnet per availability zone.

The layout follows the reference pattern: public subnets first, then private ones, all of
one size, so that the default /16 gives the reference's four /18 ranges. Users may also
list their own ranges; then overlap and containment are checked here, because AWS only
reports them half-way through a stack creation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from ipaddress import IPv4Network

# An ALB needs at least a /27 with 8 free addresses in each of its subnets, and AWS
# reserves 5 addresses per subnet, so smaller subnets cannot host this pattern.
SMALLEST_SUBNET_PREFIX = 27
# AWS accepts VPC ranges from /16 to /28.
LARGEST_VPC_PREFIX = 16
SMALLEST_VPC_PREFIX = 28


class SubnetPlanError(ValueError):
    """A subnet layout that AWS would reject or that cannot host the pattern."""


@dataclass(frozen=True)
class SubnetPlan:
    public: tuple[IPv4Network, ...]
    private: tuple[IPv4Network, ...]


def default_subnet_prefix(vpc: IPv4Network, az_count: int) -> int:
    """The largest equal subnet size that fits 2 subnets per AZ in the VPC."""
    extra_bits = math.ceil(math.log2(2 * az_count))
    return vpc.prefixlen + extra_bits


def plan_subnets(
    vpc: IPv4Network,
    az_count: int,
    subnet_prefix: int | None = None,
    public: tuple[IPv4Network, ...] = (),
    private: tuple[IPv4Network, ...] = (),
) -> SubnetPlan:
    if public or private:
        return _check_explicit(vpc, az_count, public, private)
    prefix = subnet_prefix if subnet_prefix is not None else default_subnet_prefix(vpc, az_count)
    if prefix < vpc.prefixlen:
        raise SubnetPlanError(
            f"subnet size /{prefix} is larger than the VPC range {vpc}; "
            f"use a prefix of /{vpc.prefixlen + 1} or more"
        )
    if prefix > SMALLEST_SUBNET_PREFIX:
        raise SubnetPlanError(
            f"{vpc} is too small for {az_count} AZs: each of the {2 * az_count} subnets "
            f"would be a /{prefix}, but a load balancer subnet needs at least a "
            f"/{SMALLEST_SUBNET_PREFIX}; use a larger cidr or fewer AZs"
        )
    available = 2 ** (prefix - vpc.prefixlen)
    if available < 2 * az_count:
        raise SubnetPlanError(
            f"{vpc} holds only {available} subnets of /{prefix}, but {az_count} AZs need "
            f"{2 * az_count}; use a smaller subnet_prefix or a larger cidr"
        )
    subnets = list(vpc.subnets(new_prefix=prefix))
    return SubnetPlan(
        public=tuple(subnets[:az_count]),
        private=tuple(subnets[az_count : 2 * az_count]),
    )


def _check_explicit(
    vpc: IPv4Network,
    az_count: int,
    public: tuple[IPv4Network, ...],
    private: tuple[IPv4Network, ...],
) -> SubnetPlan:
    for kind, nets in (("public_subnets", public), ("private_subnets", private)):
        if len(nets) != az_count:
            raise SubnetPlanError(
                f"{kind} lists {len(nets)} ranges but az_count is {az_count}; "
                "give one range per AZ, or leave both lists out to compute them"
            )
    named = [(f"public_subnets[{i}]", n) for i, n in enumerate(public)] + [
        (f"private_subnets[{i}]", n) for i, n in enumerate(private)
    ]
    for where, net in named:
        if not net.subnet_of(vpc):
            raise SubnetPlanError(f"{where} = {net} is not inside the VPC range {vpc}")
        if net.prefixlen > SMALLEST_SUBNET_PREFIX:
            raise SubnetPlanError(
                f"{where} = {net} is too small: use a /{SMALLEST_SUBNET_PREFIX} or larger"
            )
    for i, (where_a, a) in enumerate(named):
        for where_b, b in named[i + 1 :]:
            if a.overlaps(b):
                raise SubnetPlanError(f"{where_a} = {a} overlaps {where_b} = {b}")
    return SubnetPlan(public=public, private=private)
