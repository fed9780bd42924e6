"""Security groups rendered as nftables scripts: what the rendered text says.

The rendering is pure, so these tests read the text and need no privileges. That nft
itself accepts every script (`nft -c`, which asks the kernel and needs CAP_NET_ADMIN) is
checked in the twin tier, tests/twin/test_nft_syntax.py, on the same scenarios
(security_group_scenarios.py); what the rules do to real packets, in
tests/twin/test_security_groups.py.
"""

from __future__ import annotations

import json
import re
from ipaddress import IPv4Address, IPv4Network

import pytest

from fargate_api.twin.ec2.security_group_apply import parse_set_elements
from fargate_api.twin.ec2.security_group_rules import (
    COMMENT_MAX,
    SET_NAME_MAX,
    referenced_groups,
    render_eni_ruleset,
    render_membership_update,
    render_rule_match,
    set_name,
)
from fargate_api.twin.plan.model import Protocol, SecurityGroupRule
from unit.twin.security_group_scenarios import (
    ANYWHERE,
    IFACE,
    LB,
    LB_KEY,
    MEMBERS,
    SCENARIOS,
    SVC,
    SVC_KEY,
    TABLE,
    group,
    rule,
)


def chain_body(script: str, chain: str) -> list[str]:
    """The rule lines of one chain, stripped."""
    match = re.search(rf"\n\tchain {chain} {{\n(.*?)\n\t}}", script, re.S)
    assert match, f"chain {chain} missing:\n{script}"
    return [line.strip() for line in match.group(1).splitlines() if line.strip()]


def set_block(script: str, name: str) -> str:
    match = re.search(rf"\n\tset {name} {{\n(.*?)\n\t}}", script, re.S)
    assert match, f"set {name} missing:\n{script}"
    return match.group(1)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_renders_one_table(name: str) -> None:
    """The scenarios the twin tier loads with `nft -c` render here without nft."""
    groups, members = SCENARIOS[name]
    script = render_eni_ruleset(TABLE, IFACE, groups, members)
    assert script.count(f"table inet {TABLE} {{\n") == 1
    code = re.sub(r'"[^"\n]*"', '""', re.sub(r"(?m)^#.*$", "", script))  # no comments
    assert code.count("{") == code.count("}")


# --------------------------------------------------------------------------------------
# The table and its base chains
# --------------------------------------------------------------------------------------


def test_ruleset_recreates_the_table_atomically() -> None:
    script = render_eni_ruleset(TABLE, IFACE, [LB], MEMBERS)
    statements = [line for line in script.splitlines() if line and not line.startswith("#")]
    assert statements[:3] == [
        f"table inet {TABLE} {{}}",
        f"delete table inet {TABLE}",
        f"table inet {TABLE} {{",
    ]
    assert statements[-1] == "}"


@pytest.mark.parametrize(
    ("chain", "hook", "lo", "iface", "jump"),
    [
        ("input", "input", "iif", "iifname", "allow_in"),
        ("output", "output", "oif", "oifname", "allow_out"),
    ],
)
def test_base_chains_are_stateful_default_deny(
    chain: str, hook: str, lo: str, iface: str, jump: str
) -> None:
    lines = chain_body(render_eni_ruleset(TABLE, IFACE, [LB], MEMBERS), chain)
    assert lines[0] == f"type filter hook {hook} priority filter; policy drop;"
    assert lines[1].startswith(f'{lo} "lo" accept')
    assert lines[2].startswith("ct state established,related counter accept")
    assert lines[3].startswith("ct state invalid counter drop")
    if chain == "output":  # the task endpoint is never filtered (see below)
        assert lines.pop(4).startswith("ip daddr 169.254.170.2 tcp dport 80 counter accept")
    assert lines[4] == f'{iface} "{IFACE}" jump {jump}'
    assert lines[5].startswith("counter drop")
    assert len(lines) == 6


