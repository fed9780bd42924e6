"""The VPC resolver (dnsmasq at base + 2) as the daemon runs it, with real namespaces.

A small VPC is built by hand: a "router" namespace with two subnet bridges and the
resolver's address on its loopback, and task namespaces plugged into the bridges; one
task's subnet contains base + 2, so it reaches the resolver on-link (the router answers
ARP for its loopback address on the bridge). Everything carries the test's prefix.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from fargate_api.twin.ec2.dns import (
    TASK_ENDPOINT_ADDRESS,
    VpcResolver,
    netns_etc_folders,
    private_dns_name,
    remove_netns_etc,
    task_records,
    write_netns_resolv_conf,
)
from fargate_api.twin.ec2.security_group_apply import apply_eni_ruleset
from fargate_api.twin.host import kernel as host
from fargate_api.twin.host.processes import pids_with_argument
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.model import SecurityGroup, SecurityGroupRule

REGION = "us-east-1"
LB_NAME = "my-alb-1234567890.us-east-1.elb.amazonaws.com"

# Run inside a task namespace: resolves names, prints one JSON line.
RESOLVE = """
import json, socket, sys, time
out = {}
for name in sys.argv[1:]:
    start = time.monotonic()
    try:
        found = sorted({a[4][0] for a in socket.getaddrinfo(name, 80, socket.AF_INET)})
    except socket.gaierror as exc:
        found = f"error {exc.errno}"
    out[name] = [found, time.monotonic() - start]
