"""Rootful podman as the twin drives it: limits, stop, exec, removal, missing images.

Everything runs the busybox test image (built here under a unique tag, from Debian's
busybox-static, and removed afterwards) inside a fresh network namespace, with the
twin's own containers.conf and its per-task cgroups. Every container, cgroup and tag
carries the test's unique prefix and is removed afterwards, also on failure.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fargate_api.errors import UserError
from fargate_api.twin.ecs.image_store import ensure_images
from fargate_api.twin.host import cgroups
from fargate_api.twin.host.cgroups import TaskCgroups
from fargate_api.twin.host.containers_conf import write_containers_conf
from fargate_api.twin.host.podman import ContainerState, Podman, podman_available
from images.build_test_images import BUSYBOX_BINARY, BUSYBOX_CONTAINERFILE
from twin.conftest import NOT_RUN_TAG, in_ci, registered_prefix

TASK_ID = "task1"


def _not_run(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{NOT_RUN_TAG} (CI=true, so this FAILS): {reason}", pytrace=False)
    pytest.skip(f"{NOT_RUN_TAG}: {reason}")


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Podman:
    if podman_available() is None:
        _not_run("`podman` is not installed: apt-get install -y podman runc catatonit")
    if not BUSYBOX_BINARY.exists():
        _not_run(f"{BUSYBOX_BINARY} is missing: apt-get install -y busybox-static")
    conf = write_containers_conf(tmp_path_factory.mktemp("podman") / "containers.conf")
    return Podman(conf)


@pytest.fixture(scope="module")
def busybox(podman: Podman, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The busybox image under a tag unique to this module, removed afterwards."""
    tag = f"localhost/{registered_prefix()}busybox:latest"
    context = tmp_path_factory.mktemp("busybox")
    (context / "bin").mkdir()
    (context / "bin" / "busybox").write_bytes(BUSYBOX_BINARY.read_bytes())
    (context / "bin" / "busybox").chmod(0o755)
    (context / "Containerfile").write_text(BUSYBOX_CONTAINERFILE)
    lines: list[str] = []
    try:
        podman.build(context, tag, network="none", on_progress=lines.append)
        assert podman.image_exists(tag), lines
        yield tag
    finally:
        podman.remove_image(tag)
    assert not podman.image_exists(tag)


@dataclass
class Task:
    prefix: str
    netns: str
    cgroups: TaskCgroups

    def name(self, container: str) -> str:
        return f"{self.prefix}{container}"

    def run_args(self, container: str, memory_mib: int | None = None) -> list[str]:
        parent = self.cgroups.container_parent(container, memory_mib)
        return [
            "--name",
            self.name(container),
            "--network",
            f"ns:/run/netns/{self.netns}",
            "--cgroup-parent",
            parent,
            "--cgroups",
            "no-conmon",  # as the twin runs them (ecs/container_spec.py)
        ]


def _cgroup_dirs(prefix: str) -> list[Path]:
    root = cgroups.CGROUP_ROOT
    return [path for path in root.glob(f"*/{prefix}") if path.exists()] + (
        [root / prefix] if (root / prefix).exists() else []
    )


@pytest.fixture
def task(podman: Podman, netns_prefix: str) -> Iterator[Task]:
    prefix = netns_prefix
    netns = f"{prefix}n"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    task_cgroups = TaskCgroups(prefix.rstrip("-"), TASK_ID)
    try:
        yield Task(prefix, netns, task_cgroups)
    finally:
        try:
            podman.remove(podman.names_with_prefix(prefix))
        finally:
            left = cgroups.remove_all(prefix.rstrip("-"))
            subprocess.run(["ip", "netns", "del", netns], check=False)
    assert podman.names_with_prefix(prefix) == []
    assert left == []
    assert _cgroup_dirs(prefix.rstrip("-")) == []


