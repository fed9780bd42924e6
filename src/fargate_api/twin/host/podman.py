"""The one place that runs the `podman` command line: every container the twin touches.

Like twin/host/kernel.py for `ip` and `nft`, this drives the CLI rather than an API, so a
failure quotes the exact command a user can paste into a shell (with
`CONTAINERS_CONF=...` in front). Nothing here uses a shell. Every podman process gets
`CONTAINERS_CONF` pointing at the twin's own file (twin/host/containers_conf.py), so the
host's podman configuration is neither read nor changed.

Secrets never reach a command line: `run_detached` takes an `env` mapping that is merged
into podman's own environment, so `--env NAME` (no value) makes podman copy it from
there; registry passwords go through an auth file readable by root only, never `--creds`.
Neither is logged nor carried by a PodmanError.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fargate_api.process_stream import stream_process
from fargate_api.twin.host.processes import pids_with_environment

COMMAND_TIMEOUT = 30.0
PULL_TIMEOUT = 1800.0
BUILD_TIMEOUT = 3600.0
# Extra time given to `podman stop` beyond the container's own stop timeout.
STOP_GRACE = 30.0
# The variable `exec` sets in every process it starts, to find (and kill) them on timeout.
EXEC_MARKER = "FARGATE_API_EXEC_ID"
ERROR_TAIL_LINES = 20
_ZERO_TIME_PREFIX = "0001-01-01"


class PodmanError(Exception):
    """A podman command failed; carries the command line and its stderr (never secrets)."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        self.args_list = list(args)
        self.returncode = returncode
        self.stderr = stderr.strip()
        super().__init__(f"`{' '.join(args)}` failed ({returncode}): {self.stderr}")


@dataclass(frozen=True)
class RegistryAuth:
    """A registry user name and password (for ECR: "AWS" and a 12-hour token)."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ContainerState:
    """What `podman inspect` says about one container. Times are Unix seconds."""

    name: str
    id: str
    status: str  # created, running, paused, stopping, exited, ...
    running: bool
    exit_code: int | None  # None until the container has finished
    pid: int | None  # None when not running
    started_at: float | None
    finished_at: float | None
    error: str  # what the runtime said when it could not start the container, or ""


@dataclass(frozen=True)
class ExecResult:
    """What a command run in a container did; exit_code is None when it timed out."""

    exit_code: int | None
    output: str
    timed_out: bool = False


def podman_available() -> str | None:
    """The path of the podman executable, or None when it is not on PATH."""
    return shutil.which("podman")


def _parse_time(value: Any) -> float | None:
    """Go's RFC 3339 with nanoseconds (`2026-12-05T15:09:19.840612892Z`) -> Unix seconds."""
    if not isinstance(value, str) or not value or value.startswith(_ZERO_TIME_PREFIX):
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    head, sep, rest = text.partition(".")
    if sep:
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _state_from_inspect(item: Mapping[str, Any]) -> ContainerState:
    state = item.get("State") or {}
    status = str(state.get("Status", ""))
    running = bool(state.get("Running", False))
    finished = _parse_time(state.get("FinishedAt"))
    exited = status in {"exited", "stopped"} or (finished is not None and not running)
    pid = int(state.get("Pid") or 0)
    return ContainerState(
        name=str(item.get("Name", "")).lstrip("/"),
        id=str(item.get("Id", "")),
        status=status,
        running=running,
        exit_code=int(state.get("ExitCode", 0)) if exited else None,
        pid=pid if running and pid > 0 else None,
        started_at=_parse_time(state.get("StartedAt")),
        finished_at=finished,
        error=str(state.get("Error") or ""),
    )


