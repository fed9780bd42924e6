"""Real wiring checks for the local twin: namespaces + veth, nftables, haproxy.

Two namespaces A and B are joined by a veth pair on 198.51.100.0/30 (RFC 5737
documentation range). Traffic only ever goes to addresses inside namespaces these
tests created. Everything is torn down in fixture teardown, also on failure.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ADDR_A = "198.51.100.1"
ADDR_B = "198.51.100.2"
PREFIX_LEN = 30
HTTP_PORT = 8080
TIMEOUT = 10.0
IFNAMSIZ_MAX = 15


def run(
    args: list[str],
    *,
    check: bool = True,
    timeout: float = TIMEOUT,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command without a shell; with ``check`` a non-zero exit fails the test."""
    proc = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input_text,
        check=False,
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"command failed with exit {proc.returncode}: {' '.join(args)}\n"
            f"stdout: {proc.stdout.strip()}\nstderr: {proc.stderr.strip()}",
            pytrace=False,
        )
    return proc


@dataclass(frozen=True)
class Pair:
    """Namespaces A and B joined by veth ``veth_a`` (in A) <-> ``veth_b`` (in B)."""

    prefix: str
    ns_a: str
    ns_b: str
    veth_a: str
    veth_b: str

    def in_a(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns_a, *args]

    def in_b(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns_b, *args]


def ping_a_to_b(pair: Pair) -> subprocess.CompletedProcess[str]:
    return run(pair.in_a("ping", "-n", "-c1", "-W2", ADDR_B), check=False)


def assert_ping_ok(pair: Pair, attempts: int = 3) -> None:
    """A reply must arrive; a few attempts absorb a slow first ARP resolution."""
    proc = ping_a_to_b(pair)
    for _ in range(attempts - 1):
        if proc.returncode == 0:
            break
        time.sleep(0.2)
        proc = ping_a_to_b(pair)
    assert proc.returncode == 0, f"ping A -> B failed:\n{proc.stdout}\n{proc.stderr}"


def kill_netns_processes(ns: str) -> None:
    pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


@pytest.fixture
def pair(netns_prefix: str) -> Iterator[Pair]:
    compact = netns_prefix.replace("-", "")  # "fa<6 hex>": interface names max 15 chars
    p = Pair(
        prefix=netns_prefix,
        ns_a=f"{netns_prefix}a",
        ns_b=f"{netns_prefix}b",
        veth_a=f"{compact}a",
        veth_b=f"{compact}b",
    )
    assert len(p.veth_a) <= IFNAMSIZ_MAX and len(p.veth_b) <= IFNAMSIZ_MAX
    created: list[str] = []
    try:
        for ns in (p.ns_a, p.ns_b):
            run(["ip", "netns", "add", ns])
            created.append(ns)
        # Both ends are created directly inside their namespaces: the root namespace
        # never holds either interface.
        run(
            [
                *("ip", "link", "add", p.veth_a, "netns", p.ns_a, "type", "veth"),
                *("peer", "name", p.veth_b, "netns", p.ns_b),
            ]
        )
        for ns, dev, addr in ((p.ns_a, p.veth_a, ADDR_A), (p.ns_b, p.veth_b, ADDR_B)):
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            run(["ip", "-n", ns, "addr", "add", f"{addr}/{PREFIX_LEN}", "dev", dev])
            run(["ip", "-n", ns, "link", "set", dev, "up"])
        yield p
    finally:
        for ns in reversed(created):
            kill_netns_processes(ns)
            run(["ip", "netns", "del", ns], check=False)
        remaining = run(["ip", "netns", "list"], check=False).stdout
        assert netns_prefix not in remaining, f"namespaces left behind:\n{remaining}"


def test_veth_pair_connects_two_namespaces(pair: Pair) -> None:
    listed = run(["ip", "netns", "list"]).stdout
    assert pair.ns_a in listed and pair.ns_b in listed

    addr_a = run(["ip", "-n", pair.ns_a, "-o", "-4", "addr", "show", "dev", pair.veth_a]).stdout
    addr_b = run(["ip", "-n", pair.ns_b, "-o", "-4", "addr", "show", "dev", pair.veth_b]).stdout
    assert f"{ADDR_A}/{PREFIX_LEN}" in addr_a
    assert f"{ADDR_B}/{PREFIX_LEN}" in addr_b

    # The veth ends live only inside the namespaces, not in the root namespace.
    root_links = run(["ip", "-o", "link", "show"]).stdout
    assert pair.veth_a not in root_links and pair.veth_b not in root_links

    assert_ping_ok(pair)