def _wait_exited(podman: Podman, name: str, timeout: float = 20.0) -> ContainerState:
    deadline = time.monotonic() + timeout
    while True:
        state = podman.state(name)
        assert state is not None, f"container {name} vanished"
        if state.exit_code is not None:
            return state
        assert time.monotonic() < deadline, f"{name} still {state.status} after {timeout} s"
        time.sleep(0.05)


def _wait_running(podman: Podman, name: str, timeout: float = 10.0) -> ContainerState:
    deadline = time.monotonic() + timeout
    while True:
        state = podman.state(name)
        if state is not None and state.running:
            return state
        assert time.monotonic() < deadline, f"{name} not running: {state}"
        time.sleep(0.05)


def _logs(podman: Podman, name: str) -> str:
    out = subprocess.run(
        podman.command("logs", name),
        env=podman.env(),
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return out.stdout + out.stderr


# Waits in short sleeps so that a trapped signal is acted on within 0.1 s.
LOOP = "while true; do sleep 0.1; done"


def test_version_and_availability(podman: Podman) -> None:
    assert podman_available()
    assert podman.version()[0].isdigit()


def test_memory_limit_kills_with_137_and_is_detected(
    podman: Podman, busybox: str, task: Task
) -> None:
    task.cgroups.create(cpu_units=256, memory_mib=64)
    cpu = cgroups.CGROUP_ROOT / "cpu" / task.cgroups.relative.lstrip("/")
    if not cgroups.is_cgroup_v2():
        assert (cpu / "cpu.cfs_quota_us").read_text().strip() == "25000"
        memory = cgroups.CGROUP_ROOT / "memory" / task.cgroups.relative.lstrip("/")
        assert int((memory / "memory.limit_in_bytes").read_text()) == 64 * 1024 * 1024
    hog = [*task.run_args("hog", memory_mib=16), busybox]
    podman.run_detached([*hog, "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"])
    calm = [*task.run_args("calm", memory_mib=16), busybox]
    podman.run_detached([*calm, "dd", "if=/dev/zero", "of=/dev/null", "bs=1M", "count=1"])
    hog_state = _wait_exited(podman, task.name("hog"))
    calm_state = _wait_exited(podman, task.name("calm"))
    assert hog_state.exit_code == 137
    assert task.cgroups.memory_limit_hit("hog")
    assert calm_state.exit_code == 0
    assert not task.cgroups.memory_limit_hit("calm")
    assert hog_state.finished_at is not None and hog_state.started_at is not None
    assert abs(hog_state.finished_at - time.time()) < 60


def test_stop_honours_a_sigterm_trap(podman: Podman, busybox: str, task: Task) -> None:
    task.cgroups.create(cpu_units=None, memory_mib=None)
    script = f'trap "echo got-term; exit 7" TERM; echo ready; {LOOP}'
    podman.run_detached([*task.run_args("app"), busybox, "sh", "-c", script])
    _wait_running(podman, task.name("app"))
    time.sleep(0.3)  # let sh install its trap
    started = time.monotonic()
    podman.stop(task.name("app"), timeout=10)
    elapsed = time.monotonic() - started
    state = podman.state(task.name("app"))
    assert state is not None
    assert state.exit_code == 7
    assert elapsed < 5
    assert "got-term" in _logs(podman, task.name("app"))


def test_stop_kills_after_the_timeout(podman: Podman, busybox: str, task: Task) -> None:
    task.cgroups.create(cpu_units=None, memory_mib=None)
    script = f'trap "echo ignoring" TERM; {LOOP}'
    podman.run_detached([*task.run_args("stubborn"), busybox, "sh", "-c", script])
    _wait_running(podman, task.name("stubborn"))
    time.sleep(0.3)
    started = time.monotonic()
    podman.stop(task.name("stubborn"), timeout=1)
    elapsed = time.monotonic() - started
    state = podman.state(task.name("stubborn"))
    assert state is not None
    assert state.exit_code == 137
    assert 0.9 <= elapsed < 10
    assert "ignoring" in _logs(podman, task.name("stubborn"))


def test_exec_exit_codes_user_and_timeout(podman: Podman, busybox: str, task: Task) -> None:
    task.cgroups.create(cpu_units=512, memory_mib=None)
    podman.run_detached([*task.run_args("app"), "--init", busybox, "sleep", "300"])
    _wait_running(podman, task.name("app"))
    name = task.name("app")

    result = podman.exec(name, ["sh", "-c", "echo hi; echo oops >&2; exit 3"], timeout=10)
    assert (result.exit_code, result.timed_out) == (3, False)
    assert "hi" in result.output and "oops" in result.output

    assert podman.exec(name, ["id", "-u"], timeout=10, user="65534").output.strip() == "65534"

    started = time.monotonic()
    slow = podman.exec(name, ["sh", "-c", "echo started; sleep 40"], timeout=1)
    assert slow.timed_out and slow.exit_code is None
    assert time.monotonic() - started < 6
    # Neither the shell nor its sleep lingers in the container.
    left = podman.exec(name, ["ps", "-o", "pid,args"], timeout=10)
    assert left.exit_code == 0
    assert "sleep 40" not in left.output, left.output

    missing = podman.exec(f"{task.prefix}nosuch", ["true"], timeout=10)
    assert missing.exit_code not in (0, None)

    argv = podman.exec_argv(name, ["sh"], interactive=True)
    assert argv[:2] == ["podman", "exec"] and argv[-2:] == [name, "sh"]
    assert podman.env()["CONTAINERS_CONF"] == str(podman.conf_path)


def test_states_and_remove_leave_nothing(podman: Podman, busybox: str, task: Task) -> None:
    task.cgroups.create(cpu_units=256, memory_mib=128)
    before = time.time()
    for container in ("a", "b"):
        podman.run_detached(
            [*task.run_args(container, memory_mib=32), "--env", "SECRET", busybox, "sleep", "300"],
            env={"SECRET": "s3cret-value"},
        )
    a, b, missing = task.name("a"), task.name("b"), task.name("missing")
    _wait_running(podman, a)
    assert podman.exec(a, ["sh", "-c", 'echo "$SECRET"'], timeout=10).output.strip() == (
        "s3cret-value"
    )
    states = podman.states([a, b, missing])
    assert set(states) == {a, b}
    assert states[a].running and states[a].pid and states[a].exit_code is None
    assert states[a].started_at is not None and states[a].started_at >= before - 5
    assert podman.state(missing) is None
    assert podman.names_with_prefix(task.prefix) == [a, b]

    podman.remove([a, b, missing])
    assert podman.names_with_prefix(task.prefix) == []
    assert podman.state(a) is None
    task.cgroups.remove()
    for hierarchy in cgroups.CGROUP_ROOT.iterdir():
        assert not (hierarchy / task.cgroups.relative.lstrip("/")).exists()
    # Nothing of the containers stays in the namespace either.
    pids = subprocess.run(
        ["ip", "netns", "pids", task.netns], capture_output=True, text=True, check=False
    ).stdout.split()
    assert pids == []
    assert os.path.exists(f"/run/netns/{task.netns}")


def test_a_missing_image_is_a_user_error_and_changes_nothing(
    podman: Podman, busybox: str, task: Task
) -> None:
    local = f"localhost/{task.prefix}missing:1"
    remote = f"{task.prefix}nowhere.invalid/app:1"
    lines: list[str] = []
    for image in (local, remote):
        with pytest.raises(UserError) as caught:
            ensure_images(
                podman, [busybox, image], ecr_auth=lambda _: None, on_progress=lines.append
            )
        assert image in caught.value.what
        assert caught.value.fix is not None and f"podman build -t {image} ." in caught.value.fix
        assert not podman.image_exists(image)
    assert podman.image_exists(busybox)
    assert podman.names_with_prefix(task.prefix) == []
