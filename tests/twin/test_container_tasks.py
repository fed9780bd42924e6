"""Container mode end to end: each task's containers run from their images with rootful
podman inside the task's namespace, and behave the way Fargate runs them.

Every twin here is started with `--runtime container` from a synthesized config whose
task definition is patched for the test (tests/twin/container_stacks.py), driven through
the CLI only (`local up/status/exec/scale/down`), and removed afterwards with nothing
left carrying its prefix (namespaces, links, nft tables, processes, state folder).
Tests that can share a twin do (one twin per fixture, module-scoped), to keep the file
at a few minutes on a small machine.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from twin.conftest import cleanup, leftovers, registered_prefix
from twin.container_stacks import (
    APP_PORT,
    BUSYBOX,
    HTTPD,
    PYTHON,
    STATE_ROOT,
    ContainerTwin,
    config_text,
    container_twin,
    parse_time,
    run_cli,
    sidecar,
    synth_stack,
    up_args,
)
from twin.twin_support import cli, wait_for

OUT_OF_MEMORY = "OutOfMemoryError: Container killed due to memory usage"
TASK_SETTLES = 90.0  # seconds for a replacement task to start and pass its checks


def _healthy_task(twin: ContainerTwin, *, not_id: str | None = None) -> dict[str, Any]:
    """Waits for the service's one task (other than `not_id`) to run healthy, and returns it."""

    def ready() -> dict[str, Any] | None:
        for task in twin.tasks():
            if (
                task["id"] != not_id
                and task["last_status"] == "RUNNING"
                and task["health"] == "healthy"
                and all(c["last_status"] == "RUNNING" for c in task["containers"])
            ):
                return task
        return None

    found: dict[str, Any] = wait_for("a healthy running task", ready, TASK_SETTLES)
    return found


def _stopped(twin: ContainerTwin, task_id: str) -> dict[str, Any] | None:
    return next((t for t in twin.status()["stopped_tasks"] if t["id"] == task_id), None)


# --------------------------------------------------------------------------------------
# One task of two busybox containers: an app running as 1234:1234 on a read-only root,
# and a sidecar on 127.0.0.1:8081 (tests 2, 3, 4, 8)
# --------------------------------------------------------------------------------------

SIDECAR_PAGE = "sidecar-says-hi"


@pytest.fixture(scope="module")
def basic_twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContainerTwin]:
    def patch(containers: list[dict[str, Any]]) -> None:
        containers.append(
            sidecar(
                "sidecar",
                [
                    "sh",
                    "-c",
                    f"mkdir -p /www && echo {SIDECAR_PAGE} > /www/index.html "
                    "&& exec httpd -f -p 127.0.0.1:8081 -h /www",
                ],
            )
        )

    config = config_text(
        BUSYBOX,
        ["sh", "-c", f"echo ok > /tmp/index.html && exec httpd -f -p {APP_PORT} -h /tmp"],
        extra_service='user = "1234:1234"\nread_only_root_filesystem = true\n',
    )
    template = synth_stack(tmp_path_factory.mktemp("basic"), config, patch)
    with container_twin(template) as twin:
        yield twin


def test_the_read_only_root_refuses_writes_and_tmp_takes_them(basic_twin: ContainerTwin) -> None:
    task = _healthy_task(basic_twin)
    denied = basic_twin.exec(task["id"], "touch", "/x")
    assert denied.returncode != 0
    assert "Read-only file system" in denied.stderr, denied.stderr
    written = basic_twin.exec(task["id"], "sh", "-c", "echo scratch > /tmp/probe && cat /tmp/probe")
    assert (written.returncode, written.stdout) == (0, "scratch\n"), written.stderr


def test_the_app_runs_as_the_task_definitions_user(basic_twin: ContainerTwin) -> None:
    task = _healthy_task(basic_twin)
    ids = basic_twin.exec(task["id"], "sh", "-c", "id -u; id -g")
    assert (ids.returncode, ids.stdout) == (0, "1234\n1234\n"), ids.stderr
    # The app's own process (not only `exec`) ran as that user: it wrote the page it serves.
    owner = basic_twin.exec(task["id"], "stat", "-c", "%u:%g", "/tmp/index.html")
    assert (owner.returncode, owner.stdout) == (0, "1234:1234\n"), owner.stderr
    # The sidecar has no User, so it runs as the image's (root).
    root = basic_twin.exec(task["id"], "id", "-u", container="sidecar")
    assert (root.returncode, root.stdout) == (0, "0\n"), root.stderr


