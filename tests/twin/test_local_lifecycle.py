"""`local up/down/logs/exec` around the happy path: bad input, failures, Ctrl-C, and
several twins at once. Each failure must leave nothing behind (no namespace, process,
podman container, cgroup or /etc/netns folder: see conftest.leftovers).

Tests that run images are marked `twin_container` and pass `--runtime container`; where
the premise is a local command (`--run`), a container-mode version runs an image whose
command does the same (busybox's `exit 3`, `sleep 600`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from twin.conftest import cleanup, leftovers, registered_prefix
from twin.twin_support import BUSYBOX_IMAGE, REFERENCE_DIR, cli, in_netns, wait_for

STATE_ROOT = Path("/run/fargate-api")
CONTAINER = ("--runtime", "container")
container_mode = pytest.mark.twin_container
BOTH_RUNTIMES = pytest.mark.parametrize(
    "runtime", ["process", pytest.param("container", marks=container_mode)]
)


def _busybox_config(tmp_path: Path, script: str) -> Path:
    """A config whose one container runs busybox's sh with this script."""
    config = tmp_path / "busybox.toml"
    config.write_text(f'[service]\nimage = "{BUSYBOX_IMAGE}"\ncommand = ["sh", "-c", "{script}"]\n')
    return config


def _name() -> tuple[str, str]:
    prefix = registered_prefix()
    return prefix.removeprefix("fa-").rstrip("-"), prefix


def _assert_nothing_left(prefix: str) -> None:
    left = leftovers(prefix)
    cleanup(prefix)
    assert left == [], left
    assert not (STATE_ROOT / f"{prefix}twin").exists()


def test_missing_template_exits_2_and_builds_nothing(tmp_path: Path) -> None:
    name, prefix = _name()
    proc = cli("local", "up", "-t", str(tmp_path / "absent.yml"), "--name", name, check=False)
    assert proc.returncode == 2
    assert "absent.yml" in proc.stderr and "Traceback" not in proc.stderr
    _assert_nothing_left(prefix)


