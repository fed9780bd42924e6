"""Blue/green, canary and linear deployments in the twin, under steady load from the
internet host, with the alarms evaluated from HAProxy's counters.

Every request's answer names the release that served it (apps/release_server.py), and
the probe (apps/probe.py) records each one with its time and status, so the tests can
measure what a user of the service saw: how many requests a bad canary failed, whether
the test listener reached only the new revision, how the production share followed the
linear steps. The state machine's decisions are unit-tested
(tests/unit/twin/test_ecs_traffic_shift.py); this checks what they do to a real HAProxy
and real tasks. Process mode: the point is the traffic, not the container runtime.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.twin_support import cli, twin_status, wait_for

APPS = Path(__file__).resolve().parent / "apps"
SERVER = APPS / "release_server.py"
PROBE = APPS / "probe.py"
SCALE = 0.05  # a minute of ECS time is 3 s here
RUN = (
    "--runtime",
    "process",
    "--run",
    f"*nginx*={shlex.quote(sys.executable)} {shlex.quote(str(SERVER))} {{port}}",
)
ALARMS = """
[deployment.alarms]
error_rate_percent = 5.0
period = 60
evaluation_periods = 1
datapoints_to_alarm = 1
"""
HEALTH = '[service]\nhealth_check_path = "/health"\n'


@dataclass(frozen=True)
class Answer:
    at: float  # when the answer arrived
    listener: int  # index of the probed URL
    status: int  # 0: the connection failed
    release: str
    sent: float  # when the request was sent


def _config(tmp_path: Path, name: str, deployment: str, release: str, fail_every: int = 0) -> Path:
    path = tmp_path / name
    env = f'[service.environment]\nRELEASE = "{release}"\nFAIL_EVERY = "{fail_every}"\n'
    path.write_text(HEALTH + env + deployment)
    return path


def _up(name: str, config: Path) -> dict[str, Any]:
    cli("local", "up", "-c", str(config), "--name", name, "--time-scale", str(SCALE), *RUN)
    return twin_status(name)


class Probe:
    def __init__(self, prefix: str, urls: list[str], seconds: float, out: Path) -> None:
        self.out = out
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", f"{prefix}inet", sys.executable, str(PROBE), str(seconds),
             str(out), *urls],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        self.seconds = seconds

    def answers(self) -> list[Answer]:
        """Every answer, once the probe ended (its time is up, or `stop` was called)."""
        output, _ = self.process.communicate(timeout=self.seconds + 30)
        assert self.process.returncode == 0, output
        return [Answer(*json.loads(line)) for line in self.out.read_text().splitlines()]

    def stop(self) -> list[Answer]:
        if self.process.poll() is None:
            self.process.terminate()
        return self.answers()


def _url(status: dict[str, Any], port: int = 80) -> str:
    ip = status["load_balancer"]["public_ips"][0]
    return f"http://{ip}/" if port == 80 else f"http://{ip}:{port}/"


def _deployment(status: dict[str, Any], revision: int) -> dict[str, Any]:
    found: dict[str, Any] = next(
        d for d in status["services"][0]["deployments"] if d["revision"] == revision
    )
    return found


def _share_of(status: dict[str, Any], revision: int) -> float | None:
    """The revision's production share; None before its deployment exists."""
    for deployment in status["services"][0]["deployments"]:
        if deployment["revision"] == revision:
            share: float | None = deployment.get("production_percent")
            return share
    return None


# ---------------------------------------------------------------- canary vs rolling


CANARY = (
    ALARMS
    + """
[deployment]
strategy = "canary"
canary_percent = 20.0
canary_interval = 5
bake_time = 5
"""
)