def test_nftables_table_in_b_drops_echo_request_from_a(pair: Pair) -> None:
    table = f"{pair.prefix}drop"
    ruleset = (
        f"table inet {table} {{\n"
        "  chain input {\n"
        "    type filter hook input priority 0; policy accept;\n"
        f"    ip saddr {ADDR_A} icmp type echo-request counter drop\n"
        "  }\n"
        "}\n"
    )
    assert_ping_ok(pair)  # baseline: without the table the ping gets through

    run(pair.in_b("nft", "-f", "-"), input_text=ruleset)
    try:
        assert table in run(pair.in_b("nft", "list", "tables")).stdout
        # The table is in B's namespace only.
        assert table not in run(["nft", "list", "tables"]).stdout

        blocked = ping_a_to_b(pair)
        assert blocked.returncode != 0, f"ping got through the drop rule:\n{blocked.stdout}"

        # The failure is due to our rule: its counter saw the echo request.
        listing = run(pair.in_b("nft", "list", "table", "inet", table)).stdout
        match = re.search(r"counter packets (\d+)", listing)
        assert match and int(match.group(1)) >= 1, f"drop rule never matched:\n{listing}"
    finally:
        run(pair.in_b("nft", "delete", "table", "inet", table), check=False)

    assert table not in run(pair.in_b("nft", "list", "tables")).stdout
    assert_ping_ok(pair)  # and with the table gone it gets through again


HAPROXY_CFG = """\
global
    maxconn 64

defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s

frontend twin_probe
    bind {addr}:{port}
    http-request return status 200 content-type text/plain string ok
"""


def test_haproxy_in_b_answers_curl_from_a(pair: Pair, tmp_path: Path) -> None:
    # The prefix in the file name puts it on haproxy's command line, so the leak
    # check in conftest finds the process if it ever outlives this test.
    cfg = tmp_path / f"{pair.prefix}haproxy.cfg"
    cfg.write_text(HAPROXY_CFG.format(addr=ADDR_B, port=HTTP_PORT))
    run(["haproxy", "-c", "-q", "-f", str(cfg)])
    log_path = tmp_path / "haproxy.log"
    url = f"http://{ADDR_B}:{HTTP_PORT}/"

    with log_path.open("w") as log:
        proc = subprocess.Popen(
            pair.in_b("haproxy", "-db", "-f", str(cfg)),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + TIMEOUT
        body: str | None = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(
                    f"haproxy exited with {proc.returncode}:\n{log_path.read_text()}",
                    pytrace=False,
                )
            result = run(pair.in_a("curl", "-s", "-m", "3", url), check=False)
            if result.returncode == 0:
                body = result.stdout
                break
            time.sleep(0.1)
        assert body is not None, f"haproxy never answered on {url}:\n{log_path.read_text()}"
        assert body == "ok"

        status = run(
            pair.in_a("curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}", url)
        ).stdout
        assert status == "200"
    finally:
        served_until_stopped = proc.poll() is None
        proc.terminate()
        killed = False
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            killed = True
            proc.kill()
            proc.wait(timeout=5)

    # haproxy was still serving when the test stopped it (it did not die after answering),
    # SIGTERM alone stopped it (`ip netns exec` execs haproxy, so the signal reached it
    # rather than a wrapper), and nothing of it is left in B.
    log = log_path.read_text()
    assert served_until_stopped, f"haproxy exited on its own with {proc.returncode}:\n{log}"
    assert not killed, f"haproxy ignored SIGTERM for 5 s and had to be killed:\n{log}"
    assert proc.returncode in (0, -signal.SIGTERM), f"haproxy exited {proc.returncode}:\n{log}"
    assert run(["ip", "netns", "pids", pair.ns_b]).stdout.split() == []
