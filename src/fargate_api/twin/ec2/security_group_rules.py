"""Security groups as nftables scripts: one table per ENI namespace, rendered as text.

An AWS security group is a stateful allow-list attached to an ENI, so the twin puts one
``table inet <table>`` into the ENI's network namespace:

* chain ``input`` (hook input, policy drop) and chain ``output`` (hook output, policy
  drop) carry what every ENI gets regardless of its groups: loopback passes (AWS never
  filters a host talking to itself), replies and related ICMP errors of tracked
  connections pass (security groups are stateful), invalid packets are dropped. A NEW
  connection on the ENI's interface jumps to ``allow_in`` / ``allow_out``.
* The ``output`` chain also accepts, before any group rule, what AWS never filters with
  security groups: the Amazon-provided DNS resolver (the VPC's base + 2, udp and tcp
  port 53, when ``resolver`` is given) and the ECS task metadata and credentials
  endpoint (169.254.170.2, tcp port 80). Their replies are established traffic.
* ``allow_in`` holds the ingress rules and ``allow_out`` the egress rules of ALL
  attached groups: a connection is allowed when any rule of any group allows it, as on
  AWS. A packet that no rule accepts returns to the base chain and hits its final
  counted drop, so a listing shows how much the groups refused.
* A rule that names a peer group matches a named set ``sg_<name>_<hash>`` holding the
  private IPs of the ENIs in that group. Membership changes (a task starting or
  stopping) then replace only the set's elements (``render_membership_update``) instead
  of reloading every table that references the group.

The scripts are pure text so they can be checked without root and loaded atomically by
``security_group_apply`` (``nft -f``: the whole script applies, or none of it). A full
ruleset declares the table, deletes it and defines it again in one transaction, so a
reload replaces the old rules without a moment where none (or both) apply; connection
tracking state lives outside the table, so established connections survive a reload.

CloudFormation semantics are the interpreter's job, not this module's: a
``AWS::EC2::SecurityGroup`` without ``SecurityGroupEgress`` gets AWS's default
allow-all egress rule, and standalone ``SecurityGroupIngress``/``SecurityGroupEgress``
resources add to their group. The groups passed here carry the final rule lists.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from ipaddress import IPv4Address

from fargate_api.twin.plan.model import SecurityGroup, SecurityGroupRule

# nft limits a comment to 128 bytes ("comment too long, 128 characters maximum").
COMMENT_MAX = 128
# The kernel allows 255-byte set names since Linux 4.15; 31 also fits older kernels'
# 32-byte limit, and keeps `nft list` output readable.
SET_NAME_MAX = 31
_HASH_LEN = 8
# The readable part of a set name: what is left after "sg_" and "_<hash>".
_SET_LABEL_MAX = SET_NAME_MAX - len("sg_") - 1 - _HASH_LEN
# Table names go into the script unquoted: keep them to what nft's scanner reads as one
# identifier, so a hostile name cannot inject statements.
_TABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
# Linux interface names: at most 15 bytes; no quote, space or slash can reach the script.
_INTERFACE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,15}")
_PORT_MAX = 65535
_ICMP_MAX = 255
_ANY = -1  # AWS's "all" for ports, ICMP type and code

# Base chains: what every ENI gets, whatever its groups say.
_INPUT_CHAIN = "input"
_OUTPUT_CHAIN = "output"
_INGRESS_CHAIN = "allow_in"
_EGRESS_CHAIN = "allow_out"
# Link-local services AWS never filters with security groups.
TASK_ENDPOINT = (IPv4Address("169.254.170.2"), 80)  # ECS metadata v4 and credentials
DNS_PORT = 53


def set_name(group_key: str) -> str:
    """The nft set holding a group's members: readable, unique per key, always legal.

    Keys like "ServiceStack/ServiceSecurityGroup" contain characters nft identifiers do
    not allow, and truncating them to a length limit could make two keys collide; a hash
    of the full key keeps names unique while the label keeps them recognisable.
    """
    label = re.sub(r"[^A-Za-z0-9]+", "_", group_key).strip("_")[:_SET_LABEL_MAX].strip("_")
    digest = hashlib.sha256(group_key.encode()).hexdigest()[:_HASH_LEN]
    return f"sg_{label}_{digest}" if label else f"sg_{digest}"


def referenced_groups(groups: Sequence[SecurityGroup]) -> set[str]:
    """Peer groups the ENI's rules name: the sets its table holds and must keep current."""
    return {
        rule.group
        for group in groups
        for rule in (*group.ingress, *group.egress)
        if rule.group is not None
    }