def test_a_bad_canary_trips_the_5xx_alarm_and_rolls_back(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    """A revision that passes its health check but fails every 5th request: the canary
    gets 20 % of production traffic, its target group's 5xx rate (20 %) crosses the 5 %
    alarm within a period, and ECS moves the traffic back. Clients saw failures only from
    the canary's share."""
    name, prefix = twin_name
    status = _up(name, _config(tmp_path, "v1.toml", CANARY, "v1"))
    assert status["services"][0]["strategy"] == "CANARY"
    bad = _config(tmp_path, "v2.toml", CANARY, "v2", fail_every=5)
    probe = Probe(prefix, [_url(status)], seconds=120, out=tmp_path / "answers.jsonl")
    try:
        deploy = cli("local", "deploy", "-c", str(bad), "--name", name, check=False)
        # A little traffic after the rollback: none of it may reach v2.
        time.sleep(2)
    finally:
        answers = probe.stop()
    assert deploy.returncode == 1, deploy.stderr
    assert "in ALARM" in deploy.stderr and "runs revision 1" in deploy.stderr, deploy.stderr
    after = twin_status(name)
    failed = _deployment(after, 2)
    assert failed["outcome"] == "ROLLBACK_SUCCESSFUL", failed
    assert failed["triggered_alarms"], failed
    assert {t["revision"] for t in after["tasks"]} == {1}
    alarm = next(a for a in after["services"][0]["alarms"] if "5xx" in a["name"])
    assert alarm["state"] in ("ALARM", "OK"), alarm
    errors = [a for a in answers if a.status != 200]
    assert errors, "the bad revision never answered: the canary did not get traffic"
    assert {a.release for a in errors} == {"v2"}, errors[:5]  # only the canary failed
    # Bounded by the canary's share: from the first v2 answer to the last, at most 20 %
    # of requests reached v2 at all (and a fifth of those failed).
    first = min(a.at for a in answers if a.release == "v2")
    last = max(a.at for a in answers if a.release == "v2")
    window = [a for a in answers if first <= a.at <= last]
    share_v2 = sum(a.release == "v2" for a in window) / len(window)
    failed_share = len(errors) / len(window)
    assert share_v2 <= 0.20 + 0.06, (share_v2, len(window))
    assert failed_share <= 0.20, (failed_share, len(window))
    # After the rollback nothing reaches v2 anymore.
    tail = [a for a in answers if a.at > last]
    assert tail and {a.release for a in tail} == {"v1"}


def test_the_same_bad_revision_rolled_without_alarms_reaches_every_task(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    """The contrast: ROLLING with its circuit breaker, no alarm. The bad revision's tasks
    pass their health checks, so ECS completes the deployment and 100 % of traffic gets
    the 5xx answers, as it would on AWS."""
    name, prefix = twin_name
    status = _up(name, _config(tmp_path, "v1.toml", "", "v1"))
    assert status["services"][0]["strategy"] == "ROLLING"
    bad = _config(tmp_path, "v2.toml", "", "v2", fail_every=5)
    deploy = cli("local", "deploy", "-c", str(bad), "--name", name)
    assert "deployment completed" in deploy.stderr
    after = twin_status(name)
    assert {t["revision"] for t in after["tasks"]} == {2}
    answers = Probe(prefix, [_url(after)], seconds=6, out=tmp_path / "after.jsonl").answers()
    assert {a.release for a in answers} == {"v2"}
    failed = sum(a.status == 500 for a in answers) / len(answers)
    assert 0.15 <= failed <= 0.25, failed


# ---------------------------------------------------------------- blue/green


BLUE_GREEN = (
    ALARMS
    + """
[deployment]
strategy = "blue_green"
bake_time = 3
test_listener_port = 8080
test_traffic_time = 4
"""
)


def test_blue_green_tests_the_new_revision_first_and_switches_without_a_failed_request(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    name, prefix = twin_name
    status = _up(name, _config(tmp_path, "v1.toml", BLUE_GREEN, "v1"))
    good = _config(tmp_path, "v2.toml", BLUE_GREEN, "v2")
    urls = [_url(status), _url(status, 8080)]
    probe = Probe(prefix, urls, seconds=90, out=tmp_path / "answers.jsonl")
    try:
        deploy = cli("local", "deploy", "-c", str(good), "--name", name)
    finally:
        answers = probe.stop()
    assert "deployment completed" in deploy.stderr
    after = twin_status(name)
    assert {t["revision"] for t in after["tasks"]} == {2}
    assert _deployment(after, 2)["outcome"] == "SUCCESSFUL"
    production = [a for a in answers if a.listener == 0]
    test = [a for a in answers if a.listener == 1]
    assert all(a.status == 200 for a in answers), [a for a in answers if a.status != 200][:5]
    # The test listener reaches the new revision first, and only it from then on: every
    # request sent after a v2 answer arrived (the shift had happened) gets v2. Answer
    # times alone cannot say it: a v1 request in flight at the shift may answer later.
    test_first = min(a.at for a in test if a.release == "v2")
    assert {a.release for a in test if a.sent > test_first} == {"v2"}
    # Production stays on v1 until the switch, then gets v2 only.
    switch = min(a.at for a in production if a.release == "v2")
    assert {a.release for a in production if a.at < switch} == {"v1"}
    assert {a.release for a in production if a.sent > switch} == {"v2"}
    # The window in which only testers saw v2: the PAUSE hook of 4 min (12 s scaled).
    assert switch - test_first >= 4 * 60 * SCALE * 0.8, switch - test_first


# ---------------------------------------------------------------- linear


LINEAR = """
[deployment]
strategy = "linear"
linear_percent = 25.0
linear_interval = 3
bake_time = 1
alarms = false
"""
STEP = 3 * 60 * SCALE  # seconds between linear steps here
TOLERANCE = 0.10  # absolute: the share seen in a window may differ by 10 points
TICK = 0.5  # the twin's daemon decides every half second


def test_linear_shifts_production_in_steps_the_clients_can_count(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    """Shares are counted on the internet host in the middle second-and-a-half of each
    step (the daemon acts on a 0.5 s tick), and must be within 10 points of 25/50/75 %."""
    name, prefix = twin_name
    status = _up(name, _config(tmp_path, "v1.toml", LINEAR, "v1"))
    probe = Probe(prefix, [_url(status)], seconds=90, out=tmp_path / "answers.jsonl")
    try:
        cli(
            "local", "deploy", "-c", str(_config(tmp_path, "v2.toml", LINEAR, "v2")), "--name", name
        )
    finally:
        answers = probe.stop()
    assert all(a.status == 200 for a in answers)
    start = min(a.at for a in answers if a.release == "v2")
    # A step starts on the first tick after its interval: up to TICK late, and the delays
    # add up, so each window starts that much later than the schedule says.
    for step, expected in enumerate((0.25, 0.50, 0.75)):
        low = start + step * (STEP + TICK) + 0.75
        high = start + (step + 1) * STEP - 0.75
        window = [a for a in answers if low <= a.at <= high]
        assert len(window) > 50, (step, len(window))
        share = sum(a.release == "v2" for a in window) / len(window)
        assert abs(share - expected) <= TOLERANCE, (step, share, len(window))
    last_v1 = max(a.at for a in answers if a.release == "v1")
    assert last_v1 <= start + 3 * (STEP + TICK) + 0.5, (last_v1 - start, STEP)


# ---------------------------------------------------------------- local rollback


def test_local_rollback_mid_deployment_returns_all_traffic_without_errors(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    name, prefix = twin_name
    slow = LINEAR.replace("linear_interval = 3", "linear_interval = 20")
    status = _up(name, _config(tmp_path, "v1.toml", slow, "v1"))
    refused = cli("local", "rollback", "--name", name, check=False)
    assert refused.returncode == 2 and "no deployment in progress" in refused.stderr
    probe = Probe(prefix, [_url(status)], seconds=120, out=tmp_path / "answers.jsonl")
    deploy = subprocess.Popen(
        [sys.executable, "-m", "fargate_api", "local", "deploy", "-c",
         str(_config(tmp_path, "v2.toml", slow, "v2")), "--name", name],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(
            "25 % of production on revision 2",
            lambda: _share_of(twin_status(name), 2) == 25.0,
            timeout=60,
        )
        rollback = cli("local", "rollback", "--name", name)
        _, deploy_err = deploy.communicate(timeout=120)
    finally:
        if deploy.poll() is None:
            deploy.kill()
        answers = probe.stop()
    assert "revision 2 rolled back" in rollback.stderr, rollback.stderr
    assert deploy.returncode == 1 and "rollback requested" in deploy_err, deploy_err
    after = twin_status(name)
    assert {t["revision"] for t in after["tasks"]} == {1}
    assert _deployment(after, 2)["outcome"] == "ROLLBACK_SUCCESSFUL"
    assert any(a.release == "v2" for a in answers)
    assert all(a.status == 200 for a in answers), [a for a in answers if a.status != 200][:5]
