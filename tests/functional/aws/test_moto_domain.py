"""A custom domain on moto: the hosted zone found by name, passed to the service stack, the
alias record written into that zone, and the domain's URL in deploy, outputs and status.

moto 5 implements Route 53 (zones, ListHostedZonesByName, records from CloudFormation) but
has no CloudFormation model for ACM certificates; moto_launcher.py adds one that requests
the certificate from moto's ACM. So what is checked here is the wiring: lookup, parameter,
record, listener certificate, outputs. DNS validation itself (CloudFormation writing the
CNAME, ACM issuing, the wait) is not: tests/unit/aws/test_hosted_zone.py scripts it with
the Stubber and a fake clock, unverified against a real account.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functional.aws.cli import run_cli
from functional.aws.conftest import moto_client
from functional.support import variant_config

ZONE_LOOKUP = variant_config("domain-zone-lookup")
BASE = "domain-lookup-api"  # the variant's name
DOMAIN = "api.example.com"


def _create_zone(url: str, name: str, reference: str, *, private: bool = False) -> str:
    extra: dict[str, Any] = {}
    if private:
        extra = {
            "HostedZoneConfig": {"PrivateZone": True, "Comment": "private"},
            "VPC": {"VPCRegion": "us-east-1", "VPCId": "vpc-12345678"},
        }
    zone = moto_client(url, "route53").create_hosted_zone(
        Name=name, CallerReference=reference, **extra
    )
    return str(zone["HostedZone"]["Id"]).removeprefix("/hostedzone/")


def _delete_zone(url: str, zone_id: str) -> None:
    route53 = moto_client(url, "route53")
    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    changes = [
        {"Action": "DELETE", "ResourceRecordSet": r}
        for r in records
        if r["Type"] not in ("NS", "SOA")
    ]
    if changes:
        route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    route53.delete_hosted_zone(Id=zone_id)


@pytest.fixture
def example_zone(moto_url: str) -> Iterator[str]:
    """A public zone example.com beside a private api.example.com (which must be passed
    over: ACM validates through public DNS); both removed afterwards."""
    public = _create_zone(moto_url, "example.com", "domain-test-public")
    private = _create_zone(moto_url, DOMAIN, "domain-test-private", private=True)
    yield public
    _delete_zone(moto_url, private)
    _delete_zone(moto_url, public)


def _records(url: str, zone_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    records = moto_client(url, "route53").list_resource_record_sets(HostedZoneId=zone_id)
    return {(r["Name"].rstrip("."), r["Type"]): r for r in records["ResourceRecordSets"]}


def _parameters(url: str, stack: str) -> dict[str, str]:
    found = moto_client(url, "cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in found["Parameters"]}


def test_the_zone_is_found_by_name_and_the_domain_is_served(
    moto_url: str, tmp_path: Path, example_zone: str
) -> None:
    config = str(ZONE_LOOKUP)
    first = run_cli(tmp_path, "deploy", "-c", config, "--yes", "--json", endpoint=moto_url)
    assert first.code == 0, first.explain()
    assert f"hosted zone of {DOMAIN}: example.com ({example_zone}), found by name" in (first.stderr)
    data = first.json()
    assert data["url"] == f"https://{DOMAIN}"
    assert _parameters(moto_url, f"{BASE}-service")["HostedZoneId"] == example_zone

    # The alias record went into the zone found, pointing at the load balancer.
    record = _records(moto_url, example_zone)[(DOMAIN, "A")]
    assert record["AliasTarget"]["DNSName"] == data["load_balancer_dns"]
    # The HTTPS listener presents the stack's own certificate, for the domain.
    elbv2 = moto_client(moto_url, "elbv2")
    (balancer,) = [
        lb
        for lb in elbv2.describe_load_balancers()["LoadBalancers"]
        if lb["DNSName"] == data["load_balancer_dns"]
    ]
    listeners = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    (https,) = [x for x in listeners if x["Protocol"] == "HTTPS"]
    arn = https["Certificates"][0]["CertificateArn"]
    certificate = moto_client(moto_url, "acm").describe_certificate(CertificateArn=arn)
    assert certificate["Certificate"]["DomainName"] == DOMAIN

    outputs = run_cli(tmp_path, "outputs", "-c", config, "--json", endpoint=moto_url)
    assert outputs.code == 0, outputs.explain()
    assert outputs.json()["url"] == f"https://{DOMAIN}"
    service_outputs = next(s for s in outputs.json()["stacks"] if s["role"] == "service")
    assert service_outputs["outputs"]["DomainName"] == DOMAIN
    status = run_cli(tmp_path, "status", "-c", config, endpoint=moto_url)
    assert status.code == 0, status.explain()
    assert f"url: https://{DOMAIN}" in status.stdout

    diff = run_cli(tmp_path, "diff", "-c", config, "--json", endpoint=moto_url)
    assert diff.code == 0, diff.explain()
    stacks = diff.json()["stacks"]
    assert [s["changes"] for s in stacks] == [[], [], []]
    assert all(s["images"] == [] for s in stacks)  # the zone is not an image

    again = run_cli(tmp_path, "deploy", "-c", config, "--yes", "--json", endpoint=moto_url)
    assert again.code == 0, again.explain()
    assert again.json()["changed"] is False

    gone = run_cli(tmp_path, "destroy", "-c", config, "--yes", endpoint=moto_url)
    assert gone.code == 0, gone.explain()
    assert (DOMAIN, "A") not in _records(moto_url, example_zone)


def test_without_a_zone_deploy_stops_before_touching_anything(
    moto_url: str, tmp_path: Path
) -> None:
    (tmp_path / "c.toml").write_text(
        'name = "no-zone"\n[load_balancer]\ndomain = "api.nozone.example.org"\n',
        encoding="utf-8",
    )
    for command in (("deploy", "--yes"), ("diff",)):
        run = run_cli(tmp_path, *command, "-c", "c.toml", endpoint=moto_url)
        assert run.code == 2, run.explain()
        assert "no public Route 53 hosted zone in this account holds api.nozone.example.org" in (
            run.stderr
        )
        assert "load_balancer.hosted_zone_id" in run.stderr
        assert "Traceback" not in run.stderr
    stacks = moto_client(moto_url, "cloudformation").list_stacks()["StackSummaries"]
    assert not [s for s in stacks if s["StackName"].startswith("no-zone-")]


def test_several_zones_of_the_name_are_listed(moto_url: str, tmp_path: Path) -> None:
    zones = [_create_zone(moto_url, "twice.example.net", f"twice-{n}") for n in (1, 2)]
    try:
        (tmp_path / "c.toml").write_text(
            'name = "twice"\n[load_balancer]\ndomain = "api.twice.example.net"\n',
            encoding="utf-8",
        )
        run = run_cli(tmp_path, "deploy", "-c", "c.toml", "--yes", endpoint=moto_url)
        assert run.code == 2, run.explain()
        assert "2 public Route 53 hosted zones are named twice.example.net" in run.stderr
        assert all(zone in run.stderr for zone in zones)
    finally:
        for zone in zones:
            _delete_zone(moto_url, zone)


def test_a_configured_zone_is_not_looked_up(moto_url: str, tmp_path: Path) -> None:
    diff = run_cli(
        tmp_path, "diff", "-c", str(variant_config("domain")), "--json", endpoint=moto_url
    )
    assert diff.code == 0, diff.explain()
    assert "found by name" not in diff.stderr
    assert all(s["new"] for s in diff.json()["stacks"])