def _registry_of(image: str) -> str:
    """The registry host an image reference names (Docker Hub when none)."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


class Podman:
    """Runs podman with the twin's containers.conf. Stateless apart from that path."""

    def __init__(self, conf_path: Path, *, executable: str = "podman") -> None:
        self.conf_path = conf_path
        self.executable = executable

    # ---- plumbing ---------------------------------------------------------------------

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment every podman process gets: ours plus CONTAINERS_CONF."""
        merged = dict(os.environ)
        if extra:
            merged.update(extra)
        merged["CONTAINERS_CONF"] = str(self.conf_path)
        return merged

    def command(self, *args: str) -> list[str]:
        return [self.executable, *args]

    def _run(
        self,
        args: Sequence[str],
        *,
        timeout: float = COMMAND_TIMEOUT,
        check: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        cmd = self.command(*args)
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                env=self.env(env),
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise PodmanError(cmd, 124, f"timed out after {timeout:.0f} s") from None
        except OSError as exc:
            raise PodmanError(cmd, 127, str(exc)) from None
        if check and proc.returncode != 0:
            raise PodmanError(cmd, proc.returncode, proc.stderr or proc.stdout)
        return proc

    def _stream(
        self,
        args: Sequence[str],
        *,
        on_progress: Callable[[str], None],
        timeout: float,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Runs podman, handing each line of its output (stdout and stderr) to
        on_progress; raises PodmanError with the last lines when it fails."""
        cmd = self.command(*args)
        try:
            done = stream_process(
                cmd, on_progress, timeout=timeout, env=self.env(env), keep=ERROR_TAIL_LINES
            )
        except OSError as exc:
            raise PodmanError(cmd, 127, str(exc)) from None
        if done.returncode != 0:
            tail = done.tail + ([f"timed out after {timeout:.0f} s"] if done.timed_out else [])
            raise PodmanError(cmd, done.returncode, "\n".join(tail))

    # ---- containers ---------------------------------------------------------------------

    def version(self) -> str:
        """The podman client version, e.g. "4.3.1"."""
        return self._run(["version", "--format", "{{.Client.Version}}"]).stdout.strip()

    def run_detached(self, args: Sequence[str], *, env: Mapping[str, str] | None = None) -> str:
        """`podman run -d ARGS...`; returns the container id. `env` is merged into
        podman's own environment (for `--env NAME` secrets) and never logged. Adds
        `--pull never` unless ARGS say otherwise: images are pulled beforehand, once
        (twin/ecs/image_store.py), never behind a task's start."""
        pull = (
            [] if any(a == "--pull" or a.startswith("--pull=") for a in args) else ["--pull=never"]
        )
        return self._run(["run", "-d", *pull, *args], env=env or {}).stdout.strip()

    def states(self, names: Sequence[str]) -> dict[str, ContainerState]:
        """The state of each named container that exists (one `podman inspect`), keyed
        by the name asked for (an id asked for maps to its container too)."""
        if not names:
            return {}
        proc = self._run(
            ["inspect", "--type", "container", "--format", "json", *names], check=False
        )
        try:
            items = json.loads(proc.stdout) if proc.stdout.strip() else []
        except json.JSONDecodeError:
            cmd = self.command("inspect", *names)
            raise PodmanError(cmd, proc.returncode, proc.stderr) from None
        if proc.returncode != 0 and not items and "no such" not in proc.stderr.lower():
            raise PodmanError(self.command("inspect", *names), proc.returncode, proc.stderr)
        result: dict[str, ContainerState] = {}
        for item in items if isinstance(items, list) else []:
            state = _state_from_inspect(item)
            for wanted in names:
                if wanted in (state.name, state.id) or (
                    len(wanted) >= 12 and state.id.startswith(wanted)
                ):
                    result[wanted] = state
        return result

    def state(self, name: str) -> ContainerState | None:
        """The container's state, or None when there is no such container."""
        return self.states([name]).get(name)

    def stop(self, name: str, timeout: float) -> None:
        """The stop signal (SIGTERM unless the image says otherwise), then SIGKILL after
        `timeout` seconds (rounded up: podman counts whole seconds)."""
        seconds = max(0, math.ceil(timeout))
        self._run(["stop", "--ignore", "-t", str(seconds), name], timeout=seconds + STOP_GRACE)

    def kill(self, name: str, sig: str = "KILL") -> None:
        """Sends a signal; a container that is not running (or gone) is not an error."""
        proc = self._run(["kill", "--signal", sig, name], check=False)
        if proc.returncode != 0:
            state = self.state(name)
            if state is not None and state.running:
                raise PodmanError(self.command("kill", name), proc.returncode, proc.stderr)

    def remove(self, names: Sequence[str]) -> None:
        """Removes containers at once (killing running ones); missing ones are ignored."""
        if names:
            self._run(["rm", "--force", "--ignore", "--volumes", "-t", "0", *names], timeout=60)

    def exec(
        self,
        name: str,
        argv: Sequence[str],
        *,
        timeout: float,
        user: str | None = None,
    ) -> ExecResult:
        """Runs argv in the running container (stdout and stderr together). On timeout
        the podman client and every process the command started in the container are
        killed (found by the EXEC_MARKER variable in their environment)."""
        token = secrets.token_hex(8)
        marker = f"{EXEC_MARKER}={token}"
        args = ["exec", "--env", marker]
        if user:
            args += ["--user", user]
        cmd = self.command(*args, name, *argv)
        try:
            proc = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env(),
            )
        except OSError as exc:
            raise PodmanError(cmd, 127, str(exc)) from None
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill_marked(marker)
            proc.kill()
            out, _ = proc.communicate()
            self._kill_marked(marker)
            return ExecResult(None, out.decode(errors="replace"), timed_out=True)
        return ExecResult(proc.returncode, out.decode(errors="replace"))

    @staticmethod
    def _kill_marked(marker: str) -> None:
        deadline = time.monotonic() + 2.0
        while True:
            pids = pids_with_environment(marker)
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            if not pids or time.monotonic() > deadline:
                return
            time.sleep(0.02)

    def exec_argv(self, name: str, argv: Sequence[str], *, interactive: bool) -> list[str]:
        """The command line for `local exec` to run with `self.env()`: stdin always
        reaches the command (a pipe works); a terminal only when there is one."""
        flags = ["--interactive", "--tty"] if interactive else ["--interactive"]
        return self.command("exec", *flags, name, *argv)

    def names_with_prefix(self, prefix: str) -> list[str]:
        """Every container (any state) whose name starts with prefix, sorted."""
        out = self._run(["ps", "--all", "--format", "{{.Names}}"]).stdout
        return sorted({n.strip() for n in out.splitlines() if n.strip().startswith(prefix)})

    # ---- images -------------------------------------------------------------------------

    def image_exists(self, image: str) -> bool:
        proc = self._run(["image", "exists", image], check=False)
        if proc.returncode not in (0, 1):
            raise PodmanError(self.command("image", "exists", image), proc.returncode, proc.stderr)
        return proc.returncode == 0

    def image_id(self, image: str) -> str | None:
        """The full image id, or None when the image is not in the store."""
        return self._inspect_image(image, "{{.Id}}")

    def image_digest(self, image: str) -> str | None:
        """The image's manifest digest in the local store (`sha256:...`), by which
        `REPOSITORY@DIGEST` names it; None when the image is not in the store."""
        return self._inspect_image(image, "{{.Digest}}")

    def _inspect_image(self, image: str, field: str) -> str | None:
        """One `image inspect --format` field of a stored image; None when it is absent."""
        if not self.image_exists(image):
            return None
        out = self._run(["image", "inspect", "--format", field, image]).stdout.strip()
        return out.splitlines()[0] if out else None

    @contextlib.contextmanager
    def _authfile(self, image: str, auth: RegistryAuth | None) -> Iterator[list[str]]:
        """`--authfile PATH` for a pull (a 0600 file in a private temp dir), or nothing."""
        if auth is None:
            yield []
            return
        secret = base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode()
        content = json.dumps({"auths": {_registry_of(image): {"auth": secret}}})
        with tempfile.TemporaryDirectory(prefix="fargate-api-auth-") as folder:
            path = Path(folder) / "auth.json"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(content)
            yield ["--authfile", str(path)]

    def pull(
        self,
        image: str,
        *,
        auth: RegistryAuth | None = None,
        on_progress: Callable[[str], None],
        timeout: float = PULL_TIMEOUT,
    ) -> None:
        """`podman pull IMAGE`, streaming podman's progress lines to on_progress."""
        with self._authfile(image, auth) as auth_args:
            self._stream(["pull", *auth_args, image], on_progress=on_progress, timeout=timeout)

    def build(
        self,
        context: Path,
        tag: str,
        *,
        containerfile: Path | None = None,
        build_args: Mapping[str, str] | None = None,
        network: str = "none",
        on_progress: Callable[[str], None],
        extra_args: Sequence[str] = (),
        timeout: float = BUILD_TIMEOUT,
    ) -> None:
        """`podman build -t TAG CONTEXT`; RUN steps get `--network` (none by default:
        the default bridge network would make netavark add iptables rules)."""
        args = ["build", "--network", network, "-t", tag]
        if containerfile is not None:
            args += ["-f", str(containerfile)]
        for key, value in (build_args or {}).items():
            args += ["--build-arg", f"{key}={value}"]
        args += [*extra_args, str(context)]
        self._stream(args, on_progress=on_progress, timeout=timeout)

    def tag(self, image: str, *tags: str) -> None:
        self._run(["tag", image, *tags])

    def remove_image(self, tag: str) -> None:
        """Removes a tag (the image too once no tag is left); a missing one is ignored."""
        self._run(["rmi", "--ignore", tag], timeout=60)
