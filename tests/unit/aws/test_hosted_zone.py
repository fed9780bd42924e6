"""A custom domain's hosted zone (found by name when no template gives it) and the watch's
explanation of the wait for the certificate's DNS validation, on stubbed clients.

The Route 53 answers follow the API reference's ListHostedZonesByName and GetHostedZone
syntax (the Stubber checks every key against botocore's model); real AWS is unverified.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from fargate_api.aws.certificate_wait import HANG_AFTER, CertificateWait
from fargate_api.aws.deploy import supplying
from fargate_api.aws.hosted_zone import (
    find_hosted_zone,
    hosted_zone_of,
    hosted_zone_values,
    zones_named,
)
from fargate_api.aws.stacks import StackPlan, StackSpec
from fargate_api.aws.watch import StackWatcher, WatchOptions
from fargate_api.errors import UserError
from unit.aws.support import (
    CLOSED_ENDPOINT,
    REGION,
    FakeClock,
    ScriptedPrompter,
    console,
    describe_stacks,
    event,
    events_page,
    stack_id,
    stubbed,
)

NAME = "shop-service"
NAME_SERVERS = ["ns-1.awsdns-01.org", "ns-2.awsdns-02.com"]
CERTIFICATE = "AWS::CertificateManager::Certificate"


@pytest.fixture
def route53() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "route53",
        region_name=REGION,
        endpoint_url=CLOSED_ENDPOINT,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def _zone(zone_id: str, name: str, *, private: bool = False) -> dict[str, Any]:
    return {
        "Id": f"/hostedzone/{zone_id}",
        "Name": f"{name}.",
        "CallerReference": f"ref-{zone_id}",
        "Config": {"PrivateZone": private},
    }


def _listed(
    stub: Stubber, dns_name: str, *zones: dict[str, Any], next_page: tuple[str, str] | None = None
) -> None:
    """One ListHostedZonesByName page: zones from `dns_name` on, in name order."""
    answer: dict[str, Any] = {
        "HostedZones": list(zones),
        "DNSName": dns_name,
        "IsTruncated": next_page is not None,
        "MaxItems": "100",
    }
    if next_page is not None:
        answer["NextDNSName"], answer["NextHostedZoneId"] = next_page
    stub.add_response("list_hosted_zones_by_name", answer)


def _spec(zone_default: str | None = None, *, wired: bool = True) -> StackSpec:
    parameter: dict[str, Any] = {"Type": "String"}
    if zone_default is not None:
        parameter["Default"] = zone_default
    document = {
        "Metadata": {
            "fargate-api": {
                "domain": {"name": "api.example.com", "hosted_zone_parameter": "HostedZoneId"}
            }
        },
        "Parameters": {"HostedZoneId": parameter},
        "Resources": {"Certificate": {"Type": CERTIFICATE}},
    }
    return StackSpec(
        role="service",
        name=NAME,
        file="service.yml",
        body="",
        document=document,
        passed={"HostedZoneId": "HostedZoneId"} if wired else {},
    )


def test_the_longest_public_zone_that_holds_the_domain_is_found(route53: Any) -> None:
    client, stub = route53
    # api.example.com: only a private zone (ACM validates through public DNS), skipped.
    _listed(stub, "api.example.com.", _zone("ZPRIVATE", "api.example.com", private=True))
    # example.com: the page starts at the name and goes on with later names.
    _listed(stub, "example.com.", _zone("ZPUBLIC", "example.com"), _zone("ZOTHER", "example.net"))
    zone = find_hosted_zone(client, "api.example.com")
    assert (zone.id, zone.name, zone.private) == ("ZPUBLIC", "example.com", False)


def test_a_zone_named_as_the_domain_itself_wins(route53: Any) -> None:
    client, stub = route53
    _listed(stub, "api.example.com.", _zone("ZAPI", "api.example.com"))
    assert find_hosted_zone(client, "API.example.com.").id == "ZAPI"


def test_pages_are_followed_while_they_hold_the_name(route53: Any) -> None:
    client, stub = route53
    _listed(stub, "example.com.", _zone("Z1", "example.com"), next_page=("example.com.", "Z2"))
    _listed(stub, "example.com.", _zone("Z2", "example.com"), next_page=("example.net.", "Z3"))
    assert [z.id for z in zones_named(client, "example.com")] == ["Z1", "Z2"]


def test_no_public_zone_is_a_user_error_that_says_what_to_do(route53: Any) -> None:
    client, stub = route53
    _listed(stub, "api.example.com.", _zone("ZPRIVATE", "api.example.com", private=True))
    _listed(stub, "example.com.", _zone("ZNET", "example.net"))
    with pytest.raises(UserError) as caught:
        find_hosted_zone(client, "api.example.com", "service.yml: Metadata.fargate-api.domain")
    text = caught.value.render()
    assert "no public Route 53 hosted zone in this account holds api.example.com" in text
    assert "none is named api.example.com, example.com" in text
    assert "only private zones: api.example.com ZPRIVATE" in text
    assert "create a public hosted zone for example.com" in text
    assert "load_balancer.hosted_zone_id" in text
    assert caught.value.exit_code == 2


def test_several_zones_of_one_name_are_listed(route53: Any) -> None:
    client, stub = route53
    _listed(stub, "api.example.com.")
    _listed(stub, "example.com.", _zone("ZA", "example.com"), _zone("ZB", "example.com"))
    with pytest.raises(UserError) as caught:
        find_hosted_zone(client, "api.example.com")
    text = caught.value.render()
    assert "2 public Route 53 hosted zones are named example.com: ZA, ZB" in text
    assert "load_balancer.hosted_zone_id" in text


def test_a_default_is_supplied_without_asking_route53() -> None:
    out, buffer = console()
    parent_default = StackPlan(
        base="shop", stacks=[_spec()], parent_defaults={"HostedZoneId": "ZP"}
    )
    assert hosted_zone_values(parent_default, None, out) == {"HostedZoneId": "ZP"}
    child_default = StackPlan(base="shop", stacks=[_spec("ZC")])
    assert hosted_zone_values(child_default, None, out) == {"HostedZoneId": "ZC"}
    not_wired = StackPlan(base="shop", stacks=[_spec("ZC", wired=False)])
    assert hosted_zone_values(not_wired, None, out) == {}  # the template's default applies
    assert buffer.getvalue() == ""


def test_without_a_default_the_zone_found_is_supplied(route53: Any) -> None:
    client, stub = route53
    _listed(stub, "api.example.com.")
    _listed(stub, "example.com.", _zone("ZFOUND", "example.com"))
    out, buffer = console()
    plan = StackPlan(base="shop", stacks=[_spec()])
    assert hosted_zone_values(plan, client, out) == {"HostedZoneId": "ZFOUND"}
    assert "hosted zone of api.example.com: example.com (ZFOUND), found by name" in (
        buffer.getvalue()
    )


def test_a_zone_parameter_without_default_nor_wiring_is_refused() -> None:
    out, _ = console()
    plan = StackPlan(base="shop", stacks=[_spec(wired=False)])
    with pytest.raises(UserError) as caught:
        hosted_zone_values(plan, None, out)
    assert "not passed from a parent parameter" in caught.value.render()
    assert "Ref: HostedZoneId" in caught.value.render()


def test_stacks_without_a_domain_need_no_zone() -> None:
    out, _ = console()
    plain = StackSpec(role="vpc", name="shop-vpc", file="vpc.yml", body="", document={})
    assert hosted_zone_values(StackPlan(base="shop", stacks=[plain]), None, out) == {}
    assert hosted_zone_of(plain, []) == ""


def test_the_zone_a_stack_is_deployed_with() -> None:
    wired = [{"ParameterKey": "HostedZoneId", "ParameterValue": "ZW"}]
    assert hosted_zone_of(_spec("ZC"), wired) == "ZW"
    assert hosted_zone_of(_spec("ZC"), []) == "ZC"
    assert hosted_zone_of(_spec(), []) == ""


def test_supplied_values_come_first_then_the_pushed_digests() -> None:
    calls: list[int] = []

    def digests(outputs: Any) -> dict[str, str]:
        calls.append(len(outputs))
        return {"ImageDigest": "sha256:" + "a" * 64}

    supply = supplying({"HostedZoneId": "Z1"}, digests)
    assert supply({"repository": {}}) == {"HostedZoneId": "Z1", "ImageDigest": "sha256:" + "a" * 64}
    assert calls == [1]
    assert supplying({"HostedZoneId": "Z1"})({}) == {"HostedZoneId": "Z1"}


# --- the wait for DNS validation ----------------------------------------------------------


def test_the_wait_is_explained_once_and_what_to_check_after_ten_minutes() -> None:
    asked: list[str] = []

    def servers(zone: str) -> tuple[str, list[str]]:
        asked.append(zone)
        return "example.com", NAME_SERVERS

    wait = CertificateWait("Z1", servers)
    pending = [("Certificate", CERTIFICATE, "CREATE_IN_PROGRESS")]
    (first,) = wait.poll(pending, 100.0)
    assert "ACM validates the certificate through DNS" in first
    assert "CNAME validation record into hosted zone Z1" in first
    assert wait.poll(pending, 100.0 + HANG_AFTER - 1) == []
    assert asked == []
    (late,) = wait.poll(pending, 100.0 + HANG_AFTER)
    assert "still waiting for validation after 10m 00s" in late
    assert "the registrar of example.com must delegate it to this zone's name servers" in late
    assert ", ".join(NAME_SERVERS) in late and "dig NS example.com" in late
    assert asked == ["Z1"]
    assert wait.poll(pending, 100.0 + 3 * HANG_AFTER) == []  # said once
    done = [("Certificate", CERTIFICATE, "CREATE_COMPLETE")]
    assert wait.poll(done, 100.0 + 4 * HANG_AFTER) == []


@pytest.mark.parametrize(
    ("zone", "servers", "words"),
    [
        ("Z1", lambda zone: None, "aws route53 get-hosted-zone --id Z1"),
        ("Z1", None, "aws route53 get-hosted-zone --id Z1"),
        ("", None, "the name servers of the hosted zone the stack wrote to"),
    ],
)
def test_without_the_name_servers_it_says_where_to_read_them(
    zone: str, servers: Any, words: str
) -> None:
    wait = CertificateWait(zone, servers)
    pending = [("Cert", CERTIFICATE, "CREATE_IN_PROGRESS")]
    (explained,) = wait.poll(pending, 0.0)
    assert ("hosted zone Z1" in explained) is bool(zone)
    (late,) = wait.poll(pending, HANG_AFTER)
    assert words in late


def test_other_resources_and_updates_are_not_explained() -> None:
    wait = CertificateWait("Z1")
    rows = [
        ("Service", "AWS::ECS::Service", "CREATE_IN_PROGRESS"),
        ("Certificate", CERTIFICATE, "UPDATE_IN_PROGRESS"),
    ]
    assert wait.poll(rows, 0.0) == wait.poll(rows, 2 * HANG_AFTER) == []


def test_the_watch_explains_a_certificate_that_waits_for_validation(route53: Any) -> None:
    client, r53 = route53
    r53.add_response(
        "get_hosted_zone",
        {
            "HostedZone": _zone("Z1", "example.com"),
            "DelegationSet": {"NameServers": NAME_SERVERS},
        },
        {"Id": "Z1"},
    )
    started = event(NAME, 1, NAME, "CREATE_IN_PROGRESS", "User Initiated")
    waiting = event(
        NAME,
        2,
        "Certificate",
        "CREATE_IN_PROGRESS",
        "Content of DNS Record is: {Name: _x.api.example.com.,Type: CNAME,"
        "Value: _y.acm-validations.aws.}",
        resource_type=CERTIFICATE,
    )
    issued = event(
        NAME,
        3,
        "Certificate",
        "CREATE_COMPLETE",
        resource_type=CERTIFICATE,
        physical_id="arn:aws:acm:eu-west-1:123456789012:certificate/abc",
    )
    out, buffer = console()
    clock = FakeClock()
    with stubbed() as s:
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "CREATE_IN_PROGRESS"))
        s.cfn.add_response("describe_stack_events", events_page(started, waiting))
        for _ in range(5):  # t = 120 ... 600 s: nothing new
            s.cfn.add_response("describe_stacks", describe_stacks(NAME, "CREATE_IN_PROGRESS"))
            s.cfn.add_response("describe_stack_events", events_page(started, waiting))
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "CREATE_COMPLETE"))
        s.cfn.add_response(
            "describe_stack_events",
            events_page(started, waiting, issued, event(NAME, 4, NAME, "CREATE_COMPLETE")),
        )
        watcher = StackWatcher(
            s.clients.cloudformation,
            s.clients.ecs,
            out,
            clock=clock,
            prompter=ScriptedPrompter(),
            options=WatchOptions(poll_seconds=120.0),
            route53=client,
        )
        result = watcher.watch(stack_id(NAME), NAME, set(), hosted_zone="Z1")
        s.assert_no_pending_responses()
    assert result.status == "CREATE_COMPLETE"
    text = buffer.getvalue()
    assert text.count("ACM validates the certificate through DNS") == 1
    assert text.count("still waiting for validation after 10m 00s") == 1
    assert "ns-1.awsdns-01.org, ns-2.awsdns-02.com" in text
    assert (
        text.index("ACM validates")
        < text.index("still waiting")
        < text.index("Certificate CREATE_COMPLETE")
    )


def test_name_servers_route53_refuses_leave_the_watch_going(route53: Any) -> None:
    client, r53 = route53
    r53.add_client_error(
        "get_hosted_zone",
        service_error_code="AccessDenied",
        service_message="not authorized to perform: route53:GetHostedZone",
        http_status_code=403,
    )
    waiting = event(NAME, 1, "Certificate", "CREATE_IN_PROGRESS", resource_type=CERTIFICATE)
    out, buffer = console()
    with stubbed() as s:
        for _ in range(2):  # t = 0 and 600 s
            s.cfn.add_response("describe_stacks", describe_stacks(NAME, "CREATE_IN_PROGRESS"))
            s.cfn.add_response("describe_stack_events", events_page(waiting))
        s.cfn.add_response("describe_stacks", describe_stacks(NAME, "CREATE_FAILED"))
        s.cfn.add_response(
            "describe_stack_events",
            events_page(waiting, event(NAME, 2, NAME, "CREATE_FAILED")),
        )
        watcher = StackWatcher(
            s.clients.cloudformation,
            s.clients.ecs,
            out,
            clock=FakeClock(),
            prompter=ScriptedPrompter(),
            options=WatchOptions(poll_seconds=HANG_AFTER),
            route53=client,
        )
        result = watcher.watch(stack_id(NAME), NAME, set(), hosted_zone="Z1")
        s.assert_no_pending_responses()
    assert result.status == "CREATE_FAILED"
    assert "'aws route53 get-hosted-zone --id Z1' lists them" in buffer.getvalue()
