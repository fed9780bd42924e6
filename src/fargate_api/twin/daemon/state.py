"""The twin's state folder: how `local up/status/logs/exec/down` find a running twin.

The daemon that owns a twin writes `state.json` atomically after every change; the CLI
commands only read it. `launch.json` is what `local up` asked for, so the daemon never
needs the command line. Everything lives under one folder named with the twin's prefix,
which `down` removes last.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from fargate_api.errors import OperationError
from fargate_api.twin.daemon.contracts import Contract, LaunchSpec, TwinState, describe_errors
from fargate_api.twin.naming import TwinNames

STATE_FILE = "state.json"
LAUNCH_FILE = "launch.json"
DAEMON_LOG = "twin.log"
PID_FILE = "daemon.pid"
LOGS_DIR = "logs"

Document = TypeVar("Document", bound=Contract)


class StateDir:
    def __init__(self, names: TwinNames) -> None:
        self.names = names
        self.path = names.state_dir

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def logs(self) -> Path:
        return self.path / LOGS_DIR

    def exists(self) -> bool:
        return self.path.is_dir()

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        """Write-then-rename, so a reader never sees half a file."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=f".{name}.")
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2, sort_keys=False)
            out.write("\n")
        os.replace(tmp, self.path / name)

    def read_json(self, name: str) -> dict[str, Any] | None:
        try:
            data = json.loads((self.path / name).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_state(self, state: TwinState) -> None:
        self.write_json(STATE_FILE, state.model_dump(mode="json"))

    def read_state(self) -> TwinState | None:
        return self.read_document(STATE_FILE, TwinState)

    def read_document(self, name: str, model: type[Document]) -> Document | None:
        """A document another process wrote, None when there is none; one this version
        cannot read is an OperationError here rather than a KeyError later."""
        data = self.read_json(name)
        if data is None:
            return None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise OperationError(
                f"{name} is not what this version of fargate-api writes: {describe_errors(exc)}",
                where=str(self.path / name),
                fix="`local down`, then `local up` with this version",
            ) from None

    def write_launch(self, spec: LaunchSpec) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.file(LAUNCH_FILE).write_text(spec.to_json())

    def read_launch(self) -> LaunchSpec:
        return LaunchSpec.from_json(self.file(LAUNCH_FILE).read_text())

    def daemon_pid(self) -> int | None:
        try:
            return int((self.path / PID_FILE).read_text().strip())
        except (OSError, ValueError):
            return None


def list_twins(state_root: Path) -> list[str]:
    """Names of twins with a state folder (running, or left by a crash)."""
    if not state_root.is_dir():
        return []
    names = []
    for entry in sorted(state_root.iterdir()):
        if entry.is_dir() and entry.name.startswith("fa-") and entry.name.endswith("-twin"):
            names.append(entry.name.removeprefix("fa-").removesuffix("-twin"))
    return names