def render_eni_ruleset(
    table: str,
    interface: str,
    groups: Sequence[SecurityGroup],
    members: Mapping[str, Sequence[IPv4Address]],
    *,
    resolver: IPv4Address | None = None,
) -> str:
    """The complete script for one ENI namespace; loading it replaces the table atomically.

    ``resolver`` is the VPC's DNS resolver (base + 2): egress to it on port 53 is
    accepted before the group rules, as is egress to the task endpoint 169.254.170.2:80.

    ``members`` maps a group key to the private IPs of the ENIs in that group; a
    referenced group missing from it gets an empty set (no ENI has joined it yet).
    Groups are ordered by key and duplicates dropped, so the same attachment yields the
    same script in any order.
    """
    _check_table(table)
    _check_interface(interface)
    attached = _unique_groups(groups)
    lines = [
        f"# security groups of ENI {_sanitize(interface)}: "
        + (", ".join(_sanitize(g.key) for g in attached) or "(none)"),
        f"table inet {table} {{}}",
        f"delete table inet {table}",
        f"table inet {table} {{",
    ]
    for key in sorted(referenced_groups(attached)):
        lines += _set_block(key, members.get(key, ()))
    lines += _base_chain(_INPUT_CHAIN, interface)
    lines += ["", *_rule_chain(_INGRESS_CHAIN, attached, ingress=True)]
    lines += ["", *_base_chain(_OUTPUT_CHAIN, interface, _unfiltered_egress(resolver))]
    lines += ["", *_rule_chain(_EGRESS_CHAIN, attached, ingress=False)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_membership_update(table: str, group_key: str, members: Sequence[IPv4Address]) -> str:
    """Replaces a group's set in one table: flush and refill in one transaction.

    Never creates the set: a table whose rules do not reference the group has no use
    for it, so the caller only sends this to tables where ``referenced_groups`` names
    the group (loading it elsewhere fails, which points at the caller's bug).
    """
    _check_table(table)
    name = set_name(group_key)
    lines = [
        f"# members of security group {_sanitize(group_key)}",
        f"flush set inet {table} {name}",
    ]
    addresses = _addresses(members)
    if addresses:
        lines.append(f"add element inet {table} {name} {{ {addresses} }}")
    return "\n".join(lines) + "\n"


def render_rule_match(rule: SecurityGroupRule, *, ingress: bool) -> str:
    """The nft match of one rule: the peer (source or destination), protocol and ports."""
    peer = _peer_match(rule, ingress=ingress)
    protocol = _protocol_match(rule)
    return f"{peer} {protocol}" if protocol else peer


def _unique_groups(groups: Sequence[SecurityGroup]) -> list[SecurityGroup]:
    by_key: dict[str, SecurityGroup] = {}
    for group in groups:
        by_key.setdefault(group.key, group)
    return [by_key[key] for key in sorted(by_key)]


def _set_block(group_key: str, members: Sequence[IPv4Address]) -> list[str]:
    lines = [
        f"\tset {set_name(group_key)} {{",
        "\t\ttype ipv4_addr",
        f'\t\tcomment "{_comment(f"members of {group_key}")}"',
    ]
    addresses = _addresses(members)
    if addresses:  # nft rejects an empty `elements = { }`
        lines.append(f"\t\telements = {{ {addresses} }}")
    return [*lines, "\t}", ""]


def _unfiltered_egress(resolver: IPv4Address | None) -> list[str]:
    """Egress AWS never filters with security groups, as rule lines of the output chain."""
    address, port = TASK_ENDPOINT
    lines = [
        f"\t\tip daddr {address} tcp dport {port} counter accept"
        ' comment "ECS task metadata and credentials endpoint: never filtered"',
    ]
    if resolver is not None:
        lines += [
            f"\t\tip daddr {IPv4Address(resolver)} {protocol} dport {DNS_PORT} counter accept"
            ' comment "Amazon-provided DNS (VPC base + 2): never filtered"'
            for protocol in ("udp", "tcp")
        ]
    return lines


def _base_chain(hook: str, interface: str, unfiltered: Sequence[str] = ()) -> list[str]:
    inbound = hook == "input"
    lo_match, if_match = ("iif", "iifname") if inbound else ("oif", "oifname")
    rules_chain = _INGRESS_CHAIN if inbound else _EGRESS_CHAIN
    direction = "inbound" if inbound else "outbound"
    return [
        f"\tchain {hook} {{",
        f"\t\ttype filter hook {hook} priority filter; policy drop;",
        f'\t\t{lo_match} "lo" accept comment "loopback is never filtered"',
        "\t\tct state established,related counter accept"
        ' comment "stateful: replies and related ICMP errors"',
        '\t\tct state invalid counter drop comment "invalid"',
        *unfiltered,
        f'\t\t{if_match} "{interface}" jump {rules_chain}',
        f'\t\tcounter drop comment "no security group allows this new {direction} connection"',
        "\t}",
    ]


def _rule_chain(name: str, groups: Iterable[SecurityGroup], *, ingress: bool) -> list[str]:
    direction = "ingress" if ingress else "egress"
    lines = [f"\tchain {name} {{"]
    for group in groups:
        rules = group.ingress if ingress else group.egress
        for index, rule in enumerate(rules):
            text = f"{group.key} {direction}[{index}]"
            if rule.description:
                text += f": {rule.description}"
            match = render_rule_match(rule, ingress=ingress)
            lines.append(f'\t\t{match} counter accept comment "{_comment(text)}"')
    return [*lines, "\t}"]


def _peer_match(rule: SecurityGroupRule, *, ingress: bool) -> str:
    field = "saddr" if ingress else "daddr"
    if rule.group is not None and rule.cidr is not None:
        raise ValueError(f"a rule names both a CIDR ({rule.cidr}) and a group ({rule.group})")
    if rule.group is not None:
        return f"ip {field} @{set_name(rule.group)}"
    if rule.cidr is not None:
        peer = rule.cidr.network_address if rule.cidr.prefixlen == 32 else rule.cidr
        return f"ip {field} {peer}"
    # AWS requires a peer on every rule; a rule without one here would silently widen
    # to "anyone", so refuse it (the interpreter dropped a peer type it cannot model).
    raise ValueError(f"a security group rule has neither a CIDR nor a group: {rule!r}")


def _protocol_match(rule: SecurityGroupRule) -> str:
    if rule.protocol == "all":
        return ""
    if rule.protocol == "icmp":
        return _icmp_match(rule)
    ports = _port_range(rule)
    if ports is None:
        return f"meta l4proto {rule.protocol}"
    low, high = ports
    return f"{rule.protocol} dport {low}" if low == high else f"{rule.protocol} dport {low}-{high}"


def _port_range(rule: SecurityGroupRule) -> tuple[int, int] | None:
    """The destination port range, or None for all ports (AWS: -1, or 0-65535)."""
    low, high = rule.from_port, rule.to_port
    if low is None or low == _ANY:
        return None
    if high is None or high == _ANY:
        high = low
    if not 0 <= low <= high <= _PORT_MAX:
        raise ValueError(f"invalid {rule.protocol} port range {low}-{high}")
    if (low, high) == (0, _PORT_MAX):
        return None
    return low, high


def _icmp_match(rule: SecurityGroupRule) -> str:
    """AWS puts the ICMP type in FromPort and the code in ToPort; -1 means any.

    As on AWS, a code only narrows a specific type: with any type, any code matches.
    """
    icmp_type, code = rule.from_port, rule.to_port
    if icmp_type is None or icmp_type == _ANY:
        return "meta l4proto icmp"
    parts: list[str] = []
    for label, value in (("type", icmp_type), ("code", code)):
        if value is None or value == _ANY:
            continue
        if not 0 <= value <= _ICMP_MAX:
            raise ValueError(f"invalid ICMP {label} {value}")
        parts.append(f"icmp {label} {value}")
    return " ".join(parts)


def _addresses(members: Sequence[IPv4Address]) -> str:
    return ", ".join(str(address) for address in sorted(set(members)))


def _sanitize(text: str) -> str:
    """Text safe inside an nft quoted string or comment line.

    nft's quoted strings have no escapes (a double quote always ends one) and its
    scanner works on bytes, so double quotes become single ones and anything outside
    printable ASCII becomes "?".
    """
    return "".join("'" if char == '"' else char if " " <= char <= "~" else "?" for char in text)


def _comment(text: str) -> str:
    clean = _sanitize(text)
    if len(clean) <= COMMENT_MAX:
        return clean
    return clean[: COMMENT_MAX - 3] + "..."


def _check_table(table: str) -> None:
    if not _TABLE_NAME.fullmatch(table):
        raise ValueError(
            f"nft table name {table!r} must start with a letter and contain only letters, "
            "digits, '_' and '-' (at most 64 characters)"
        )


def _check_interface(interface: str) -> None:
    if not _INTERFACE_NAME.fullmatch(interface):
        raise ValueError(
            f"interface name {interface!r} must be 1-15 characters of letters, digits, "
            "'_', '.' and '-'"
        )