def test_two_containers_of_a_task_talk_over_localhost(basic_twin: ContainerTwin) -> None:
    task = _healthy_task(basic_twin)
    names = [c["name"] for c in task["containers"]]
    assert names == ["web", "sidecar"]
    page = basic_twin.exec(task["id"], "wget", "-qO-", "http://127.0.0.1:8081/")
    assert (page.returncode, page.stdout) == (0, f"{SIDECAR_PAGE}\n"), page.stderr
    # The sidecar listens on loopback only: the task's own address does not reach it.
    outside = basic_twin.exec(task["id"], "wget", "-qO-", f"http://{task['private_ip']}:8081/")
    assert outside.returncode != 0 and SIDECAR_PAGE not in outside.stdout


def test_the_metadata_endpoint_describes_the_task_and_the_container(
    basic_twin: ContainerTwin,
) -> None:
    task = _healthy_task(basic_twin)
    answer = basic_twin.exec(
        task["id"], "sh", "-c", 'wget -qO- "$ECS_CONTAINER_METADATA_URI_V4/task"'
    )
    assert answer.returncode == 0, answer.stderr
    document = json.loads(answer.stdout)
    assert document["AvailabilityZone"] == task["az"]
    assert document["TaskARN"].endswith("/" + task["id"])
    assert [c["Name"] for c in document["Containers"]] == ["web", "sidecar"]
    for container in document["Containers"]:
        assert container["Networks"][0]["IPv4Addresses"] == [task["private_ip"]]
    by_name = {c["name"]: c["runtime_id"] for c in task["containers"]}
    for name in ("web", "sidecar"):
        own = basic_twin.exec(
            task["id"],
            "sh",
            "-c",
            'wget -qO- "$ECS_CONTAINER_METADATA_URI_V4"',
            container=name,
        )
        assert own.returncode == 0, own.stderr
        mine = json.loads(own.stdout)
        assert mine["Name"] == name
        assert mine["DockerName"] == by_name[name]
        assert mine["Networks"][0]["IPv4Addresses"] == [task["private_ip"]]


# --------------------------------------------------------------------------------------
# Tasks that fail and are replaced (tests 1, 6): the app serves, then on a trigger file
# either runs past its memory limit (/tmp/go) or fails its container health check
# (/tmp/sick). Each task gets a fresh /tmp volume, so a replacement starts clean.
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def replacing_twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContainerTwin]:
    def patch(containers: list[dict[str, Any]]) -> None:
        web = containers[0]
        web["Memory"] = 32
        web["HealthCheck"] = {
            "Command": ["CMD-SHELL", "test ! -e /tmp/sick"],
            "Interval": 5,
            "Timeout": 2,
            "Retries": 2,
            "StartPeriod": 0,
        }

    command = (
        f"{HTTPD} && while [ ! -e /tmp/go ]; do sleep 0.2; done "
        "&& dd if=/dev/zero of=/dev/null bs=64M count=1"
    )
    config = config_text(BUSYBOX, ["sh", "-c", command])
    template = synth_stack(tmp_path_factory.mktemp("replacing"), config, patch)
    with container_twin(template) as twin:
        yield twin


def test_memory_over_the_limit_stops_the_task_with_oom_and_replaces_it(
    replacing_twin: ContainerTwin,
) -> None:
    task = _healthy_task(replacing_twin)
    assert task["container_health"] == "HEALTHY"
    trigger = replacing_twin.exec(task["id"], "touch", "/tmp/go")
    assert trigger.returncode == 0, trigger.stderr
    stopped = wait_for(
        "the task to stop", lambda: _stopped(replacing_twin, task["id"]), TASK_SETTLES
    )
    assert stopped["exit_codes"] == {"web": 137}
    assert stopped["container_reasons"] == {"web": OUT_OF_MEMORY}
    assert stopped["reason"] == f"Essential container in task exited (code 137): {OUT_OF_MEMORY}"
    replacement = _healthy_task(replacing_twin, not_id=task["id"])
    assert replacement["id"] != task["id"]
    assert [t["id"] for t in replacing_twin.tasks()] == [replacement["id"]]


