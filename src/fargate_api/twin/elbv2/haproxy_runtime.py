"""Registering targets with the twin's ALB: HAProxy's runtime API over its stats socket.

ECS registers and deregisters task addresses while the ALB runs; HAProxy's ``add server``
and ``del server`` (2.6) do the same without a reload, so the configuration file holds
no servers at all (haproxy_config.py).

Target health, as the ALB reports it, from HAProxy's server state:

* ``draining``: the server is administratively in drain (``set server ... state
  drain``) or in maintenance, whatever its checks say.
* ``healthy``: operationally up (UP, also "UP n/m" while going down, NOLB, slow start).
* ``initial``: down and never up since it was added, with no failed check yet (none ran,
  or the latest passed while it climbs towards ``rise``).
* ``unhealthy``: down after having been up, or never up and its latest check failed.

HAProxy keeps no count of consecutive failures for a server that is down, so a new target
shows ``unhealthy`` from its first failed check, where the ALB waits for the unhealthy
threshold; and a never-healthy target whose latest check passed shows ``initial`` again.

Forward weights live in a map (haproxy_config.py); ``set_map`` changes one entry, which
is one atomic step for the requests that read it, without a reload.

A server leaving maintenance with checks enabled starts UP in HAProxy 2.6 ("start OK but
check immediately"), which would send traffic to a target that never passed a check.
``add_target`` therefore takes the server out of maintenance into drain (no traffic),
forces its health down, then makes it ready: it stays DOWN until ``rise`` consecutive
checks pass. That forced transition counts once in ``chkdown``; a later count means the
target had been up.

Fail-open (haproxy_config.py): ``add_target`` also adds the target's unchecked
``backup`` copy, named ``fail-open.<target id>`` (target ids may not start with that
prefix), and leaves it in maintenance: a target in its initial checks gets no request,
even when no target is healthy. ``arm_fail_open`` makes the copy ready once the target
has left ``initial`` (LoadBalancers watches for that); from then on HAProxy alone sends
it requests whenever no checked server of the group is usable. The copy drains and is
removed with its target. Target health and per-target counters leave the copies out as
targets of their own: a copy's requests and sessions count as its target's, and its
target's health stays what the checks say (an unhealthy target that fail-open serves
is still reported ``unhealthy``, as on the ALB).
"""

from __future__ import annotations

import csv
import re
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Literal

from fargate_api.twin.elbv2.haproxy_config import backend_name, server_options
from fargate_api.twin.plan.model import HealthCheck

TargetHealth = Literal["initial", "healthy", "unhealthy", "draining"]

SOCKET_TIMEOUT = 5.0
CONNECT_ATTEMPTS = 50  # x CONNECT_RETRY_DELAY: up to 2.5 s of a full backlog
CONNECT_RETRY_DELAY = 0.05
DELETE_TIMEOUT = 10.0  # idle connections to a removed target take a moment to close
_TARGET_ID = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
_SEVERITY = re.compile(r"^\[(\d)\]: ?", re.MULTILINE)
_LAST_ERROR_SEVERITY = 3  # syslog "err": 0-3 are failures, 4+ warnings and notices
_ADMIN_DRAIN = 0x08 | 0x10  # SRV_ADMF_FDRAIN | SRV_ADMF_IDRAIN
_ADMIN_MAINT = 0x01 | 0x02 | 0x04 | 0x20 | 0x40  # forced, inherited, config, resolution, ...
_OP_STOPPED = 0
# `show stat` check_status values of a failed check (management.txt, "check_status").
_FAILED_CHECKS = frozenset(
    ("SOCKERR", "L4TOUT", "L4CON", "L6TOUT", "L6RSP", "L7TOUT", "L7RSP", "L7STS", "PROCERR")
)
_FORCED_DOWN_TRANSITIONS = 1  # add_target's own UP -> DOWN, see the module docstring
NO_SUCH_SERVER = "No such server."
FAIL_OPEN_PREFIX = "fail-open."  # + target id: the target's unchecked backup copy
FAIL_OPEN_OPTIONS = "backup"  # no `check`: always usable once out of maintenance


class HaproxyRuntimeError(Exception):
    """HAProxy refused a command, or its stats socket could not be reached."""

    def __init__(self, command: str, answer: str) -> None:
        self.command = command
        self.answer = answer.strip()
        super().__init__(f"haproxy runtime command `{command}` failed: {self.answer}")


@dataclass(frozen=True)
class TargetState:
    health: TargetHealth
    reason: str  # haproxy's check status and description, e.g. "L7STS 500: Layer7 wrong..."
    current_sessions: int  # its fail-open copy's included
    total_requests: int  # its fail-open copy's included
    fail_open_ready: bool = False  # its copy is armed: it gets requests when none is healthy


