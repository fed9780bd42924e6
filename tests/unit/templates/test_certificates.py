"""ACM certificates, the listeners that present them, ACM's wildcard rule, and the custom
domain a template's Metadata names."""

from __future__ import annotations

from typing import Any

import pytest

from fargate_api.errors import UserError
from fargate_api.templates.certificates import (
    certificates,
    covers,
    https_listeners,
    listener_certificates,
    read_certificate,
)
from fargate_api.templates.custom_domain import custom_domain
from unit.templates.support import query, resource

TEMPLATE = """
Parameters:
  Zone: {Type: String}
  Arn: {Type: String}
  Name: {Type: String}
Resources:
  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: {Subnets: [subnet-1]}
  Cert:
    Type: AWS::CertificateManager::Certificate
    Properties:
      DomainName: API.Example.com.
      SubjectAlternativeNames: ["*.example.com", admin.example.org]
      ValidationMethod: dns
      DomainValidationOptions:
        - {DomainName: api.example.com, HostedZoneId: !Ref Zone}
        - {DomainName: admin.example.org, ValidationDomain: example.org}
  EmailCert:
    Type: AWS::CertificateManager::Certificate
    Properties: {DomainName: !Ref Name}
  Secure:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Alb
      Protocol: HTTPS
      Certificates: [{CertificateArn: !Ref Cert}]
      DefaultActions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "404"}}]
  More:
    Type: AWS::ElasticLoadBalancingV2::ListenerCertificate
    Properties:
      ListenerArn: !Ref Secure
      Certificates:
        - {CertificateArn: arn:aws:acm:eu-west-1:123456789012:certificate/abc}
        - {CertificateArn: !Ref Arn}
  Plain:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Alb
      Protocol: HTTP
      DefaultActions: [{Type: fixed-response, FixedResponseConfig: {StatusCode: "404"}}]
"""


def test_a_certificate_reads_as_its_names_validation_and_zones() -> None:
    q = query(TEMPLATE)
    view = read_certificate(resource(q, "Cert"))
    assert view.domain_name == "api.example.com"
    assert view.names == ("api.example.com", "*.example.com", "admin.example.org")
    assert view.names_known and view.validation_method == "DNS"
    first, second = view.validation
    assert first.domain_name == "api.example.com" and first.hosted_zone is not None
    assert second.hosted_zone is None and second.validation_domain == "example.org"
    unknown = read_certificate(resource(q, "EmailCert"))
    assert unknown.domain_name is None and not unknown.names_known
    assert unknown.validation_method == "EMAIL"  # ACM's default
    assert {c.resource.logical_id for c in certificates(q)} == {"Cert", "EmailCert"}


def test_a_listener_presents_its_own_certificates_then_the_added_ones() -> None:
    q = query(TEMPLATE)
    assert [r.logical_id for r in https_listeners(q)] == ["Secure"]
    found = listener_certificates(q, resource(q, "Secure"))
    assert [(c.source.logical_id, c.path) for c in found] == [
        ("Secure", ("Properties", "Certificates", 0, "CertificateArn")),
        ("More", ("Properties", "Certificates", 0, "CertificateArn")),
        ("More", ("Properties", "Certificates", 1, "CertificateArn")),
    ]
    own, literal, parameter = found
    assert own.certificate is not None and own.certificate.resource.logical_id == "Cert"
    assert literal.certificate is None and literal.value == (
        "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
    )
    assert parameter.certificate is None  # a parameter without a value: unknown
    assert listener_certificates(q, resource(q, "Plain")) == []


@pytest.mark.parametrize(
    ("name", "host", "expected"),
    [
        ("api.example.com", "api.example.com", True),
        ("api.example.com", "API.example.com.", True),
        ("api.example.com", "www.example.com", False),
        ("*.example.com", "api.example.com", True),
        ("*.example.com", "example.com", False),  # the wildcard needs a label
        ("*.example.com", "v2.api.example.com", False),  # ... exactly one
        ("*.example.com", "*.example.com", True),
        ("*.example.com", "api-*.example.com", True),  # a pattern within one label
        ("*.example.com", "api-?.example.com", True),
        ("*.example.com", "*.api.example.com", False),
        ("*.example.com", "*example.com", False),  # matches names outside the wildcard
        ("api.example.com", "api-?.example.com", False),
        ("*.api.example.com", "api.example.com", False),
    ],
)
def test_covers_follows_acms_wildcard_rule(name: str, host: str, expected: bool) -> None:
    assert covers(name, host) is expected


def _document(metadata: Any, parameters: Any = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"Resources": {}}
    if metadata is not None:
        doc["Metadata"] = metadata
    doc["Parameters"] = parameters if parameters is not None else {"Zone": {"Type": "String"}}
    return doc


def test_the_custom_domain_is_read_from_the_template_metadata() -> None:
    block = {
        "fargate-api": {"domain": {"name": "API.example.com.", "hosted_zone_parameter": "Zone"}}
    }
    found = custom_domain("service.yml", _document(block))
    assert found is not None
    assert (found.name, found.zone_parameter, found.zone_default) == (
        "api.example.com",
        "Zone",
        None,
    )
    with_default = _document(block, {"Zone": {"Type": "String", "Default": "Z123"}})
    assert custom_domain("service.yml", with_default).zone_default == "Z123"  # type: ignore[union-attr]
    assert custom_domain("service.yml", _document(None)) is None
    assert custom_domain("service.yml", _document({"fargate-api": {"suppress": []}})) is None


@pytest.mark.parametrize(
    ("domain", "words"),
    [
        ({"name": "api.example.com"}, "needs a name and a hosted_zone_parameter"),
        ("api.example.com", "needs a name and a hosted_zone_parameter"),
        ({"name": 3, "hosted_zone_parameter": "Zone"}, "needs a name"),
        ({"name": "api.example.com", "hosted_zone_parameter": "Nope"}, "not a parameter"),
    ],
)
def test_broken_domain_metadata_is_a_user_error(domain: Any, words: str) -> None:
    with pytest.raises(UserError) as caught:
        custom_domain("service.yml", _document({"fargate-api": {"domain": domain}}))
    assert words in caught.value.render()
    assert "service.yml: Metadata.fargate-api.domain" in caught.value.render()
