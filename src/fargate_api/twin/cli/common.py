"""What every `local` command shares: consoles, the twin's names, reading its state."""

from __future__ import annotations

from rich.console import Console

from fargate_api.errors import UserError
from fargate_api.twin.daemon.contracts import TwinState
from fargate_api.twin.daemon.state import StateDir, list_twins
from fargate_api.twin.host.processes import pid_alive
from fargate_api.twin.naming import DEFAULT_NAME, STATE_ROOT, TwinNames, check_name


def err_console() -> Console:
    return Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)


def out_console() -> Console:
    return Console(highlight=False, emoji=False, soft_wrap=True)


def names_for(name: str, env: str | None = None) -> TwinNames:
    """The twin's names; `--env NAME` without `--name` runs the twin under the
    environment's name, so that staging and production twins run side by side and every
    command's hint (`--name staging`) says which one it is."""
    if env is not None and name == DEFAULT_NAME:
        name = env
    return TwinNames(check_name(name), state_root=STATE_ROOT)


def read_status(names: TwinNames) -> TwinState:
    """The daemon's last state.json; `phase` is "dead" when the daemon is gone."""
    state = StateDir(names)
    status = state.read_state()
    if status is None:
        running = list_twins(names.state_root)
        raise UserError(
            f"no twin named {names.name!r} is running",
            fix=(
                f"running twins: {', '.join(running)}; pass --name"
                if running
                else "start one with `fargate-api local up`"
            ),
        )
    if not pid_alive(state.daemon_pid()):
        return status.model_copy(
            update={
                "phase": "dead",
                "error": status.error or "the twin's daemon is not running; `local down` cleans up",
            }
        )
    return status
