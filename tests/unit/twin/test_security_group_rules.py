"""Security groups rendered as nftables scripts: the text, and nft's own verdict on it.

Every rendered script also goes through `nft -c -f -` (check mode: the kernel validates
the whole transaction and commits nothing), because a script that reads right but does
not load would only surface when a twin is built. Check mode needs CAP_NET_ADMIN; when
it cannot run, the tests fail and say so rather than pass on text alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network

import pytest

from fargate_api.twin.model import Protocol, SecurityGroup, SecurityGroupRule
from fargate_api.twin.security_group_apply import parse_set_elements
from fargate_api.twin.security_group_rules import (
    COMMENT_MAX,
    SET_NAME_MAX,
    referenced_groups,
    render_eni_ruleset,
    render_membership_update,
    render_rule_match,
    set_name,
)

TABLE = "fa-unit-sg"
IFACE = "eth0"
LB_KEY = "ServiceStack/LoadBalancerSecurityGroup"
SVC_KEY = "ServiceStack/ServiceSecurityGroup"
ANYWHERE = IPv4Network("0.0.0.0/0")

LB = SecurityGroup(
    key=LB_KEY,
    name="lb",
    ingress=(SecurityGroupRule("tcp", 80, 80, cidr=ANYWHERE, description="HTTP from anywhere"),),
    egress=(SecurityGroupRule("tcp", 8080, 8080, group=SVC_KEY, description="to tasks"),),
)
SVC = SecurityGroup(
    key=SVC_KEY,
    name="svc",
    ingress=(SecurityGroupRule("tcp", 8080, 8080, group=LB_KEY, description="from the ALB"),),
    egress=(SecurityGroupRule("all", None, None, cidr=ANYWHERE, description="default egress"),),
)
MEMBERS: dict[str, list[IPv4Address]] = {
    LB_KEY: [IPv4Address("192.0.2.10")],
    SVC_KEY: [IPv4Address("192.0.2.12"), IPv4Address("192.0.2.11"), IPv4Address("192.0.2.11")],
}


def rule(
    protocol: Protocol = "tcp", low: int | None = 80, high: int | None = 80
) -> SecurityGroupRule:
    return SecurityGroupRule(protocol, low, high, cidr=IPv4Network("198.51.100.0/24"))


def group(
    key: str, ingress: Sequence[SecurityGroupRule] = (), egress: Sequence[SecurityGroupRule] = ()
) -> SecurityGroup:
    return SecurityGroup(key=key, name=key, ingress=tuple(ingress), egress=tuple(egress))


def chain_body(script: str, chain: str) -> list[str]:
    """The rule lines of one chain, stripped."""
    match = re.search(rf"\n\tchain {chain} {{\n(.*?)\n\t}}", script, re.S)
    assert match, f"chain {chain} missing:\n{script}"
    return [line.strip() for line in match.group(1).splitlines() if line.strip()]


def set_block(script: str, name: str) -> str:
    match = re.search(rf"\n\tset {name} {{\n(.*?)\n\t}}", script, re.S)
    assert match, f"set {name} missing:\n{script}"
    return match.group(1)


# --------------------------------------------------------------------------------------
# nft check mode
# --------------------------------------------------------------------------------------

NftCheck = Callable[[str], None]


def _nft_check(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["nft", "-c", "-f", "-"],
        input=script,
        capture_output=True,
        text=True,
        timeout=15,
        check=False,
    )


@pytest.fixture(scope="module")
def nft_check() -> NftCheck:
    """`nft -c`, after making sure it can run at all (a clear failure when it cannot)."""
    if shutil.which("nft") is None:
        pytest.fail(
            "`nft` is not installed: these tests validate rendered scripts with `nft -c`; "
            "install the Debian package nftables (`make install` as root)",
            pytrace=False,
        )
    probe = _nft_check(f"table inet {TABLE}-probe {{}}\n")
    if probe.returncode != 0:
        pytest.fail(
            f"`nft -c -f -` cannot run here (euid={os.geteuid()}): {probe.stderr.strip()}. "
            "Check mode asks the kernel to validate the script and needs CAP_NET_ADMIN and "
            "nf_tables: run the unit tier as root (or with CAP_NET_ADMIN).",
            pytrace=False,
        )

    def check(script: str) -> None:
        result = _nft_check(script)
        assert result.returncode == 0, f"nft rejects the script:\n{result.stderr}\n{script}"

    return check


def assert_loads(nft_check: NftCheck, script: str) -> None:
    nft_check(script)


def test_nft_check_rejects_a_broken_script(nft_check: NftCheck) -> None:
    """The validator itself can say no: otherwise every check below would prove nothing."""
    broken = render_eni_ruleset(TABLE, IFACE, [LB, SVC], MEMBERS).replace(
        "policy drop", "policy maybe"
    )
    assert _nft_check(broken).returncode != 0


SCENARIOS: dict[str, tuple[list[SecurityGroup], Mapping[str, Sequence[IPv4Address]]]] = {
    "lb and service": ([LB, SVC], MEMBERS),
    "lb only": ([LB], MEMBERS),
    "no groups": ([], {}),
    "referenced group without members": ([SVC], {}),
    "self reference": (
        [group("S/Self", ingress=[SecurityGroupRule("all", None, None, group="S/Self")])],
        {"S/Self": [IPv4Address("192.0.2.1")]},
    ),
    "every rule shape": (
        [
            group(
                "S/Shapes",
                ingress=[
                    rule("tcp", 80, 80),
                    rule("tcp", 8000, 8100),
                    rule("tcp", None, None),
                    rule("tcp", -1, -1),
                    rule("tcp", 0, 65535),
                    rule("udp", 53, 53),
                    rule("udp", None, None),
                    rule("icmp", 8, -1),
                    rule("icmp", 3, 4),
                    rule("icmp", -1, -1),
                    rule("icmp", None, None),
                    rule("all", None, None),
                    SecurityGroupRule("tcp", 22, 22, cidr=IPv4Network("203.0.113.7/32")),
                ],
                egress=[rule("udp", 123, 123), rule("icmp", 0, 0)],
            )
        ],
        {},
    ),
    "hostile descriptions": (
        [
            group(
                'S/"Quoted" group',
                ingress=[
                    SecurityGroupRule(
                        "tcp", 443, 443, cidr=ANYWHERE, description='say "hi"; drop } # \\ é\n'
                    ),
                    SecurityGroupRule("tcp", 444, 444, cidr=ANYWHERE, description="x" * 300),
                ],
            )
        ],
        {},
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_rendered_ruleset_loads_in_nft_check_mode(nft_check: NftCheck, name: str) -> None:
    groups, members = SCENARIOS[name]
    assert_loads(nft_check, render_eni_ruleset(TABLE, IFACE, groups, members))


def test_reloading_the_same_table_is_one_valid_transaction(nft_check: NftCheck) -> None:
    """Two loads back to back: the second must replace, not collide with, the first."""
    first = render_eni_ruleset(TABLE, IFACE, [LB, SVC], MEMBERS)
    second = render_eni_ruleset(TABLE, IFACE, [LB], {})
    assert_loads(nft_check, first + second)


def test_membership_update_loads_after_the_ruleset(nft_check: NftCheck) -> None:
    ruleset = render_eni_ruleset(TABLE, IFACE, [SVC], MEMBERS)
    grow = render_membership_update(
        TABLE, LB_KEY, [IPv4Address("192.0.2.13"), IPv4Address("192.0.2.10")]
    )
    empty = render_membership_update(TABLE, LB_KEY, [])
    assert_loads(nft_check, ruleset + grow + empty)


def test_membership_update_does_not_create_a_missing_set(nft_check: NftCheck) -> None:
    """The update leaves tables without the set alone: loading it there must fail."""
    ruleset = render_eni_ruleset(TABLE, IFACE, [LB], MEMBERS)  # references SVC, not LB
    update = render_membership_update(TABLE, LB_KEY, [IPv4Address("192.0.2.13")])
    assert _nft_check(ruleset + update).returncode != 0


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
    assert lines[4] == f'{iface} "{IFACE}" jump {jump}'
    assert lines[5].startswith("counter drop")
    assert len(lines) == 6


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
