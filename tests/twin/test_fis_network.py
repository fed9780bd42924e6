"""The FIS-style faults of twin/fis on real namespaces: measured, then healed.

A small VPC of our own: a router namespace with two bridges (two "AZs"), a client
namespace on the first and a task namespace on the second (10.251.0.0/16, private), a
TCP/HTTP server in the task. The faults are applied with twin/fis/network_faults.py and
cpu_stress.py exactly as the daemon applies them, measured from the client, removed,
and checked gone: no table, no qdisc, no process.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fargate_api.twin.fis import cpu_stress, network_faults
from fargate_api.twin.fis import network_rules as rules
from fargate_api.twin.host import cgroups as host_cgroups
from fargate_api.twin.host import kernel as host
from fargate_api.twin.host.cgroups import TaskCgroups
from fargate_api.twin.host.processes import pids_with_argument
from fargate_api.twin.naming import TwinNames
from twin.twin_support import cpu_seconds

CLIENT_IP = "10.251.1.10"
TASK_IP = "10.251.2.10"
HTTP_PORT = 8080
OTHER_PORT = 8081
CLIENT_PORT = 9090  # a server in the client namespace: the task's outbound peer
LATENCY_MS = 150
SAMPLES = 7

ECHO_PORT = 8082
# Reads until the client half-closes, then answers with what it read: only works when
# the relay in between keeps half-close.
ECHO_AFTER_EOF = """
import socket, sys
listener = socket.create_server(("0.0.0.0", int(sys.argv[1])))
while True:
    conn, _ = listener.accept()
    try:
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
        conn.sendall(data[::-1])
    except OSError:
        pass
    conn.close()
"""
HALF_CLOSE_CLIENT = """
import socket, sys
conn = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
conn.sendall(b"half-close" * 1000)
conn.shutdown(socket.SHUT_WR)
data = b""
while chunk := conn.recv(65536):
    data += chunk
print(len(data), data[:10].decode())
"""

# Holds a connection open across the fault, then uses it (a load balancer's idle
# connection to its target): it must have been reset, and be opened again.
HELD_CLIENT = """
import socket, sys
conn = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print("open", flush=True)
sys.stdin.readline()
try:
    conn.sendall(b"x")
    conn.shutdown(socket.SHUT_WR)
    print("answer", conn.recv(100), flush=True)
except OSError as exc:
    print("reset", type(exc).__name__, flush=True)
"""

SERVER = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        body = b"ok\\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
servers = [http.server.ThreadingHTTPServer((sys.argv[1], int(p)), Handler) for p in sys.argv[2:-1]]
import threading
for s in servers[1:]:
    threading.Thread(target=s.serve_forever, daemon=True).start()
servers[0].serve_forever()
"""

# What a task's security group table does (ec2/security_group_rules.py): input policy
# drop, new connections on the ENI only to the allowed ports. The latency fault must
# keep working behind it (its inbound path must not rewrite the destination port).
SECURITY_GROUP = """
table inet {table} {{
    chain input {{
        type filter hook input priority filter; policy drop;
        iif "lo" accept
        ct state established,related accept
        iifname "{eni}" tcp dport {{ {http}, {other}, {echo} }} accept
    }}
}}
"""


@dataclass(frozen=True)
class Lab:
    names: TwinNames
    client: str
    task: str
    task_eni: str
    bridges: tuple[str, str]
    logs: Path

    def curl(self, netns: str, url: str, *, timeout: float = 3.0) -> tuple[int, float]:
        """(curl's exit code, its total time in seconds)."""
        proc = subprocess.run(
            host.in_netns(
                netns,
                [
                    *("curl", "-s", "-o", "/dev/null", "--connect-timeout", "1"),
                    *("-m", str(timeout), "-w", "%{time_total}", url),
                ],
            ),
            capture_output=True,
            text=True,
            timeout=timeout + 5,
            check=False,
        )
        return proc.returncode, float(proc.stdout or "0")

    def median(self, netns: str, url: str) -> float:
        times = []
        for _ in range(SAMPLES):
            code, seconds = self.curl(netns, url)
            assert code == 0, f"curl {url} from {netns} failed ({code})"
            times.append(seconds)
        return statistics.median(times)

    def reaches(self, port: int = HTTP_PORT) -> bool:
        return self.curl(self.client, f"http://{TASK_IP}:{port}/", timeout=2.0)[0] == 0

    def tables(self, netns: str) -> str:
        return host.run(host.in_netns(netns, ["nft", "list", "tables"]))


