"""The local twin, end to end, on our default config, the reference templates and a
CDK-synthesized template: real namespaces, nftables, HAProxy and containers (or processes).

Each source runs twice: in process mode (`--run '*nginx*=<flaky server>'`, a local
command in the task's namespace) and in container mode (no `--run`: the image the
templates name, a real nginx, run by podman in the task's namespace). In container mode
a task is made unhealthy by removing nginx's index page inside it (`local exec`), and
the task that answered a request is read from its nginx access log (its awslogs stream).

Every check goes through the CLI (`fargate-api local ...`) and the namespaces the twin
created; each would fail on a toy that only pretends (a single namespace, no NAT, no
security groups, a load balancer that ignores health).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from twin.conftest import (
    cleanup,
    leftovers,
    registered_prefix,
    require_container_mode,
)
from twin.twin_support import (
    CDK_TEMPLATE,
    NGINX_IMAGE,
    NGINX_INDEX,
    REFERENCE_DIR,
    RunningTwin,
    cli,
    flaky_run,
    in_netns,
    wait_for,
)

CONNECT_TIMEOUT = "1"


@dataclass(frozen=True)
class Source:
    label: str
    args: tuple[str, ...]
    time_scale: float


def _sources(tmp: Path) -> dict[str, Source]:
    empty_config = tmp / "fargate-api.toml"
    empty_config.write_text("# every value at its default\n")
    return {
        "default-config": Source("default-config", ("-c", str(empty_config)), 0.2),
        "reference": Source("reference", ("-t", str(REFERENCE_DIR)), 0.2),
        "cdk": Source("cdk", ("-t", str(CDK_TEMPLATE)), 0.1),
    }


_CONTAINER = pytest.mark.twin_container


@pytest.fixture(
    scope="module",
    params=[
        "default-config",
        "reference",
        "cdk",
        pytest.param("default-config:container", marks=_CONTAINER),
        pytest.param("reference:container", marks=_CONTAINER),
        pytest.param("cdk:container", marks=_CONTAINER),
    ],
)
def twin(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningTwin]:
    label, _, runtime = str(request.param).partition(":")
    runtime = runtime or "process"
    if runtime == "container":
        require_container_mode()
    prefix = registered_prefix()
    name = prefix.removeprefix("fa-").rstrip("-")
    work = tmp_path_factory.mktemp(f"{prefix}work")
    fail_dir = work / f"{prefix}fail"
    fail_dir.mkdir()
    source = _sources(work)[label]
    if runtime == "container":
        how = ["--runtime", "container"]  # no --run: the image the templates name
    else:
        how = ["--runtime", "process", "--run", flaky_run(fail_dir)]
    try:
        up = cli(
            "local",
            "up",
            *source.args,
            "--name",
            name,
            *how,
            "--time-scale",
            str(source.time_scale),
        )
        yield RunningTwin(
            name,
            prefix,
            source.label,
            up.stdout + up.stderr,
            fail_dir,
            source.time_scale,
            runtime,
        )
    finally:
        cli("local", "down", "--name", name, check=False)
        left = cleanup(prefix)
        assert not left, f"local down left: {left}"


def test_up_prints_url_and_egress_ips(twin: RunningTwin) -> None:
    status = twin.status()
    assert status["url"].startswith("http://127.0.0.1:")
    assert status["url"] in twin.up_output
    assert len(status["egress_ips"]) == 2
    for ip in status["egress_ips"]:
        assert ip in twin.up_output


def test_two_healthy_tasks_in_two_azs(twin: RunningTwin) -> None:
    status = twin.status()
    tasks = status["tasks"]
    assert len(tasks) == 2 and {t["health"] for t in tasks} == {"healthy"}
    assert len({t["az"] for t in tasks}) == 2
    assert status["service"] == {"desired": 2, "running": 2, "revision": 1}
    assert status["runtime"] == twin.runtime
    if twin.runtime == "container":
        # Each task runs the templates' image itself, as a podman container of the twin.
        for task in status["tasks_detail"]:
            (container,) = task["containers"]
            assert container["image"] == NGINX_IMAGE and container["last_status"] == "RUNNING"
            assert container["runtime_id"] == f"{twin.prefix}t-{task['id']}-{container['name']}"


def test_requests_from_the_internet_reach_both_tasks_through_the_lb(twin: RunningTwin) -> None:
    status = twin.status()
    ids = {t["id"] for t in status["tasks"]}
    for public_ip in status["load_balancer"]["public_ips"]:
        answered = twin.task_ids_answering(f"http://{public_ip}/", 8)
        assert set(answered) == ids, answered
    # And from the host, through the forwarder into the internet namespace.
    seen = set()
    tokens = []
    for _ in range(6):
        if twin.runtime == "container":
            url, token = twin.probe_url(status["url"] + "/")
            tokens.append(token)
        else:
            url = status["url"] + "/anything"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200
            body = response.read()
            if twin.runtime == "container":
                assert b"Welcome to nginx" in body  # the image's own page, not a stand-in
            else:
                seen.add(json.loads(body)["task"])
    if tokens:
        seen = set(twin.tasks_that_logged(tokens).values())
    assert seen == ids


def test_the_internet_reaches_no_task_on_any_port(twin: RunningTwin) -> None:
    status = twin.status()
    targets = [t["private_ip"] for t in status["tasks"]] + status["egress_ips"]
    for ip in targets:
        for port in (80, 22, 443, 8080):
            proc = in_netns(
                twin.internet,
                "curl",
                "-s",
                "-m",
                "2",
                "--connect-timeout",
                CONNECT_TIMEOUT,
                f"http://{ip}:{port}/",
            )
            assert proc.returncode != 0, f"the internet reached {ip}:{port}"
    # Not even a ping reaches a task.
    for task in status["tasks"]:
        ping = in_netns(twin.internet, "ping", "-c", "1", "-W", "1", task["private_ip"])
        assert ping.returncode != 0


def test_a_task_cannot_reach_another_tasks_port(twin: RunningTwin) -> None:
    first, second = twin.status()["tasks"]
    proc = twin.in_task(
        first["id"],
        "curl",
        "-s",
        "-m",
        "2",
        "--connect-timeout",
        CONNECT_TIMEOUT,
        f"http://{second['private_ip']}:80/",
    )
    assert proc.returncode != 0, "no self rule in the service SG: tasks must not reach each other"
    # ...while the load balancer reaches the very same port (the task serves it).
    assert second["health"] == "healthy"


def test_task_egress_shows_a_nat_ip_never_its_own(twin: RunningTwin) -> None:
    status = twin.status()
    # In container mode, from inside the task's container (`local exec`).
    for task in status["tasks"]:
        proc = twin.in_task(task["id"], "curl", "-s", "-m", "5", status["internet_echo_url"])
        assert proc.returncode == 0, proc.stderr
        seen = proc.stdout.strip()
        assert seen in status["egress_ips"], seen
        assert seen != task["private_ip"]
    # One NAT per AZ: the two tasks (in two AZs) leave through different EIPs.
    seen_ips = {
        twin.in_task(t["id"], "curl", "-s", "-m", "5", status["internet_echo_url"]).stdout.strip()
        for t in status["tasks"]
    }
    assert seen_ips == set(status["egress_ips"])


def _bound(twin: RunningTwin) -> float:
    """Generous upper bound for a replacement: grace + unhealthy + drain + new healthy."""
    return 60.0 if twin.time_scale >= 0.2 else 45.0


def test_a_task_failing_its_health_check_is_taken_out_and_replaced(twin: RunningTwin) -> None:
    status = twin.status()
    victim = status["tasks"][0]
    if twin.runtime == "container":
        # nginx answers 403 on / once its index page is gone: the health check fails.
        broken = twin.in_task(victim["id"], "rm", NGINX_INDEX)
        assert broken.returncode == 0, broken.stderr
    else:
        (twin.fail_dir / victim["id"]).touch()
    try:
        wait_for(
            "the failing task to leave the service",
            lambda: victim["id"] not in {t["id"] for t in twin.status()["tasks"]},
            _bound(twin),
        )
        after = wait_for(
            "two healthy tasks again",
            lambda: _two_healthy(twin),
            _bound(twin),
        )
        assert victim["id"] not in {t["id"] for t in after}
        public_ip = status["load_balancer"]["public_ips"][0]
        answered = twin.task_ids_answering(f"http://{public_ip}/", 6)
        assert victim["id"] not in answered and not any(a.startswith("FAILED") for a in answered)
        stopped = twin.status()["stopped_tasks"]
        assert any(s["id"] == victim["id"] and "health" in s["reason"].lower() for s in stopped)
    finally:
        (twin.fail_dir / victim["id"]).unlink(missing_ok=True)


def _two_healthy(twin: RunningTwin) -> list[dict[str, object]] | None:
    healthy = twin.healthy_tasks()
    return healthy if len(healthy) == 2 else None


def test_a_killed_task_is_replaced_and_the_lb_stops_routing_to_it(twin: RunningTwin) -> None:
    wait_for("two healthy tasks", lambda: _two_healthy(twin), _bound(twin))
    status = twin.status()
    victim = status["tasks"][1]
    listing = subprocess.run(
        ["ip", "netns", "pids", twin.task_netns(victim["id"])],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listing, "the task has processes"
    for pid in listing:
        # A worker may already be gone with its master (nginx in container mode).
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    wait_for(
        "the killed task to be replaced",
        lambda: victim["id"] not in {t["id"] for t in twin.status()["tasks"]},
        15.0,
    )
    # The dead target is out of the LB at once: every request succeeds, none reaches it.
    public_ip = status["load_balancer"]["public_ips"][0]
    answered = twin.task_ids_answering(f"http://{public_ip}/", 6)
    assert victim["id"] not in answered and not any(a.startswith("FAILED") for a in answered), (
        answered
    )
    wait_for(
        "two healthy tasks again",
        lambda: len(twin.healthy_tasks()) == 2,
        _bound(twin),
    )
    stopped = twin.status()["stopped_tasks"]
    assert any(
        s["id"] == victim["id"] and "Essential container in task exited" in s["reason"]
        for s in stopped
    ), stopped


def test_down_leaves_nothing_and_is_idempotent(twin: RunningTwin) -> None:
    cli("local", "down", "--name", twin.name)
    assert leftovers(twin.prefix) == []
    assert not Path(f"/run/fargate-api/{twin.prefix}twin").exists()
    again = cli("local", "down", "--name", twin.name)
    assert "nothing to remove" in again.stderr