@dataclass(frozen=True)
class BackendStats:
    """A target group's counters as the ALB's CloudWatch metrics count (`backend_stats`)."""

    requests: int  # requests for which a target was chosen (RequestCount)
    http_5xx: int  # 5xx answers from targets (HTTPCode_Target_5XX_Count)
    response_time_ms: float | None  # average of the last 1024 requests; None before any
    targets: Mapping[str, TargetState]


def _check_target_id(target_id: str) -> None:
    if not _TARGET_ID.fullmatch(target_id):
        raise ValueError(
            f"target id {target_id!r}: HAProxy server names allow letters, digits, '_', '.', "
            "':' and '-' (at most 100 characters)"
        )
    if target_id.startswith(FAIL_OPEN_PREFIX):
        raise ValueError(
            f"target id {target_id!r}: {FAIL_OPEN_PREFIX!r} starts the names of the targets' "
            "fail-open copies, so a target id cannot start with it"
        )


def fail_open_server_name(target_id: str) -> str:
    """The server name of a target's fail-open copy (module docstring)."""
    return FAIL_OPEN_PREFIX + target_id


def _int(value: str) -> int:
    return int(value) if value.strip().lstrip("-").isdigit() else 0


class HaproxyRuntime:
    """A client of one HAProxy's admin socket; holds no state besides the socket path."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path

    # ---------------------------------------------------------------- transport

    def command(self, command: str) -> str:
        """Runs one CLI command and returns its answer; raises when HAProxy reports an error.

        Each command uses its own connection in non-interactive mode (HAProxy closes it
        after answering), prefixed by ``set severity-output number`` so that errors are
        recognisable by their "[3]:" severity rather than by their wording.
        """
        if "\n" in command or ";" in command:
            raise ValueError(f"one runtime command at a time, without ';': {command!r}")
        chunks = self._exchange(command)
        raw = b"".join(chunks).decode(errors="replace")
        answer = _SEVERITY.sub("", raw)
        failed = any(int(level) <= _LAST_ERROR_SEVERITY for level in _SEVERITY.findall(raw))
        # An unknown command is reported as a mere notice, with a list of suggestions.
        if failed or answer.lstrip().startswith("Unknown command"):
            raise HaproxyRuntimeError(command, answer)
        return answer

    def _exchange(self, command: str) -> list[bytes]:
        """One connection, one command. A full listen backlog (EAGAIN: many tasks stopping
        at once) is retried briefly; the socket's timeout would not wait for it."""
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.settimeout(SOCKET_TIMEOUT)
                    sock.connect(str(self.socket_path))
                    sock.sendall(f"set severity-output number; {command}\n".encode())
                    chunks: list[bytes] = []
                    while chunk := sock.recv(65536):
                        chunks.append(chunk)
                    return chunks
            except BlockingIOError:
                if attempt + 1 < CONNECT_ATTEMPTS:
                    time.sleep(CONNECT_RETRY_DELAY)
                    continue
                raise HaproxyRuntimeError(
                    command, f"haproxy's stats socket {self.socket_path} stays busy"
                ) from None
            except OSError as exc:
                raise HaproxyRuntimeError(
                    command, f"cannot talk to haproxy's stats socket {self.socket_path}: {exc}"
                ) from None
        raise AssertionError("unreachable")

    def _server(self, target_group_key: str, target_id: str) -> str:
        _check_target_id(target_id)
        return f"{backend_name(target_group_key)}/{target_id}"

    def _copy(self, target_group_key: str, target_id: str) -> str:
        _check_target_id(target_id)
        return f"{backend_name(target_group_key)}/{fail_open_server_name(target_id)}"

    # ---------------------------------------------------------------- targets

    def add_target(
        self,
        target_group_key: str,
        target_id: str,
        ip: IPv4Address,
        port: int,
        health_check: HealthCheck,
    ) -> None:
        """Registers a target; it gets traffic only after ``healthy_threshold`` passed checks
        (or through its fail-open copy, once `arm_fail_open` switched that on).

        The health check is an argument because ``add server`` ignores the backend's
        ``default-server`` line (HAProxy 2.6), so every check setting travels with it.
        """
        server = self._server(target_group_key, target_id)
        options = " ".join(server_options(health_check))
        self.command(f"add server {server} {ip}:{port} {options}")
        try:
            self.command(f"enable health {server}")
            self.command(f"set server {server} state drain")  # leaves maintenance as UP...
            self.command(f"set server {server} health down")  # ...so make it DOWN, health 0
            self.command(f"set server {server} state ready")  # now rise checks must pass
            # The fail-open copy: added in maintenance, where it stays until armed.
            copy = self._copy(target_group_key, target_id)
            self.command(f"add server {copy} {ip}:{port} {FAIL_OPEN_OPTIONS}")
        except HaproxyRuntimeError:
            self.remove_target(target_group_key, target_id)
            raise

    def force_health_up(self, target_group_key: str, target_id: str) -> None:
        """Marks a target UP at once, as its last checks found it before HAProxy was
        restarted; its checks keep running and take it down again if they fail."""
        self.command(f"set server {self._server(target_group_key, target_id)} health up")

    def arm_fail_open(self, target_group_key: str, target_id: str) -> None:
        """Lets the target's fail-open copy take requests whenever no target of the group
        is usable: for a target that has left ``initial`` (the caller knows when)."""
        self.command(f"set server {self._copy(target_group_key, target_id)} state ready")

    def drain_target(self, target_group_key: str, target_id: str) -> None:
        """No new requests go to the target, nor to its fail-open copy; requests in flight
        finish (deregistration)."""
        self.command(f"set server {self._server(target_group_key, target_id)} state drain")
        self.command(f"set server {self._copy(target_group_key, target_id)} state drain")

    def remove_target(self, target_group_key: str, target_id: str) -> None:
        """Forgets the target and its fail-open copy, cutting what still runs on them; a
        no-op for what is gone. Both leave service before either is deleted, so that the
        copy takes no request while the target's deletion waits."""
        servers = [
            self._server(target_group_key, target_id),
            self._copy(target_group_key, target_id),
        ]
        for step in ("set server {} state maint", "shutdown sessions server {}"):
            servers = [server for server in servers if self._unless_gone(step.format(server))]
        for server in servers:
            self._delete(server)

    def _unless_gone(self, command: str) -> bool:
        """Runs a command on one server: False when HAProxy has no such server."""
        try:
            self.command(command)
        except HaproxyRuntimeError as exc:
            if exc.answer == NO_SUCH_SERVER:
                return False
            raise
        return True

    def _delete(self, server: str) -> None:
        """``del server``, retried while connections that just closed still hold it."""
        deadline = time.monotonic() + DELETE_TIMEOUT
        while True:
            try:
                self.command(f"del server {server}")
                return
            except HaproxyRuntimeError as exc:
                if exc.answer == NO_SUCH_SERVER:
                    return
                # Streams just shut down and idle keep-alive connections to the target
                # still hold it for a moment; HAProxy refuses the delete until they close.
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    # ---------------------------------------------------------------- reading

    def _stats(self, target_group_key: str) -> list[dict[str, str]]:
        """`show stat` rows (backend and its servers) of one target group's backend."""
        answer = self.command(f"show stat {backend_name(target_group_key)} 6 -1")
        lines = [line for line in answer.splitlines() if line.strip()]
        if not lines or not lines[0].startswith("# "):
            raise HaproxyRuntimeError("show stat", f"unexpected answer: {answer[:200]!r}")
        return list(csv.DictReader([lines[0][2:], *lines[1:]]))

    def _admin_states(self, target_group_key: str) -> dict[str, tuple[int, int]]:
        """Server name -> (operational state, administrative flags) from `show servers state`."""
        answer = self.command(f"show servers state {backend_name(target_group_key)}")
        header: list[str] = []
        states: dict[str, tuple[int, int]] = {}
        for line in answer.splitlines():
            if line.startswith("# "):
                header = line[2:].split()
            elif header and line.strip():
                row = dict(zip(header, line.split(), strict=False))
                states[row["srv_name"]] = (_int(row["srv_op_state"]), _int(row["srv_admin_state"]))
        return states

    def target_states(self, target_group_key: str) -> dict[str, TargetState]:
        """Every target of the group with its ALB-style health (module docstring)."""
        admin = self._admin_states(target_group_key)
        return _target_states(self._stats(target_group_key), admin)

    def backend_stats(self, target_group_key: str) -> BackendStats:
        """The group's counters and targets, read as the ALB's CloudWatch metrics count.

        From the BACKEND row, which keeps counting after a target is removed (a server
        row's counters go with it):

        * requests: ``lbtot``, the times a target was chosen. ``req_tot`` also counts the
          503 HAProxy answers itself when no target is healthy, and the ALB's
          RequestCount counts only requests for which it could choose a target.
        * 5xx: ``hrsp_5xx`` less ``econ`` and ``eresp``: HAProxy's own 503 (no target,
          or a refused connection after retries), 502 (a broken response) and 504 (a
          target timeout) count in ``hrsp_5xx`` too, but the ALB reports those as
          HTTPCode_ELB_5XX, not as the targets'. (A target that drops a connection
          after a 2xx header counts in ``eresp`` as well: then the difference is one too
          low; it never goes below 0.)
        * response time: ``rtime``, HAProxy's average over the last 1024 requests in ms
          (it keeps no percentiles).
        """
        rows = self._stats(target_group_key)
        backend = next((row for row in rows if row["svname"] == "BACKEND"), None)
        if backend is None:
            raise HaproxyRuntimeError("show stat", f"no BACKEND row for {target_group_key}")
        requests = _int(backend.get("lbtot", ""))
        own_errors = _int(backend.get("econ", "")) + _int(backend.get("eresp", ""))
        return BackendStats(
            requests=requests,
            http_5xx=max(0, _int(backend.get("hrsp_5xx", "")) - own_errors),
            response_time_ms=float(_int(backend.get("rtime", ""))) if requests else None,
            targets=_target_states(rows, self._admin_states(target_group_key)),
        )

    def request_total(self, target_group_key: str) -> int:
        """Requests the target group's backend has handled since HAProxy started."""
        for row in self._stats(target_group_key):
            if row["svname"] == "BACKEND":
                return _int(row.get("req_tot", ""))
        raise HaproxyRuntimeError("show stat", f"no BACKEND row for {target_group_key}")

    # ---------------------------------------------------------------- maps

    def show_map(self, map_path: Path) -> dict[str, str]:
        """The entries of a map the configuration reads (by its file path): key -> value."""
        entries: dict[str, str] = {}
        for line in self.command(f"show map {map_path}").splitlines():
            parts = line.split(maxsplit=2)  # "<entry id> <key> <value>"
            if len(parts) == 3 and parts[0].startswith("0x"):
                entries[parts[1]] = parts[2]
        return entries

    def set_map(self, map_path: Path, key: str, value: str) -> None:
        """Sets one entry of a map, adding it when it is missing; no reload, and one
        atomic step for the requests that read it."""
        for word in (key, value):
            if not word or any(char.isspace() for char in word):
                raise ValueError(f"map keys and values are single words: {word!r}")
        try:
            self.command(f"set map {map_path} {key} {value}")
        except HaproxyRuntimeError as exc:
            if "entry not found" not in exc.answer:
                raise
            self.command(f"add map {map_path} {key} {value}")


