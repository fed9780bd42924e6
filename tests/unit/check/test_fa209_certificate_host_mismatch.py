"""FA209: an HTTPS listener's rule routes a host that its certificates do not cover."""

from __future__ import annotations

import pytest

from fargate_api.check import Report
from fargate_api.check.findings import Finding, Severity
from unit.check.conftest import CheckText


def _template(
    *hosts: str,
    names: str = "[api.example.com]",
    certificate: str = "!Ref Cert",
    extra: str = "",
    condition: str = "host-header",
) -> str:
    values = ", ".join(hosts)
    domain, *alternatives = names.strip("[]").split(", ")
    return f"""
Parameters:
  CertArn: {{Type: String}}
Resources:
  Alb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: {{Subnets: [subnet-1, subnet-2]}}
  Cert:
    Type: AWS::CertificateManager::Certificate
    Properties:
      DomainName: "{domain}"
      SubjectAlternativeNames: [{", ".join(f'"{a}"' for a in alternatives)}]
      ValidationMethod: DNS
  Group:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: {{TargetType: ip, Port: 80, Protocol: HTTP}}
  Secure:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Alb
      Port: 443
      Protocol: HTTPS
      SslPolicy: ELBSecurityPolicy-TLS13-1-2-2021-06
      Certificates: [{{CertificateArn: {certificate}}}]
      DefaultActions: [{{Type: forward, TargetGroupArn: !Ref Group}}]
  Route:
    Type: AWS::ElasticLoadBalancingV2::ListenerRule
    Properties:
      ListenerArn: !Ref Secure
      Priority: 10
      Conditions:
        - {{Field: path-pattern, Values: ["/v1/*"]}}
        - {{Field: {condition}, HostHeaderConfig: {{Values: [{values}]}}}}
      Actions: [{{Type: forward, TargetGroupArn: !Ref Group}}]
{extra}"""


def _findings(report: Report) -> list[Finding]:
    return [f for f in report.active if f.rule_id == "FA209"]


def test_a_host_outside_the_certificate_is_an_error_on_the_rule(check_text: CheckText) -> None:
    report = check_text(_template('"api.example.com"', '"admin.example.com"'))
    (finding,) = _findings(report)
    assert finding.severity is Severity.ERROR
    assert finding.location.resource == "Route"
    assert finding.location.path == ("Properties", "Conditions", 1)
    assert finding.location.line is not None
    assert finding.message == (
        "rule Route routes host admin.example.com on HTTPS listener Secure, but certificate "
        "Cert (api.example.com) does not cover it: its clients get a certificate for "
        "another name"
    )


def test_hosts_the_certificate_names_are_clean(check_text: CheckText) -> None:
    template = _template(
        '"API.example.com"', '"admin.example.com"', names="[api.example.com, admin.example.com]"
    )
    assert _findings(check_text(template)) == []


@pytest.mark.parametrize(
    ("host", "found"),
    [
        ('"v2.example.com"', False),
        ('"*.example.com"', False),
        ('"api-?.example.com"', False),
        ('"example.com"', True),  # the wildcard needs a label in front
        ('"v2.api.example.com"', True),  # ... and covers one, not two
        ('"*.api.example.com"', True),
    ],
)
def test_a_wildcard_name_covers_one_label(check_text: CheckText, host: str, found: bool) -> None:
    report = check_text(_template(host, names="[api.example.com, *.example.com]"))
    assert len(_findings(report)) == int(found), [f.message for f in _findings(report)]


@pytest.mark.parametrize(
    "certificate",
    [
        "arn:aws:acm:eu-west-1:123456789012:certificate/abc",  # a literal ARN
        "!Ref CertArn",  # a parameter without a value
        '{"Fn::ImportValue": shared-certificate}',
    ],
)
def test_a_certificate_not_in_the_templates_is_not_judged(
    check_text: CheckText, certificate: str
) -> None:
    report = check_text(_template('"admin.example.com"', certificate=certificate))
    assert _findings(report) == []


def test_an_added_certificate_can_cover_the_host(check_text: CheckText) -> None:
    added = """
  Admin:
    Type: AWS::CertificateManager::Certificate
    Properties: {DomainName: admin.example.com, ValidationMethod: DNS}
  More:
    Type: AWS::ElasticLoadBalancingV2::ListenerCertificate
    Properties:
      ListenerArn: !Ref Secure
      Certificates: [{CertificateArn: !Ref Admin}]
"""
    assert _findings(check_text(_template('"admin.example.com"', extra=added))) == []
    unknown = added.replace("!Ref Admin", "arn:aws:acm:eu-west-1:123456789012:certificate/x")
    assert _findings(check_text(_template('"admin.example.com"', extra=unknown))) == []
    other = added.replace("DomainName: admin.example.com", "DomainName: www.example.com")
    (finding,) = _findings(check_text(_template('"admin.example.com"', extra=other)))
    assert "certificates Cert (api.example.com); Admin (www.example.com) do not" in finding.message


def test_certificate_names_not_known_are_not_judged(check_text: CheckText) -> None:
    template = _template('"admin.example.com"').replace(
        'DomainName: "api.example.com"', "DomainName: !Ref CertArn"
    )
    assert _findings(check_text(template)) == []


def test_other_conditions_and_http_listeners_are_not_judged(check_text: CheckText) -> None:
    other_field = _template('"admin.example.com"', condition="http-header")
    assert _findings(check_text(other_field)) == []
    http = _template('"admin.example.com"').replace("Protocol: HTTPS", "Protocol: HTTP")
    assert _findings(check_text(http)) == []
