"""The network faults as nftables scripts: pure text, checked without root.

Every fault is one table of its own (``<prefix>fis-…``), never a rule inside a table
the twin's VPC or security groups own: healing a fault is then deleting its table, and
a reload of the security groups (which replaces their table) cannot take a fault with it,
nor the other way round. A drop in any base chain is final, whatever other tables
accept, so a fault's table needs no priority games to win over the security groups.

Scripts that replace a table use the idempotent ``table … {}`` / ``delete table`` /
``table … { … }`` transaction of ec2/vpc.py: applying a fault twice is no error, and
there is no moment with both or neither rule set. AZ isolation is the exception: several
AZs may be isolated at once, so its table keeps a named set of bridge names; isolating
an AZ adds its bridges (declaring the table and set without touching existing elements),
restoring it deletes them, and the caller deletes the table once the set is empty.

Latency without netem needs the task's TCP through a delaying proxy in the task's
namespace (fis/delay_proxy.py):

* outbound connections (the task is the client): a ``nat`` ``output`` redirect to the
  proxy, skipping the proxy's own connections (they carry ``SO_MARK`` = ``mark``),
  loopback, link-local services (the ECS task endpoint 169.254.170.2 and the instance
  metadata address) and DNS. The proxy's own connection then passes the security
  groups' egress rules like the task's would have.
* inbound connections (the task is the server): ``tproxy`` in ``prerouting`` rather than
  a ``nat`` redirect. A redirect rewrites the destination port before the security
  groups' input chain runs, and that chain only allows the task's own ports, so every
  inbound connection would be dropped. TPROXY hands the SYN to the proxy's transparent
  socket with the packet unchanged, so the security groups see the real port.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from ipaddress import IPv4Network
from typing import Any, Literal

Protocol = Literal["tcp", "udp"]
Traffic = Literal["ingress", "egress", "both"]

AZ_SET = "isolated"
# Link-local: the ECS task metadata/credentials endpoint (169.254.170.2) and the instance
# metadata address. FIS leaves them reachable during network faults, so the agent (and
# the task's credentials) keep working; the twin does the same.
LINK_LOCAL = IPv4Network("169.254.0.0/16")
TASK_ENDPOINT = "169.254.170.2"
LOOPBACK = IPv4Network("127.0.0.0/8")
DNS_PORT = 53
PORT_MAX = 65535
MARK_MAX = 0xFFFFFFFF
# Before the security groups' filter chains (priority filter = 0): a fault drops first.
FILTER_PRIORITY = "filter - 10"

# Table and interface names go into the script unquoted / quoted: keep them to what nft
# reads as one identifier, so no name can inject statements.
_TABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_INTERFACE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,15}")


def _check_table(table: str) -> str:
    if not _TABLE_NAME.fullmatch(table):
        raise ValueError(f"{table!r} cannot be an nftables table name")
    return table


def _check_interface(name: str) -> str:
    if not _INTERFACE_NAME.fullmatch(name):
        raise ValueError(f"{name!r} cannot be a network interface name")
    return name


def _check_port(port: int) -> int:
    if not 1 <= port <= PORT_MAX:
        raise ValueError(f"port {port} is outside 1-{PORT_MAX}")
    return port


def _replace(table: str, body: list[str]) -> str:
    """Declare, delete and define again in one transaction: applying twice is no error."""
    return (
        "\n".join(
            [
                f"table ip {table} {{}}",
                f"delete table ip {table}",
                f"table ip {table} {{",
                *body,
                "}",
            ]
        )
        + "\n"
    )


def delete_table(table: str) -> str:
    """Removes a fault's table; no error when it is not there (declared first)."""
    _check_table(table)
    return f"table ip {table} {{}}\ndelete table ip {table}\n"


# ------------------------------------------------------------------- AZ isolation
def az_isolation_add(table: str, bridges: Iterable[str]) -> str:
    """Adds bridges (an AZ's subnets) to the router's isolation set.

    The table, set and chain are declared without content (created when missing, left
    alone when present) and the chain's two rules are rewritten (flush, add) in the same
    transaction, so the set's other elements — other AZs still isolated — stay.
    Forwarded packets in or out of an isolated bridge are dropped: the subnets keep
    talking among themselves (bridged) but reach nothing beyond, as in a powered-off AZ.
    """
    _check_table(table)
    names = sorted({_check_interface(bridge) for bridge in bridges})
    if not names:
        raise ValueError("isolating an AZ needs at least one bridge")
    elements = ", ".join(f'"{name}"' for name in names)
    return (
        "\n".join(
            [
                f"table ip {table} {{",
                f"\tset {AZ_SET} {{ type ifname; }}",
                "\tchain forward {",
                f"\t\ttype filter hook forward priority {FILTER_PRIORITY}; policy accept;",
                "\t}",
                "}",
                f"flush chain ip {table} forward",
                f"add rule ip {table} forward iifname @{AZ_SET} counter drop"
                ' comment "fault: AZ power interruption (in)"',
                f"add rule ip {table} forward oifname @{AZ_SET} counter drop"
                ' comment "fault: AZ power interruption (out)"',
                f"add element ip {table} {AZ_SET} {{ {elements} }}",
            ]
        )
        + "\n"
    )