def _target_states(
    rows: list[dict[str, str]], admin: Mapping[str, tuple[int, int]]
) -> dict[str, TargetState]:
    """The targets of `show stat` rows with their ALB-style health (module docstring);
    each fail-open copy is folded into its target."""
    states: dict[str, TargetState] = {}
    copies = {
        row["svname"].removeprefix(FAIL_OPEN_PREFIX): row
        for row in rows
        if row["svname"].startswith(FAIL_OPEN_PREFIX)
    }
    for row in rows:
        name = row["svname"]
        if name in ("BACKEND", "FRONTEND") or name.startswith(FAIL_OPEN_PREFIX):
            continue
        if name not in admin:
            continue  # a server added between the two reads shows up next time
        op_state, flags = admin[name]
        check = row.get("check_status", "").removeprefix("* ").strip()
        code, desc = row.get("check_code", "").strip(), row.get("check_desc", "").strip()
        reason = " ".join(part for part in (check, code) if part)
        reason = f"{reason}: {desc}" if desc else reason
        health: TargetHealth
        if flags & _ADMIN_MAINT:
            health, reason = "draining", f"maintenance; {reason}"
        elif flags & _ADMIN_DRAIN:
            health = "draining"
        elif op_state != _OP_STOPPED:
            health = "healthy"
        elif _int(row.get("chkdown", "")) > _FORCED_DOWN_TRANSITIONS or check in _FAILED_CHECKS:
            health = "unhealthy"
        else:
            health = "initial"
        copy = copies.get(name, {})
        copy_flags = admin.get(fail_open_server_name(name), (_OP_STOPPED, _ADMIN_MAINT))[1]
        states[name] = TargetState(
            health=health,
            reason=reason,
            current_sessions=_int(row.get("scur", "")) + _int(copy.get("scur", "")),
            total_requests=_int(row.get("req_tot", "")) + _int(copy.get("req_tot", "")),
            fail_open_ready=bool(copy) and not copy_flags & (_ADMIN_MAINT | _ADMIN_DRAIN),
        )
    return states
