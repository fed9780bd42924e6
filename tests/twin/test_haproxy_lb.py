"""The twin's ALB for real: rendered config + runtime API, HAProxy in a network namespace.

Namespace ``<prefix>lb`` holds HAProxy, the first ALB node address and the targets
(small Python HTTP servers, one per address); namespace ``<prefix>n2``, joined to it by
a veth pair, holds the second node's address, which HAProxy binds through its
``namespace`` bind option. Only RFC 5737 addresses are used, only inside these
namespaces, and clients (curl) run inside them too. Health checks run every second so
that target state changes take a few seconds.

Each target server logs every request it gets (time, path, Host header), which is how
the tests prove from the target's side that no request reached it before its health
checks had passed, or after it was drained.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any, cast

import pytest

from fargate_api.twin.elbv2.haproxy_config import render_haproxy_config
from fargate_api.twin.elbv2.haproxy_runtime import HaproxyRuntime, HaproxyRuntimeError, TargetState
from fargate_api.twin.elbv2.load_balancers import LoadBalancers
from fargate_api.twin.elbv2.tls import self_signed_certificate
from fargate_api.twin.host import kernel as host
from fargate_api.twin.naming import TwinNames
from fargate_api.twin.plan.model import (
    Action,
    HealthCheck,
    Listener,
    ListenerRule,
    LoadBalancer,
    LoadBalancerNode,
    TargetGroup,
    TwinPlan,
    WeightedTargetGroup,
)

NODE_1 = IPv4Address("198.51.100.10")
NODE_2 = IPv4Address("198.51.100.11")
TARGET_PORT = 8080
TIMEOUT = 10.0
CURL = ["curl", "--noproxy", "*", "--silent", "--insecure", "--max-time", "5"]
RISE, FALL = 2, 2
CHECK = HealthCheck(
    path="/health",
    port=None,
    protocol="HTTP",
    interval=1,
    timeout=1,
    healthy_threshold=RISE,
    unhealthy_threshold=FALL,
    matcher="200",
)
WEB, API = "Svc/WebTargetGroup", "Svc/ApiTargetGroup"
GROUPS = {
    key: TargetGroup(key, key.split("/")[1], TARGET_PORT, "HTTP", CHECK, 5) for key in (WEB, API)
}

# A target: answers /health with 200 while its health file exists (500 otherwise),
# /slow after a delay, anything else at once with a JSON echo; logs each request.
TARGET_SERVER = r"""
import http.server, json, os, sys, time

NAME, ADDR, PORT, HEALTH_FILE, LOG = sys.argv[1:6]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(LOG, "a") as log:
            log.write(json.dumps({"t": time.time(), "path": self.path,
                                  "host": self.headers.get("Host")}) + "\n")
        if self.path == "/health":
            status = 200 if os.path.exists(HEALTH_FILE) else 500
        else:
            status = 200
            if self.path.startswith("/slow"):
                time.sleep(2.5)
        body = json.dumps({"target": NAME, "path": self.path,
                           "headers": dict(self.headers.items())}).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer((ADDR, int(PORT)), Handler).serve_forever()
