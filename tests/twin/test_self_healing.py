"""The twin heals its own parts (daemon/supervisor.py, daemon/parts.py), under load.

One twin (the default config, process mode, time scale 0.1) for the whole module; each
test breaks one part as a crash would (kill -9 of HAProxy or of the echo service,
`ip netns del` of a NAT gateway or of the internet gateway) and checks that it comes
back with its state, that `local status` counts the restart, that requests fail only
for a window that is measured here and bounded, and that the daemon lives on. A last
test makes HAProxy's restore fail: `local status` names the part and why, the daemon
keeps running, and the part comes back once the cause is gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fargate_api.twin.host.processes import pids_with_argument
from fargate_api.twin.naming import TwinNames
from twin.load import Load
from twin.twin_support import cli, default_config_twin, in_netns, twin_status, wait_for

APPS = Path(__file__).resolve().parent / "apps"
PROBE = APPS / "probe.py"
SCALE = 0.1
# The longest a client sees failures after kill -9 of HAProxy: the supervisor probes
# every tick (0.5 s) and restarts it with its targets forced up at once; 5 s leaves room
# for a loaded machine.
HAPROXY_WINDOW = 5.0
# A lost NAT gateway is noticed by a kernel-state probe every 2 s, then rebuilt.
NAT_RECOVERY = 12.0
RESTORE = 15.0  # seconds for any part to show restarts + 1 in `local status`
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only


@dataclass(frozen=True)
class Healing:
    name: str
    prefix: str

    @property
    def internet(self) -> str:
        return f"{self.prefix}inet"

    @property
    def state_dir(self) -> Path:
        return TwinNames(self.name).state_dir

    def status(self) -> dict[str, Any]:
        return twin_status(self.name)

    def parts(self) -> dict[str, dict[str, Any]]:
        return {part["name"]: part for part in self.status()["parts"]}

    def part(self, kind: str) -> dict[str, Any]:
        matching = [p for p in self.status()["parts"] if p["kind"] == kind]
        assert matching, f"no part of kind {kind}: {self.status()['parts']}"
        return dict(matching[0])

    def alb_url(self) -> str:
        return f"http://{self.status()['load_balancer']['public_ips'][0]}/"

    def daemon_pid(self) -> int:
        return int((self.state_dir / "daemon.pid").read_text())


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Healing]:
    with default_config_twin(tmp_path_factory, SCALE) as running:
        yield Healing(running.name, running.prefix)


# ---------------------------------------------------------------- measuring


class Probe:
    """apps/probe.py from the internet host: every request with its send time and status."""

    def __init__(self, twin: Healing, url: str, seconds: float, out: Path) -> None:
        self.out = out
        self.seconds = seconds
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", twin.internet, sys.executable, str(PROBE), str(seconds),
             str(out), url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip

    def records(self) -> list[tuple[float, int, int, str, float]]:
        output, _ = self.process.communicate(timeout=self.seconds + 30)
        assert self.process.returncode == 0, output
        rows = [json.loads(line) for line in self.out.read_text().splitlines()]
        return [(float(a), int(i), int(st), str(r), float(se)) for a, i, st, r, se in rows]


@dataclass(frozen=True)
class Outage:
    failed: int
    succeeded: int
    window: float  # first failed request sent -> last failed request answered, seconds
    recovered: bool  # a request succeeded after the last failure


def outage(records: list[tuple[float, int, int, str, float]]) -> Outage:
    """The failure window a client saw: from the send time of the first failed request to
    the answer time of the last one (a timeout counts whole), and whether requests
    succeeded after it."""
    failures = [(sent, answered) for answered, _, status, _, sent in records if status != 200]
    successes = [sent for _, _, status, _, sent in records if status == 200]
    if not failures:
        return Outage(0, len(successes), 0.0, True)
    first = min(sent for sent, _ in failures)
    last = max(answered for _, answered in failures)
    return Outage(
        len(failures), len(successes), last - first, any(sent > last for sent in successes)
    )


def _pids(netns: str, comm: str) -> list[int]:
    found = []
    out = subprocess.run(
        ["ip", "netns", "pids", netns], capture_output=True, text=True, check=False
    )
    for text in out.stdout.split():
        try:
            if Path(f"/proc/{text}/comm").read_text().strip() == comm:
                found.append(int(text))
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _egress_ip(twin: Healing, task_netns: str) -> str:
    echo = twin.status()["internet_echo_url"]
    proc = in_netns(task_netns, "curl", "-s", "--noproxy", "*", "-m", "2", echo, timeout=10)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def _task_behind_nat0(twin: Healing) -> tuple[str, str]:
    """A running task in the subnet routed through NAT gateway 0, and that NAT's EIP."""
    status = twin.status()
    egress = status["egress_ips"][0]
    for task in status["tasks_detail"]:
        netns = f"{twin.prefix}t-{task['id']}"
        if task["last_status"] == "RUNNING" and egress in _egress_ip(twin, netns):
            return netns, egress
    pytest.fail(f"no task egresses through {egress}: {status['tasks']}")