def test_egress_to_the_vpc_resolver_and_task_endpoint_is_never_filtered() -> None:
    """AWS applies no security group to DNS at base + 2 or to 169.254.170.2."""
    script = render_eni_ruleset(TABLE, IFACE, [LB], MEMBERS, resolver=IPv4Address("10.0.0.2"))
    output = chain_body(script, "output")
    jump = output.index(f'oifname "{IFACE}" jump allow_out')
    unfiltered = [line.split(" comment ", 1)[0] for line in output[4:jump]]
    assert unfiltered == [
        "ip daddr 169.254.170.2 tcp dport 80 counter accept",
        "ip daddr 10.0.0.2 udp dport 53 counter accept",
        "ip daddr 10.0.0.2 tcp dport 53 counter accept",
    ]
    assert chain_body(script, "input") == chain_body(
        render_eni_ruleset(TABLE, IFACE, [LB], MEMBERS), "input"
    )
    assert "dport 53" not in render_eni_ruleset(TABLE, IFACE, [LB], MEMBERS)


def test_ingress_and_egress_rules_land_in_their_chains() -> None:
    script = render_eni_ruleset(TABLE, IFACE, [LB, SVC], MEMBERS)
    ingress = chain_body(script, "allow_in")
    egress = chain_body(script, "allow_out")
    lb_set, svc_set = set_name(LB_KEY), set_name(SVC_KEY)
    # groups ordered by key: ServiceStack/LoadBalancer... < ServiceStack/Service...
    assert ingress == [
        "ip saddr 0.0.0.0/0 tcp dport 80 counter accept"
        f' comment "{LB_KEY} ingress[0]: HTTP from anywhere"',
        f"ip saddr @{lb_set} tcp dport 8080 counter accept"
        f' comment "{SVC_KEY} ingress[0]: from the ALB"',
    ]
    assert egress == [
        f'ip daddr @{svc_set} tcp dport 8080 counter accept comment "{LB_KEY} egress[0]: to tasks"',
        f'ip daddr 0.0.0.0/0 counter accept comment "{SVC_KEY} egress[0]: default egress"',
    ]


def test_group_reference_sets_hold_sorted_unique_members() -> None:
    script = render_eni_ruleset(TABLE, IFACE, [LB, SVC], MEMBERS)
    assert "elements = { 192.0.2.11, 192.0.2.12 }" in set_block(script, set_name(SVC_KEY))
    assert "elements = { 192.0.2.10 }" in set_block(script, set_name(LB_KEY))
    assert "type ipv4_addr" in set_block(script, set_name(SVC_KEY))


def test_only_referenced_groups_get_a_set() -> None:
    script = render_eni_ruleset(TABLE, IFACE, [LB], MEMBERS)
    assert f"set {set_name(SVC_KEY)} {{" in script
    assert f"set {set_name(LB_KEY)} {{" not in script


def test_referenced_group_without_members_gets_an_empty_set() -> None:
    block = set_block(render_eni_ruleset(TABLE, IFACE, [SVC], {}), set_name(LB_KEY))
    assert "elements" not in block


def test_output_is_deterministic_whatever_the_attachment_order() -> None:
    a = render_eni_ruleset(TABLE, IFACE, [LB, SVC], MEMBERS)
    b = render_eni_ruleset(
        TABLE, IFACE, [SVC, LB, SVC], {k: list(reversed(v)) for k, v in MEMBERS.items()}
    )
    assert a == b


def test_referenced_groups_collects_peers_of_ingress_and_egress() -> None:
    assert referenced_groups([LB]) == {SVC_KEY}
    assert referenced_groups([SVC]) == {LB_KEY}
    assert referenced_groups([LB, SVC]) == {LB_KEY, SVC_KEY}
    assert referenced_groups([group("S/Cidr", ingress=[rule()])]) == set()


