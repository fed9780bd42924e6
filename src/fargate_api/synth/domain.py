"""The custom domain (`load_balancer.domain`): certificate, DNS records and the public URL.

With a domain, the stack that holds the load balancer (service.yml, or load-balancer.yml
with [[services]]) requests its own ACM certificate, validated by DNS in the domain's
Route 53 hosted zone: CloudFormation writes the validation records itself when each name
of the certificate names the zone (DomainValidationOptions), so the stack needs nothing
outside it but the zone. The zone's id is a parameter, with the configured id as its
default; without one, `deploy` finds the zone by name and passes it, which is why the
template's Metadata names the domain and the parameter (templates are the contract: the
deploy reads them, never the config).

The domain's alias record points at the load balancer. Hosts that [[services]] route on
are names of the same certificate, and get records of their own when they lie in the
zone the domain is presumed to be in (the domain's parent).
"""

from __future__ import annotations

import re

from fargate_api.config import Config
from fargate_api.config.model import CERTIFICATE_NAME_PATTERN, HOSTED_ZONE_PATTERN
from fargate_api.metadata_keys import DOMAIN, DOMAIN_NAME, DOMAIN_ZONE_PARAMETER, SUPPRESSIONS
from fargate_api.synth.intrinsics import Json, get_att, ref
from fargate_api.synth.template import Template

HOSTED_ZONE_ID = "HostedZoneId"
CERTIFICATE = "Certificate"
DOMAIN_RECORD = "DomainRecord"
DOMAIN_RECORD_IPV6 = "DomainRecordIpv6"
_CERTIFICATE_NAME = re.compile(CERTIFICATE_NAME_PATTERN)


def add_domain_parameter(t: Template, config: Config) -> None:
    """HostedZoneId, and the Metadata that tells `deploy` which domain it belongs to."""
    domain = config.load_balancer.domain
    if domain is None:
        return
    t.parameters[HOSTED_ZONE_ID] = zone_parameter(config)
    t.metadata.setdefault(SUPPRESSIONS, {})[DOMAIN] = {
        DOMAIN_NAME: domain,
        DOMAIN_ZONE_PARAMETER: HOSTED_ZONE_ID,
    }


def zone_parameter(config: Config) -> Json:
    """The HostedZoneId parameter's body, in the child that uses it and in parent.yml."""
    lb = config.load_balancer
    body: Json = {
        "Type": "String",
        "Description": f"The Route 53 public hosted zone of {lb.domain}; fargate-api deploy "
        "finds it by name when no value is given",
        "AllowedPattern": HOSTED_ZONE_PATTERN,
        "ConstraintDescription": "a hosted zone id: Z and up to 31 upper-case letters or digits",
    }
    if lb.hosted_zone_id is not None:
        body["Default"] = lb.hosted_zone_id
    return body


def add_certificate(t: Template, config: Config) -> Json | str:
    """The HTTPS listener's CertificateArn: the stack's own certificate for the domain
    (a Ref), or the configured ARN."""
    lb = config.load_balancer
    if not lb.creates_certificate:
        if lb.certificate_arn is None:
            raise ValueError("add_certificate is for an HTTPS listener: the config has no HTTPS")
        return lb.certificate_arn
    assert lb.domain is not None  # creates_certificate says so
    alternatives = alternative_names(config)
    body: Json = {"DomainName": lb.domain}
    if alternatives:
        body["SubjectAlternativeNames"] = alternatives
    body["ValidationMethod"] = "DNS"
    body["DomainValidationOptions"] = [
        {"DomainName": name, "HostedZoneId": ref(HOSTED_ZONE_ID)}
        for name in [lb.domain, *alternatives]
    ]
    t.add(CERTIFICATE, "AWS::CertificateManager::Certificate", body)
    return ref(CERTIFICATE)


def alternative_names(config: Config) -> list[str]:
    """The [[services]] hosts besides the domain that a certificate can name (a host or a
    `*.` wildcard; a host pattern such as `api-?.example.com` cannot be one)."""
    names: list[str] = []
    for svc in config.services:
        for host in svc.hosts:
            other = host != config.load_balancer.domain and host not in names
            if other and _CERTIFICATE_NAME.match(host):
                names.append(host)
    return names


def add_domain_records(t: Template, config: Config, load_balancer_id: str) -> None:
    """The domain's alias to the load balancer (A, and AAAA on a dualstack load balancer),
    the [[services]] hosts' aliases in the same zone, and the DomainName output."""
    domain = config.load_balancer.domain
    if domain is None:
        return
    dualstack = (
        t.resources[load_balancer_id].get("Properties", {}).get("IpAddressType") == "dualstack"
    )
    t.add(DOMAIN_RECORD, "AWS::Route53::RecordSet", _alias(domain, "A", load_balancer_id))
    if dualstack:
        t.add(
            DOMAIN_RECORD_IPV6, "AWS::Route53::RecordSet", _alias(domain, "AAAA", load_balancer_id)
        )
    for host in service_hosts_in_zone(config):
        logical_id = _record_id(t, host)
        t.add(logical_id, "AWS::Route53::RecordSet", _alias(host, "A", load_balancer_id))
        if dualstack:
            t.add(
                f"{logical_id}Ipv6",
                "AWS::Route53::RecordSet",
                _alias(host, "AAAA", load_balancer_id),
            )
    t.output("DomainName", domain, "The API's domain name, an alias of the load balancer")


def service_hosts_in_zone(config: Config) -> list[str]:
    """The [[services]] hosts that get a record: plain names (a wildcard or pattern is not
    one name) other than the domain, in the domain's parent zone."""
    domain = config.load_balancer.domain
    if domain is None:
        return []
    zone = config.load_balancer.presumed_zone() or domain
    hosts: list[str] = []
    for svc in config.services:
        for host in svc.hosts:
            plain = not any(c in host for c in "*?")
            inside = host == zone or host.endswith(f".{zone}")
            if plain and inside and host != domain and host not in hosts:
                hosts.append(host)
    return hosts


def _alias(name: str, record_type: str, load_balancer_id: str) -> Json:
    return {
        "HostedZoneId": ref(HOSTED_ZONE_ID),
        "Name": name,
        "Type": record_type,
        "AliasTarget": {
            "DNSName": get_att(load_balancer_id, "DNSName"),
            "HostedZoneId": get_att(load_balancer_id, "CanonicalHostedZoneID"),
            "EvaluateTargetHealth": True,
        },
    }


def _record_id(t: Template, host: str) -> str:
    """HostRecord + the host's labels in CamelCase: stable while the host is, so that a
    reordering of [[services]] never replaces a record (a replacement would create the
    new record before deleting the old one of the same name, which Route 53 refuses)."""
    words = re.split(r"[.-]", host)
    base = "HostRecord" + "".join(w[:1].upper() + w[1:] for w in words if w)
    logical_id, n = base, 2
    while logical_id in t.resources:
        logical_id, n = f"{base}{n}", n + 1
    return logical_id