def _alb_answers(twin: Healing, url: str) -> bool:
    proc = in_netns(twin.internet, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                    "--noproxy", "*", "-m", "2", url)  # fmt: skip
    return proc.stdout == "200"


def _wait_restored(
    twin: Healing, name: str, restarts: int, timeout: float = RESTORE
) -> dict[str, Any]:
    part: dict[str, Any] = wait_for(
        f"{name} restored ({restarts} restarts)",
        lambda: next(
            (
                p
                for p in twin.status()["parts"]
                if p["name"] == name and p["restarts"] == restarts and p["health"] == "ok"
            ),
            None,
        ),
        timeout=timeout,
    )
    return part


# ---------------------------------------------------------------- the tests


def test_status_lists_every_part_healthy(twin: Healing) -> None:
    parts = twin.parts()
    kinds = {p["kind"] for p in parts.values()}
    assert kinds >= {
        "haproxy",
        "nat-gateway",
        "internet-gateway",
        "resolver",
        "endpoints",
        "echo",
        "forwarder",
    }, parts
    assert sum(p["kind"] == "nat-gateway" for p in parts.values()) == 2
    assert {p["health"] for p in parts.values()} == {"ok"}
    assert {p["restarts"] for p in parts.values()} == {0}
    text = cli("local", "status", "--name", twin.name)
    assert "parts" in text.stdout and "haproxy" in text.stdout


def test_haproxy_killed_under_load_comes_back_with_its_targets(
    twin: Healing, tmp_path: Path
) -> None:
    haproxy = twin.part("haproxy")
    before = haproxy["restarts"]
    (pid,) = _pids(f"{twin.prefix}lb0n0", "haproxy")
    daemon = twin.daemon_pid()
    url = twin.alb_url()
    load = Load(twin.internet, url, seconds=16, connections=4)
    probe = Probe(twin, url, 16, tmp_path / "probe.jsonl")
    try:
        time.sleep(4)
        os.kill(pid, signal.SIGKILL)
        part = _wait_restored(twin, haproxy["name"], before + 1)
    finally:
        records = probe.records()
        result = load.result()
    seen = outage(records)
    print(f"haproxy kill -9: {seen}; wrk: {result.output}")
    assert seen.failed > 0, "the kill did not interrupt anything: the test proves nothing"
    assert seen.window < HAPROXY_WINDOW, seen
    assert seen.recovered and seen.succeeded > 100, seen
    assert result.requests > 100, result.output
    assert part["reason"].startswith("crashed (exit -9)"), part
    new = _pids(f"{twin.prefix}lb0n0", "haproxy")
    assert new and new != [pid]
    # Targets came back with their health: both tasks healthy and serving.
    status = twin.status()
    assert [t["health"] for t in status["tasks"]] == ["healthy", "healthy"], status["tasks"]
    assert _alive(daemon) and status["phase"] == "running"
    log = (twin.state_dir / "twin.log").read_text()
    assert "haproxy" in log and "restarted with 2 targets" in log, log[-2000:]


