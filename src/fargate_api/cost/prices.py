"""Unit prices: the bundled, dated table (prices.toml) and the shape live prices share.

Every price carries its source and the date it reflects, so that each line of an
estimate can say where its number comes from and how old it is.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from fargate_api.errors import UserError

# key -> (unit, what it prices); the keys of every region in prices.toml.
PRICE_KEYS: Mapping[str, tuple[str, str]] = {
    "nat_gateway_hour": ("hour", "NAT gateway hour"),
    "nat_gateway_gb": ("GB", "NAT gateway data processed"),
    "alb_hour": ("hour", "Application Load Balancer hour"),
    "alb_lcu_hour": ("LCU-hour", "ALB load balancer capacity unit"),
    "fargate_vcpu_hour": ("vCPU-hour", "Fargate x86 vCPU"),
    "fargate_gb_hour": ("GB-hour", "Fargate x86 memory"),
    "fargate_arm_vcpu_hour": ("vCPU-hour", "Fargate ARM vCPU"),
    "fargate_arm_gb_hour": ("GB-hour", "Fargate ARM memory"),
    "fargate_spot_vcpu_hour": ("vCPU-hour", "Fargate Spot vCPU"),
    "fargate_spot_gb_hour": ("GB-hour", "Fargate Spot memory"),
    "public_ipv4_hour": ("hour", "public IPv4 address"),
    "interface_endpoint_hour": ("AZ-hour", "interface endpoint per AZ"),
    "interface_endpoint_gb": ("GB", "interface endpoint data processed"),
    "logs_ingest_gb": ("GB", "CloudWatch Logs ingestion"),
    "logs_storage_gb_month": ("GB-month", "CloudWatch Logs storage"),
    "data_transfer_out_gb": ("GB", "data transfer out to the internet"),
}
PRICE_FILE = "prices.toml"


@dataclass(frozen=True)
class Price:
    key: str
    usd: float
    source: str
    as_of: str


@dataclass(frozen=True)
class PriceTable:
    region: str
    hours_per_month: float
    prices: Mapping[str, Price]

    def __getitem__(self, key: str) -> Price:
        return self.prices[key]

    def with_prices(self, overrides: Mapping[str, Price]) -> PriceTable:
        """The table with some prices replaced (live ones over bundled ones)."""
        return PriceTable(self.region, self.hours_per_month, {**self.prices, **overrides})


def _raw_table() -> dict[str, Any]:
    text = resources.files("fargate_api.cost").joinpath(PRICE_FILE).read_text(encoding="utf-8")
    return tomllib.loads(text)


def bundled_regions() -> list[str]:
    return sorted(_raw_table()["regions"])


def bundled_meta() -> tuple[str, float]:
    """The table's date and the hours it counts per month."""
    meta = _raw_table()["meta"]
    return str(meta["as_of"]), float(meta["hours_per_month"])


def load_bundled(region: str) -> PriceTable:
    """The bundled prices of `region`; an unknown region is the user's to fix."""
    data = _raw_table()
    regions = data["regions"]
    if region not in regions:
        raise UserError(
            f"no bundled prices for region {region!r} (bundled: {', '.join(sorted(regions))})",
            where="--region",
            fix="choose a bundled region, or pass --live to fetch the region's prices from "
            "the AWS Price List API (needs AWS credentials)",
        )
    as_of, hours = bundled_meta()
    sources = data["sources"]
    prices = {
        key: Price(
            key=key,
            usd=float(regions[region][key]),
            source=f"bundled table {PRICE_FILE}: {sources[key]}",
            as_of=as_of,
        )
        for key in PRICE_KEYS
    }
    return PriceTable(region=region, hours_per_month=hours, prices=prices)


def empty_table(region: str) -> PriceTable:
    """A table for a region the bundle lacks, to be filled entirely by live prices."""
    _, hours = bundled_meta()
    return PriceTable(region=region, hours_per_month=hours, prices={})