start = time.monotonic()
fqdn = socket.getfqdn()
out["getfqdn"] = [fqdn, time.monotonic() - start]
print(json.dumps(out))
"""

# Sends one raw DNS query over UDP and prints the response code (3: NXDOMAIN).
RCODE = """
import random, socket, struct, sys
name, server = sys.argv[1], sys.argv[2]
qid = random.randrange(65536)
query = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\\0"
query += struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(query, (server, 53))
data = s.recv(512)
print(data[3] & 0x0F)
"""


@dataclass
class MiniVpc:
    """A router namespace, two subnets and task namespaces, built with twin/host."""

    prefix: str
    tasks: dict[str, tuple[str, IPv4Address]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.compact = self.prefix.replace("-", "")
        second = int(self.compact[2:], 16) % 200 + 20
        self.vpc_cidr = IPv4Network(f"10.{second}.0.0/16")
        self.subnets = [IPv4Network(f"10.{second}.{i}.0/24") for i in (0, 1)]
        self.names = TwinNames(self.prefix.removeprefix("fa-").rstrip("-"))
        self.router = self.names.router
        self.state_dir = Path(tempfile.mkdtemp(prefix=self.prefix))
        self.resolver_ip = self.vpc_cidr.network_address + 2

    def build(self) -> None:
        host.netns_add(self.router)
        commands = ["link set lo up"]
        for i, subnet in enumerate(self.subnets):
            bridge = f"{self.compact}b{i}"
            commands += [
                f"link add {bridge} type bridge",
                f"addr add {subnet.network_address + 1}/{subnet.prefixlen} dev {bridge}",
                f"link set {bridge} up",
            ]
        host.ip_batch(self.router, commands)
        host.sysctl(self.router, {"net.ipv4.ip_forward": "1"})
        host.loopback_address_add(self.router, [str(self.resolver_ip), str(TASK_ENDPOINT_ADDRESS)])

    def add_task(self, role: str, subnet_index: int, host_index: int) -> tuple[str, IPv4Address]:
        subnet = self.subnets[subnet_index]
        netns = f"{self.prefix}{role}"
        ip = subnet.network_address + host_index
        router_side = f"{self.compact}{role}"
        host.netns_add(netns)
        host.ip(
            self.router, "link", "add", router_side, "type", "veth",
            "peer", "name", f"{self.compact}e", "netns", netns,
        )  # fmt: skip
        host.ip_batch(
            self.router,
            [f"link set {router_side} master {self.compact}b{subnet_index}",
             f"link set {router_side} up"],
        )  # fmt: skip
        host.ip_batch(
            netns,
            [
                "link set lo up",
                f"addr add {ip}/{subnet.prefixlen} dev {self.compact}e",
                f"link set {self.compact}e up",
                f"route add default via {subnet.network_address + 1}",
            ],
        )
        write_netns_resolv_conf(netns, self.resolver_ip, ["ec2.internal"])
        self.tasks[role] = (netns, ip)
        return netns, ip

    def destroy(self) -> None:
        for netns in [*(ns for ns, _ in self.tasks.values()), self.router]:
            for pid in host.netns_pids(netns):
                subprocess.run(["kill", "-9", str(pid)], check=False)
            host.netns_delete(netns)
            remove_netns_etc(netns)
        shutil.rmtree(self.state_dir, ignore_errors=True)


def run_in(netns: str, *args: str, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", netns, *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture
def vpc(netns_prefix: str) -> Iterator[MiniVpc]:
    mini = MiniVpc(netns_prefix)
    try:
        mini.build()
        mini.add_task("t1", 1, 23)
        mini.add_task("t2", 0, 4)  # the subnet that holds base + 2: on-link
        yield mini
    finally:
        mini.destroy()
    assert not netns_etc_folders(netns_prefix)


def resolve(netns: str, *names: str) -> dict[str, list[object]]:
    proc = run_in(netns, sys.executable, "-c", RESOLVE, *names)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, list[object]] = json.loads(proc.stdout)
    return result


def test_tasks_resolve_vpc_names_and_unknown_names_fail_fast(vpc: MiniVpc) -> None:
    t1_ns, t1_ip = vpc.tasks["t1"]
    t2_ns, t2_ip = vpc.tasks["t2"]
    lb_ips = [IPv4Address(str(vpc.subnets[1].network_address + 9))]
    records = {LB_NAME: lb_ips, **task_records([t1_ip, t2_ip], REGION)}
    resolver = VpcResolver(vpc.names, vpc.vpc_cidr, state_dir=vpc.state_dir)
    try:
        pid = resolver.start(records)
        assert pids_with_argument(f"--pid-file={resolver.pid_file}") == [pid]
        own = private_dns_name(t1_ip, REGION)
        unknown = f"nothing-{vpc.compact}.example.com"
        for netns in (t1_ns, t2_ns):
            found = resolve(netns, LB_NAME, own, unknown)
            assert found[LB_NAME][0] == [str(ip) for ip in lb_ips]
            assert found[own][0] == [str(t1_ip)]
            assert found[unknown][0] == f"error {socket.EAI_NONAME}"
            assert all(float(took) < 1.0 for _, took in found.values()), found  # type: ignore[arg-type]
        rcode = run_in(t1_ns, sys.executable, "-c", RCODE, unknown, str(vpc.resolver_ip))
        assert rcode.stdout.strip() == "3", rcode  # NXDOMAIN, not a timeout or REFUSED
        reverse = run_in(t1_ns, "getent", "hosts", str(t1_ip))
        assert reverse.stdout.split() == [str(t1_ip), own]

        # A new task: rewrite the records and SIGHUP; the name answers at once.
        new_ip = vpc.subnets[1].network_address + 77
        resolver.update({**records, **task_records([new_ip], REGION)})
        name = private_dns_name(new_ip, REGION)
        deadline = time.monotonic() + 5
        while resolve(t1_ns, name)[name][0] != [str(new_ip)]:
            assert time.monotonic() < deadline, "dnsmasq did not re-read its hosts file"
            time.sleep(0.1)
    finally:
        resolver.stop()
    assert resolver.pid() is None
    assert pids_with_argument(f"--pid-file={resolver.pid_file}") == []
    assert not resolver.pid_file.exists()


def test_security_groups_never_filter_the_vpc_resolver(vpc: MiniVpc) -> None:
    """A group that allows no egress at all still lets DNS to base + 2 through."""
    t1_ns, t1_ip = vpc.tasks["t1"]
    closed = SecurityGroup(
        key="S/Closed",
        name="closed",
        ingress=(),
        egress=(SecurityGroupRule("tcp", 443, 443, cidr=IPv4Network("192.0.2.0/24")),),
    )
    apply_eni_ruleset(
        t1_ns, f"{vpc.prefix}sg", f"{vpc.compact}e", [closed], {}, resolver=vpc.resolver_ip
    )
    resolver = VpcResolver(vpc.names, vpc.vpc_cidr, state_dir=vpc.state_dir)
    try:
        resolver.start(task_records([t1_ip], REGION))
        own = private_dns_name(t1_ip, REGION)
        assert resolve(t1_ns, own)[own][0] == [str(t1_ip)]
        tcp = run_in(
            t1_ns, sys.executable, "-c",
            "import socket,sys; socket.create_connection((sys.argv[1], 53), timeout=2).close()",
            str(vpc.resolver_ip),
        )  # fmt: skip
        assert tcp.returncode == 0, tcp.stderr
        blocked = run_in(
            t1_ns, sys.executable, "-c",
            "import socket,sys; socket.create_connection((sys.argv[1], 22), timeout=1).close()",
            str(vpc.subnets[1].network_address + 1),
        )  # fmt: skip
        assert "timed out" in blocked.stderr  # dropped by the group, not refused
    finally:
        resolver.stop()


def test_a_resolver_that_cannot_start_says_why(vpc: MiniVpc) -> None:
    """Another process on the port: dnsmasq exits and the error carries its words."""
    first = VpcResolver(vpc.names, vpc.vpc_cidr, state_dir=vpc.state_dir)
    second_dir = Path(tempfile.mkdtemp(prefix=vpc.prefix))
    second = VpcResolver(vpc.names, vpc.vpc_cidr, state_dir=second_dir)
    try:
        first.start({})
        with pytest.raises(Exception, match="dnsmasq exited"):
            second.start({})
    finally:
        second.stop()
        first.stop()
        shutil.rmtree(second_dir, ignore_errors=True)