def test_a_failing_container_health_check_replaces_the_task(
    replacing_twin: ContainerTwin,
) -> None:
    task = _healthy_task(replacing_twin)
    assert task["container_health"] == "HEALTHY"
    sick = replacing_twin.exec(task["id"], "touch", "/tmp/sick")
    assert sick.returncode == 0, sick.stderr
    seen: list[str] = []

    def unhealthy_or_gone() -> bool:
        status = replacing_twin.status()
        mine = [t for t in status["tasks_detail"] if t["id"] == task["id"]]
        if mine:
            seen.append(mine[0]["container_health"])
            seen.append(mine[0]["containers"][0]["health"])
        return "UNHEALTHY" in seen or any(s["id"] == task["id"] for s in status["stopped_tasks"])

    wait_for("the task to turn UNHEALTHY", unhealthy_or_gone, TASK_SETTLES, interval=0.2)
    assert "UNHEALTHY" in seen, seen
    stopped = wait_for(
        "the task to stop", lambda: _stopped(replacing_twin, task["id"]), TASK_SETTLES
    )
    assert stopped["reason"] == "Task failed container health checks"
    replacement = _healthy_task(replacing_twin, not_id=task["id"])
    assert replacement["container_health"] == "HEALTHY"
    assert [t["id"] for t in replacing_twin.tasks()] == [replacement["id"]]


# --------------------------------------------------------------------------------------
# dependsOn HEALTHY (test 5)
# --------------------------------------------------------------------------------------

DB_WARMUP = 2  # seconds before db writes the marker its health check looks for
# The ordering test gives the load balancer's checks a grace period (12 s at 0.1) well past
# the warm-up, so that it tests the order only; the next test is about the grace period.
LONG_GRACE = "health_check_grace_period = 120\n"
WEB_COMMAND = f"echo web starting; echo ok > /tmp/index.html && exec httpd -f -p {APP_PORT} -h /tmp"


def _depends_on_db(folder: Path, warmup: float, extra_service: str) -> Path:
    """web depends on db HEALTHY; db turns healthy `warmup` seconds after it starts."""

    def patch(containers: list[dict[str, Any]]) -> None:
        web = containers[0]
        web["DependsOn"] = [{"ContainerName": "db", "Condition": "HEALTHY"}]
        containers.append(
            sidecar(
                "db",
                [
                    "sh",
                    "-c",
                    f"echo db starting; sleep {warmup}; touch /ready; echo marker written; "
                    "exec sleep 100000",
                ],
                HealthCheck={
                    "Command": ["CMD-SHELL", "test -e /ready"],
                    "Interval": 5,
                    "Timeout": 2,
                    "Retries": 10,
                    "StartPeriod": 300,
                },
            )
        )

    config = config_text(BUSYBOX, ["sh", "-c", WEB_COMMAND], extra_service=extra_service)
    return synth_stack(folder, config, patch)


def test_a_container_waits_for_its_dependency_to_be_healthy(tmp_path: Path) -> None:
    template = _depends_on_db(tmp_path, DB_WARMUP, LONG_GRACE)
    with container_twin(template) as twin:
        task = _healthy_task(twin)
        health = {c["name"]: c["health"] for c in task["containers"]}
        assert health == {"web": "UNKNOWN", "db": "HEALTHY"}
        db_lines = twin.log_lines("db", task["id"])
        web_lines = twin.log_lines("web", task["id"])
        assert [text for _, text in db_lines] == ["db starting", "marker written"]
        assert [text for _, text in web_lines] == ["web starting"]
        db_started, marker_written = db_lines[0][0], db_lines[1][0]
        web_first_line = web_lines[0][0]
        inspected = json.loads(
            twin.podman("inspect", "--type", "container", "--format", "json", *_ids(task)).stdout
        )
        started = {c["Name"]: parse_time(c["State"]["StartedAt"]) for c in inspected}
        web_started = started[_ids(task)[0]]
        assert marker_written - db_started >= timedelta(seconds=DB_WARMUP * 0.9)
        # web was not even created before db was healthy, i.e. after the marker.
        assert web_started > marker_written, (web_started, marker_written)
        assert web_first_line > marker_written, (web_first_line, marker_written)
        assert web_first_line - marker_written < timedelta(seconds=20)


def _ids(task: dict[str, Any]) -> list[str]:
    return [c["runtime_id"] for c in task["containers"]]


def test_the_load_balancer_waits_until_the_dependent_container_started(tmp_path: Path) -> None:
    # db takes 4 s, longer than the service's default grace period (30 s -> 3 s).
    template = _depends_on_db(tmp_path, 4, "")
    with container_twin(template, "--timeout", "20") as twin:
        task = _healthy_task(twin)
        assert {c["name"]: c["last_status"] for c in task["containers"]} == {
            "web": "RUNNING",
            "db": "RUNNING",
        }
        assert twin.status()["stopped_tasks"] == []


