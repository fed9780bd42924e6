"""Rolling deployments and scaling in the twin, under steady load from the internet.

The point of these tests is the number of failed requests: 0 with our defaults (a drain
longer than in-flight requests, graceful shutdown after it), while with the reference's
own settings (no deregistration delay, a server that dies on SIGTERM) a request in flight
when its task is replaced fails, which documents that defect of the pattern. The
scheduler's decisions themselves are unit-tested (tests/unit/twin/test_ecs_*.py); these
tests check what they do to real namespaces, HAProxy and containers or processes.

Configs without `--run` run in container mode (`--runtime container`): the real nginx
image (graceful stop on its STOPSIGNAL SIGQUIT), the example API's image, a busybox that
exits at once for a broken revision. Where a test's premise is a local command (`--run`,
`[local] command`), a process-mode version stays next to the container one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from twin.load import Load
from twin.twin_support import (
    BUSYBOX_IMAGE,
    EXAMPLE_API_IMAGE,
    REFERENCE_DIR,
    REPO,
    cli,
    twin_status,
    wait_for,
)

SCALE = "0.2"  # health checks every 2 s, drain 9 s instead of 45 s, stop timeout 12 s
CONTAINER = ("--runtime", "container")
PROCESS = ("--runtime", "process")
container_mode = pytest.mark.twin_container


def _alb_url(status: dict[str, Any]) -> str:
    balancer = status["load_balancer"]
    assert isinstance(balancer, dict)
    return f"http://{balancer['public_ips'][0]}/"


def _in_internet(prefix: str) -> list[str]:
    return ["ip", "netns", "exec", f"{prefix}inet"]


def _config(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@container_mode
def test_deploy_with_our_defaults_drops_no_request(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    name, prefix = twin_name
    first = _config(tmp_path, "v1.toml", "")
    second = _config(tmp_path, "v2.toml", '[service.environment]\nGREETING = "v2"\n')
    cli("local", "up", "-c", str(first), "--name", name, "--time-scale", SCALE, *CONTAINER)
    assert twin_status(name)["runtime"] == "container"
    status = twin_status(name)
    load = Load(f"{prefix}inet", _alb_url(status), seconds=35)
    try:
        deploy = cli("local", "deploy", "-c", str(second), "--name", name)
    finally:
        result = load.result()
    assert "deployment completed" in deploy.stderr
    after = twin_status(name)
    tasks = after["tasks"]
    assert isinstance(tasks, list) and len(tasks) == 2
    assert {t["revision"] for t in tasks} == {2} and {t["health"] for t in tasks} == {"healthy"}
    assert result.requests > 100, result.output
    assert result.failed == 0, result.output


EXAMPLE_CONFIG = REPO / "examples" / "api" / "fargate-api.toml"
EXAMPLE_BUILD = re.compile(r'^build = "\."(?:\s*#.*)?$', re.MULTILINE)


@pytest.mark.parametrize("runtime", ["process", pytest.param("container", marks=container_mode)])
def test_sample_api_deploy_of_a_changed_environment_drops_no_request(
    twin_name: tuple[str, str], tmp_path: Path, runtime: str
) -> None:
    """The issue's own check: the example API, steady load, a changed variable. In
    process mode the config's `[local] command` runs it from the repository; in container
    mode its image (`make test-images`), named in place of the config's `build` (building
    it here would need PyPI; test_built_image_twin.py covers `build` itself)."""
    name, prefix = twin_name
    text = EXAMPLE_CONFIG.read_text()
    if runtime == "container":
        assert EXAMPLE_BUILD.search(text), text
        text = EXAMPLE_BUILD.sub(f"image = {json.dumps(EXAMPLE_API_IMAGE)}", text)
    example = _config(tmp_path, "v1.toml", text)
    changed = _config(
        tmp_path,
        "v2.toml",
        text.replace('LOG_LEVEL = "info"', 'LOG_LEVEL = "info"\nRELEASE = "v2"'),
    )
    assert changed.read_text() != example.read_text()
    how = CONTAINER if runtime == "container" else PROCESS
    cli("local", "up", "-c", str(example), "--name", name, "--time-scale", SCALE, *how)
    assert twin_status(name)["runtime"] == runtime
    load = Load(f"{prefix}inet", _alb_url(twin_status(name)) + "whoami", seconds=35)
    try:
        cli("local", "deploy", "-c", str(changed), "--name", name)
    finally:
        result = load.result()
    tasks = twin_status(name)["tasks"]
    assert isinstance(tasks, list) and {t["revision"] for t in tasks} == {2}
    assert result.requests > 100 and result.failed == 0, result.output


def test_reference_settings_drop_requests_on_deploy(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    """The reference's deregistration delay of 0 and a server that exits at once on
    SIGTERM (Python's http.server, like a container without a drain): a request still in
    flight when its task is replaced fails. Requests are held in flight on purpose (the
    server opens a FIFO nobody writes to), so that there is one on every old task when
    it stops, instead of counting on steady load to hit the moment of the stop."""
    name, prefix = twin_name
    www = tmp_path / "www"
    www.mkdir()
    os.mkfifo(www / "held")
    server = f"python3 -m http.server {{port}} --directory {www}"
    cli(
        "local",
        "up",
        "-t",
        str(REFERENCE_DIR),
        "--name",
        name,
        "--time-scale",
        SCALE,
        "--run",
        f"*nginx*={server}",
    )
    before = {t["id"] for t in twin_status(name)["tasks"]}
    url = _alb_url(twin_status(name)) + "held"
    curl = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "120", url]
    held = [
        subprocess.Popen(
            [*_in_internet(prefix), *curl],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2 * len(before))  # the ALB spreads them over every old task
    ]
    try:
        time.sleep(1)  # in flight on the old tasks long before new ones pass health checks
        assert [request.poll() for request in held] == [None] * len(held)
        cli(
            "local",
            "deploy",
            "-t",
            str(REFERENCE_DIR),
            "--name",
            name,
            "--run",
            f"*nginx*={server} --bind 0.0.0.0",
        )
        # Every old task is gone now: each held request ended with it, and not well.
        answers = [request.communicate(timeout=10)[0] for request in held]
    finally:
        for request in held:
            request.kill()
            request.wait()
    status = twin_status(name)
    assert {t["revision"] for t in status["tasks"]} == {2}
    assert answers == ["502"] * len(held), answers  # the ALB's Bad Gateway, on every one
    stopped = [t for t in status["stopped_tasks"] if t["id"] in before]
    assert len(stopped) == len(before)
    # No graceful shutdown to wait for: SIGTERM killed each server (128 + 15).
    assert all(143 in t["exit_codes"].values() for t in stopped), stopped


BIG_FILE_BYTES = 128 * 1024 * 1024
SLOW_RATE = "1M"  # bytes per second: 128 s for the file, far beyond the deploy


@container_mode
def test_reference_settings_drop_requests_on_deploy_in_container_mode(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    """The same defect with the reference's real nginx: its deregistration delay of 0
    leaves no drain, so the ALB closes a download still in flight when its task is
    replaced, although nginx itself stops gracefully (exit 0). Each old task
    gets a large file and the internet fetches it slowly, so a request is in flight on
    every old task when the deploy (a new image reference: the same nginx, as a re-tag
    would be) replaces it."""
    name, prefix = twin_name
    reference = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, reference)
    service = reference / "service.yml"
    text = service.read_text()
    old_image = "Default: public.ecr.aws/docker/library/nginx:latest"
    assert old_image in text
    service.write_text(text.replace(old_image, "Default: docker.io/library/nginx:latest"))
    cli("local", "up", "-t", str(REFERENCE_DIR), "--name", name, "--time-scale", SCALE, *CONTAINER)
    status = twin_status(name)
    assert status["runtime"] == "container"
    before = {t["id"] for t in status["tasks"]}
    for task in before:
        cli(
            "local",
            "exec",
            "--name",
            name,
            task,
            "--",
            "sh",
            "-c",
            f"head -c {BIG_FILE_BYTES} /dev/zero > /var/www/html/big",
        )
    url = _alb_url(status) + "big"
    curl = [
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "--limit-rate",
        SLOW_RATE,
        "-w",
        "%{http_code} %{size_download}",
        "--max-time",
        "240",
        url,
    ]
    held = [
        subprocess.Popen([*_in_internet(prefix), *curl], stdout=subprocess.PIPE, text=True)
        for _ in range(2 * len(before))  # the ALB spreads them over every old task
    ]
    try:
        time.sleep(1)
        assert [request.poll() for request in held] == [None] * len(held)
        cli("local", "deploy", "-t", str(reference), "--name", name)
        # The ALB closes them at once (no drain); curl still reads what the kernel's socket
        # buffers (megabytes) hold at its rate, then reports the truncated transfer.
        results = [(request.communicate(timeout=90)[0], request.returncode) for request in held]
    finally:
        for request in held:
            request.kill()
            request.wait()
    status = twin_status(name)
    assert {t["revision"] for t in status["tasks"]} == {2}
    # Every download ended with its task, unfinished: curl reports the transfer failed.
    for out, code in results:
        _, size = out.split()
        assert code != 0 and int(size) < BIG_FILE_BYTES, results
    stopped = [t for t in status["stopped_tasks"] if t["id"] in before]
    assert len(stopped) == len(before)
    # nginx itself stopped gracefully (SIGQUIT, exit 0): the missing drain cut them.
    assert all(set(t["exit_codes"].values()) == {0} for t in stopped), stopped


@pytest.mark.parametrize("runtime", ["process", pytest.param("container", marks=container_mode)])
def test_failing_revision_trips_the_circuit_breaker_and_rolls_back_without_errors(
    twin_name: tuple[str, str], tmp_path: Path, runtime: str
) -> None:
    """A revision whose container exits at once: a `[local] command` in process mode, an
    image whose command exits 1 in container mode."""
    name, prefix = twin_name
    good = _config(tmp_path, "good.toml", "")
    if runtime == "container":
        bad_text = (
            f'[service]\nimage = "{BUSYBOX_IMAGE}"\n'
            'command = ["sh", "-c", "echo broken build; exit 1"]\n'
        )
    else:
        bad_text = '[local]\ncommand = "echo broken build; exit 1"\n'
    bad = _config(tmp_path, "bad.toml", bad_text)
    how = CONTAINER if runtime == "container" else PROCESS
    cli("local", "up", "-c", str(good), "--name", name, "--time-scale", SCALE, *how)
    assert twin_status(name)["runtime"] == runtime
    before = {t["id"] for t in twin_status(name)["tasks"]}
    load = Load(f"{prefix}inet", _alb_url(twin_status(name)), seconds=20)
    try:
        deploy = cli("local", "deploy", "-c", str(bad), "--name", name, check=False)
    finally:
        result = load.result()
    assert deploy.returncode == 1, deploy.stderr
    assert "circuit breaker" in deploy.stderr and "runs revision 1" in deploy.stderr
    status = twin_status(name)
    tasks = status["tasks"]
    assert isinstance(tasks, list)
    # The old tasks kept serving all along: the same tasks, revision 1, healthy.
    assert {t["id"] for t in tasks} == before and {t["revision"] for t in tasks} == {1}
    deployments = status["services"][0]["deployments"]
    assert deployments[0]["rollout_state"] == "COMPLETED" and deployments[0]["revision"] == 1
    assert deployments[1]["rollout_state"] == "FAILED" and deployments[1]["failed_tasks"] >= 3
    assert result.requests > 50 and result.failed == 0, result.output


@container_mode
def test_scale_out_and_in_under_load_drops_no_request(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    name, prefix = twin_name
    cli(
        "local",
        "up",
        "-c",
        str(_config(tmp_path, "c.toml", "")),
        "--name",
        name,
        "--time-scale",
        SCALE,
        *CONTAINER,
    )
    load = Load(f"{prefix}inet", _alb_url(twin_status(name)), seconds=45)
    try:
        cli("local", "scale", "6", "--name", name)
        six = twin_status(name)
        cli("local", "scale", "2", "--name", name)
    finally:
        result = load.result()
    assert len(six["tasks"]) == 6 and len({t["az"] for t in six["tasks"]}) == 2
    two = twin_status(name)["tasks"]
    assert isinstance(two, list) and len(two) == 2 and len({t["az"] for t in two}) == 2
    assert result.requests > 100 and result.failed == 0, result.output


@container_mode
def test_request_count_target_tracking_scales_out_under_load_and_back_in(
    twin_name: tuple[str, str], tmp_path: Path
) -> None:
    name, prefix = twin_name
    config = _config(
        tmp_path,
        "scaling.toml",
        "[autoscaling]\nmin = 2\nmax = 4\nrequests_per_target = 600\n"
        "scale_in_cooldown = 60\nscale_out_cooldown = 10\n",
    )
    # Time scale 0.1: a 6 s metric window, cooldowns of 1 s out and 6 s in.
    cli("local", "up", "-c", str(config), "--name", name, "--time-scale", "0.1", *CONTAINER)
    load = Load(f"{prefix}inet", _alb_url(twin_status(name)), seconds=20, connections=4)
    result = load.result()
    during = twin_status(name)
    assert during["service"]["desired"] == 4, during["events"]
    assert result.failed == 0, result.output
    wait_for(
        "scale-in back to the minimum once the load stopped",
        lambda: twin_status(name)["service"]["desired"] == 2,
        40.0,
    )
    events = twin_status(name)["events"]
    assert any("autoscaling to 4" in e for e in events) and any(
        "autoscaling to 2" in e for e in events
    )
