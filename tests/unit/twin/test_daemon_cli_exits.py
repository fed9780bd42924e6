"""How the `local` commands end when the daemon or the twin lets them down, without root:
the same exit code for the same kind of failure (1: the operation ran and failed), and
`down` reporting each thing it removed once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fargate_api.errors import FAILED_EXIT_CODE, OperationError
from fargate_api.twin.cli import change_commands, lifecycle
from fargate_api.twin.daemon import change_requests
from fargate_api.twin.daemon.contracts import (
    DeploymentState,
    ScaleRequest,
    ServiceState,
    TwinState,
)
from fargate_api.twin.daemon.state import PID_FILE, StateDir
from fargate_api.twin.naming import TwinNames


@pytest.fixture
def names(tmp_path: Path) -> TwinNames:
    names = TwinNames("unit", state_root=tmp_path)
    names.state_dir.mkdir(parents=True)
    return names


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process standing in for the daemon (ignores SIGTERM, like a stuck one)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


def _rolling(names: TwinNames, pid: int) -> None:
    """A twin whose deployment never ends, owned by a live daemon `pid`."""
    state = StateDir(names)
    state.file(PID_FILE).write_text(f"{pid}\n")
    deployment = DeploymentState(
        id="d1",
        status="PRIMARY",
        revision=2,
        rollout_state="IN_PROGRESS",
        reason="",
        failed_tasks=0,
        running=0,
        healthy=0,
    )
    service = ServiceState(
        key="web",
        name="web",
        desired=1,
        running=0,
        revision=2,
        load_balanced=True,
        autoscaling=None,
        deployments=[deployment],
    )
    state.write_state(TwinState(name=names.name, phase="running", services=[service]))


def test_a_deploy_that_does_not_settle_in_time_exits_1_like_up(
    names: TwinNames, sleeper: subprocess.Popen[bytes]
) -> None:
    _rolling(names, sleeper.pid)
    with pytest.raises(OperationError, match="did not settle within") as caught:
        change_commands._wait_settled(names, timeout=0.0)
    assert caught.value.exit_code == FAILED_EXIT_CODE  # was a UserError: exit 2


def test_a_daemon_that_dies_during_a_deploy_exits_1(names: TwinNames) -> None:
    _rolling(names, pid=2**22 + 1)  # no such process
    with pytest.raises(OperationError, match="daemon died"):
        change_commands._wait_settled(names, timeout=60.0)


def test_a_request_to_a_dead_daemon_exits_1(names: TwinNames) -> None:
    StateDir(names).file(PID_FILE).write_text(f"{2**22 + 1}\n")
    with pytest.raises(OperationError, match="daemon is not running"):
        change_requests.send(StateDir(names), ScaleRequest(kind="scale", id="r", desired=1))


def test_up_waiting_for_a_failed_twin_exits_1(names: TwinNames) -> None:
    state = StateDir(names)
    state.write_state(TwinState(name=names.name, phase="failed", error="haproxy exited"))
    seen: list[TwinState] = []
    with pytest.raises(OperationError, match="haproxy exited"):
        lifecycle.wait_ready(names, pid=2**22 + 1, timeout=5.0, on_progress=seen.append)
    assert [s.phase for s in seen] == ["failed"]


def test_down_lists_a_daemon_it_had_to_kill_once(
    names: TwinNames, sleeper: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    state = StateDir(names)
    state.file(PID_FILE).write_text(f"{sleeper.pid}\n")
    state.write_state(TwinState(name=names.name, phase="running", stop_timeout=0.0))
    monkeypatch.setattr(lifecycle, "DAEMON_STOP_GRACE", 0.3)
    monkeypatch.setattr(lifecycle, "teardown", lambda _names: [])  # no namespaces here
    removed = lifecycle.down(names)
    assert sleeper.poll() is not None
    daemon = [item for item in removed if item.startswith("daemon ")]
    assert daemon == [f"daemon {sleeper.pid} (killed)"]  # was listed twice
    assert removed == [*daemon, f"state {state.path}"]
    assert not state.exists()
