"""The Route 53 hosted zone of a custom domain, when the templates leave it to the deploy.

A stack whose template Metadata names a domain (templates/custom_domain.py) takes the
domain's hosted zone as a parameter: ACM validates the certificate through records in
that zone, and the alias record goes there too. When neither parent.yml nor the template
gives that parameter a default, `deploy` and `diff` find the zone by name, before any
stack is touched, and pass its id the way they pass a pushed image's digest: as the value
of the parent parameter the stack's parameter is wired to.

The zone is the longest public zone whose name is the domain or a suffix of it
(api.example.com is served by a zone api.example.com, else example.com): the one DNS
would ask. Private zones are never it: ACM validates through public DNS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from fargate_api.aws.stacks import StackPlan, StackSpec
from fargate_api.errors import UserError
from fargate_api.templates.custom_domain import CustomDomain, custom_domain

if TYPE_CHECKING:
    from mypy_boto3_route53 import Route53Client

ZONE_PREFIX = "/hostedzone/"


@dataclass(frozen=True)
class HostedZone:
    id: str  # without the /hostedzone/ prefix
    name: str  # without the trailing dot
    private: bool


@dataclass(frozen=True)
class ZoneNeed:
    """A stack that serves a custom domain, and how its zone parameter gets a value."""

    spec: StackSpec
    domain: CustomDomain
    parent_parameter: str | None  # the parent's parameter it is wired to, if any
    known: str | None  # the parent's default, else the template's own


def zone_needs(plan: StackPlan) -> list[ZoneNeed]:
    """Every stack the deploy changes whose template names a custom domain."""
    needs = []
    for spec in plan.stacks:
        if not plan.deploys(spec.role):
            continue
        domain = custom_domain(spec.file, spec.document)
        if domain is None:
            continue
        parent_parameter = spec.passed.get(domain.zone_parameter)
        known = plan.parent_defaults.get(parent_parameter or "") or domain.zone_default
        needs.append(ZoneNeed(spec, domain, parent_parameter, known))
    return needs


def hosted_zone_values(
    plan: StackPlan, route53: Route53Client | None, console: Console
) -> dict[str, str]:
    """The parent parameter -> zone id to supply for every domain of the plan: its default
    when it has one, else the zone found by name (UserError, exit 2, when none or several
    are found: nothing has been deployed yet)."""
    values: dict[str, str] = {}
    for need in zone_needs(plan):
        if need.known is not None:
            if need.parent_parameter is not None:
                values[need.parent_parameter] = need.known
            continue
        where = f"{need.spec.file}: {need.domain.where}"
        if need.parent_parameter is None:
            raise UserError(
                f"{need.spec.file}'s parameter {need.domain.zone_parameter} has no default and "
                "is not passed from a parent parameter, so deploy cannot give it the hosted "
                f"zone of {need.domain.name}",
                where=where,
                fix=f"in parent.yml, pass it as `Ref: {need.domain.zone_parameter}` "
                "(fargate-api synth does), or give it a Default",
            )
        if route53 is None:  # every command that deploys connects one (session.connect)
            raise UserError(f"no Route 53 client to find the hosted zone of {need.domain.name}")
        zone = find_hosted_zone(route53, need.domain.name, where)
        console.print(
            f"hosted zone of {escape(need.domain.name)}: {escape(zone.name)} ({zone.id}), "
            "found by name"
        )
        values[need.parent_parameter] = zone.id
    return values


def hosted_zone_of(spec: StackSpec, parameters: list[dict[str, str]]) -> str:
    """The zone id a stack is deployed with (its wired parameter, else the template's
    default), or "" when its template names no domain."""
    domain = custom_domain(spec.file, spec.document)
    if domain is None:
        return ""
    for parameter in parameters:
        if parameter["ParameterKey"] == domain.zone_parameter:
            return parameter["ParameterValue"]
    return domain.zone_default or ""


def find_hosted_zone(route53: Route53Client, domain: str, where: str | None = None) -> HostedZone:
    """The longest public zone named `domain` or a suffix of it (two labels at least)."""
    labels = domain.rstrip(".").lower().split(".")
    private: list[HostedZone] = []
    for start in range(len(labels) - 1):
        candidate = ".".join(labels[start:])
        zones = zones_named(route53, candidate)
        public = [z for z in zones if not z.private]
        private += [z for z in zones if z.private]
        if len(public) > 1:
            listed = ", ".join(z.id for z in public)
            raise UserError(
                f"{len(public)} public Route 53 hosted zones are named {candidate}: {listed}",
                where=where,
                fix="set load_balancer.hosted_zone_id to the one the domain's registrar "
                "delegates to ('aws route53 get-hosted-zone --id ID' lists its name servers; "
                f"'dig NS {candidate}' shows the delegated ones), and delete the other",
            )
        if public:
            return public[0]
    suffixes = ", ".join(".".join(labels[i:]) for i in range(len(labels) - 1))
    only_private = (
        f" (only private zones: {', '.join(f'{z.name} {z.id}' for z in private)}, which ACM "
        "cannot validate through)"
        if private
        else ""
    )
    parent = ".".join(labels[1:]) if len(labels) > 2 else domain
    raise UserError(
        f"no public Route 53 hosted zone in this account holds {domain}: none is named "
        f"{suffixes}{only_private}",
        where=where,
        fix=f"create a public hosted zone for {parent} (or {domain}) and delegate the domain "
        "to its name servers at the registrar; or set load_balancer.hosted_zone_id to the "
        "zone that holds it",
    )


def zones_named(route53: Route53Client, name: str) -> list[HostedZone]:
    """The hosted zones named exactly `name`. ListHostedZonesByName lists zones in name
    order starting at DNSName, so the pages are read while they still hold that name."""
    wanted = f"{name}."
    found: list[HostedZone] = []
    page = route53.list_hosted_zones_by_name(DNSName=wanted)
    while True:
        for zone in page["HostedZones"]:
            if zone["Name"].lower() != wanted:
                return found
            found.append(_zone(zone))
        if not page.get("IsTruncated") or page.get("NextDNSName", "").lower() != wanted:
            return found
        page = route53.list_hosted_zones_by_name(
            DNSName=page["NextDNSName"], HostedZoneId=page["NextHostedZoneId"]
        )


def name_servers(route53: Route53Client, zone_id: str) -> tuple[str, list[str]]:
    """A zone's name (without the dot) and the name servers Route 53 gave it."""
    answer = route53.get_hosted_zone(Id=zone_id)
    servers = answer.get("DelegationSet", {}).get("NameServers", [])
    return answer["HostedZone"]["Name"].rstrip("."), list(servers)


def _zone(raw: Mapping[str, object]) -> HostedZone:
    config = raw.get("Config")
    private = bool(config.get("PrivateZone")) if isinstance(config, dict) else False
    return HostedZone(
        id=str(raw["Id"]).removeprefix(ZONE_PREFIX),
        name=str(raw["Name"]).rstrip("."),
        private=private,
    )
