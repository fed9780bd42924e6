"""`local fault` asks the daemon only while it takes requests: a twin whose daemon is
gone (`read_status` says "dead"), or that is going down, is exit 2 before anything is
sent."""

from __future__ import annotations

import pytest

from fargate_api.errors import UserError
from fargate_api.twin.cli import fault_command
from fargate_api.twin.daemon.contracts import Phase, TwinState
from fargate_api.twin.naming import TwinNames

NAMES = TwinNames("unit")


@pytest.mark.parametrize(
    ("phase", "error", "said"),
    [
        ("dead", "the twin's daemon is not running; `local down` cleans up", "daemon is not"),
        ("stopping", None, "it is stopping"),
        ("failed", "haproxy would not start", "haproxy would not start"),
        ("building", None, "wait for `local up` to finish"),
    ],
)
def test_a_twin_that_takes_no_request_is_bad_input(
    monkeypatch: pytest.MonkeyPatch, phase: Phase, error: str | None, said: str
) -> None:
    status = TwinState(name="unit", phase=phase, error=error)
    monkeypatch.setattr(fault_command, "read_status", lambda names: status)
    with pytest.raises(UserError) as caught:
        fault_command._live_status(NAMES)
    assert caught.value.exit_code == 2
    assert "twin 'unit' is not running" in caught.value.render()
    assert said in caught.value.render()


@pytest.mark.parametrize("phase", ["starting-tasks", "running"])
def test_a_live_twin_is_asked(monkeypatch: pytest.MonkeyPatch, phase: Phase) -> None:
    status = TwinState(name="unit", phase=phase)
    monkeypatch.setattr(fault_command, "read_status", lambda names: status)
    assert fault_command._live_status(NAMES) is status