def az_isolation_remove(table: str, bridges: Iterable[str]) -> str:
    """Deletes bridges from the isolation set; each must be in it (nft refuses a missing
    element), so the caller passes only those ``parse_set_elements`` found."""
    _check_table(table)
    names = sorted({_check_interface(bridge) for bridge in bridges})
    if not names:
        return ""
    elements = ", ".join(f'"{name}"' for name in names)
    return f"delete element ip {table} {AZ_SET} {{ {elements} }}\n"


def parse_set_elements(nft_json: str) -> list[str]:
    """The string elements of the set in ``nft -j list set`` output, sorted."""
    document: dict[str, Any] = json.loads(nft_json)
    found: list[str] = []
    for entry in document.get("nftables", []):
        nft_set = entry.get("set") if isinstance(entry, dict) else None
        if not isinstance(nft_set, dict):
            continue
        for element in nft_set.get("elem", []):
            value = element
            if isinstance(value, dict) and isinstance(value.get("elem"), dict):
                value = value["elem"].get("val")
            if not isinstance(value, str):
                raise ValueError(f"unexpected nft set element {element!r}: expected a name")
            found.append(value)
    return sorted(found)


# ------------------------------------------------------------------- NAT gateway loss
def nat_loss_ruleset(table: str) -> str:
    """Everything the NAT gateway would forward is dropped: its private subnets lose
    egress (and their fixed egress IP), as when the NAT gateway's AZ fails."""
    _check_table(table)
    return _replace(
        table,
        [
            "\tchain forward {",
            f"\t\ttype filter hook forward priority {FILTER_PRIORITY}; policy drop;",
            '\t\tcounter comment "fault: NAT gateway lost, nothing is forwarded"',
            "\t}",
        ],
    )


# ------------------------------------------------------------------- blackhole
def blackhole_ruleset(table: str, *, port: int | None, protocol: Protocol, traffic: Traffic) -> str:
    """FIS's ``aws:ecs:task-network-blackhole-port``: packets of ``protocol`` to ``port``
    (every port when None) are dropped, inbound (input hook, by destination port),
    outbound (output hook, by destination port) or both.

    Loopback is never touched (containers of a task talking to each other), nor outbound
    link-local traffic (the task endpoint: the task's credentials keep working, as FIS
    leaves the metadata endpoints alone).
    """
    _check_table(table)
    if protocol not in ("tcp", "udp"):
        raise ValueError(f"protocol {protocol!r} is neither tcp nor udp")
    if traffic not in ("ingress", "egress", "both"):
        raise ValueError(f"traffic {traffic!r} is not ingress, egress or both")
    match = (
        f"{protocol} dport {_check_port(port)}"
        if port is not None
        else (f"meta l4proto {protocol}")
    )
    what = f"{protocol} port {port}" if port is not None else f"all {protocol}"
    body: list[str] = []
    if traffic in ("ingress", "both"):
        body += [
            "\tchain input {",
            f"\t\ttype filter hook input priority {FILTER_PRIORITY}; policy accept;",
            '\t\tiif "lo" accept',
            f'\t\t{match} counter drop comment "fault: blackhole, inbound {what}"',
            "\t}",
        ]
    if traffic in ("egress", "both"):
        body += [
            "\tchain output {",
            f"\t\ttype filter hook output priority {FILTER_PRIORITY}; policy accept;",
            '\t\toif "lo" accept',
            f"\t\tip daddr {LINK_LOCAL} accept",
            f'\t\t{match} counter drop comment "fault: blackhole, outbound {what}"',
            "\t}",
        ]
    return _replace(table, body)


# ------------------------------------------------------------------- latency
def latency_redirect_ruleset(table: str, *, interface: str, port: int, mark: int) -> str:
    """The task's TCP through the delay proxy listening on ``port`` (see the module's
    text): inbound by TPROXY from ``interface``, outbound by a ``nat`` redirect that
    skips packets carrying ``mark`` (the proxy's own connections), loopback, link-local
    addresses and DNS."""
    _check_table(table)
    _check_interface(interface)
    _check_port(port)
    if not 0 < mark <= MARK_MAX:
        raise ValueError(f"mark {mark} is outside 1-{MARK_MAX:#x}")
    return _replace(
        table,
        [
            "\tchain inbound {",
            "\t\ttype filter hook prerouting priority mangle; policy accept;",
            f'\t\tiifname "{interface}" meta l4proto tcp tproxy to :{port}'
            ' comment "fault: latency, inbound TCP through the delay proxy"',
            "\t}",
            "\tchain outbound {",
            "\t\ttype nat hook output priority -110; policy accept;",
            '\t\toifname "lo" return',
            f"\t\tmeta mark {mark:#x} return",
            f"\t\tip daddr {LOOPBACK} return",
            f"\t\tip daddr {LINK_LOCAL} return",
            f"\t\ttcp dport {DNS_PORT} return",
            f"\t\tmeta l4proto tcp redirect to :{port}"
            ' comment "fault: latency, outbound TCP through the delay proxy"',
            "\t}",
        ],
    )