def _server(netns: str, address: str, ports: list[int], label: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", SERVER, address, *map(str, ports), label]
    return subprocess.Popen(
        host.in_netns(netns, command),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait_listening(netns: str, port: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if f":{port} " in host.run(host.in_netns(netns, ["ss", "-ltnH"]), check=False):
            return
        time.sleep(0.05)
    pytest.fail(f"nothing listens on port {port} in {netns}", pytrace=False)


@pytest.fixture
def lab(netns_prefix: str, tmp_path: Path) -> Iterator[Lab]:
    names = TwinNames(netns_prefix.removeprefix("fa-").rstrip("-"))
    assert names.prefix == netns_prefix
    compact = netns_prefix.replace("-", "")
    router, client, task = names.router, names.netns("c"), names.netns("t")
    bridges = (names.bridge(0), names.bridge(1))
    made: list[str] = []
    servers: list[subprocess.Popen[bytes]] = []
    try:
        for ns in (router, client, task):
            host.netns_add(ns)
            made.append(ns)
        host.sysctl(router, {"net.ipv4.ip_forward": "1"})
        commands = ["link set lo up"]
        for index, (bridge, ns, ip) in enumerate(
            ((bridges[0], client, CLIENT_IP), (bridges[1], task, TASK_IP))
        ):
            gateway = ip.rsplit(".", 1)[0] + ".1"
            commands += [
                f"link add {bridge} type bridge",
                f"addr add {gateway}/24 dev {bridge}",
                f"link set {bridge} up",
                f"link add {compact}r{index} type veth peer name {compact}e{index} netns {ns}",
                f"link set {compact}r{index} master {bridge}",
                f"link set {compact}r{index} up",
            ]
        host.ip_batch(router, commands)
        for index, (ns, ip) in enumerate(((client, CLIENT_IP), (task, TASK_IP))):
            gateway = ip.rsplit(".", 1)[0] + ".1"
            host.ip_batch(
                ns,
                [
                    "link set lo up",
                    f"addr add {ip}/24 dev {compact}e{index}",
                    f"link set {compact}e{index} up",
                    f"route add default via {gateway}",
                ],
            )
        servers.append(_server(task, "0.0.0.0", [HTTP_PORT, OTHER_PORT], f"{netns_prefix}srv"))
        servers.append(_server(client, CLIENT_IP, [CLIENT_PORT], f"{netns_prefix}srv"))
        servers.append(
            subprocess.Popen(
                host.in_netns(
                    task, [sys.executable, "-c", ECHO_AFTER_EOF, str(ECHO_PORT), netns_prefix]
                ),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
        _wait_listening(task, ECHO_PORT)
        _wait_listening(task, OTHER_PORT)
        _wait_listening(client, CLIENT_PORT)
        yield Lab(names, client, task, f"{compact}e1", bridges, tmp_path)
    finally:
        for server in servers:
            server.kill()
            server.wait(timeout=5)
        for ns in reversed(made):
            host.netns_delete(ns)


def _nothing_left(lab: Lab) -> None:
    for ns in (lab.names.router, lab.task):
        assert "fis-" not in lab.tables(ns), lab.tables(ns)
    qdiscs = host.tc(lab.task, "qdisc", "show")
    assert "netem" not in qdiscs and "tbf" not in qdiscs, qdiscs
    label = network_faults.proxy_label(lab.names, lab.task)
    assert not pids_with_argument(label), f"delay proxy {label} still runs"
    assert not [ns for ns in host.netns_list() if ns.endswith("netem-probe")]


def test_latency_is_added_to_what_the_task_sends_and_goes_away(lab: Lab) -> None:
    table = lab.names.table("sg")
    host.nft(
        lab.task,
        SECURITY_GROUP.format(
            table=table, eni=lab.task_eni, http=HTTP_PORT, other=OTHER_PORT, echo=ECHO_PORT
        ),
    )
    inbound_url = f"http://{TASK_IP}:{HTTP_PORT}/"
    outbound_url = f"http://{CLIENT_IP}:{CLIENT_PORT}/"
    base_in = lab.median(lab.client, inbound_url)
    base_out = lab.median(lab.task, outbound_url)
    held = subprocess.Popen(
        host.in_netns(
            lab.client,
            [sys.executable, "-c", HELD_CLIENT, TASK_IP, str(ECHO_PORT), lab.names.prefix],
        ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert held.stdout is not None and held.stdout.readline().strip() == "open"

    def add_latency() -> network_faults.LatencyHandle:
        return network_faults.add_latency(
            lab.names,
            lab.task,
            interface=lab.task_eni,
            ms=LATENCY_MS,
            jitter_ms=0,
            log=lab.logs / "proxy.log",
        )

    handle = add_latency()
    try:
        assert handle.path == "user-space proxy"  # this kernel has no netem
        assert handle.pid is not None
        held_out, _ = held.communicate("go\n", timeout=10)
        assert held_out.startswith("reset") or held_out.strip() == "answer b''", held_out
        faulty_in = lab.median(lab.client, inbound_url)
        faulty_out = lab.median(lab.task, outbound_url)
        # The proxy keeps half-close: the server answers after the client's EOF.
        echoed = host.run(
            host.in_netns(
                lab.client, [sys.executable, "-c", HALF_CLOSE_CLIENT, TASK_IP, str(ECHO_PORT)]
            )
        )
        assert echoed.split() == ["10000", "esolc-flah"], echoed
        # Applying it again replaces it (one proxy, one table).
        handle = add_latency()
        assert len(pids_with_argument(network_faults.proxy_label(lab.names, lab.task))) == 1
    finally:
        network_faults.remove_latency(lab.names, lab.task, handle)
    after_in = lab.median(lab.client, inbound_url)
    after_out = lab.median(lab.task, outbound_url)
    print(
        f"latency {LATENCY_MS} ms: inbound {base_in * 1000:.1f} -> {faulty_in * 1000:.1f} -> "
        f"{after_in * 1000:.1f} ms; outbound {base_out * 1000:.1f} -> {faulty_out * 1000:.1f} "
        f"-> {after_out * 1000:.1f} ms"
    )
    added = LATENCY_MS / 1000
    # A new connection: the delayed SYN-ACK (or SYN) and the delayed reply (or request),
    # as with netem: between one and two times the latency, plus slack.
    assert base_in + 0.8 * added <= faulty_in <= base_in + 2 * added + 0.1
    assert base_out + 0.8 * added <= faulty_out <= base_out + 2 * added + 0.1
    assert after_in < base_in + 0.3 * added
    assert after_out < base_out + 0.3 * added
    network_faults.remove_latency(lab.names, lab.task, handle)  # twice: no error
    host.nft(lab.task, f"delete table inet {table}")
    _nothing_left(lab)


def test_blackhole_drops_one_port_and_heals(lab: Lab) -> None:
    assert lab.reaches(HTTP_PORT) and lab.reaches(OTHER_PORT)
    network_faults.add_blackhole(
        lab.names, lab.task, port=OTHER_PORT, protocol="tcp", traffic="ingress"
    )
    network_faults.add_blackhole(
        lab.names, lab.task, port=OTHER_PORT, protocol="tcp", traffic="ingress"
    )
    code, _ = lab.curl(lab.client, f"http://{TASK_IP}:{OTHER_PORT}/", timeout=2.0)
    assert code == 28, f"port {OTHER_PORT} answered through the blackhole (curl exit {code})"
    assert lab.reaches(HTTP_PORT)
    assert lab.curl(lab.task, f"http://{CLIENT_IP}:{CLIENT_PORT}/")[0] == 0  # egress untouched

    network_faults.add_blackhole(
        lab.names, lab.task, port=CLIENT_PORT, protocol="tcp", traffic="egress"
    )
    assert lab.curl(lab.task, f"http://{CLIENT_IP}:{CLIENT_PORT}/", timeout=2.0)[0] == 28
    assert lab.reaches(OTHER_PORT)  # replaced: the ingress blackhole is gone

    network_faults.remove_blackhole(lab.names, lab.task)
    network_faults.remove_blackhole(lab.names, lab.task)
    assert lab.reaches(OTHER_PORT)
    assert lab.curl(lab.task, f"http://{CLIENT_IP}:{CLIENT_PORT}/")[0] == 0
    _nothing_left(lab)


def test_az_isolation_drops_forwarding_per_az_and_restores(lab: Lab) -> None:
    assert lab.reaches()
    client_az, task_az = lab.bridges
    network_faults.isolate_az(lab.names, [task_az])
    network_faults.isolate_az(lab.names, [task_az])
    assert network_faults.isolated_bridges(lab.names) == [task_az]
    assert not lab.reaches()
    network_faults.isolate_az(lab.names, [client_az])
    network_faults.restore_az(lab.names, [task_az])
    assert network_faults.isolated_bridges(lab.names) == [client_az]
    assert not lab.reaches()  # the client's AZ is still down
    network_faults.restore_az(lab.names, [client_az])
    network_faults.restore_az(lab.names, [client_az])
    assert network_faults.isolated_bridges(lab.names) == []
    assert lab.reaches()
    _nothing_left(lab)


def test_nat_loss_drops_everything_forwarded_and_restores(lab: Lab) -> None:
    assert lab.reaches()
    network_faults.lose_nat(lab.names, lab.names.router)
    network_faults.lose_nat(lab.names, lab.names.router)
    assert not lab.reaches()
    network_faults.restore_nat(lab.names, lab.names.router)
    network_faults.restore_nat(lab.names, lab.names.router)
    assert lab.reaches()
    _nothing_left(lab)


def test_cpu_stress_burns_inside_the_task_cgroup(lab: Lab) -> None:
    cgroups = TaskCgroups(lab.names.prefix.rstrip("-"), "0123abcd")
    cgroups.create(cpu_units=512, memory_mib=None)  # half a vCPU
    procs_file = cpu_stress.task_cpu_dir(cgroups) / "cgroup.procs"
    # Stands in for the task's container: the burner stays while it runs.
    container = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", lab.names.prefix],
        start_new_session=True,
    )
    try:
        procs_file.write_text(str(container.pid))
        assert cpu_stress.task_cpus(cgroups) == pytest.approx(0.5)
        pid = cpu_stress.start_cpu_stress(lab.names, cgroups, 60, lab.logs / "cpu.log")
        try:
            deadline = time.monotonic() + 3
            while len(procs_file.read_text().split()) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            members = [int(p) for p in procs_file.read_text().split()]
            assert pid in members and len(members) == 3, members  # + container, 1 worker
            burners = [p for p in members if p != container.pid]
            start = cpu_seconds(burners)
            time.sleep(1.5)
            used = (cpu_seconds(burners) - start) / 1.5
            print(f"cpu stress 60 % of 0.5 vCPU: {used:.2f} CPU")
            # 0.3 CPU wanted (less when other work competes), never above the quota
            assert 0.1 <= used <= 0.5, used
            # The task's containers stop: the burner stops by itself, nothing waits for it.
            container.kill()
            container.wait(timeout=5)
            deadline = time.monotonic() + 5
            while procs_file.read_text().split() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not procs_file.read_text().split(), procs_file.read_text()
        finally:
            cpu_stress.stop_cpu_stress(pid)
        assert not pids_with_argument(f"{lab.names.prefix}fis-cpu-0123abcd")
        assert "containers are gone" in (lab.logs / "cpu.log").read_text()
        cpu_stress.stop_cpu_stress(pid)  # twice: no error
    finally:
        container.kill()
        container.wait(timeout=5)
        cgroups.remove()  # raises if a burner were still inside
        assert not host_cgroups.remove_all(cgroups.prefix)


def test_every_script_variant_loads_in_nft_check_mode(lab: Lab) -> None:
    """Each variant as the kernel reads it (`nft -c`, nothing committed), and check mode
    can say no: a broken script is refused."""
    table = lab.names.table("fis-check")
    scripts = [
        rules.az_isolation_add(table, list(lab.bridges)),
        rules.nat_loss_ruleset(table),
        rules.latency_redirect_ruleset(table, interface=lab.task_eni, port=40000, mark=0x464953),
        rules.delete_table(table),
    ] + [
        rules.blackhole_ruleset(table, port=port, protocol=protocol, traffic=traffic)
        for port in (None, 53)
        for protocol in ("tcp", "udp")
        for traffic in ("ingress", "egress", "both")
    ]
    for script in scripts:
        host.run(host.in_netns(lab.task, ["nft", "-c", "-f", "-"]), input_text=script)
    broken = rules.nat_loss_ruleset(table).replace("policy drop", "policy maybe")
    with pytest.raises(host.HostCommandError):
        host.run(host.in_netns(lab.task, ["nft", "-c", "-f", "-"]), input_text=broken)
    assert "fis-check" not in lab.tables(lab.task)


def test_a_fault_on_a_missing_namespace_fails_and_leaves_nothing(netns_prefix: str) -> None:
    names = TwinNames(netns_prefix.removeprefix("fa-").rstrip("-"))
    gone = names.netns("t-gone")
    with pytest.raises(host.HostCommandError, match=gone):
        network_faults.add_latency(
            names, gone, interface="eth0", ms=50, jitter_ms=0, log=Path("/dev/null")
        )
    with pytest.raises(host.HostCommandError, match=gone):
        network_faults.add_blackhole(names, gone, port=80, protocol="tcp", traffic="both")
    assert not pids_with_argument(network_faults.proxy_label(names, gone))