@BOTH_RUNTIMES
def test_unknown_image_exits_2_with_the_run_hint(tmp_path: Path, runtime: str) -> None:
    """Process mode: no local command for the image (the hint is --run). Container mode:
    not in podman's store, and the pull fails (the hint says how to get it there)."""
    name, prefix = _name()
    config = tmp_path / "c.toml"
    config.write_text('[service]\nimage = "example.com/team/api:1.2.3"\n')
    proc = cli("local", "up", "-c", str(config), "--name", name, "--runtime", runtime, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "example.com/team/api:1.2.3" in proc.stderr
    if runtime == "process":
        assert "--run" in proc.stderr
    else:
        assert "podman" in proc.stderr and "pull" in proc.stderr
    assert "Traceback" not in proc.stderr
    _assert_nothing_left(prefix)


def test_unknown_runtime_exits_2_and_builds_nothing() -> None:
    name, prefix = _name()
    try:
        proc = cli(
            "local",
            "up",
            "-t",
            str(REFERENCE_DIR),
            "--name",
            name,
            "--runtime",
            "bogus",
            check=False,
        )
        assert proc.returncode == 2, proc.stderr
        assert "bogus" in proc.stderr and "Traceback" not in proc.stderr
    finally:
        cli("local", "down", "--name", name, check=False)  # in case it came up anyway
    _assert_nothing_left(prefix)


def test_run_with_runtime_container_exits_2_and_builds_nothing() -> None:
    name, prefix = _name()
    proc = cli(
        "local",
        "up",
        "-t",
        str(REFERENCE_DIR),
        "--name",
        name,
        "--runtime",
        "container",
        "--run",
        "*nginx*=sleep 600",
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "--run" in proc.stderr and "Traceback" not in proc.stderr
    _assert_nothing_left(prefix)


@BOTH_RUNTIMES
def test_tasks_that_never_get_healthy_fail_up_and_remove_everything(
    runtime: str, tmp_path: Path
) -> None:
    name, prefix = _name()
    if runtime == "container":
        source = ["-c", str(_busybox_config(tmp_path, "exit 3")), *CONTAINER]
    else:
        source = ["-t", str(REFERENCE_DIR), "--run", "*nginx*=exit 3"]
    proc = cli(
        "local",
        "up",
        *source,
        "--name",
        name,
        "--time-scale",
        "0.2",
        "--timeout",
        "8",
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "did not reach its desired count of healthy targets" in proc.stderr
    assert "Essential container in task exited (code 3)" in proc.stderr
    _assert_nothing_left(prefix)


@BOTH_RUNTIMES
def test_ctrl_c_during_up_removes_everything(runtime: str, tmp_path: Path) -> None:
    name, prefix = _name()
    if runtime == "container":
        source = ["-c", str(_busybox_config(tmp_path, "sleep 600")), *CONTAINER]
    else:
        source = ["-t", str(REFERENCE_DIR), "--run", "*nginx*=sleep 600"]
    process = subprocess.Popen(
        [sys.executable, "-m", "fargate_api", "local", "up", *source, "--name", name],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(
            "the twin to start its tasks",
            lambda: (
                any(ns.endswith("inet") for ns in _namespaces(prefix))
                and any("-t-" in ns for ns in _namespaces(prefix))
                and (runtime == "process" or _running_containers(prefix))
            ),
            30.0,
        )
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    assert "interrupted" in err
    _assert_nothing_left(prefix)


def _running_containers(prefix: str) -> list[str]:
    found = [e for e in leftovers(prefix) if e.startswith("podman container ")]
    return found


def _namespaces(prefix: str) -> list[str]:
    out = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=False
    ).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix)]


@BOTH_RUNTIMES
def test_two_twins_run_side_by_side_with_logs_and_exec(runtime: str) -> None:
    (first, first_prefix), (second, second_prefix) = _name(), _name()
    try:
        for name in (first, second):
            cli(
                "local",
                "up",
                "-t",
                str(REFERENCE_DIR),
                "--name",
                name,
                "--time-scale",
                "0.2",
                "--runtime",
                runtime,
            )
        one = json.loads(cli("local", "status", "--name", first, "--json").stdout)
        two = json.loads(cli("local", "status", "--name", second, "--json").stdout)
        assert one["runtime"] == two["runtime"] == runtime
        assert one["url"] != two["url"]
        assert not {t["id"] for t in one["tasks"]} & {t["id"] for t in two["tasks"]}
        # Same addresses inside (the same templates), separate namespaces: no clash.
        assert one["egress_ips"] == two["egress_ips"]
        for status in (one, two):
            with urllib.request.urlopen(status["url"], timeout=5) as response:
                assert response.status == 200
        # exec runs in the task's own namespace (in container mode: in its container, which
        # shares it) and returns the command's exit code.
        task = one["tasks"][0]
        shown = cli(
            "local", "exec", "--name", first, task["id"][:8], "--", "ip", "-4", "-o", "addr"
        )
        assert task["private_ip"] in shown.stdout
        if runtime == "container":
            # Inside the container: its processes are nginx's, not the host's.
            ps = cli("local", "exec", "--name", first, task["id"][:8], "--", "ps", "-eo", "comm")
            assert "nginx" in ps.stdout and "haproxy" not in ps.stdout, ps.stdout
            inner = cli(
                "local",
                "exec",
                "--name",
                first,
                task["id"][:8],
                "--",
                "sh",
                "-c",
                "exit 5",
                check=False,
            )
            assert inner.returncode == 5
        failed = cli(
            "local", "exec", "--name", first, "--internet", "--", "sh", "-c", "exit 7", check=False
        )
        assert failed.returncode == 7
        echoed = cli(  # after `--`, --debug is the command's, not fargate-api's
            "local", "exec", "--name", first, "--internet", "--", "echo", "x", "--debug"
        )
        assert echoed.stdout == "x --debug\n" and "Traceback" not in echoed.stderr
        unknown = cli("local", "exec", "--name", first, "nosuchtask", "--", "true", check=False)
        assert unknown.returncode == 2 and "no task" in unknown.stderr
        # Logs: one stream per task, named like awslogs (prefix/container/task id).
        logs = cli("local", "logs", "--name", first).stdout
        streams = {line.split(" ", 1)[0] for line in logs.splitlines()}
        assert {f"LogGroup/web/web/{t['id']}" for t in one["tasks"]} <= streams, streams
        only = cli("local", "logs", "--name", first, "--task", task["id"][:8]).stdout
        assert only and all(
            line.startswith(f"LogGroup/web/web/{task['id']}") for line in only.splitlines()
        )
        if runtime == "container":
            # nginx's access log (the ALB's health checks), without podman's k8s-file
            # prefix (`<time> stdout F `): the line is nginx's own.
            lines = [line.split(" ", 1)[1] for line in only.splitlines()]
            assert any('"GET / HTTP/1.' in line for line in lines), lines[:5]
            assert not any(" stdout F " in line or " stderr F " in line for line in lines)
        # Down of one leaves the other serving.
        cli("local", "down", "--name", first)
        assert leftovers(first_prefix) == []
        assert (
            json.loads(cli("local", "status", "--name", second, "--json").stdout)["service"][
                "running"
            ]
            == 2
        )
    finally:
        cli("local", "down", "--name", first, check=False)
        cli("local", "down", "--name", second, check=False)
    _assert_nothing_left(first_prefix)
    _assert_nothing_left(second_prefix)


def test_status_of_unknown_twin_exits_2() -> None:
    name, prefix = _name()
    proc = cli("local", "status", "--name", name, check=False)
    assert proc.returncode == 2 and f"no twin named {name!r}" in proc.stderr
    _assert_nothing_left(prefix)


@container_mode
def test_down_after_the_daemon_died_still_removes_everything() -> None:
    """The daemon's containers outlive it; `up` again and `down` sweep them by prefix."""
    name, prefix = _name()
    up = ("-t", str(REFERENCE_DIR), "--name", name, "--time-scale", "0.2", *CONTAINER)
    cli("local", "up", *up)
    pid = int((STATE_ROOT / f"{prefix}twin" / "daemon.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    status = cli("local", "status", "--name", name, "--json").stdout
    assert json.loads(status)["phase"] == "dead"
    assert _running_containers(prefix), "the tasks' containers outlive the daemon"
    again = cli("local", "up", *up)
    assert "is up" in again.stderr  # the crashed twin's leftovers were swept first
    cli("local", "down", "--name", name)
    _assert_nothing_left(prefix)
    assert in_netns(f"{prefix}inet", "true").returncode != 0


@container_mode
def test_a_malformed_request_is_refused_and_the_twin_keeps_serving() -> None:
    """A request file the daemon cannot read (here a non-integer count) is answered
    `ok: false`; before, it escaped the daemon's loop and took the whole twin down."""
    name, prefix = _name()
    state_dir = STATE_ROOT / f"{prefix}twin"
    try:
        cli(
            "local",
            "up",
            "-t",
            str(REFERENCE_DIR),
            "--name",
            name,
            "--time-scale",
            "0.2",
            *CONTAINER,
        )
        pending = state_dir / ".request.json.test"
        pending.write_text(json.dumps({"kind": "scale", "id": "bad", "desired": "many"}))
        os.replace(pending, state_dir / "request.json")  # whole, as the CLI writes it
        answer_path = state_dir / "answer.json"
        answer = wait_for(
            "the daemon's answer",
            lambda: answer_path.is_file() and json.loads(answer_path.read_text()),
            15.0,
        )
        assert answer["id"] == "bad" and answer["ok"] is False, answer
        assert "desired" in answer["error"], answer
        time.sleep(1.0)  # a few scheduler ticks after the request
        status = json.loads(cli("local", "status", "--name", name, "--json").stdout)
        assert status["phase"] == "running" and status["error"] is None, status
        with urllib.request.urlopen(status["url"], timeout=5) as response:
            assert response.status == 200
        # The CLI's own requests still go through.
        cli("local", "scale", "1", "--name", name)
        after = json.loads(cli("local", "status", "--name", name, "--json").stdout)
        assert after["service"]["desired"] == 1
    finally:
        cli("local", "down", "--name", name, check=False)
    _assert_nothing_left(prefix)