def test_nat_gateway_lost_is_rebuilt_with_the_same_egress_ip(twin: Healing) -> None:
    task_netns, egress = _task_behind_nat0(twin)
    nat = next(p for p in twin.status()["parts"] if p["kind"] == "nat-gateway")
    before = nat["restarts"]
    subprocess.run(["ip", "netns", "del", f"{twin.prefix}nat0"], check=True)
    lost = time.monotonic()
    # Egress from the task every 0.2 s until the part is restored and egress works: the
    # kernel frees a deleted namespace asynchronously, so the first tries may still pass.
    seen: list[tuple[float, float, str]] = []  # (sent, answered) after the loss, egress IP
    restored = False
    while time.monotonic() - lost < NAT_RECOVERY:
        sent = time.monotonic() - lost
        ip = _egress_ip(twin, task_netns)
        seen.append((sent, time.monotonic() - lost, ip))
        if not restored:
            restored = any(
                p["name"] == nat["name"] and p["restarts"] == before + 1
                for p in twin.status()["parts"]
            )
        if restored and ip:
            break
        time.sleep(0.2)
    # Disrupted: tries that failed, or that took over half a second (a SYN retransmitted until
    # the NAT gateway was back); the window runs from the loss to the last of them.
    disrupted = [answered for sent, answered, ip in seen if not ip or answered - sent > 0.5]
    window = max(disrupted, default=0.0)
    print(f"NAT gateway lost: egress disrupted for {window:.1f} s; tries: {seen}")
    assert restored, seen
    back = seen[-1][2]
    assert back == egress  # the same EIP: what customers whitelisted still holds
    assert window < NAT_RECOVERY - 2, seen
    part = _wait_restored(twin, nat["name"], before + 1)
    assert "lost its namespace" in part["reason"]
    assert twin.status()["phase"] == "running"


def test_echo_service_killed_comes_back(twin: Healing) -> None:
    echo = twin.part("echo")
    (pid,) = pids_with_argument(f"{twin.prefix}echo")
    os.kill(pid, signal.SIGKILL)
    _wait_restored(twin, "echo", echo["restarts"] + 1)
    task_netns, egress = _task_behind_nat0(twin)
    assert _egress_ip(twin, task_netns) == egress
    assert _alive(twin.daemon_pid())


def test_forwarder_killed_listens_again_on_the_same_host_port(twin: Healing) -> None:
    status = twin.status()
    url = status["url"]
    forwarder = twin.part("forwarder")
    (pid,) = pids_with_argument(f"{twin.prefix}fwd")
    os.kill(pid, signal.SIGKILL)
    _wait_restored(twin, forwarder["name"], forwarder["restarts"] + 1)
    assert twin.status()["url"] == url  # the same 127.0.0.1 port

    def answers() -> bool:
        try:
            with NO_PROXY.open(url, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    wait_for("the host port answering again", answers, timeout=10, interval=0.3)


def test_internet_gateway_lost_is_rebuilt_and_the_alb_answers_again(twin: Healing) -> None:
    igw = twin.part("internet-gateway")
    url = twin.alb_url()
    subprocess.run(["ip", "netns", "del", f"{twin.prefix}igw"], check=True)
    _wait_restored(twin, "internet-gateway", igw["restarts"] + 1)

    wait_for(
        "the ALB from the internet host", lambda: _alb_answers(twin, url), timeout=10, interval=0.3
    )
    task_netns, egress = _task_behind_nat0(twin)
    assert _egress_ip(twin, task_netns) == egress  # the NAT's EIP mapped again


def test_a_part_that_cannot_be_restored_is_reported_and_the_rest_runs(twin: Healing) -> None:
    """HAProxy's folder replaced by a file: its restore fails until the folder is back."""
    haproxy = twin.part("haproxy")
    folder = twin.state_dir / "lb0"
    saved = twin.state_dir / "lb0.saved"
    folder.rename(saved)
    try:
        folder.write_text("not a folder\n")
        (pid,) = _pids(f"{twin.prefix}lb0n0", "haproxy")
        os.kill(pid, signal.SIGKILL)
        failed = wait_for(
            "haproxy reported failed",
            lambda: next(
                (
                    p
                    for p in twin.status()["parts"]
                    if p["kind"] == "haproxy" and p["health"] == "failed"
                ),
                None,
            ),
            timeout=RESTORE,
        )
        assert "crashed (exit -9)" in failed["reason"], failed
        assert "restore failed" in failed["reason"], failed
        status = twin.status()
        assert status["phase"] == "running" and _alive(twin.daemon_pid())
        others = [p for p in status["parts"] if p["kind"] != "haproxy"]
        assert {p["health"] for p in others} == {"ok"}, others
        updated = status["updated_at"]
        wait_for("state.json still written", lambda: twin.status()["updated_at"] > updated, 5)
        text = cli("local", "status", "--name", twin.name)
        assert f"part {haproxy['name']} failed" in text.stderr, text.stderr
    finally:
        folder.unlink(missing_ok=True)
        saved.rename(folder)
    # Retried on its back-off (1, 2, 4, 8 s ...): back within one more step.
    _wait_restored(twin, haproxy["name"], haproxy["restarts"] + 1, timeout=40)
    url = twin.alb_url()
    wait_for("the ALB answering again", lambda: _alb_answers(twin, url), timeout=15, interval=0.3)