"""


def run(args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"`{' '.join(args)}` failed ({proc.returncode}): {proc.stderr}", pytrace=False)
    return proc


def wait_for(what: str, condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}", pytrace=False)
        time.sleep(0.1)


@dataclass
class Target:
    name: str
    ip: IPv4Address
    health_file: Path
    log: Path

    def healthy(self, ok: bool) -> None:
        if ok:
            self.health_file.touch()
        else:
            self.health_file.unlink(missing_ok=True)

    def requests(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def traffic(self) -> list[dict[str, Any]]:
        """Requests other than health checks."""
        return [r for r in self.requests() if r["path"] != "/health"]


@dataclass
class Twin:
    """Two namespaces, HAProxy for one ALB, and whatever targets a test starts."""

    prefix: str
    directory: Path
    ns: str
    ns2: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    haproxy_log: Path | None = None

    def popen(self, ns: str, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen(
                host.in_netns(ns, args),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(proc)
        return proc

    def start_target(self, name: str, ip: str, *, healthy: bool = True) -> Target:
        target = Target(
            name, IPv4Address(ip), self.directory / f"{name}.ok", self.directory / f"{name}.log"
        )
        target.healthy(healthy)
        script = self.directory / f"{self.prefix}target.py"
        if not script.exists():
            script.write_text(TARGET_SERVER)
        args = [str(script), name, ip, str(TARGET_PORT), str(target.health_file), str(target.log)]
        self.popen(self.ns, [sys.executable, *args], self.directory / f"{name}.out")
        wait_for(
            f"target {name} to listen", lambda: self.curl(f"http://{ip}:{TARGET_PORT}/up")[0] == 200
        )
        target.log.unlink()  # forget the readiness probe
        return target

    def start_haproxy(self, lb: LoadBalancer, tls_cert: Path | None = None) -> HaproxyRuntime:
        socket_path = self.directory / f"{self.prefix}haproxy.sock"
        config = self.directory / f"{self.prefix}haproxy.cfg"
        config.write_text(
            render_haproxy_config(
                lb,
                GROUPS,
                stats_socket=socket_path,
                tls_cert=tls_cert,
                bind_namespaces={NODE_2: self.ns2},
            )
        )
        self.haproxy_log = self.directory / "haproxy.log"
        proc = self.popen(self.ns, ["haproxy", "-db", "-f", str(config)], self.haproxy_log)
        runtime = HaproxyRuntime(socket_path)

        def answers() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"haproxy exited:\n{self.haproxy_log_text()}", pytrace=False)
            try:
                runtime.command("show info")
            except HaproxyRuntimeError:
                return False
            return True

        wait_for("haproxy's stats socket", answers)
        return runtime

    def haproxy_log_text(self) -> str:
        return self.haproxy_log.read_text(errors="replace") if self.haproxy_log else ""

    def curl(self, url: str, *extra: str, ns: str | None = None) -> tuple[int, str, str]:
        """(status, headers, body) of one request made inside a namespace; 0 if none came."""
        args = [*CURL, "-D", "-", "-o", "-", *extra, url]
        proc = run(host.in_netns(ns or self.ns, args), check=False)
        # Text mode turned the CRLFs into plain line feeds.
        head, _, body = proc.stdout.partition("\n\n")
        status_line = head.split("\n", 1)[0].split()
        status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 0
        return status, head, body

    def served_by(
        self, url: str = f"http://{NODE_1}/", *extra: str, ns: str | None = None
    ) -> str | None:
        """Which target answered a request (None for an answer from HAProxy itself)."""
        status, _, body = self.curl(url, *extra, ns=ns)
        if status == 200 and body.startswith("{"):
            return str(json.loads(body)["target"])
        return None

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.processes:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


@contextlib.contextmanager
def load_balancers_over(
    twin: Twin, name: str, target_groups: Sequence[TargetGroup]
) -> Iterator[LoadBalancers]:
    """The twin's own LoadBalancers over this module's namespaces and HAProxy, for
    `target_groups` (no network or security groups: only start() uses them, never
    called here); its HAProxy is stopped on the way out."""
    plan = TwinPlan(
        vpc="Vpc/Vpc",
        vpc_cidr=IPv4Network("192.0.2.0/24"),
        subnets=(),
        route_tables=(),
        internet_gateway=None,
        nat_gateways=(),
        security_groups=(),
        load_balancers=(),
        target_groups=tuple(target_groups),
        task_definitions=(),
        services=(),
        log_groups=(),
    )
    found = LoadBalancers(
        names=TwinNames(name),
        plan=plan,
        network=cast(Any, None),
        groups=cast(Any, None),
        work_dir=twin.directory,  # carries the test's prefix: the leak check sees HAProxy
        time_scale=1.0,
    )
    try:
        yield found
    finally:
        found.stop()


@pytest.fixture
def twin(netns_prefix: str, tmp_path: Path) -> Iterator[Twin]:
    compact = netns_prefix.replace("-", "")
    directory = tmp_path / netns_prefix  # on every command line, for the leak check
    directory.mkdir()
    t = Twin(netns_prefix, directory, f"{netns_prefix}lb", f"{netns_prefix}n2")
    created: list[str] = []
    try:
        for ns in (t.ns, t.ns2):
            host.netns_add(ns)
            created.append(ns)
        # A veth pair joins the namespaces; each end carries its namespace's addresses.
        host.run(
            [
                *("ip", "link", "add", f"{compact}a", "netns", t.ns, "type", "veth"),
                *("peer", "name", f"{compact}b", "netns", t.ns2),
            ]
        )
        for ns, link, addresses in (
            (t.ns, f"{compact}a", [f"{NODE_1}/24", *(f"192.0.2.{n}/32" for n in range(11, 16))]),
            (t.ns2, f"{compact}b", [f"{NODE_2}/24"]),
        ):
            host.ip_batch(
                ns,
                [
                    "link set lo up",
                    *(f"addr add {address} dev {link}" for address in addresses),
                    f"link set {link} up",
                ],
            )
        yield t
    finally:
        t.stop()
        for ns in reversed(created):
            for pid in host.netns_pids(ns):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            host.netns_delete(ns)


def forward(*groups: tuple[str, int]) -> Action:
    return Action("forward", tuple(WeightedTargetGroup(key, weight) for key, weight in groups))


def balancer(*listeners: Listener) -> LoadBalancer:
    nodes = (
        LoadBalancerNode("Vpc/PublicA", "a", NODE_1, IPv4Address("203.0.113.10")),
        LoadBalancerNode("Vpc/PublicB", "b", NODE_2, IPv4Address("203.0.113.11")),
    )
    return LoadBalancer("Svc/Alb", "svc-alb", True, nodes, (), 30, listeners)


def header(head: str, name: str) -> str | None:
    for line in head.split("\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


def states(runtime: HaproxyRuntime, group: str = WEB) -> dict[str, TargetState]:
    return runtime.target_states(group)


def health_of(runtime: HaproxyRuntime, name: str, group: str = WEB) -> str | None:
    state = states(runtime, group).get(name)
    return state.health if state else None


def assert_checked_before_traffic(target: Target) -> None:
    """From the target's side: ``RISE`` passed checks came before its first real request."""
    seen = target.requests()
    first = next(i for i, r in enumerate(seen) if r["path"] != "/health")
    checks = [r for r in seen[:first] if r["path"] == "/health"]
    assert len(checks) >= RISE, f"{target.name} got traffic after {len(checks)} checks: {seen}"
    assert all(r["host"] == target.name for r in checks)  # Host: the target id


