"""Security groups enforced by nftables inside real ENI namespaces.

Topology (everything named with the test's prefix, addresses from RFC 5737
192.0.2.0/24, all on one bridge in a "router" namespace, as ENIs in one subnet are):

    lb        192.0.2.10  group LB  : ingress tcp 80 from 0.0.0.0/0; egress tcp 8080 to SVC
    task1     192.0.2.11  SVC + OPS : SVC ingress tcp 8080 from LB only; egress all
                                      OPS ingress tcp 9090 from 192.0.2.0/24
    task2     192.0.2.12  SVC + PING: PING ingress icmp echo-request from outsider only
    outsider  192.0.2.20  no table  : plays the internet
    task3     192.0.2.13  group LB  : created by the membership test

Listeners answer "<namespace>:<port> from <peer address>" and close, so a successful
probe also proves who connected. A blocked probe must TIME OUT (a silent drop), never be
refused: a refusal would mean the packet got through. Where a test claims WHICH side
dropped a packet, it reads that side's drop counter.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

import pytest

from fargate_api.twin.ec2.security_group_apply import (
    apply_eni_ruleset,
    list_set,
    update_membership,
)
from fargate_api.twin.ec2.security_group_rules import referenced_groups
from fargate_api.twin.host import kernel as host
from fargate_api.twin.plan.model import SecurityGroup, SecurityGroupRule

SUBNET_PREFIX = 24
ADDRESSES = {
    "lb": IPv4Address("192.0.2.10"),
    "task1": IPv4Address("192.0.2.11"),
    "task2": IPv4Address("192.0.2.12"),
    "task3": IPv4Address("192.0.2.13"),
    "outsider": IPv4Address("192.0.2.20"),
}
PORT_SUFFIX = {"lb": "lb", "task1": "t1", "task2": "t2", "task3": "t3", "outsider": "out"}
CONNECT_TIMEOUT = 1.0
READY_TIMEOUT = 5.0
IFNAMSIZ_MAX = 15

# Probe exit codes.
OK, TIMED_OUT, REFUSED, OTHER_ERROR = 0, 2, 3, 4

LB_KEY = "Twin/LoadBalancerSG"
SVC_KEY = "Twin/ServiceSG"
OPS_KEY = "Twin/OpsSG"
PING_KEY = "Twin/PingSG"

GROUPS = {
    LB_KEY: SecurityGroup(
        LB_KEY,
        "lb",
        ingress=(
            SecurityGroupRule("tcp", 80, 80, cidr=IPv4Network("0.0.0.0/0"), description="HTTP"),
        ),
        egress=(SecurityGroupRule("tcp", 8080, 8080, group=SVC_KEY, description="to tasks"),),
    ),
    SVC_KEY: SecurityGroup(
        SVC_KEY,
        "svc",
        ingress=(SecurityGroupRule("tcp", 8080, 8080, group=LB_KEY, description="from the LB"),),
        egress=(SecurityGroupRule("all", None, None, cidr=IPv4Network("0.0.0.0/0")),),
    ),
    OPS_KEY: SecurityGroup(
        OPS_KEY,
        "ops",
        ingress=(SecurityGroupRule("tcp", 9090, 9090, cidr=IPv4Network("192.0.2.0/24")),),
        egress=(),
    ),
    PING_KEY: SecurityGroup(
        PING_KEY,
        "ping",
        ingress=(
            SecurityGroupRule(
                "icmp", 8, -1, cidr=IPv4Network(f"{ADDRESSES['outsider']}/32"), description="ping"
            ),
        ),
        egress=(),
    ),
}
ATTACHED = {
    "lb": (LB_KEY,),
    "task1": (SVC_KEY, OPS_KEY),
    "task2": (SVC_KEY, PING_KEY),
    "task3": (LB_KEY,),
}
LISTENERS = {"lb": (80, 8080), "task1": (8080, 9090), "task2": (8080,)}

SERVER = """
import selectors, socket, sys
name, addr, ports = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]
sel = selectors.DefaultSelector()
for port in ports:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(16)
    sel.register(srv, selectors.EVENT_READ, port)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        conn, peer = key.fileobj.accept()
        with conn:
            conn.sendall(f"{name}:{key.data} from {peer[0]}".encode())
"""

CLIENT = """
import socket, sys
addr, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
try:
    conn = socket.create_connection((addr, port), timeout=timeout)
except TimeoutError:
    sys.exit(2)
except ConnectionRefusedError:
    sys.exit(3)