# --------------------------------------------------------------------------------------
# Rule matches
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "low", "high", "expected"),
    [
        ("tcp", 80, 80, "tcp dport 80"),
        ("tcp", 80, None, "tcp dport 80"),
        ("tcp", 8000, 8100, "tcp dport 8000-8100"),
        ("tcp", None, None, "meta l4proto tcp"),
        ("tcp", -1, -1, "meta l4proto tcp"),
        ("tcp", 0, 65535, "meta l4proto tcp"),
        ("udp", 53, 53, "udp dport 53"),
        ("udp", None, None, "meta l4proto udp"),
        ("icmp", 8, -1, "icmp type 8"),
        ("icmp", 8, None, "icmp type 8"),
        ("icmp", 3, 4, "icmp type 3 icmp code 4"),
        ("icmp", -1, -1, "meta l4proto icmp"),
        ("icmp", None, None, "meta l4proto icmp"),
        ("icmp", -1, 4, "meta l4proto icmp"),  # a code narrows a type; any type means any
        ("all", None, None, ""),
        ("all", 80, 80, ""),  # AWS ignores ports for protocol -1
    ],
)
def test_protocol_and_ports(
    protocol: Protocol, low: int | None, high: int | None, expected: str
) -> None:
    match = render_rule_match(rule(protocol, low, high), ingress=True)
    assert match == f"ip saddr 198.51.100.0/24 {expected}".rstrip()


def test_peer_is_source_on_ingress_and_destination_on_egress() -> None:
    by_cidr = SecurityGroupRule("tcp", 80, 80, cidr=IPv4Network("203.0.113.7/32"))
    by_group = SecurityGroupRule("tcp", 80, 80, group=SVC_KEY)
    assert render_rule_match(by_cidr, ingress=True) == "ip saddr 203.0.113.7 tcp dport 80"
    assert render_rule_match(by_cidr, ingress=False) == "ip daddr 203.0.113.7 tcp dport 80"
    assert (
        render_rule_match(by_group, ingress=True) == f"ip saddr @{set_name(SVC_KEY)} tcp dport 80"
    )
    assert (
        render_rule_match(by_group, ingress=False) == f"ip daddr @{set_name(SVC_KEY)} tcp dport 80"
    )


@pytest.mark.parametrize(
    "bad",
    [
        SecurityGroupRule("tcp", 80, 80),  # no peer would silently mean "anyone"
        SecurityGroupRule("tcp", 80, 80, cidr=ANYWHERE, group=SVC_KEY),
        SecurityGroupRule("tcp", 90, 80, cidr=ANYWHERE),
        SecurityGroupRule("tcp", 80, 70000, cidr=ANYWHERE),
        SecurityGroupRule("udp", -5, 80, cidr=ANYWHERE),
        SecurityGroupRule("icmp", 300, -1, cidr=ANYWHERE),
        SecurityGroupRule("icmp", 3, 256, cidr=ANYWHERE),
    ],
)
def test_rules_that_cannot_be_rendered_faithfully_are_refused(bad: SecurityGroupRule) -> None:
    with pytest.raises(ValueError):
        render_eni_ruleset(TABLE, IFACE, [group("S/Bad", ingress=[bad])], {})


@pytest.mark.parametrize("table", ["", "1abc", "a b", "t;flush ruleset", 'x"', "a" * 65])
def test_unsafe_table_names_are_refused(table: str) -> None:
    with pytest.raises(ValueError):
        render_eni_ruleset(table, IFACE, [LB], MEMBERS)
    with pytest.raises(ValueError):
        render_membership_update(table, LB_KEY, [])


@pytest.mark.parametrize("interface", ["", "a" * 16, 'eth0"', "eth 0", "eth/0"])
def test_unsafe_interface_names_are_refused(interface: str) -> None:
    with pytest.raises(ValueError):
        render_eni_ruleset(TABLE, interface, [LB], MEMBERS)


# --------------------------------------------------------------------------------------
# Comments
# --------------------------------------------------------------------------------------


