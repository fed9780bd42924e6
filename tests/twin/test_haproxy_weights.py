"""Forward weights changed while HAProxy serves, and the counters behind the twin's
CloudWatch metrics, for real.

The namespaces, target servers and helpers are test_haproxy_lb's (its ``twin``
fixture: HAProxy's namespace with the first node address and the targets, and a second
namespace for the second node). HAProxy itself is started by the twin's own
`LoadBalancers.start_haproxy`, so its configuration and weights map are written exactly
as the daemon writes them; only `LoadBalancers.start` (node ENIs, security groups) is
left out, the fixture's namespaces standing in for the node ENIs.

Shares are counted from a client that makes one request per connection. A share is
asserted exactly at 0 % and 100 %, and otherwise within 5 binomial standard deviations
of the weight (for 400 requests at 10 %: 40 +- 30), which fails by chance less than once
in a million runs while any real misrouting (say, the old or the reversed weights) is
far outside it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from ipaddress import IPv4Address

import pytest

from fargate_api.twin.cloudwatch.metrics import MetricStore
from fargate_api.twin.elbv2.load_balancers import LoadBalancers
from fargate_api.twin.host import kernel as host
from fargate_api.twin.plan.model import Listener, ListenerRule
from twin import test_haproxy_lb
from twin.test_haproxy_lb import (
    API,
    GROUPS,
    NODE_1,
    NODE_2,
    TARGET_PORT,
    WEB,
    Twin,
    balancer,
    forward,
    load_balancers_over,
    wait_for,
)

# test_haproxy_lb's fixture, under its own name so that pytest finds it in this module.
twin = test_haproxy_lb.twin

REQUESTS = 400
FAILING_IP = "192.0.2.13"
SIGMAS = 5.0
CLIENT_TIMEOUT = 120.0

# Makes N GETs of a URL, one connection each, and prints how many each target answered
# (the targets' JSON names them) or "HTTP <status>" for any other answer.
CLIENT = r"""
import collections, json, sys, urllib.error, urllib.request

url, count = sys.argv[1], int(sys.argv[2])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
seen = collections.Counter()
for _ in range(count):
    try:
        with opener.open(url, timeout=5) as answer:
            seen[json.loads(answer.read())["target"]] += 1
    except urllib.error.HTTPError as error:
        seen[f"HTTP {error.code}"] += 1
print(json.dumps(seen))
"""

# A target whose health check passes and whose every other answer is a 500.
FAILING_SERVER = r"""
import http.server, sys

ADDR, PORT = sys.argv[1], int(sys.argv[2])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status = 200 if self.path == "/health" else 500
        body = b"failing\n"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer((ADDR, PORT), Handler).serve_forever()
