"""Which cheaper variants apply, what they change, and what each gives up."""

from __future__ import annotations

from fargate_api.cost.estimate import Assumptions
from fargate_api.cost.inventory import TaskGroup
from fargate_api.cost.prices import load_bundled
from fargate_api.cost.variants import arm, cheaper_variants, no_nat, single_nat, spot_share
from unit.cost.support import PRIVATE_IMAGE, inventory_of

US = load_bundled("us-east-1")


def _names(**sections: object) -> list[str]:
    return [v.name for v in cheaper_variants(inventory_of(**sections), US, Assumptions())]


def test_default_offers_all_four_with_trade_offs() -> None:
    variants = cheaper_variants(inventory_of(), US, Assumptions())
    by_name = {v.name: v for v in variants}
    assert set(by_name) == {
        "single NAT gateway",
        "no NAT, VPC endpoints",
        "ARM (Graviton) tasks",
        "50% of tasks on Fargate Spot",
    }
    assert "AZ failure domain" in by_name["single NAT gateway"].trade_off
    assert "private ECR" in by_name["no NAT, VPC endpoints"].trade_off
    assert "multi-arch" in by_name["ARM (Graviton) tasks"].trade_off
    assert "2-minute notice" in by_name["50% of tasks on Fargate Spot"].trade_off


def test_single_nat_config_is_not_offered_single_nat_again() -> None:
    assert "single NAT gateway" not in _names(network={"nat": "single"})
    assert single_nat(inventory_of(network={"nat": "single"})) is None


def test_no_nat_config_gets_neither_nat_variant() -> None:
    names = _names(network={"nat": "none", "vpc_endpoints": True}, service={"image": PRIVATE_IMAGE})
    assert "single NAT gateway" not in names
    assert "no NAT, VPC endpoints" not in names


def test_no_nat_adds_the_three_endpoints_per_private_subnet_once() -> None:
    changed = no_nat(inventory_of(network={"az_count": 3}))
    assert changed is not None
    assert (changed.nat_gateways, changed.nat_eips) == (0, 0)
    assert sorted(e.service for e in changed.interface_endpoints) == ["ecr.api", "ecr.dkr", "logs"]
    assert {e.subnets for e in changed.interface_endpoints} == {3}
    with_endpoints = no_nat(inventory_of(network={"vpc_endpoints": True}))
    assert with_endpoints is not None
    assert len(with_endpoints.interface_endpoints) == 3  # already there: not added twice


def test_arm_config_gets_no_arm_or_spot_variant() -> None:
    inv = inventory_of(service={"platform": "ARM64"})
    assert arm(inv) is None
    assert spot_share(inv) is None


def test_spot_variant_sets_half_the_tasks_on_spot() -> None:
    changed = spot_share(inventory_of(service={"desired_count": 4}))
    assert changed is not None
    (group,) = changed.tasks
    assert (group.on_demand_tasks, group.spot_tasks) == (2, 2)
    half = TaskGroup("Service", 0.25, 0.5, "X86_64", on_demand_tasks=1, spot_tasks=1)
    assert spot_share(inventory_of().evolve(tasks=(half,))) is None


def test_a_variant_that_costs_more_is_not_offered() -> None:
    # With a lot of egress, endpoints' per-GB fees stay below the NAT's; with tiny NAT
    # prices, the endpoint hours make "no NAT" the dearer one.
    cheap_nat = US.with_prices(
        {"nat_gateway_hour": US["nat_gateway_hour"].__class__("nat_gateway_hour", 0.0001, "t", "t")}
    )
    names = [v.name for v in cheaper_variants(inventory_of(), cheap_nat, Assumptions())]
    assert "no NAT, VPC endpoints" not in names
