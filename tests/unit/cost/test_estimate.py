"""Line items: each priced from the table, with its source and date, adding up."""

from __future__ import annotations

import pytest

from fargate_api.cost.estimate import Assumptions, estimate
from fargate_api.cost.inventory import TaskGroup
from fargate_api.cost.prices import load_bundled
from fargate_api.cost.variants import cheaper_variants, single_nat
from unit.cost.support import PRIVATE_IMAGE, inventory_of

US = load_bundled("us-east-1")


def _line(result: object, key: str) -> float:
    lines = [line for line in result.lines if line.price_key == key]  # type: ignore[attr-defined]
    return sum(line.quantity for line in lines)


def test_default_estimate_has_every_category_with_source_and_date() -> None:
    result = estimate(inventory_of(), US, Assumptions())
    categories = {line.category for line in result.lines}
    assert categories == {
        "NAT gateway",
        "Load balancer",
        "Fargate x86",
        "Public IPv4",
        "CloudWatch Logs",
        "Data transfer",
    }
    for line in result.lines:
        assert line.source and line.as_of
        assert line.monthly == pytest.approx(line.quantity * line.unit_price)
    assert result.total == pytest.approx(sum(line.monthly for line in result.lines))


def test_default_quantities() -> None:
    result = estimate(inventory_of(), US, Assumptions(traffic_gb=50, egress_gb=7))
    assert _line(result, "nat_gateway_hour") == 2 * 730
    assert _line(result, "nat_gateway_gb") == 7
    assert _line(result, "alb_hour") == 730
    assert _line(result, "public_ipv4_hour") == 4 * 730  # 2 NAT EIPs + 2 ALB addresses
    assert _line(result, "fargate_vcpu_hour") == 2 * 0.25 * 730
    assert _line(result, "fargate_gb_hour") == 2 * 0.5 * 730
    assert _line(result, "data_transfer_out_gb") == 50
    assert _line(result, "logs_ingest_gb") == 5 + 2  # tasks + flow logs


def test_single_nat_is_cheaper_by_exactly_one_nat_and_its_eip() -> None:
    inv = inventory_of()
    single = single_nat(inv)
    assert single is not None
    per_az = estimate(inv, US, Assumptions()).total
    cheaper = estimate(single, US, Assumptions()).total
    expected = 1 * 730 * US["nat_gateway_hour"].usd + 1 * 730 * US["public_ipv4_hour"].usd
    assert per_az - cheaper == pytest.approx(expected, abs=1e-9)
    assert per_az - cheaper == pytest.approx(36.5, abs=1e-9)


def test_the_synthesized_single_nat_config_matches_the_variant() -> None:
    """The variant predicts what the real single-NAT templates cost."""
    variant = single_nat(inventory_of())
    assert variant is not None
    real = inventory_of(network={"nat": "single"})
    assert estimate(variant, US, Assumptions()).total == pytest.approx(
        estimate(real, US, Assumptions()).total
    )


def test_lcus_grow_with_traffic() -> None:
    light = estimate(inventory_of(), US, Assumptions(traffic_gb=10, lcus=1))
    heavy = estimate(inventory_of(), US, Assumptions(traffic_gb=7300, lcus=1))
    assert _line(light, "alb_lcu_hour") == 730
    assert _line(heavy, "alb_lcu_hour") == pytest.approx(10 * 730)


def test_endpoints_take_the_egress_instead_of_the_nat() -> None:
    inv = inventory_of(
        network={"nat": "none", "vpc_endpoints": True}, service={"image": PRIVATE_IMAGE}
    )
    result = estimate(inv, US, Assumptions(egress_gb=11))
    assert _line(result, "nat_gateway_hour") == 0
    assert _line(result, "interface_endpoint_hour") == 3 * 2 * 730
    assert _line(result, "interface_endpoint_gb") == 11
    assert _line(result, "public_ipv4_hour") == 2 * 730  # only the ALB's


def test_logs_storage_follows_retention() -> None:
    result = estimate(inventory_of(service={"log_retention_days": 365}), US, Assumptions())
    storage = [x for x in result.lines if x.price_key == "logs_storage_gb_month"]
    tasks = next(x for x in storage if x.item.startswith("LogGroup:"))
    assert tasks.quantity == pytest.approx(5 * 365 / 30.4)


def test_arm_spot_is_priced_on_demand_with_a_note() -> None:
    inv = inventory_of()
    group = TaskGroup("Service", 1, 2, "ARM64", on_demand_tasks=1, spot_tasks=1)
    result = estimate(inv.evolve(tasks=(group,)), US, Assumptions())
    assert _line(result, "fargate_arm_vcpu_hour") == 2 * 730
    assert _line(result, "fargate_spot_vcpu_hour") == 0
    assert any("Fargate Spot does not run ARM64" in n for n in result.notes)


def test_zero_usage_adds_no_usage_lines() -> None:
    zero = Assumptions(traffic_gb=0, egress_gb=0, log_gb=0, flow_log_gb=0, lcus=0)
    result = estimate(inventory_of(), US, zero)
    keys = {line.price_key for line in result.lines}
    assert keys == {"nat_gateway_hour", "alb_hour", "fargate_vcpu_hour", "fargate_gb_hour",
                    "public_ipv4_hour"}  # fmt: skip


def test_region_prices_change_the_total() -> None:
    inv = inventory_of()
    assert (
        estimate(inv, load_bundled("ap-southeast-2"), Assumptions()).total
        > estimate(inv, US, Assumptions()).total
    )


def test_variants_are_cheaper_and_sorted() -> None:
    inv = inventory_of()
    base = estimate(inv, US, Assumptions()).total
    variants = cheaper_variants(inv, US, Assumptions())
    assert variants[0].name == "single NAT gateway"
    totals = [v.estimate.total for v in variants]
    assert totals == sorted(totals)
    assert all(t < base for t in totals)