"""


@pytest.fixture
def balancers(twin: Twin) -> Iterator[LoadBalancers]:
    """The twin's LoadBalancers over the fixture's namespaces; its HAProxy stops first."""
    with load_balancers_over(twin, "weights", GROUPS.values()) as found:
        yield found


def answers(twin: Twin, url: str, count: int, *, ns: str | None = None) -> dict[str, int]:
    """Who answered ``count`` requests of ``url``, made from inside a namespace."""
    script = twin.directory / f"{twin.prefix}client.py"
    if not script.exists():
        script.write_text(CLIENT)
    proc = subprocess.run(
        host.in_netns(ns or twin.ns, [sys.executable, str(script), url, str(count)]),
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    seen: dict[str, int] = json.loads(proc.stdout)
    return seen


def assert_share(seen: dict[str, int], target: str, weight: int, total_weight: int) -> None:
    total = sum(seen.values())
    expected = total * weight / total_weight
    if weight in (0, total_weight):
        assert seen.get(target, 0) == expected, (target, weight, seen)
        return
    p = weight / total_weight
    tolerance = SIGMAS * math.sqrt(total * p * (1 - p))
    assert abs(seen.get(target, 0) - expected) <= tolerance, (target, weight, seen, tolerance)


def both_healthy(balancers: LoadBalancers, web: str, api: str) -> bool:
    web_state, api_state = balancers.states(WEB).get(web), balancers.states(API).get(api)
    return bool(web_state and api_state and web_state.health == api_state.health == "healthy")


def test_forward_weights_shift_at_run_time(twin: Twin, balancers: LoadBalancers) -> None:
    # Production (the listener's default action) and a test rule, both blue 100 / green 0
    # as ECS's blue/green starts; blue is WEB, green is API.
    test_rule = ListenerRule("Svc/TestRule", 1, ("/test/*",), (), (forward((WEB, 100), (API, 0)),))
    http = Listener("Svc/Http", 80, "HTTP", (forward((WEB, 100), (API, 0)),), (test_rule,))
    running = balancers.start_haproxy(0, balancer(http), [twin.ns, twin.ns2])
    # The map lives beside the configuration, with the template's weights.
    assert running.weights_map == running.config.parent / "weights.map"
    entries = running.weights_map.read_text().splitlines()
    assert "fw.Svc.Http 100:0" in entries and "fw.Svc.TestRule 100:0" in entries
    assert f"map_str({running.weights_map},100:0)" in running.config.read_text()

    blue = twin.start_target("blue", "192.0.2.11")
    green = twin.start_target("green", "192.0.2.12")
    balancers.register(WEB, "blue", blue.ip, TARGET_PORT)
    balancers.register(API, "green", green.ip, TARGET_PORT)
    wait_for("blue and green healthy", lambda: both_healthy(balancers, "blue", "green"))
    pid = running.process.pid

    assert balancers.forward_weights("Svc/Http") == {WEB: 100, API: 0}
    for weights in ({WEB: 100, API: 0}, {WEB: 10, API: 90}, {WEB: 0, API: 100}):
        balancers.set_forward_weights("Svc/Http", weights)
        assert balancers.forward_weights("Svc/Http") == weights  # read back from HAProxy
        seen = answers(twin, f"http://{NODE_1}/", REQUESTS)
        assert set(seen) <= {"blue", "green"}, seen  # nothing failed
        assert sum(seen.values()) == REQUESTS
        assert_share(seen, "blue", weights[WEB], 100)
        assert_share(seen, "green", weights[API], 100)

    # The test rule keeps its own weights; the second node answers the same way.
    assert balancers.forward_weights("Svc/TestRule") == {WEB: 100, API: 0}
    assert answers(twin, f"http://{NODE_2}/test/x", 50, ns=twin.ns2) == {"blue": 50}
    assert answers(twin, f"http://{NODE_2}/", 50, ns=twin.ns2) == {"green": 50}

    # ELB weights are 0..999 and need not add up to 100.
    balancers.set_forward_weights("Svc/TestRule", {WEB: 999, API: 333})
    seen = answers(twin, f"http://{NODE_1}/test/y", REQUESTS)
    assert_share(seen, "blue", 999, 1332)

    # All zero: no target group to send to, as on the ALB.
    balancers.set_forward_weights("Svc/Http", {WEB: 0, API: 0})
    assert answers(twin, f"http://{NODE_1}/", 20) == {"HTTP 503": 20}

    # Weights that ELB would refuse, and forwards that have none, are refused.
    with pytest.raises(ValueError, match="give a weight for each"):
        balancers.set_forward_weights("Svc/Http", {WEB: 100})
    with pytest.raises(ValueError, match=r"0\.\.999"):
        balancers.set_forward_weights("Svc/Http", {WEB: 1000, API: 0})
    with pytest.raises(ValueError, match="not a forward to two or more"):
        balancers.set_forward_weights("Svc/Other", {WEB: 1})
    assert balancers.forward_weights("Svc/Http") == {WEB: 0, API: 0}

    # No reload happened: the same process, and the targets it was told about at run
    # time are still there and healthy.
    assert running.process.poll() is None and running.process.pid == pid
    assert both_healthy(balancers, "blue", "green")


def start_failing_target(twin: Twin, ip: str) -> subprocess.Popen[bytes]:
    script = twin.directory / f"{twin.prefix}failing.py"
    script.write_text(FAILING_SERVER)
    proc = twin.popen(
        twin.ns, [sys.executable, str(script), ip, str(TARGET_PORT)], twin.directory / "fail.out"
    )
    wait_for(
        "the failing target to listen",
        lambda: twin.curl(f"http://{ip}:{TARGET_PORT}/health")[0] == 200,
    )
    return proc


def test_sample_counts_the_targets_5xx_not_haproxys_own(
    twin: Twin, balancers: LoadBalancers
) -> None:
    api_rule = ListenerRule("Svc/Api", 1, ("/api/*",), (), (forward((API, 1)),))
    http = Listener("Svc/Http", 80, "HTTP", (forward((WEB, 1)),), (api_rule,))
    balancers.start_haproxy(0, balancer(http), [twin.ns, twin.ns2])
    ok = twin.start_target("ok", "192.0.2.11")
    failing = start_failing_target(twin, FAILING_IP)
    balancers.register(WEB, "ok", ok.ip, TARGET_PORT)
    balancers.register(API, "failing", IPv4Address(FAILING_IP), TARGET_PORT)
    wait_for("both targets healthy", lambda: both_healthy(balancers, "ok", "failing"))

    before = balancers.sample(API, at=100.0)
    assert (before.at, before.requests, before.http_5xx) == (100.0, 0, 0)
    assert (before.healthy, before.unhealthy, before.response_time_ms) == (1, 0, None)

    assert answers(twin, f"http://{NODE_1}/api/x", 10) == {"HTTP 500": 10}
    assert answers(twin, f"http://{NODE_1}/", 20) == {"ok": 20}
    after = balancers.sample(API, at=160.0)
    assert (after.requests, after.http_5xx, after.healthy) == (10, 10, 1)
    assert after.response_time_ms is not None
    web = balancers.sample(WEB)
    assert (web.requests, web.http_5xx, web.healthy, web.unhealthy) == (20, 0, 1, 0)
    assert abs(web.at - time.monotonic()) < 5  # the daemon's clock by default

    # What the twin's CloudWatch makes of the two samples: one period of 60 s.
    store = MetricStore(retention=600)
    store.add(API, before)
    store.add(API, after)
    assert store.value(API, "RequestCount", "Sum", 100.0, 160.0) == 10.0
    assert store.value(API, "HTTPCode_Target_5XX_Count", "Sum", 100.0, 160.0) == 10.0

    # The target dies: its checks fail. Its group has no healthy target left, so the ALB
    # fails open and chooses it anyway (RequestCount counts the 5 requests); its refused
    # connections are answered by HAProxy itself, 503 after retries (an ALB: 502). That
    # is the ALB's error (HTTPCode_ELB_5XX), not the target's: its 5xx stay at 10.
    failing.terminate()
    failing.wait(timeout=5)
    wait_for("the failing target unhealthy", lambda: balancers.sample(API).unhealthy == 1)
    assert balancers.states(API)["failing"].fail_open_ready
    assert answers(twin, f"http://{NODE_1}/api/x", 5) == {"HTTP 503": 5}
    dead = balancers.sample(API)
    assert (dead.requests, dead.http_5xx, dead.healthy, dead.unhealthy) == (15, 10, 0, 1)