def test_target_lifecycle_initial_healthy_unhealthy_draining_removed(twin: Twin) -> None:
    runtime = twin.start_haproxy(
        balancer(Listener("Svc/Http", 80, "HTTP", (forward((WEB, 1)),), ()))
    )
    t1 = twin.start_target("t1", "192.0.2.11")
    t2 = twin.start_target("t2", "192.0.2.12")

    # Registered: "initial", and no traffic although its checks will pass.
    for target in (t1, t2):
        runtime.add_target(WEB, target.name, target.ip, TARGET_PORT, CHECK)
    assert {name: s.health for name, s in states(runtime).items()} == {
        "t1": "initial",
        "t2": "initial",
    }
    assert twin.curl(f"http://{NODE_1}/")[0] == 503  # the ALB's answer without healthy targets
    wait_for(
        "t1 and t2 healthy", lambda: {s.health for s in states(runtime).values()} == {"healthy"}
    )
    # Requests were refused until both were healthy; now both take turns.
    served = [twin.served_by() for _ in range(6)]
    assert served.count("t1") == 3 and served.count("t2") == 3, served
    for target in (t1, t2):
        assert_checked_before_traffic(target)
    assert states(runtime)["t1"].total_requests == 3
    assert runtime.request_total(WEB) >= 6

    # Draining: the request in flight finishes, new ones go elsewhere.
    slow = subprocess.Popen(
        host.in_netns(twin.ns, [*CURL, f"http://{NODE_1}/slow"]),
        stdout=subprocess.PIPE,
        text=True,
    )
    busy: list[str] = []

    def one_busy() -> bool:
        busy[:] = [name for name, s in states(runtime).items() if s.current_sessions == 1]
        return len(busy) == 1

    wait_for("the slow request to reach a target", one_busy, timeout=3)
    (drained,) = busy
    other = "t2" if drained == "t1" else "t1"
    runtime.drain_target(WEB, drained)
    assert states(runtime)[drained].health == "draining"
    drained_target = t1 if drained == "t1" else t2
    before = len(drained_target.traffic())
    assert {twin.served_by() for _ in range(4)} == {other}
    out, _ = slow.communicate(timeout=10)
    assert slow.returncode == 0 and json.loads(out)["target"] == drained, out
    assert len(drained_target.traffic()) == before  # nothing new reached it

    # Removed: gone from the group; removing again is a no-op.
    runtime.remove_target(WEB, drained)
    assert set(states(runtime)) == {other}
    runtime.remove_target(WEB, drained)

    # A target that never passes its checks: never healthy, never any traffic.
    t3 = twin.start_target("t3", "192.0.2.13", healthy=False)
    runtime.add_target(WEB, "t3", t3.ip, TARGET_PORT, CHECK)
    assert health_of(runtime, "t3") == "initial"
    wait_for("t3 to fail a check", lambda: health_of(runtime, "t3") == "unhealthy", timeout=4)
    assert "500" in states(runtime)["t3"].reason
    assert {twin.served_by() for _ in range(4)} == {other}
    assert t3.traffic() == []

    # The remaining healthy target starts failing: after FALL checks it is unhealthy and
    # gets nothing; no healthy target left, so 503. (The ALB fails open here; the
    # runtime only adds each target's fail-open copy, and LoadBalancers arms it: see
    # test_haproxy_fail_open.py.)
    remaining = t1 if other == "t1" else t2
    remaining.healthy(False)
    wait_for(
        f"{other} unhealthy", lambda: health_of(runtime, other) == "unhealthy", timeout=FALL + 4
    )
    state = states(runtime)[other]
    assert "L7STS" in state.reason and "500" in state.reason
    count = len(remaining.traffic())
    assert not any(s.fail_open_ready for s in states(runtime).values())
    assert twin.curl(f"http://{NODE_1}/")[0] == 503
    assert len(remaining.traffic()) == count

    # Recovery: it must pass RISE checks again; meanwhile it stays "unhealthy".
    remaining.healthy(True)
    assert health_of(runtime, other) == "unhealthy"
    wait_for(
        f"{other} healthy again", lambda: health_of(runtime, other) == "healthy", timeout=RISE + 4
    )
    assert twin.served_by() == other
    assert "Server tg.Svc.WebTargetGroup/" in twin.haproxy_log_text()  # state changes logged


