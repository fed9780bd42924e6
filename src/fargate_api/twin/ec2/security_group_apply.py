"""Loads rendered security group scripts into ENI namespaces, and reads their sets back.

Kept apart from the rendering (security_group_rules) so that everything deciding WHAT
the rules are is testable without root; this module only decides WHERE they go, and
all kernel access goes through host.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address
from typing import Any

from fargate_api.twin.ec2.security_group_rules import (
    render_eni_ruleset,
    render_membership_update,
    set_name,
)
from fargate_api.twin.host import kernel as host
from fargate_api.twin.plan.model import SecurityGroup


def apply_eni_ruleset(
    netns: str,
    table: str,
    interface: str,
    groups: Sequence[SecurityGroup],
    members: Mapping[str, Sequence[IPv4Address]],
    *,
    resolver: IPv4Address | None = None,
) -> None:
    """(Re)loads the ENI's table in one transaction; safe to call again after changes.

    Egress to the VPC's DNS resolver (``resolver``, the VPC's base + 2) is never filtered.
    """
    host.nft(netns, render_eni_ruleset(table, interface, groups, members, resolver=resolver))


def update_membership(
    netns: str, table: str, group_key: str, members: Sequence[IPv4Address]
) -> None:
    """Replaces one group's set in one ENI's table, leaving its rules and counters alone.

    Raises host.HostCommandError when the table has no such set: the caller must only
    target tables whose groups reference ``group_key`` (see ``referenced_groups``).
    """
    host.nft(netns, render_membership_update(table, group_key, members))


def remove_eni_ruleset(netns: str, table: str) -> None:
    """Drops the ENI's table; the `table X {}` line makes it a no-op when already gone."""
    host.nft(netns, f"table inet {table} {{}}\ndelete table inet {table}\n")


def list_set(netns: str, table: str, group_key: str) -> list[IPv4Address]:
    """The addresses currently in a group's set in one ENI's table, sorted."""
    out = host.nft_list(netns, "-j", "list", "set", "inet", table, set_name(group_key))
    return parse_set_elements(out)


def parse_set_elements(nft_json: str) -> list[IPv4Address]:
    """Addresses of the set in `nft -j list set` output.

    Elements appear as plain strings, or wrapped as {"elem": {"val": ...}} when they
    carry a timeout, counter or comment; anything else (ranges, prefixes) cannot come
    from render_* and is reported rather than guessed at.
    """
    document = json.loads(nft_json)
    addresses: list[IPv4Address] = []
    for entry in document.get("nftables", []):
        nft_set = entry.get("set")
        if nft_set is None:
            continue
        for element in nft_set.get("elem", []):
            addresses.append(_address(element))
    return sorted(addresses)


def _address(element: Any) -> IPv4Address:
    value = element
    if isinstance(value, dict) and isinstance(value.get("elem"), dict):
        value = value["elem"].get("val")
    if not isinstance(value, str):
        raise ValueError(f"unexpected nft set element {element!r}: expected an IPv4 address")
    return IPv4Address(value)