# --------------------------------------------------------------------------------------
# SIGTERM, then SIGKILL after the (scaled) stopTimeout (test 7)
# --------------------------------------------------------------------------------------

STUBBORN_STOP_TIMEOUT = 20  # 2 s at --time-scale 0.1
WEB_STOP_TIMEOUT = 100  # 10 s: web exits on TERM long before it


def test_sigterm_then_sigkill_after_the_stop_timeout(tmp_path: Path) -> None:
    def patch(containers: list[dict[str, Any]]) -> None:
        containers[0]["StopTimeout"] = WEB_STOP_TIMEOUT
        containers.append(
            sidecar(
                "stubborn",
                [
                    "sh",
                    "-c",
                    "trap 'echo got TERM' TERM; while true; do echo tick; sleep 0.2; done",
                ],
                StopTimeout=STUBBORN_STOP_TIMEOUT,
            )
        )

    command = f"{HTTPD} && while true; do echo tick; sleep 0.2; done"
    config = config_text(
        BUSYBOX,
        ["sh", "-c", command],
        extra_service="deregistration_delay = 1\n",  # 0.1 s: scale-in drains at once
        extra="[load_balancer]\nidle_timeout = 1\n",
    )
    template = synth_stack(tmp_path, config, patch)
    with container_twin(template) as twin:
        task = _healthy_task(twin)
        asked = datetime.now(UTC)
        cli("local", "scale", "--name", twin.name, "0", timeout=120)
        stopped = wait_for("the task to stop", lambda: _stopped(twin, task["id"]), 60)
        assert stopped["exit_codes"]["stubborn"] == 137
        assert stopped["exit_codes"]["web"] in (0, 143), stopped
        assert set(stopped["exit_codes"]) == {"web", "stubborn"}
        web = twin.log_lines("web", task["id"])
        stubborn = twin.log_lines("stubborn", task["id"])
        # web printed every 0.2 s until TERM ended it: promptly, nowhere near its 10 s.
        web_end = web[-1][0]
        assert web_end - asked < timedelta(seconds=4), (asked, web_end)
        terms = [when for when, text in stubborn if text == "got TERM"]
        assert len(terms) == 1, stubborn[-5:]
        stubborn_end = stubborn[-1][0]
        timeout = STUBBORN_STOP_TIMEOUT * 0.1
        # it kept printing after TERM until SIGKILL, about the stop timeout later.
        assert timedelta(seconds=timeout - 0.5) <= stubborn_end - terms[0], (terms, stubborn_end)
        assert stubborn_end - terms[0] <= timedelta(seconds=timeout + 1.5), (terms, stubborn_end)


# --------------------------------------------------------------------------------------
# Credentials and secrets in the python image (tests 9, 10)
# --------------------------------------------------------------------------------------

SECRET_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/app/token"


def _python_config() -> str:
    return config_text(
        PYTHON,
        ["python3", "-m", "http.server", str(APP_PORT), "--directory", "/tmp"],
        extra_service=f'secrets = {{ API_TOKEN = "{SECRET_ARN}" }}\n',
    )


@pytest.fixture(scope="module")
def python_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_stack(tmp_path_factory.mktemp("python"), _python_config())


@pytest.fixture(scope="module")
def secret_value() -> str:
    return "tok-" + secrets.token_hex(12)


FAKE_KEY = "AKIAFAKE" + secrets.token_hex(6).upper()
FAKE_SECRET_KEY = "fake/" + secrets.token_hex(16)


def _fake_aws_environment(**extra: str) -> dict[str, str | None]:
    """Only the fake keys: no profile, session token or config file of this machine."""
    return {
        "AWS_ACCESS_KEY_ID": FAKE_KEY,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
        "AWS_DEFAULT_PROFILE": None,
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        **extra,
    }


@pytest.fixture(scope="module")
def python_twin(python_template: Path, secret_value: str) -> Iterator[ContainerTwin]:
    env = _fake_aws_environment()
    with container_twin(python_template, "--secret", f"API_TOKEN={secret_value}", env=env) as twin:
        yield twin


def test_boto3_in_the_container_gets_credentials_from_the_endpoint(
    python_twin: ContainerTwin,
) -> None:
    task = _healthy_task(python_twin)
    probe = "import boto3; c = boto3.Session().get_credentials(); print(c.access_key, c.method)"
    answer = python_twin.exec(task["id"], "python3", "-c", probe)
    assert (answer.returncode, answer.stdout) == (0, f"{FAKE_KEY} container-role\n"), answer.stderr


