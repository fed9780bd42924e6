"""load_balancer.domain in the synth: certificate, records, URL, parameter and Metadata."""

from __future__ import annotations

from typing import Any

import pytest

from fargate_api.config import Config, parse_config
from fargate_api.synth.alb import load_balancer_url
from fargate_api.synth.domain import (
    add_certificate,
    add_domain_parameter,
    add_domain_records,
    alternative_names,
    service_hosts_in_zone,
)
from fargate_api.synth.template import Template
from unit.support import synth_dicts
from unit.variants import CERTIFICATE, VARIANTS

ZONE = "Z0123456789ABCDEFGHIJ"
LB = "PublicLoadBalancer"


def _config(text: str) -> Config:
    return parse_config(text, source="test.toml")


def _service(variant: str) -> dict[str, Any]:
    return synth_dicts(_config(VARIANTS[variant]))["service.yml"]


def _services(*hosts: tuple[str, ...], domain: str = "api.example.com") -> Config:
    """[[services]], one per tuple of hosts (the last one catches every other path)."""
    text = f'[load_balancer]\ndomain = "{domain}"\n'
    for index, names in enumerate(hosts):
        listed = ", ".join(f'"{h}"' for h in names)
        text += f'\n[[services]]\nname = "s{index}"\nhosts = [{listed}]\n'
    text += '\n[[services]]\nname = "rest"\npaths = ["/*"]\n'
    return _config(text)


def _template_with_load_balancer(ip_type: str = "ipv4") -> Template:
    t = Template(description="test")
    t.add(LB, "AWS::ElasticLoadBalancingV2::LoadBalancer", {"IpAddressType": ip_type})
    return t


def test_the_domain_variant_requests_a_certificate_validated_in_the_zone() -> None:
    service = _service("domain")
    resources = service["Resources"]
    certificate = resources["Certificate"]
    assert certificate["Type"] == "AWS::CertificateManager::Certificate"
    assert certificate["Properties"] == {
        "DomainName": "api.example.com",
        "ValidationMethod": "DNS",
        "DomainValidationOptions": [
            {"DomainName": "api.example.com", "HostedZoneId": {"Ref": "HostedZoneId"}}
        ],
    }
    https = resources["PublicLoadBalancerHttpsListener"]["Properties"]
    assert https["Certificates"] == [{"CertificateArn": {"Ref": "Certificate"}}]
    assert https["Port"] == 443
    redirect = resources["PublicLoadBalancerListener"]["Properties"]["DefaultActions"][0]
    assert redirect["Type"] == "redirect" and redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    record = resources["DomainRecord"]
    assert record["Type"] == "AWS::Route53::RecordSet"
    assert record["Properties"] == {
        "HostedZoneId": {"Ref": "HostedZoneId"},
        "Name": "api.example.com",
        "Type": "A",
        "AliasTarget": {
            "DNSName": {"Fn::GetAtt": [LB, "DNSName"]},
            "HostedZoneId": {"Fn::GetAtt": [LB, "CanonicalHostedZoneID"]},
            "EvaluateTargetHealth": True,
        },
    }
    # The ALB is IPv4 only: no AAAA record.
    kinds = [r["Properties"]["Type"] for r in resources.values() if "RecordSet" in r["Type"]]
    assert kinds == ["A"]
    outputs = service["Outputs"]
    assert outputs["ServiceUrl"]["Value"] == "https://api.example.com"
    assert outputs["DomainName"]["Value"] == "api.example.com"


def test_the_zone_parameter_and_metadata_tell_deploy_what_to_look_up() -> None:
    known, lookup = _service("domain"), _service("domain-zone-lookup")
    assert known["Parameters"]["HostedZoneId"]["Default"] == ZONE
    assert "Default" not in lookup["Parameters"]["HostedZoneId"]
    for service in (known, lookup):
        assert service["Metadata"] == {
            "fargate-api": {
                "domain": {"name": "api.example.com", "hosted_zone_parameter": "HostedZoneId"}
            }
        }
    parents = [
        synth_dicts(_config(VARIANTS[v]))["parent.yml"] for v in ("domain", "domain-zone-lookup")
    ]
    for parent in parents:
        wiring = parent["Resources"]["ServiceStack"]["Properties"]["Parameters"]
        assert wiring["HostedZoneId"] == {"Ref": "HostedZoneId"}
    assert parents[0]["Parameters"]["HostedZoneId"]["Default"] == ZONE
    assert "Default" not in parents[1]["Parameters"]["HostedZoneId"]


def test_without_a_domain_nothing_of_it_is_written() -> None:
    for variant in ("default", "https"):
        service = _service(variant)
        assert "Metadata" not in service and "HostedZoneId" not in service["Parameters"]
        types = {r["Type"] for r in service["Resources"].values()}
        assert not {"AWS::CertificateManager::Certificate", "AWS::Route53::RecordSet"} & types
        assert "DomainName" not in service["Outputs"]


