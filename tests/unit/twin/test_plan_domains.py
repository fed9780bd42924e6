"""Custom domains in the twin's plan: which Route 53 records its resolvers answer, which
names the HTTPS listeners' certificates carry, and what each resolver says (pure).

The golden HTTPS templates (one service, an HTTPS listener with an ACM certificate ARN)
are edited here to add what a domain brings: an ACM certificate resource, an alias
record to the ALB, and records the twin cannot answer."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
import yaml

from fargate_api.errors import UserError
from fargate_api.twin.daemon.change_requests import changes
from fargate_api.twin.elbv2.names import (
    ECHO_NAME,
    certificate_names,
    domain_names,
    domain_urls,
    internet_records,
    load_balancer_dns_name,
    primary_listener,
    vpc_records,
)
from fargate_api.twin.plan.load import load_plan
from fargate_api.twin.plan.model import DnsRecord, TwinPlan
from unit.support import REPO

GOLDEN_HTTPS = REPO / "tests/golden/https"
TAG = "fa1234"
ALB = {"Fn::GetAtt": ["PublicLoadBalancer", "DNSName"]}
ZONE = {"Fn::GetAtt": ["PublicLoadBalancer", "CanonicalHostedZoneID"]}


def _record(name: object, kind: str = "A", **props: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Route53::RecordSet",
        "Properties": {"HostedZoneId": "Z123", "Name": name, "Type": kind, **props},
    }


def _domain(resources: dict[str, Any]) -> None:
    resources["Certificate"] = {
        "Type": "AWS::CertificateManager::Certificate",
        "Properties": {
            "DomainName": "API.example.com",
            "SubjectAlternativeNames": ["www.example.com", "*.apps.example.com"],
            "ValidationMethod": "DNS",
        },
    }
    https = resources["PublicLoadBalancerHttpsListener"]["Properties"]
    https["Certificates"] = [{"CertificateArn": {"Ref": "Certificate"}}]
    alias = {"DNSName": ALB, "HostedZoneId": ZONE, "EvaluateTargetHealth": True}
    resources["DomainRecord"] = _record("api.example.com.", AliasTarget=alias)
    resources["WwwRecord"] = _record("www.example.com", AliasTarget=alias)
    resources["LegacyRecord"] = _record("legacy.example.com", "CNAME", ResourceRecords=[ALB])
    resources["MailRecord"] = _record("mail.example.com", ResourceRecords=["192.0.2.25"])
    resources["V6Record"] = _record("api.example.com", "AAAA", AliasTarget=alias)
    resources["WildRecord"] = _record("*.apps.example.com", AliasTarget=alias)
    resources["TxtRecord"] = _record("example.com", "TXT", ResourceRecords=['"v=spf1 -all"'])
    resources["UnknownName"] = _record({"Ref": "RecordName"}, AliasTarget=alias)


def _plan(tmp_path: Path, edit: Callable[[dict[str, Any]], None] = _domain) -> TwinPlan:
    tmp_path.mkdir(parents=True, exist_ok=True)
    for path in GOLDEN_HTTPS.iterdir():
        shutil.copy(path, tmp_path / path.name)
    service = tmp_path / "service.yml"
    template = yaml.safe_load(service.read_text())
    template["Parameters"]["RecordName"] = {"Type": "String"}  # unknown before deploy
    edit(template["Resources"])
    service.write_text(yaml.safe_dump(template, sort_keys=False))
    return load_plan(tmp_path / "parent.yml")


@pytest.fixture
def plan(tmp_path: Path) -> TwinPlan:
    return _plan(tmp_path)


def test_alias_and_cname_records_lead_to_the_load_balancer(plan: TwinPlan) -> None:
    (lb,) = plan.load_balancers
    by_name = {r.name: r for r in plan.dns_records}
    assert set(by_name) == {
        "api.example.com",
        "www.example.com",
        "legacy.example.com",
        "mail.example.com",
    }
    for name in ("api.example.com", "www.example.com", "legacy.example.com"):
        assert by_name[name].load_balancer == lb.key
    assert by_name["mail.example.com"] == DnsRecord(
        "ServiceStack/MailRecord", "mail.example.com", addresses=(IPv4Address("192.0.2.25"),)
    )
    assert domain_names(plan, lb) == ["api.example.com", "www.example.com", "legacy.example.com"]


def test_records_the_twin_cannot_answer_are_notices_not_errors(plan: TwinPlan) -> None:
    reasons = {n.resource.rsplit("/", 1)[-1]: n.reason for n in plan.notices}
    assert "IPv4 only" in reasons["V6Record"]
    assert "wildcard" in reasons["WildRecord"]
    assert "TXT" in reasons["TxtRecord"]
    assert "not known before deploy" in reasons["UnknownName"]
    assert "CA issues" in reasons["Certificate"]  # the ACM certificate itself
    assert "DomainRecord" not in reasons  # built: no notice


def test_the_https_listener_carries_the_acm_certificates_names(plan: TwinPlan) -> None:
    (lb,) = plan.load_balancers
    https = next(listener for listener in lb.listeners if listener.protocol == "HTTPS")
    assert https.certificate_names == ("api.example.com", "www.example.com", "*.apps.example.com")
    http = next(listener for listener in lb.listeners if listener.protocol == "HTTP")
    assert http.certificate_names == ()
    assert primary_listener(lb) is https
    dns_name = load_balancer_dns_name(lb.name, TAG, "us-east-1")
    assert certificate_names(plan, lb, https, tag=TAG, region="us-east-1") == [
        "api.example.com",
        "www.example.com",
        "*.apps.example.com",
        "legacy.example.com",
        dns_name,
    ]


def test_a_certificate_arn_from_outside_gives_no_names_but_the_records_still_count(
    tmp_path: Path,
) -> None:
    def records_only(resources: dict[str, Any]) -> None:
        alias = {"DNSName": ALB, "HostedZoneId": ZONE}
        resources["DomainRecord"] = _record("api.example.com", AliasTarget=alias)

    plan = _plan(tmp_path, records_only)
    (lb,) = plan.load_balancers
    https = primary_listener(lb)
    assert https is not None and https.certificate_names == ()
    names = certificate_names(plan, lb, https, tag=TAG, region="eu-west-1")
    assert names == ["api.example.com", load_balancer_dns_name(lb.name, TAG, "eu-west-1")]


def test_both_resolvers_answer_the_domains_with_the_public_addresses(plan: TwinPlan) -> None:
    (lb,) = plan.load_balancers
    public = [node.public_ip for node in lb.nodes]
    outside = internet_records(plan, tag=TAG, region="us-east-1")
    inside = vpc_records(plan, tag=TAG, region="us-east-1")
    dns_name = load_balancer_dns_name(lb.name, TAG, "us-east-1")
    expected = {
        dns_name: public,
        "api.example.com": public,
        "www.example.com": public,
        "legacy.example.com": public,
        "mail.example.com": [IPv4Address("192.0.2.25")],
        ECHO_NAME: outside[ECHO_NAME],
    }
    assert outside == expected
    assert inside == expected
    assert next(iter(outside)) == dns_name  # the balancer's own name first: its PTR


def test_an_internal_balancer_is_answered_privately_and_only_inside(plan: TwinPlan) -> None:
    """An internal balancer's names (its own with ELB's `internal-` in front) resolve to
    its private addresses, in the VPC alone."""
    (lb,) = plan.load_balancers
    internal = replace(plan, load_balancers=(replace(lb, internet_facing=False),))
    private = [node.private_ip for node in lb.nodes]
    inside = vpc_records(internal, tag=TAG, region="us-east-1")
    outside = internet_records(internal, tag=TAG, region="us-east-1")
    assert inside["api.example.com"] == private
    name = load_balancer_dns_name(lb.name, TAG, "us-east-1", internal=True)
    assert name == f"internal-{lb.name}-{TAG}.us-east-1.elb.amazonaws.com".lower()
    assert inside[name] == private
    assert load_balancer_dns_name(lb.name, TAG, "us-east-1") not in inside
    assert "api.example.com" not in outside
    assert not any(name.endswith("elb.amazonaws.com") for name in outside)
    assert domain_urls(internal) == []


def test_domain_urls_use_the_primary_listener(plan: TwinPlan) -> None:
    assert domain_urls(plan) == [
        "https://api.example.com",
        "https://www.example.com",
        "https://legacy.example.com",
    ]
    (lb,) = plan.load_balancers
    http_only = tuple(
        replace(listener, port=8080) for listener in lb.listeners if listener.protocol == "HTTP"
    )
    changed = replace(plan, load_balancers=(replace(lb, listeners=http_only),))
    assert domain_urls(changed)[0] == "http://api.example.com:8080"


def test_templates_without_records_have_no_domains(tmp_path: Path) -> None:
    plan = _plan(tmp_path, lambda _resources: None)
    assert plan.dns_records == () and domain_urls(plan) == []


def test_a_deploy_that_changes_the_domains_is_refused(plan: TwinPlan, tmp_path: Path) -> None:
    """New records need new certificates and resolvers: `local down` + `local up`."""
    definitions = {s.key: plan.task_definition(s.task_definition) for s in plan.services}
    assert changes(plan, plan, definitions) == []
    other = _plan(tmp_path / "other", lambda _resources: None)
    with pytest.raises(UserError, match="dns_records"):
        changes(plan, other, definitions)