def test_secrets_reach_the_container_and_are_shown_nowhere(
    python_twin: ContainerTwin, secret_value: str
) -> None:
    task = _healthy_task(python_twin)
    inside = python_twin.exec(task["id"], "printenv", "API_TOKEN")
    assert (inside.returncode, inside.stdout) == (0, f"{secret_value}\n"), inside.stderr
    needle = secret_value.encode()
    files = [p for p in python_twin.state_dir.rglob("*") if p.is_file()]
    assert any(p.name == "state.json" for p in files)
    assert any(p.name == "launch.json" for p in files)
    holding = [str(p) for p in files if needle in p.read_bytes()]
    assert holding == []
    status = cli("local", "status", "--name", python_twin.name, "--json").stdout
    assert task["id"] in status and secret_value not in status
    logs = cli("local", "logs", "--name", python_twin.name).stdout
    assert secret_value not in logs
    assert secret_value not in python_twin.up.stdout + python_twin.up.stderr
    ps = subprocess.run(
        ["ps", "-eo", "args"], capture_output=True, text=True, timeout=30, check=True
    )
    assert str(python_twin.state_dir) in ps.stdout  # the twin's daemon is among them
    assert secret_value not in ps.stdout


def test_a_secret_without_a_value_stops_up_and_leaves_nothing(python_template: Path) -> None:
    prefix = registered_prefix()
    name = prefix.removeprefix("fa-").rstrip("-")
    try:
        up = run_cli(up_args(python_template, name))
        message = " ".join(up.stderr.split())
        assert up.returncode == 2, up.stdout + up.stderr
        assert f"secret API_TOKEN ({SECRET_ARN}) has no local value" in message
        assert "fix: give it with --secret API_TOKEN=VALUE" in message
        # Checked before any clean-up of ours: `local up` itself left nothing.
        assert leftovers(prefix) == []
        assert not (STATE_ROOT / f"{prefix}twin").exists()
    finally:
        assert cleanup(prefix) == []


def test_an_image_that_is_not_there_stops_up_and_leaves_nothing(tmp_path: Path) -> None:
    image = "localhost/fa-test-does-not-exist:1"
    template = synth_stack(tmp_path, config_text(image, ["sh", "-c", "true"]))
    prefix = registered_prefix()
    name = prefix.removeprefix("fa-").rstrip("-")
    try:
        up = run_cli(up_args(template, name))
        message = " ".join(up.stderr.split())
        assert up.returncode == 2, up.stdout + up.stderr
        assert f"image {image} is not in podman's store" in message
        assert f"fix: build it (`podman build -t {image} .`" in message
        # Checked before any clean-up of ours: `local up` itself left nothing.
        assert leftovers(prefix) == []
        assert not (STATE_ROOT / f"{prefix}twin").exists()
    finally:
        assert cleanup(prefix) == []


# --------------------------------------------------------------------------------------
# --assume-task-role and --secrets-from-aws, against a moto server on this host's loopback
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer  # noqa: PLC0415 (only this fixture)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_assume_task_role_and_secrets_from_aws_through_boto3(
    python_template: Path, moto_url: str
) -> None:
    """The endpoint server runs outside the twin's namespaces, so STS on this machine's
    network is reachable; the daemon reads the secret from SSM with the user's keys."""
    import boto3  # noqa: PLC0415

    value = "from-ssm-" + secrets.token_hex(8)
    env = _fake_aws_environment(AWS_ENDPOINT_URL=moto_url, AWS_DEFAULT_REGION="us-east-1")
    ssm = boto3.client(
        "ssm",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id=FAKE_KEY,
        aws_secret_access_key=FAKE_SECRET_KEY,
    )
    ssm.put_parameter(Name="/app/token", Value=value, Type="SecureString", Overwrite=True)
    with container_twin(
        python_template, "--assume-task-role", "--secrets-from-aws", env=env
    ) as twin:
        task = _healthy_task(twin)
        inside = twin.exec(task["id"], "printenv", "API_TOKEN")
        assert (inside.returncode, inside.stdout) == (0, f"{value}\n"), inside.stderr
        probe = (
            "import boto3; c = boto3.Session().get_credentials().get_frozen_credentials(); "
            "print(c.access_key[:4], bool(c.token), c.access_key == '" + FAKE_KEY + "')"
        )
        answer = twin.exec(task["id"], "python3", "-c", probe)
        # moto's AssumeRole keys start with ASIA and carry a session token: not ours.
        assert (answer.returncode, answer.stdout) == (0, "ASIA True False\n"), answer.stderr
        assert value not in twin.up.stdout + twin.up.stderr