def test_comments_name_the_group_and_neutralise_quotes() -> None:
    hostile = group(
        'S/"Q"',
        ingress=[SecurityGroupRule("tcp", 1, 1, cidr=ANYWHERE, description='a "b" é\nc')],
    )
    (line,) = chain_body(render_eni_ruleset(TABLE, IFACE, [hostile], {}), "allow_in")
    comment = line.split(" comment ", 1)[1]
    assert comment == "\"S/'Q' ingress[0]: a 'b' ??c\""


def test_long_comments_are_cut_to_nft_limit() -> None:
    long = group(
        "S/Long", ingress=[SecurityGroupRule("tcp", 1, 1, cidr=ANYWHERE, description="x" * 300)]
    )
    script = render_eni_ruleset(TABLE, IFACE, [long], {})
    comments = re.findall(r'comment "([^"]*)"', script)
    assert comments and max(len(c.encode()) for c in comments) == COMMENT_MAX
    assert any(c.startswith("S/Long ingress[0]: xxx") and c.endswith("...") for c in comments)


# --------------------------------------------------------------------------------------
# Set names and membership updates
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        SVC_KEY,
        "a",
        "///",
        "A" * 200,
        "Stack-With-Dashes/Group.Name",
        "Ünïcödé/Gröup",
    ],
)
def test_set_names_are_legal_nft_identifiers(key: str) -> None:
    name = set_name(key)
    assert re.fullmatch(r"sg_[A-Za-z0-9_]+", name), name
    assert len(name) <= SET_NAME_MAX
    assert set_name(key) == name  # stable across calls (and processes: sha256, not hash())


def test_set_names_stay_readable() -> None:
    assert set_name("ServiceStack/ServiceSecurityGroup").startswith("sg_ServiceStack_Servi")


def test_set_names_are_unique_where_labels_collide() -> None:
    keys = [
        "A/B",
        "A_B",
        "A-B",
        "ServiceStack/ServiceSecurityGroupOne",
        "ServiceStack/ServiceSecurityGroupTwo",
        "X" * 100 + "1",
        "X" * 100 + "2",
    ]
    names = [set_name(key) for key in keys]
    assert len(set(names)) == len(keys), names


def test_membership_update_flushes_and_refills_one_set() -> None:
    script = render_membership_update(
        TABLE,
        LB_KEY,
        [IPv4Address("192.0.2.13"), IPv4Address("192.0.2.10"), IPv4Address("192.0.2.13")],
    )
    statements = [line for line in script.splitlines() if line and not line.startswith("#")]
    name = set_name(LB_KEY)
    assert statements == [
        f"flush set inet {TABLE} {name}",
        f"add element inet {TABLE} {name} {{ 192.0.2.10, 192.0.2.13 }}",
    ]


def test_membership_update_to_nobody_only_flushes() -> None:
    script = render_membership_update(TABLE, LB_KEY, [])
    statements = [line for line in script.splitlines() if line and not line.startswith("#")]
    assert statements == [f"flush set inet {TABLE} {set_name(LB_KEY)}"]


# --------------------------------------------------------------------------------------
# Reading sets back (`nft -j list set`)
# --------------------------------------------------------------------------------------


def _listing(elements: list[object] | None) -> str:
    nft_set: dict[str, object] = {
        "family": "inet",
        "name": "sg_x",
        "table": TABLE,
        "type": "ipv4_addr",
    }
    if elements is not None:
        nft_set["elem"] = elements
    return json.dumps({"nftables": [{"metainfo": {"version": "1.0.6"}}, {"set": nft_set}]})


def test_set_listing_is_parsed_sorted() -> None:
    listing = _listing(["192.0.2.13", {"elem": {"val": "192.0.2.10", "counter": {}}}])
    assert parse_set_elements(listing) == [IPv4Address("192.0.2.10"), IPv4Address("192.0.2.13")]


def test_empty_set_listing_has_no_members() -> None:
    assert parse_set_elements(_listing(None)) == []


def test_unexpected_set_elements_are_reported() -> None:
    with pytest.raises(ValueError):
        parse_set_elements(_listing([{"prefix": {"addr": "192.0.2.0", "len": 24}}]))