def test_listener_rules_route_redirect_and_answer_fixed_responses(twin: Twin) -> None:
    body = 'He said "$HOME" is 100% \\ fine\nit\'s # no comment, é'
    rules = (
        ListenerRule("Svc/Keep", 5, ("/old/keep",), (), (forward((API, 1)),)),
        ListenerRule("Svc/Api", 10, ("/api/*", "/v?/api"), (), (forward((API, 1)),)),
        ListenerRule("Svc/Split", 15, ("/split",), (), (forward((WEB, 1), (API, 1)),)),
        ListenerRule("Svc/Host", 20, (), ("*.Example.TEST",), (forward((API, 1)),)),
        ListenerRule(
            "Svc/Moved",
            30,
            ("/old/*",),
            (),
            (
                Action(
                    "redirect",
                    redirect_protocol="HTTPS",
                    redirect_port="443",
                    redirect_path="/new/#{path}",
                    status_code=301,
                ),
            ),
        ),
        ListenerRule(
            "Svc/Teapot",
            40,
            ("/teapot",),
            ("tea.example.org",),
            (
                Action(
                    "fixed-response",
                    status_code=418,
                    content_type="text/plain; charset=utf-8",
                    body=body,
                ),
            ),
        ),
    )
    http = Listener("Svc/Http", 80, "HTTP", (forward((WEB, 1)),), rules)
    https = Listener(
        "Svc/Https",
        443,
        "HTTPS",
        (Action("fixed-response", status_code=200, body="secure"),),
        (),
    )
    cert = self_signed_certificate(twin.directory / "certs", "svc-alb")
    runtime = twin.start_haproxy(balancer(http, https), tls_cert=cert)
    web = twin.start_target("web", "192.0.2.14")
    api = twin.start_target("api", "192.0.2.15")
    runtime.add_target(WEB, "web", web.ip, TARGET_PORT, CHECK)
    runtime.add_target(API, "api", api.ip, TARGET_PORT, CHECK)
    wait_for(
        "both targets healthy",
        lambda: (
            health_of(runtime, "web") == "healthy" and health_of(runtime, "api", API) == "healthy"
        ),
    )
    base = f"http://{NODE_1}"

    # Path rules (wildcards, case-sensitive, query ignored) and the default action.
    assert twin.served_by(f"{base}/api/v1/users?x=1") == "api"
    assert twin.served_by(f"{base}/v2/api") == "api"
    assert twin.served_by(f"{base}/API/v1") == "web"
    assert twin.served_by(f"{base}/v22/api") == "web"
    assert twin.served_by(f"{base}/elsewhere") == "web"
    # Host rule: case-insensitive, with or without a port.
    assert twin.served_by(f"{base}/x", "-H", "Host: shop.example.test") == "api"
    assert twin.served_by(f"{base}/x", "-H", "Host: SHOP.EXAMPLE.TEST:80") == "api"
    assert twin.served_by(f"{base}/x", "-H", "Host: example.test") == "web"
    # Priority: the forward at 5 wins over the redirect at 30 that also matches.
    assert twin.served_by(f"{base}/old/keep") == "api"

    # Redirect with ELB placeholders; no '?' without a query.
    status, head, _ = twin.curl(f"{base}/old/a/b?q=1&r=%20", "-H", "Host: shop.example.org:80")
    assert status == 301
    assert header(head, "location") == "https://shop.example.org:443/new/old/a/b?q=1&r=%20"
    status, head, _ = twin.curl(f"{base}/old/z", "-H", "Host: shop.example.org")
    assert status == 301 and header(head, "location") == "https://shop.example.org:443/new/old/z"

    # Fixed response: status, content type and the exact body bytes.
    status, head, answer = twin.curl(f"{base}/teapot", "-H", "Host: TEA.example.org")
    assert status == 418 and header(head, "content-type") == "text/plain; charset=utf-8"
    assert answer == body
    assert twin.served_by(f"{base}/teapot") == "web"  # both conditions must hold

    # Weighted forward: both groups get a share.
    split = [twin.served_by(f"{base}/split") for _ in range(60)]
    assert split.count("web") >= 10 and split.count("api") >= 10, split

    # Headers the ALB adds, seen by the target.
    _, _, echo = twin.curl(f"{base}/headers")
    headers = {k.lower(): v for k, v in json.loads(echo)["headers"].items()}
    assert headers["x-forwarded-proto"] == "http" and headers["x-forwarded-port"] == "80"
    assert headers["x-forwarded-for"] == str(NODE_1)  # curl ran from the node's namespace

    # The second node lives in another namespace; HAProxy listens there too.
    assert twin.served_by(f"http://{NODE_2}/api/x", ns=twin.ns2) == "api"
    # HTTPS listener with the self-signed certificate, HTTP/2 by ALPN.
    status, head, answer = twin.curl(f"https://{NODE_2}/", ns=twin.ns2)
    assert status == 200 and answer == "secure" and head.startswith("HTTP/2")


