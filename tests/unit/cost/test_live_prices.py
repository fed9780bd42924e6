"""--live: GetProducts answers (stubbed with botocore's Stubber) become priced keys.

The responses follow the Price List API's shape: PriceList is a list of JSON strings,
one per product, with the OnDemand term's price dimensions and tiers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from fargate_api.cost import command
from fargate_api.cost.live_prices import QUERIES, fetch, on_demand_usd
from fargate_api.cost.prices import PRICE_KEYS
from fargate_api.errors import UserError

CLOSED_ENDPOINT = "http://127.0.0.1:9"
TODAY = "2026-11-25"
PUBLISHED = "2026-11-20T18:04:35Z"

_SESSION = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
)


def product(
    service: str, usagetype: str, *tiers: tuple[str, str], region: str = "eu-west-1"
) -> str:
    """One PriceList entry as the API sends it: a JSON string."""
    sku = f"SKU{abs(hash((service, usagetype))) % 10**8:08d}"
    dimensions = {
        f"{sku}.JRTCKXETXF.{i}": {
            "unit": "Hrs" if "Hours" in usagetype else "GB",
            "endRange": "Inf",
            "description": f"{usd} USD per unit",
            "appliesTo": [],
            "rateCode": f"{sku}.JRTCKXETXF.{i}",
            "beginRange": begin,
            "pricePerUnit": {"USD": usd},
        }
        for i, (begin, usd) in enumerate(tiers)
    }
    return json.dumps(
        {
            "product": {
                "productFamily": "x",
                "attributes": {"usagetype": usagetype, "regionCode": region},
                "sku": sku,
            },
            "serviceCode": service,
            "terms": {
                "OnDemand": {
                    f"{sku}.JRTCKXETXF": {
                        "priceDimensions": dimensions,
                        "sku": sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20261120180435",
            "publicationDate": PUBLISHED,
        }
    )


EU_WEST_1: dict[str, list[str]] = {
    "AmazonEC2": [
        product("AmazonEC2", "EU-NatGateway-Hours", ("0", "0.0480000000")),
        product("AmazonEC2", "EU-NatGateway-Bytes", ("0", "0.0480000000")),
    ],
    "AWSELB": [
        product("AWSELB", "EU-LoadBalancerUsage", ("0", "0.0252000000")),
        product("AWSELB", "EU-LCUUsage", ("0", "0.0080000000")),
    ],
    "AmazonECS": [
        product("AmazonECS", "EU-Fargate-vCPU-Hours:perCPU", ("0", "0.0404800000")),
        product("AmazonECS", "EU-Fargate-GB-Hours", ("0", "0.0044450000")),
        product("AmazonECS", "EU-Fargate-ARM-vCPU-Hours:perCPU", ("0", "0.0323800000")),
        product("AmazonECS", "EU-Fargate-ARM-GB-Hours", ("0", "0.0035600000")),
        product("AmazonECS", "EU-Fargate-Windows-vCPU-Hours:perCPU", ("0", "0.0914800000")),
        product("AmazonECS", "EU-Fargate-EphemeralStorage-GB-Hours", ("0", "0.0001110000")),
        product("AmazonECS", "EU-SpotUsage-Fargate-vCPU-Hours:perCPU", ("0", "0.0127100000")),
        product("AmazonECS", "EU-SpotUsage-Fargate-GB-Hours", ("0", "0.0013960000")),
    ],
    "AmazonVPC": [
        product("AmazonVPC", "EU-PublicIPv4:InUseAddress", ("0", "0.0050000000")),
        product("AmazonVPC", "EU-PublicIPv4:IdleAddress", ("0", "0.0050000000")),
        product("AmazonVPC", "EU-VpcEndpoint-Hours", ("0", "0.0110000000")),
        product(
            "AmazonVPC",
            "EU-VpcEndpoint-Bytes",
            ("0", "0.0100000000"),
            ("1048576", "0.0060000000"),
        ),
    ],
    "AmazonCloudWatch": [
        product("AmazonCloudWatch", "EU-DataProcessing-Bytes", ("0", "0.5700000000")),
        product("AmazonCloudWatch", "EU-TimedStorage-ByteHrs", ("0", "0.0300000000")),
        product("AmazonCloudWatch", "EU-VendedLog-Bytes", ("0", "0.5700000000")),
    ],
    "AWSDataTransfer": [
        # The free first GB is a zero-priced tier: the list price is the next one.
        product(
            "AWSDataTransfer",
            "EU-DataTransfer-Out-Bytes",
            ("0", "0.0000000000"),
            ("1", "0.0900000000"),
            ("10240", "0.0850000000"),
        ),
    ],
}


def _expected_params(service: str, region: str, token: str | None = None) -> dict[str, Any]:
    query = next(q for q in QUERIES if q.service_code == service)
    filters = [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}]
    filters += [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in query.filters.items()]
    params: dict[str, Any] = {
        "ServiceCode": service,
        "Filters": filters,
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    if token:
        params["NextToken"] = token
    return params


@pytest.fixture
def pricing() -> Iterator[tuple[Any, Stubber]]:
    client = _SESSION.client("pricing", endpoint_url=CLOSED_ENDPOINT)
    stub = Stubber(client)
    stub.activate()
    yield client, stub
    stub.deactivate()


def _answer_all(stub: Stubber, data: dict[str, list[str]], region: str) -> None:
    for query in QUERIES:
        items = data.get(query.service_code, [])
        stub.add_response(
            "get_products",
            {"FormatVersion": "aws_v1", "PriceList": items},
            _expected_params(query.service_code, region),
        )


def test_fetch_prices_every_key_from_realistic_answers(pricing: tuple[Any, Stubber]) -> None:
    client, stub = pricing
    _answer_all(stub, EU_WEST_1, "eu-west-1")
    prices = fetch(client, "eu-west-1", TODAY)
    stub.assert_no_pending_responses()
    assert set(prices) == set(PRICE_KEYS)
    assert prices["nat_gateway_hour"].usd == 0.048
    assert prices["fargate_vcpu_hour"].usd == 0.04048  # not the Windows one
    assert prices["fargate_arm_gb_hour"].usd == 0.00356
    assert prices["fargate_spot_vcpu_hour"].usd == 0.01271
    assert prices["fargate_gb_hour"].usd == 0.004445  # not ephemeral storage
    assert prices["logs_ingest_gb"].usd == 0.57  # not vended logs
    assert prices["interface_endpoint_gb"].usd == 0.01  # the first tier
    assert prices["data_transfer_out_gb"].usd == 0.09  # the free tier is skipped
    for price in prices.values():
        assert price.as_of == "2026-11-20"
        assert price.source.startswith("AWS Price List API: GetProducts")
    assert "EU-NatGateway-Hours" in prices["nat_gateway_hour"].source


def test_fetch_follows_next_token(pricing: tuple[Any, Stubber]) -> None:
    client, stub = pricing
    first, *rest = QUERIES
    stub.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": EU_WEST_1["AmazonEC2"][:1], "NextToken": "p2"},
        _expected_params(first.service_code, "eu-west-1"),
    )
    stub.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": EU_WEST_1["AmazonEC2"][1:]},
        _expected_params(first.service_code, "eu-west-1", "p2"),
    )
    for query in rest:
        stub.add_response(
            "get_products",
            {"FormatVersion": "aws_v1", "PriceList": []},
            _expected_params(query.service_code, "eu-west-1"),
        )
    prices = fetch(client, "eu-west-1", TODAY)
    stub.assert_no_pending_responses()
    assert set(prices) == {"nat_gateway_hour", "nat_gateway_gb"}


def test_on_demand_usd_without_a_price_is_none() -> None:
    assert on_demand_usd({"terms": {}}) is None
    free = json.loads(product("AmazonVPC", "x", ("0", "0.0")))
    assert on_demand_usd(free) is None
    broken = {"terms": {"OnDemand": {"t": {"priceDimensions": {"d": {"pricePerUnit": {}}}}}}}
    assert on_demand_usd(broken) is None


def test_resolve_prices_overlays_live_on_bundled_and_notes_the_gaps(
    pricing: tuple[Any, Stubber],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client, stub = pricing
    partial = {k: v for k, v in EU_WEST_1.items() if k != "AWSDataTransfer"}
    _answer_all(stub, partial, "eu-west-1")
    monkeypatch.setattr(command, "make_pricing_client", lambda profile: client)
    table = command.resolve_prices("eu-west-1", live=True, profile=None)
    stub.assert_no_pending_responses()
    assert table["nat_gateway_hour"].source.startswith("AWS Price List API")
    assert table["data_transfer_out_gb"].source.startswith("bundled table")
    assert "data_transfer_out_gb" in capsys.readouterr().err


def test_live_for_a_region_without_bundled_prices(
    pricing: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, stub = pricing
    data = {
        service: [item.replace("eu-west-1", "eu-south-2") for item in items]
        for service, items in EU_WEST_1.items()
    }
    _answer_all(stub, data, "eu-south-2")
    monkeypatch.setattr(command, "make_pricing_client", lambda profile: client)
    table = command.resolve_prices("eu-south-2", live=True, profile=None)
    assert set(table.prices) == set(PRICE_KEYS)


def test_live_with_gaps_in_an_unbundled_region_is_a_user_error(
    pricing: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, stub = pricing
    _answer_all(stub, {}, "xx-nowhere-1")
    monkeypatch.setattr(command, "make_pricing_client", lambda profile: client)
    with pytest.raises(UserError, match="no price for"):
        command.resolve_prices("xx-nowhere-1", live=True, profile=None)


def test_access_denied_is_one_user_error(
    pricing: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, stub = pricing
    stub.add_client_error(
        "get_products", "AccessDeniedException", "not authorized to perform pricing:GetProducts"
    )
    monkeypatch.setattr(command, "make_pricing_client", lambda profile: client)
    with pytest.raises(UserError, match="not allowed to call GetProducts"):
        command.resolve_prices("eu-west-1", live=True, profile=None)


def test_no_credentials_falls_back_to_bundled_with_a_note(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(command, "make_pricing_client", lambda profile: None)
    table = command.resolve_prices("eu-west-1", live=True, profile=None)
    assert table["nat_gateway_hour"].source.startswith("bundled table")
    assert "no AWS credentials" in capsys.readouterr().err


def test_no_credentials_for_an_unbundled_region_is_a_user_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(command, "make_pricing_client", lambda profile: None)
    with pytest.raises(UserError, match="needs AWS credentials"):
        command.resolve_prices("eu-south-2", live=True, profile=None)


def test_make_pricing_client_without_credentials_is_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert command.make_pricing_client(None) is None
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = command.make_pricing_client(None)
    assert client is not None
    assert client.meta.region_name == "us-east-1"  # type: ignore[attr-defined]


def test_an_unknown_profile_is_a_user_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(UserError, match="nope"):
        command.make_pricing_client("nope")