except OSError as exc:
    print(exc, file=sys.stderr)
    sys.exit(4)
conn.settimeout(3)
data = b""
while chunk := conn.recv(1024):
    data += chunk
sys.stdout.write(data.decode())
"""


# Sends one ICMP message of the given type (code 0, 12 bytes of zero payload) via a raw
# socket: `ping` only sends echo requests, and a type-specific rule needs another type.
ICMP_SEND = """
import socket, struct, sys
addr, icmp_type = sys.argv[1], int(sys.argv[2])
def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
body = struct.pack("!HH", 0x1234, 1) + bytes(12)
header = struct.pack("!BBH", icmp_type, 0, 0)
packet = struct.pack("!BBH", icmp_type, 0, checksum(header + body)) + body
with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
    sock.sendto(packet, (addr, 0))
"""
ICMP_TIMESTAMP_REQUEST = 13


@dataclass(frozen=True)
class Probe:
    source: str
    target: str
    port: int
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return (
            f"{self.source} -> {self.target}:{self.port}: exit {self.returncode} "
            f"stdout={self.stdout!r} stderr={self.stderr.strip()!r}"
        )


@dataclass
class Topology:
    prefix: str
    router: str
    bridge: str
    table: str
    interface: str
    enis: list[str] = field(default_factory=list)  # roles, in creation order
    servers: list[subprocess.Popen[str]] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)  # everything created, for teardown

    def ns(self, role: str) -> str:
        return f"{self.prefix}{role}"

    def add_eni(self, role: str) -> None:
        """A namespace whose only interface is a veth into the bridge, as an ENI's is."""
        ns = self.ns(role)
        port = f"{self.prefix.replace('-', '')}{PORT_SUFFIX[role]}"
        assert len(port) <= IFNAMSIZ_MAX and len(self.interface) <= IFNAMSIZ_MAX
        host.netns_add(ns)
        self.namespaces.append(ns)
        # ENIs here are IPv4-only; IPv6 link-local chatter would only add noise to the
        # drop counters the tests read.
        host.sysctl(
            ns, {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
        )
        # Both ends are created inside namespaces: the root namespace never holds either.
        host.ip_batch(
            ns,
            [
                f"link add {self.interface} type veth peer name {port} netns {self.router}",
                "link set lo up",
                f"addr add {ADDRESSES[role]}/{SUBNET_PREFIX} dev {self.interface}",
                f"link set {self.interface} up",
            ],
        )
        host.ip_batch(self.router, [f"link set {port} master {self.bridge}", f"link set {port} up"])
        self.enis.append(role)

    def members(self) -> dict[str, list[IPv4Address]]:
        """Group key -> private IPs of the ENIs (currently built) attached to it."""
        out: dict[str, list[IPv4Address]] = {key: [] for key in GROUPS}
        for role in self.enis:
            for key in ATTACHED.get(role, ()):
                out[key].append(ADDRESSES[role])
        return out

    def apply(self, role: str, groups: Sequence[str] | None = None) -> None:
        keys = ATTACHED[role] if groups is None else groups
        apply_eni_ruleset(
            self.ns(role), self.table, self.interface, [GROUPS[k] for k in keys], self.members()
        )

    def set_members(self, group_key: str, roles: Sequence[str]) -> list[str]:
        """Pushes a group's membership to every ENI whose rules reference it, as the twin
        must; returns the roles that were updated."""
        updated = []
        for role in self.enis:
            attached = [GROUPS[k] for k in ATTACHED.get(role, ())]
            if group_key in referenced_groups(attached):
                addresses = [ADDRESSES[r] for r in roles]
                update_membership(self.ns(role), self.table, group_key, addresses)
                updated.append(role)
        return updated

    def serve(self, role: str, ports: Sequence[int]) -> None:
        ns = self.ns(role)
        # The namespace name (with the test's prefix) is on the command line, so the
        # tier's leak check finds the listener should it ever outlive the test.
        argv = [sys.executable, "-c", SERVER, ns, str(ADDRESSES[role]), *map(str, ports)]
        proc = subprocess.Popen(
            host.in_netns(ns, argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.servers.append(proc)
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            if not sel.select(READY_TIMEOUT) or proc.stdout.readline().strip() != "ready":
                proc.kill()
                _, err = proc.communicate(timeout=5)
                pytest.fail(f"listener in {ns} did not start: {err}", pytrace=False)

    def probe_all(self, checks: Sequence[tuple[str, str, int]]) -> list[Probe]:
        """TCP connects (source role, target role, port), run concurrently: blocked ones
        each cost the full connect timeout, so they overlap."""
        commands = [self._client(src, dst, port) for src, dst, port in checks]
        procs = [
            subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for command in commands
        ]
        results = []
        for (src, dst, port), proc in zip(checks, procs, strict=True):
            out, err = proc.communicate(timeout=15)
            results.append(Probe(src, dst, port, proc.returncode, out, err))
        return results

    def _client(self, src: str, dst: str, port: int) -> list[str]:
        args = [str(ADDRESSES[dst]), str(port), str(CONNECT_TIMEOUT)]
        return host.in_netns(self.ns(src), [sys.executable, "-c", CLIENT, *args])

    def probe(self, src: str, dst: str, port: int) -> Probe:
        return self.probe_all([(src, dst, port)])[0]

    def ping_all(self, pairs: Sequence[tuple[str, str]]) -> list[bool]:
        """One echo request per (source, target), concurrently; True where a reply came."""
        procs = [
            subprocess.Popen(
                host.in_netns(
                    self.ns(src), ["ping", "-n", "-q", "-c1", "-W1", str(ADDRESSES[dst])]
                ),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for src, dst in pairs
        ]
        return [" 1 received" in proc.communicate(timeout=15)[0] for proc in procs]

    def ping(self, src: str, dst: str) -> bool:
        return self.ping_all([(src, dst)])[0]

    def send_icmp(self, src: str, dst: str, icmp_type: int) -> None:
        args = [str(ADDRESSES[dst]), str(icmp_type)]
        host.run(host.in_netns(self.ns(src), [sys.executable, "-c", ICMP_SEND, *args]))

    def counter(self, role: str, chain: str, comment_prefix: str) -> int:
        """Packets counted by the rule whose comment starts with ``comment_prefix``."""
        listing = json.loads(
            host.nft_list(self.ns(role), "-j", "list", "chain", "inet", self.table, chain)
        )
        for entry in listing["nftables"]:
            rule = entry.get("rule")
            if not rule or not rule.get("comment", "").startswith(comment_prefix):
                continue
            for expr in rule["expr"]:
                if "counter" in expr:
                    return int(expr["counter"]["packets"])
        raise AssertionError(f"no rule {comment_prefix!r} in {role}'s {chain}:\n{listing}")

    def drops(self, role: str, chain: str) -> int:
        """Packets the base chain's final drop (no group allowed them) has counted."""
        return self.counter(role, chain, "no security group allows")


def assert_connects(topo: Topology, src: str, dst: str, port: int, attempts: int = 3) -> None:
    """A few attempts absorb a slow first ARP resolution; the body proves who answered."""
    result = topo.probe(src, dst, port)
    for _ in range(attempts - 1):
        if result.returncode == OK:
            break
        time.sleep(0.1)
        result = topo.probe(src, dst, port)
    assert result.returncode == OK, f"expected a connection: {result.describe()}"
    assert result.stdout == f"{topo.ns(dst)}:{port} from {ADDRESSES[src]}", result.describe()


def assert_blocked(results: Sequence[Probe]) -> None:
    for result in results:
        assert result.returncode == TIMED_OUT, f"expected a silent drop: {result.describe()}"


def assert_pings(topo: Topology, src: str, dst: str, attempts: int = 3) -> None:
    for _ in range(attempts):
        if topo.ping(src, dst):
            return
        time.sleep(0.1)
    pytest.fail(f"ping {src} -> {dst} got no reply", pytrace=False)


def wait_for(condition: Callable[[], bool], timeout: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=5)


@pytest.fixture
def topo(netns_prefix: str) -> Iterator[Topology]:
    compact = netns_prefix.replace("-", "")
    t = Topology(
        prefix=netns_prefix,
        router=f"{netns_prefix}router",
        bridge=f"{compact}br",
        table=f"{netns_prefix}sg",
        interface=f"{compact}e",
    )
    try:
        host.netns_add(t.router)
        t.namespaces.append(t.router)
        host.ip_batch(
            t.router,
            ["link set lo up", f"link add {t.bridge} type bridge", f"link set {t.bridge} up"],
        )
        for role in ("lb", "task1", "task2", "outsider"):
            t.add_eni(role)
        for role in ("lb", "task1", "task2"):
            t.apply(role)
        for role, ports in LISTENERS.items():
            t.serve(role, ports)
        yield t
    finally:
        for proc in t.servers:
            _kill(proc)
        for ns in reversed(t.namespaces):
            for pid in host.netns_pids(ns):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            host.netns_delete(ns)
        left = [ns for ns in host.netns_list() if ns.startswith(netns_prefix)]
        assert not left, f"namespaces left behind: {left}"


def test_lb_reaches_tasks_and_replies_flow_back(topo: Topology) -> None:
    assert_connects(topo, "lb", "task1", 8080)
    assert_connects(topo, "lb", "task2", 8080)
    assert_connects(topo, "outsider", "lb", 80)  # LB ingress: tcp 80 from anywhere
    # The replies above entered lb although its ingress only admits tcp 80: that is the
    # conntrack rule. Without it, lb's input chain would have dropped task1's SYN-ACK.
    # The same port is closed to NEW connections from the task:
    before = topo.drops("lb", "input")
    assert_blocked(topo.probe_all([("task1", "lb", 8080)]))
    assert topo.drops("lb", "input") > before


def test_tasks_only_accept_the_lb(topo: Topology) -> None:
    before = topo.drops("task1", "input"), topo.drops("task2", "input")
    assert_blocked(
        topo.probe_all(
            [
                ("outsider", "task1", 8080),  # not in LB
                ("task1", "task2", 8080),  # SVC has no self-referencing rule
            ]
        )
    )
    assert topo.drops("task1", "input") > before[0]
    assert topo.drops("task2", "input") > before[1]
    assert_connects(topo, "lb", "task1", 8080)  # the listener is there for the LB


def test_lb_egress_limits_the_ports_it_reaches(topo: Topology) -> None:
    # task1 admits 9090 from the whole subnet (OPS), so only lb's own egress can stop it.
    assert_connects(topo, "outsider", "task1", 9090)
    lb_before, task1_before = topo.drops("lb", "output"), topo.drops("task1", "input")
    assert_blocked(topo.probe_all([("lb", "task1", 9090)]))
    assert topo.drops("lb", "output") > lb_before
    assert topo.drops("task1", "input") == task1_before  # the SYN never left lb

    # Reloading task1 without OPS replaces its table in place: 9090 closes.
    topo.apply("task1", groups=(SVC_KEY,))
    assert_blocked(topo.probe_all([("outsider", "task1", 9090)]))
    tables = host.nft_list(topo.ns("task1"), "list", "tables").split()
    assert tables.count(topo.table) == 1
    assert_connects(topo, "lb", "task1", 8080)


def test_membership_update_admits_and_evicts_a_new_eni(topo: Topology) -> None:
    topo.add_eni("task3")
    topo.apply("task3")  # LB's rules; task1's and task2's LB sets do not list it yet

    assert_blocked(topo.probe_all([("task3", "task1", 8080)]))

    updated = topo.set_members(LB_KEY, ["lb", "task3"])
    assert updated == ["task1", "task2"]  # only tables that reference LB hold its set
    assert list_set(topo.ns("task1"), topo.table, LB_KEY) == [
        ADDRESSES["lb"],
        ADDRESSES["task3"],
    ]
    assert_connects(topo, "task3", "task1", 8080)
    assert_connects(topo, "task3", "task2", 8080)

    topo.set_members(LB_KEY, ["lb"])
    assert list_set(topo.ns("task1"), topo.table, LB_KEY) == [ADDRESSES["lb"]]
    assert_blocked(topo.probe_all([("task3", "task1", 8080)]))
    assert_connects(topo, "lb", "task1", 8080)  # the remaining member is unaffected


def test_icmp_rule_admits_echo_requests_from_its_source_only(topo: Topology) -> None:
    assert_pings(topo, "outsider", "task2")  # PING: echo-request from outsider/32
    blocked = [
        ("outsider", "task1"),  # task1 has no ICMP rule
        ("task1", "task2"),  # PING's source is outsider only
        ("outsider", "lb"),
    ]
    before = topo.drops("task2", "input")
    replies = topo.ping_all(blocked)
    assert not any(replies), dict(zip(blocked, replies, strict=True))
    assert topo.drops("task2", "input") > before  # task1's echo request

    # The rule names a type: another ICMP type from the same source is refused.
    ping_rule = f"{PING_KEY} ingress[0]"
    accepted, dropped = topo.counter("task2", "allow_in", ping_rule), topo.drops("task2", "input")
    assert accepted >= 1  # the echo request above
    topo.send_icmp("outsider", "task2", ICMP_TIMESTAMP_REQUEST)
    assert wait_for(lambda: topo.drops("task2", "input") > dropped), "timestamp request not dropped"
    assert topo.counter("task2", "allow_in", ping_rule) == accepted