def test_a_domain_with_a_certificate_arn_uses_that_certificate() -> None:
    service = synth_dicts(
        _config(
            f'[load_balancer]\ndomain = "api.example.com"\ncertificate_arn = "{CERTIFICATE}"\n'
            "https_port = 8443\n"
        )
    )["service.yml"]
    resources = service["Resources"]
    assert "Certificate" not in resources
    https = resources["PublicLoadBalancerHttpsListener"]["Properties"]
    assert https["Certificates"] == [{"CertificateArn": CERTIFICATE}]
    assert "DomainRecord" in resources
    assert service["Outputs"]["ServiceUrl"]["Value"] == "https://api.example.com:8443"


def test_services_hosts_become_names_of_the_certificate_and_records_in_the_zone() -> None:
    # A host pattern (api-?.example.com) or one outside the zone (other.org) is refused by
    # the config (tests/unit/test_config_services.py) before it could reach the synth.
    config = _services(
        ("admin.example.com",),
        ("api.example.com", "v2.api.example.com"),
        ("*.example.com",),  # last: an ALB's * spans dots, so it would shadow the others
    )
    assert alternative_names(config) == [
        "admin.example.com",
        "v2.api.example.com",
        "*.example.com",
    ]  # the domain itself once
    assert service_hosts_in_zone(config) == ["admin.example.com", "v2.api.example.com"]
    t = _template_with_load_balancer()
    add_domain_parameter(t, config)
    assert add_certificate(t, config) == {"Ref": "Certificate"}
    body = t.resources["Certificate"]["Properties"]
    assert body["SubjectAlternativeNames"] == alternative_names(config)
    assert [o["DomainName"] for o in body["DomainValidationOptions"]] == [
        "api.example.com",
        *alternative_names(config),
    ]
    assert all(
        o["HostedZoneId"] == {"Ref": "HostedZoneId"} for o in body["DomainValidationOptions"]
    )
    add_domain_records(t, config, LB)
    records = {
        lid: r["Properties"]["Name"]
        for lid, r in t.resources.items()
        if r["Type"] == "AWS::Route53::RecordSet"
    }
    assert records == {
        "DomainRecord": "api.example.com",
        "HostRecordAdminExampleCom": "admin.example.com",
        "HostRecordV2ApiExampleCom": "v2.api.example.com",
    }


def test_record_ids_stay_distinct_when_hosts_read_alike() -> None:
    config = _services(("a-b.example.com", "a.b.example.com"), domain="example.com")
    t = _template_with_load_balancer()
    add_domain_records(t, config, LB)
    assert {"HostRecordABExampleCom", "HostRecordABExampleCom2"} <= set(t.resources)


def test_a_dualstack_load_balancer_gets_aaaa_records_too() -> None:
    config = _services(("admin.example.com",))
    t = _template_with_load_balancer("dualstack")
    add_domain_records(t, config, LB)
    kinds = sorted(
        (r["Properties"]["Name"], r["Properties"]["Type"])
        for r in t.resources.values()
        if r["Type"] == "AWS::Route53::RecordSet"
    )
    assert kinds == [
        ("admin.example.com", "A"),
        ("admin.example.com", "AAAA"),
        ("api.example.com", "A"),
        ("api.example.com", "AAAA"),
    ]


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("", {"Fn::Sub": "http://${PublicLoadBalancer.DNSName}"}),
        (
            "[load_balancer]\nhttp_port = 8080\n",
            {"Fn::Sub": "http://${PublicLoadBalancer.DNSName}:8080"},
        ),
        (
            f'[load_balancer]\ncertificate_arn = "{CERTIFICATE}"\n',
            {"Fn::Sub": "https://${PublicLoadBalancer.DNSName}"},
        ),
        ('[load_balancer]\ndomain = "api.example.com"\n', "https://api.example.com"),
        (
            '[load_balancer]\ndomain = "api.example.com"\nhttps_port = 8443\n',
            "https://api.example.com:8443",
        ),
    ],
)
def test_public_url(text: str, url: object) -> None:
    assert load_balancer_url(_config(text)) == url


def test_the_test_listener_url_names_the_domain_its_certificate_covers() -> None:
    service = synth_dicts(
        _config(
            '[load_balancer]\ndomain = "api.example.com"\n\n'
            '[deployment]\nstrategy = "blue_green"\ntest_listener_port = 8443\n'
        )
    )["service.yml"]
    assert service["Outputs"]["TestListenerUrl"]["Value"] == "https://api.example.com:8443"
    assert service["Outputs"]["ServiceUrl"]["Value"] == "https://api.example.com"


def test_certificate_and_records_need_https_and_a_domain() -> None:
    t = _template_with_load_balancer()
    with pytest.raises(ValueError, match="no HTTPS"):
        add_certificate(t, _config(""))
    add_domain_parameter(t, _config(""))
    add_domain_records(t, _config(""), LB)
    assert list(t.resources) == [LB] and not t.parameters and not t.metadata and not t.outputs
