"""Current prices from the AWS Price List API (pricing:GetProducts), over the bundled ones.

The Price List API answers only in a few regions (us-east-1 among them) and describes
every region's products, filtered by regionCode. Each product comes back as a JSON
string; the price is the OnDemand term's first non-zero tier, so free-tier tiers are
skipped and the estimate stays a list-price one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from fargate_api.cost.prices import Price

PRICING_REGION = "us-east-1"


class PricingClient(Protocol):
    def get_products(self, **kwargs: Any) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Query:
    """One GetProducts call and how to pick each price key among its products."""

    service_code: str
    filters: Mapping[str, str]
    picks: Mapping[str, Callable[[Mapping[str, str]], bool]]


def _usage(pattern: str) -> Callable[[Mapping[str, str]], bool]:
    regex = re.compile(pattern, re.IGNORECASE)
    return lambda attributes: bool(regex.search(attributes.get("usagetype", "")))


def _fargate(kind: str, dimension: str) -> Callable[[Mapping[str, str]], bool]:
    def pick(attributes: Mapping[str, str]) -> bool:
        usage = attributes.get("usagetype", "")
        if "Fargate" not in usage or "Windows" in usage or "Ephemeral" in usage:
            return False
        is_spot = "Spot" in usage
        is_arm = "ARM" in usage
        wanted = {"x86": (False, False), "arm": (False, True), "spot": (True, False)}[kind]
        return (is_spot, is_arm) == wanted and usage.endswith(dimension)

    return pick


QUERIES: tuple[Query, ...] = (
    Query(
        "AmazonEC2",
        {"productFamily": "NAT Gateway"},
        {
            "nat_gateway_hour": _usage(r"NatGateway-Hours$"),
            "nat_gateway_gb": _usage(r"NatGateway-Bytes$"),
        },
    ),
    Query(
        "AWSELB",
        {"productFamily": "Load Balancer-Application"},
        {
            "alb_hour": _usage(r"LoadBalancerUsage$"),
            "alb_lcu_hour": _usage(r"LCUUsage$"),
        },
    ),
    Query(
        "AmazonECS",
        {"productFamily": "Compute"},
        {
            "fargate_vcpu_hour": _fargate("x86", "vCPU-Hours:perCPU"),
            "fargate_gb_hour": _fargate("x86", "GB-Hours"),
            "fargate_arm_vcpu_hour": _fargate("arm", "vCPU-Hours:perCPU"),
            "fargate_arm_gb_hour": _fargate("arm", "GB-Hours"),
            "fargate_spot_vcpu_hour": _fargate("spot", "vCPU-Hours:perCPU"),
            "fargate_spot_gb_hour": _fargate("spot", "GB-Hours"),
        },
    ),
    Query(
        "AmazonVPC",
        {},
        {
            "public_ipv4_hour": _usage(r"PublicIPv4:InUseAddress$"),
            "interface_endpoint_hour": _usage(r"VpcEndpoint-Hours$"),
            "interface_endpoint_gb": _usage(r"VpcEndpoint-Bytes$"),
        },
    ),
    Query(
        "AmazonCloudWatch",
        {},
        {
            "logs_ingest_gb": _usage(r"(^|-)DataProcessing-Bytes$"),
            "logs_storage_gb_month": _usage(r"(^|-)TimedStorage-ByteHrs$"),
        },
    ),
    Query(
        "AWSDataTransfer",
        {"transferType": "AWS Outbound", "toLocation": "External"},
        {"data_transfer_out_gb": _usage(r"DataTransfer-Out-Bytes$")},
    ),
)


def _products(client: PricingClient, query: Query, region: str) -> Iterator[dict[str, Any]]:
    filters = [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}]
    filters += [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in query.filters.items()]
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {
            "ServiceCode": query.service_code,
            "Filters": filters,
            "FormatVersion": "aws_v1",
            "MaxResults": 100,
        }
        if token:
            kwargs["NextToken"] = token
        page = client.get_products(**kwargs)
        for item in page.get("PriceList", []):
            product = json.loads(item) if isinstance(item, str) else item
            if isinstance(product, dict):
                yield product
        token = page.get("NextToken")
        if not token:
            return


def on_demand_usd(product: Mapping[str, Any]) -> float | None:
    """The first non-zero on-demand tier in USD (lowest beginRange), or None."""
    tiers: list[tuple[float, float]] = []
    for term in (product.get("terms", {}).get("OnDemand") or {}).values():
        for dimension in (term.get("priceDimensions") or {}).values():
            try:
                usd = float(dimension["pricePerUnit"]["USD"])
                begin = float(dimension.get("beginRange", "0"))
            except (KeyError, TypeError, ValueError):
                continue
            if usd > 0:
                tiers.append((begin, usd))
    return min(tiers)[1] if tiers else None


def fetch(client: PricingClient, region: str, today: str) -> dict[str, Price]:
    """Every price key the API has for `region`; missing keys are left to the caller."""
    found: dict[str, Price] = {}
    for query in QUERIES:
        for product in _products(client, query, region):
            attributes = product.get("product", {}).get("attributes", {})
            for key, pick in query.picks.items():
                if key in found or not pick(attributes):
                    continue
                usd = on_demand_usd(product)
                if usd is None:
                    continue
                published = str(product.get("publicationDate", ""))[:10] or today
                found[key] = Price(
                    key=key,
                    usd=usd,
                    source=f"AWS Price List API: GetProducts {query.service_code} "
                    f"usagetype {attributes.get('usagetype', '?')}",
                    as_of=published,
                )
    return found
