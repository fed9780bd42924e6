"""The VPC range is carved into equal, disjoint public and private subnets, one per AZ."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fargate_api.config.model import NetworkConfig
from fargate_api.config.subnet_plan import (
    SMALLEST_SUBNET_PREFIX,
    SubnetPlan,
    SubnetPlanError,
    default_subnet_prefix,
    plan_subnets,
)

VPC = IPv4Network("10.0.0.0/16")


def nets(*cidrs: str) -> tuple[IPv4Network, ...]:
    return tuple(IPv4Network(c) for c in cidrs)


def assert_sound(plan: SubnetPlan, vpc: IPv4Network, az_count: int) -> None:
    assert len(plan.public) == len(plan.private) == az_count
    every = plan.public + plan.private
    for i, subnet in enumerate(every):
        assert subnet.subnet_of(vpc), f"{subnet} is outside {vpc}"
        assert subnet.prefixlen <= SMALLEST_SUBNET_PREFIX
        for other in every[i + 1 :]:
            assert not subnet.overlaps(other), f"{subnet} overlaps {other}"


@pytest.mark.parametrize(("az_count", "prefix"), [(2, 18), (3, 19), (4, 19), (5, 20), (6, 20)])
def test_computed_size_on_a_slash_16(az_count: int, prefix: int) -> None:
    assert default_subnet_prefix(VPC, az_count) == prefix
    plan = plan_subnets(VPC, az_count)
    assert {n.prefixlen for n in plan.public + plan.private} == {prefix}
    assert_sound(plan, VPC, az_count)


def test_two_azs_give_the_reference_ranges() -> None:
    plan = plan_subnets(VPC, 2)
    assert plan.public == nets("10.0.0.0/18", "10.0.64.0/18")
    assert plan.private == nets("10.0.128.0/18", "10.0.192.0/18")


def test_three_azs_give_slash_19s_public_first() -> None:
    plan = plan_subnets(VPC, 3)
    assert plan.public == nets("10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19")
    assert plan.private == nets("10.0.96.0/19", "10.0.128.0/19", "10.0.160.0/19")


def test_six_azs_on_a_slash_20() -> None:
    vpc = IPv4Network("172.16.0.0/20")
    plan = plan_subnets(vpc, 6)
    assert {n.prefixlen for n in plan.public + plan.private} == {24}
    assert plan.public[0] == IPv4Network("172.16.0.0/24")
    assert plan.private[-1] == IPv4Network("172.16.11.0/24")
    assert_sound(plan, vpc, 6)


def test_prefix_override() -> None:
    plan = plan_subnets(VPC, 2, subnet_prefix=24)
    assert plan.public == nets("10.0.0.0/24", "10.0.1.0/24")
    assert plan.private == nets("10.0.2.0/24", "10.0.3.0/24")


def test_prefix_override_through_the_model() -> None:
    plan = NetworkConfig(az_count=3, subnet_prefix=20).subnet_plan()
    assert {n.prefixlen for n in plan.public + plan.private} == {20}
    assert plan.private[-1] == IPv4Network("10.0.80.0/20")


@pytest.mark.parametrize(
    ("vpc", "az_count", "prefix", "says"),
    [
        ("10.0.0.0/16", 3, 18, "holds only 4 subnets of /18"),
        ("10.0.0.0/16", 2, 17, "holds only 2 subnets of /17"),
        ("10.0.0.0/20", 2, 19, "larger than the VPC range"),
        ("10.0.0.0/16", 2, 28, "at least a /27"),
        ("10.0.0.0/26", 2, None, "too small for 2 AZs"),
        ("10.0.0.0/24", 6, None, "too small for 6 AZs"),
    ],
)
def test_plans_that_cannot_work(vpc: str, az_count: int, prefix: int | None, says: str) -> None:
    with pytest.raises(SubnetPlanError, match=says):
        plan_subnets(IPv4Network(vpc), az_count, prefix)


def test_smallest_vpc_that_fits() -> None:
    plan = plan_subnets(IPv4Network("10.0.0.0/25"), 2, 27)
    assert_sound(plan, IPv4Network("10.0.0.0/25"), 2)
    assert plan_subnets(IPv4Network("10.0.0.0/24"), 2).public[0].prefixlen == 26


def test_explicit_subnets_are_kept_as_given() -> None:
    public = nets("10.0.1.0/24", "10.0.0.0/24")
    private = nets("10.0.128.0/20", "10.0.64.0/20")
    plan = plan_subnets(VPC, 2, None, public, private)
    assert plan == SubnetPlan(public=public, private=private)


@pytest.mark.parametrize(
    ("public", "private", "says"),
    [
        (("10.0.0.0/18", "10.0.32.0/19"), ("10.0.128.0/18", "10.0.192.0/18"), "overlaps"),
        (("10.0.0.0/18", "10.0.64.0/18"), ("10.0.0.0/24", "10.0.192.0/18"), "overlaps"),
        (("10.0.0.0/18", "10.0.64.0/18"), ("10.0.0.0/18", "10.0.192.0/18"), "overlaps"),
        (("10.1.0.0/18", "10.0.64.0/18"), ("10.0.128.0/18", "10.0.192.0/18"), "not inside"),
        (("10.0.0.0/15", "10.0.64.0/18"), ("10.0.128.0/18", "10.0.192.0/18"), "not inside"),
        (("10.0.0.0/28", "10.0.64.0/18"), ("10.0.128.0/18", "10.0.192.0/18"), "too small"),
        (("10.0.0.0/18",), ("10.0.128.0/18", "10.0.192.0/18"), "public_subnets lists 1"),
        (("10.0.0.0/18", "10.0.64.0/18"), (), "private_subnets lists 0"),
    ],
)
def test_explicit_subnets_that_cannot_work(
    public: tuple[str, ...], private: tuple[str, ...], says: str
) -> None:
    with pytest.raises(SubnetPlanError, match=says):
        plan_subnets(VPC, 2, None, nets(*public), nets(*private))


@settings(max_examples=300, deadline=None, database=None)
@given(
    base=st.integers(0, 2**32 - 1),
    vpc_prefix=st.integers(16, 28),
    az_count=st.integers(2, 6),
    subnet_prefix=st.none() | st.integers(16, 30),
)
def test_any_plan_is_sound_or_refused(
    base: int, vpc_prefix: int, az_count: int, subnet_prefix: int | None
) -> None:
    vpc = IPv4Network((base, vpc_prefix), strict=False)
    size = subnet_prefix if subnet_prefix is not None else default_subnet_prefix(vpc, az_count)
    fits = vpc.prefixlen <= size <= SMALLEST_SUBNET_PREFIX and 2 ** (size - vpc.prefixlen) >= (
        2 * az_count
    )
    try:
        plan = plan_subnets(vpc, az_count, subnet_prefix)
    except SubnetPlanError as exc:
        assert str(exc)
        assert not fits, f"refused a plan that fits: {vpc}, {az_count} AZs, /{size}"
        return
    assert fits, f"accepted a plan that cannot fit: {vpc}, {az_count} AZs, /{size}"
    assert_sound(plan, vpc, az_count)
    assert {n.prefixlen for n in plan.public + plan.private} == {size}
    # The computed size is the largest that fits: one bit less would not hold 2 per AZ.
    if subnet_prefix is None:
        assert 2 ** (size - 1 - vpc.prefixlen) < 2 * az_count
