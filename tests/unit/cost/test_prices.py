"""The bundled price table: complete, dated, sourced, shipped as package data."""

from __future__ import annotations

import re
import tomllib
from importlib import resources

import pytest

from fargate_api.cost.prices import (
    PRICE_KEYS,
    bundled_meta,
    bundled_regions,
    load_bundled,
)
from fargate_api.errors import UserError

REQUIRED_REGIONS = {"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"}


def _text() -> str:
    return resources.files("fargate_api.cost").joinpath("prices.toml").read_text("utf-8")


def test_the_table_covers_the_large_regions() -> None:
    assert set(bundled_regions()) >= REQUIRED_REGIONS


@pytest.mark.parametrize("region", sorted(REQUIRED_REGIONS))
def test_every_region_has_every_price_with_source_and_date(region: str) -> None:
    table = load_bundled(region)
    assert set(table.prices) == set(PRICE_KEYS)
    as_of, hours = bundled_meta()
    assert hours == 730
    for key, price in table.prices.items():
        assert price.usd > 0, key
        assert price.as_of == as_of
        assert "https://aws.amazon.com/" in price.source, key


def test_the_region_tables_have_no_stray_keys() -> None:
    data = tomllib.loads(_text())
    assert set(data["sources"]) == set(PRICE_KEYS)
    for region, prices in data["regions"].items():
        assert set(prices) == set(PRICE_KEYS), region


def test_the_header_says_list_prices_no_free_tier_and_how_to_refresh() -> None:
    header = _text().split("[meta]")[0]
    assert "LIST PRICES" in header
    assert "WITHOUT the free tier" in header
    assert "--live" in header
    assert "maintainer" in header
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", bundled_meta()[0])


def test_known_us_east_1_prices() -> None:
    table = load_bundled("us-east-1")
    assert table["nat_gateway_hour"].usd == 0.045
    assert table["public_ipv4_hour"].usd == 0.005
    assert table["alb_hour"].usd == 0.0225
    assert table["fargate_vcpu_hour"].usd == 0.04048


def test_spot_and_arm_are_cheaper_than_x86_on_demand() -> None:
    for region in bundled_regions():
        table = load_bundled(region)
        for dim in ("vcpu", "gb"):
            x86 = table[f"fargate_{dim}_hour"].usd
            assert table[f"fargate_arm_{dim}_hour"].usd < x86
            assert table[f"fargate_spot_{dim}_hour"].usd < x86


def test_an_unknown_region_is_a_user_error_that_suggests_live() -> None:
    with pytest.raises(UserError) as caught:
        load_bundled("mars-north-1")
    assert "mars-north-1" in caught.value.what
    assert caught.value.fix is not None and "--live" in caught.value.fix


def test_with_prices_overrides_only_the_given_keys() -> None:
    table = load_bundled("us-east-1")
    live = table["alb_hour"].__class__("alb_hour", 1.0, "AWS Price List API: x", "2026-11-25")
    merged = table.with_prices({"alb_hour": live})
    assert merged["alb_hour"].usd == 1.0
    assert merged["nat_gateway_hour"] == table["nat_gateway_hour"]
