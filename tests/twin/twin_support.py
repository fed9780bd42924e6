"""Driving `fargate-api local ...` from the outside, as a user would, for the twin tests.

Every command runs as a subprocess of the real CLI; the internet host and the tasks are
reached with `ip netns exec` into namespaces the twin created (RFC 5737 addresses only).
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from twin.conftest import cleanup, registered_prefix

REPO = Path(__file__).resolve().parents[2]
REFERENCE_DIR = REPO.parent / "shared" / "reference" / "public-facing-api-ecs-fargate"
CDK_TEMPLATE = REPO / "tests/fixtures/check/cdk-synth/FargateApiCdkStack.template.json"
FLAKY_SERVER = Path(__file__).resolve().parent / "apps" / "flaky_server.py"
# The test images (tests/images/build_test_images.py, `make test-images`).
BUSYBOX_IMAGE = "localhost/fa-test-busybox:latest"
NGINX_IMAGE = "public.ecr.aws/docker/library/nginx:latest"  # = localhost/fa-test-nginx
EXAMPLE_API_IMAGE = "localhost/fa-test-example-api:latest"
# The page the nginx image serves on `/` (the health check path of every source here):
# without it nginx answers 403, which fails the target group's health check.
NGINX_INDEX = "/var/www/html/index.nginx-debian.html"
PROBE_PARAM = "fa-probe"


def cli(*args: str, timeout: float = 300.0, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "fargate_api", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO,  # configs may name commands relative to the repository (examples/api)
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"`fargate-api {' '.join(args)}` exited {proc.returncode}\n"
            f"stdout: {proc.stdout}\nstderr: {proc.stderr}",
            pytrace=False,
        )
    return proc


def flaky_run(fail_dir: Path) -> str:
    """`local up --run` for process mode: the nginx tasks run the flaky server, which
    says which task answered and fails on demand (a file in ``fail_dir``)."""
    command = (
        f"FLAKY_FAIL_DIR={shlex.quote(str(fail_dir))} {shlex.quote(sys.executable)} "
        f"{shlex.quote(str(FLAKY_SERVER))} {{port}}"
    )
    return f"*nginx*={command}"


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes, in seconds (gone ones count nothing)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def twin_status(name: str) -> dict[str, Any]:
    """`local status --json`, parsed."""
    data: dict[str, Any] = json.loads(cli("local", "status", "--name", name, "--json").stdout)
    return data


def in_netns(netns: str, *args: str, timeout: float = 15.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", netns, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_for(what: str, condition: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(
        f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})", pytrace=False
    )


@dataclass
class RunningTwin:
    name: str
    prefix: str
    label: str
    up_output: str
    fail_dir: Path
    time_scale: float
    runtime: str = "process"  # "container": the images themselves, with podman

    @property
    def internet(self) -> str:
        return f"{self.prefix}inet"

    def task_netns(self, task_id: str) -> str:
        return f"{self.prefix}t-{task_id}"

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(
            cli("local", "status", "--name", self.name, "--json").stdout
        )
        return data

    def healthy_tasks(self) -> list[dict[str, Any]]:
        return [t for t in self.status()["tasks"] if t["health"] == "healthy"]

    def get_from_internet(self, url: str, *, timeout: float = 3.0) -> tuple[int, str]:
        """(curl exit code, body + status line) of a GET from the internet host."""
        proc = in_netns(
            self.internet,
            "curl",
            "-s",
            "--noproxy",
            "*",
            "-m",
            str(timeout),
            "--connect-timeout",
            str(timeout),
            "-w",
            "\\n%{http_code}",
            url,
            timeout=timeout + 10,
        )
        return proc.returncode, proc.stdout

    def in_task(self, task_id: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Runs a command in the task: in its (essential) container with `local exec` in
        container mode, in its namespace in process mode."""
        if self.runtime == "container":
            return cli("local", "exec", "--name", self.name, task_id, "--", *args, check=False)
        return in_netns(self.task_netns(task_id), *args)

    def task_ids_answering(self, url: str, requests: int) -> list[str]:
        """Which task answered each of `requests` GETs of url from the internet (or
        FAILED(...)). The flaky server says so in its JSON; nginx says nothing, so in
        container mode each request carries a unique query that the answering task's
        nginx writes to its access log, i.e. its own awslogs stream."""
        if self.runtime == "container":
            return self._task_ids_from_access_logs(url, requests)
        answered = []
        for _ in range(requests):
            code, out = self.get_from_internet(url)
            if code == 0 and out.rstrip().endswith("200"):
                body = out.rsplit("\n", 1)[0]
                answered.append(json.loads(body)["task"])
            else:
                answered.append(f"FAILED({code}:{out[-40:]!r})")
        return answered

    def probe_url(self, url: str) -> tuple[str, str]:
        """url with a unique probe query, and the probe's token."""
        token = secrets.token_hex(6)
        joiner = "&" if "?" in url else "?"
        return f"{url}{joiner}{PROBE_PARAM}={token}", token

    def tasks_that_logged(self, tokens: list[str], timeout: float = 10.0) -> dict[str, str]:
        """token -> id of the task whose container logged a request carrying it."""
        found: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while True:
            for line in cli("local", "logs", "--name", self.name).stdout.splitlines():
                stream, _, text = line.partition(" ")
                for token in tokens:
                    if f"{PROBE_PARAM}={token}" in text:
                        found[token] = stream.rsplit("/", 1)[-1]
            if len(found) == len(tokens) or time.monotonic() > deadline:
                return found
            time.sleep(0.3)

    def _task_ids_from_access_logs(self, url: str, requests: int) -> list[str]:
        results: list[tuple[str, int, str]] = []
        for _ in range(requests):
            probe, token = self.probe_url(url)
            code, out = self.get_from_internet(probe)
            results.append((token, code, out))
        ok = [token for token, code, out in results if code == 0 and out.rstrip().endswith("200")]
        logged = self.tasks_that_logged(ok)
        answered = []
        for token, code, out in results:
            if token in ok:
                answered.append(logged.get(token, f"NOT-LOGGED({token})"))
            else:
                answered.append(f"FAILED({code}:{out[-40:]!r})")
        return answered


@contextmanager
def default_config_twin(
    tmp_path_factory: pytest.TempPathFactory, time_scale: float
) -> Iterator[RunningTwin]:
    """The default config's twin (two AZs, a NAT gateway per AZ) in process mode, its
    tasks the flaky server: for a module-scoped fixture that breaks it in many ways.
    Brought down afterwards, pass or fail, and nothing with its prefix may be left."""
    prefix = registered_prefix()
    name = prefix.removeprefix("fa-").rstrip("-")
    work = tmp_path_factory.mktemp(f"{prefix}work")
    fail_dir = work / f"{prefix}fail"
    fail_dir.mkdir()
    config = work / "fargate-api.toml"
    config.write_text("# every value at its default\n")
    try:
        up = cli(
            "local", "up", "-c", str(config), "--name", name, "--runtime", "process",
            "--run", flaky_run(fail_dir), "--time-scale", str(time_scale),
        )  # fmt: skip
        yield RunningTwin(
            name, prefix, "default-config", up.stdout + up.stderr, fail_dir, time_scale
        )
    finally:
        cli("local", "down", "--name", name, check=False)
        left = cleanup(prefix)
        assert not left, f"local down left: {left}"
