"""Rendered HAProxy configurations as haproxy itself reads them: `haproxy -c`.

tests/unit/twin/test_haproxy_config.py asserts on the text of every configuration in
haproxy_scenarios.CONFIGS; here the real haproxy must accept each of them, without a
warning, since text that looks right but that haproxy rejects or reads differently is
the failure that matters. `haproxy -c` needs no root, but it needs haproxy: this tier's
gate reports the tests as not run when it is missing (and fails them with CI=true).

One configuration is also run, on loopback (no namespace, no root): a backend without
servers, such as the placeholder target group no ECS service registers with, must
answer 503, as an ALB does for a target group without registered targets.
"""

from __future__ import annotations

import http.client
import shutil
import socket
import subprocess
import time
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from fargate_api.twin.elbv2.haproxy_config import render_haproxy_config
from fargate_api.twin.plan.model import LoadBalancerNode
from unit.twin.haproxy_scenarios import CONFIGS, placeholder_balancer, placeholder_groups

LOOPBACK = IPv4Address("127.0.0.1")


def haproxy_check(config: str, scratch: Path) -> subprocess.CompletedProcess[str]:
    haproxy = shutil.which("haproxy")
    assert haproxy is not None, "the twin tier's gate let the tests run without haproxy"
    path = scratch / "haproxy.cfg"
    path.write_text(config)
    return subprocess.run(
        [haproxy, "-c", "-f", str(path)], capture_output=True, text=True, timeout=30, check=False
    )


def test_haproxy_check_rejects_a_broken_configuration(tmp_path: Path) -> None:
    """The validator itself can say no: otherwise every check below would prove nothing."""
    broken = CONFIGS["idle timeout 120"](tmp_path).replace("mode http", "mode maybe", 1)
    assert haproxy_check(broken, tmp_path).returncode != 0


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_haproxy_accepts_the_rendered_configuration(name: str, tmp_path: Path) -> None:
    config = CONFIGS[name](tmp_path)
    proc = haproxy_check(config, tmp_path)
    assert proc.returncode == 0, f"haproxy rejected the config:\n{proc.stderr}\n{config}"
    assert "[WARNING]" not in proc.stderr + proc.stdout, proc.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((str(LOOPBACK), 0))
        return int(probe.getsockname()[1])


def _status(port: int, path: str) -> int:
    connection = http.client.HTTPConnection(str(LOOPBACK), port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_backend_without_servers_answers_503(tmp_path: Path) -> None:
    """The placeholder group the listener's default action forwards to never gets a
    target, nor (here) does the service's: HAProxy, like the ALB, answers 503 for both."""
    port = _free_port()
    node = LoadBalancerNode("Vpc/PublicA", "a", LOOPBACK, IPv4Address("203.0.113.10"))
    config = render_haproxy_config(
        placeholder_balancer(nodes=(node,), port=port),
        placeholder_groups(),
        stats_socket=tmp_path / "haproxy.sock",
    )
    checked = haproxy_check(config, tmp_path)
    assert checked.returncode == 0, checked.stderr
    haproxy = shutil.which("haproxy")
    assert haproxy is not None
    log = tmp_path / "haproxy.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [haproxy, "-db", "-f", str(tmp_path / "haproxy.cfg")],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                first = _status(port, "/")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"haproxy did not answer on port {port}:\n{log.read_text()}")
                time.sleep(0.05)
        assert first == 503  # the default action: the placeholder group
        assert _status(port, "/api/x") == 503  # the rule's group, no target registered yet
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