def test_runtime_errors_name_the_command_and_haproxys_answer(twin: Twin) -> None:
    missing = HaproxyRuntime(twin.directory / "no-such.sock")
    with pytest.raises(HaproxyRuntimeError, match="cannot talk to haproxy's stats socket"):
        missing.target_states(WEB)

    runtime = twin.start_haproxy(
        balancer(Listener("Svc/Http", 80, "HTTP", (forward((WEB, 1)),), ()))
    )
    runtime.add_target(WEB, "t1", IPv4Address("192.0.2.11"), TARGET_PORT, CHECK)
    with pytest.raises(HaproxyRuntimeError, match=r"add server tg\.Svc\.WebTargetGroup/t1 ") as dup:
        runtime.add_target(WEB, "t1", IPv4Address("192.0.2.11"), TARGET_PORT, CHECK)
    assert "Already exists" in dup.value.answer
    assert set(runtime.target_states(WEB)) == {"t1"}  # the failed add left the first alone
    with pytest.raises(HaproxyRuntimeError, match="No such server"):
        runtime.drain_target(WEB, "nobody")
    with pytest.raises(HaproxyRuntimeError, match="Can't find backend"):
        runtime.target_states("Svc/NotInThisBalancer")
    with pytest.raises(HaproxyRuntimeError, match="No such proxy"):
        runtime.request_total("Svc/NotInThisBalancer")
    with pytest.raises(HaproxyRuntimeError, match="Unknown command"):
        runtime.command("no such command")
    with pytest.raises(ValueError, match="target id"):
        runtime.add_target(WEB, "a b", IPv4Address("192.0.2.11"), TARGET_PORT, CHECK)
    runtime.remove_target(WEB, "t1")
    runtime.remove_target(WEB, "t1")
    assert runtime.target_states(WEB) == {}
