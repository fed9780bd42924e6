"""The twin's small servers as real processes on 127.0.0.1: stand-in, echo, forwarder.

Each server runs as a subprocess, exactly as the twin starts it, on a port the kernel
picks (``--port 0`` / ``--listen 127.0.0.1:0``; the port is read from the server's
"listening on" line on stderr, so no free-port race). No root is needed: loopback
addresses other than 127.0.0.1 (127.0.0.2, 127.0.0.3) stand in for distinct hosts.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from fargate_api.twin.servers.forwarder import (
    Endpoint,
    forwarder_command,
    open_listener,
    parse_endpoint,
)

TIMEOUT = 10.0
PROMPT_EXIT = 3.0  # seconds a SIGTERMed server may take; its drain limit is longer
TASK_ID = "0123456789abcdef0123456789abcdef"
PRIVATE_IP = "10.0.1.23"
LISTENING = re.compile(r"listening on \[?([0-9a-fA-F.:]+?)\]?:(\d+)")


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _pump(stream: object, lines: queue.Queue[str]) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        lines.put(line.rstrip("\n"))


@dataclass
class Server:
    """A server subprocess, its port and its stdout/stderr as line queues."""

    proc: subprocess.Popen[str]
    port: int = 0
    stdout: queue.Queue[str] = field(default_factory=queue.Queue)
    stderr: queue.Queue[str] = field(default_factory=queue.Queue)

    def line(self, stream: queue.Queue[str], timeout: float = TIMEOUT) -> str:
        try:
            return stream.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no output line within {timeout} s (exit code {self.proc.poll()})")

    def terminate(self) -> tuple[int, float]:
        """SIGTERM; (exit code, seconds it took)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"no exit within {TIMEOUT} s of SIGTERM")
        return code, time.monotonic() - started

    def connection(self, **kwargs: object) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT, **kwargs)  # type: ignore[arg-type]


def start(args: list[str], env: dict[str, str] | None = None, **popen: object) -> Server:
    proc = subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        **popen,  # type: ignore[call-overload]
    )
    server = Server(proc)
    for stream, lines in ((proc.stdout, server.stdout), (proc.stderr, server.stderr)):
        threading.Thread(target=_pump, args=(stream, lines), daemon=True).start()
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            text = server.stderr.get(timeout=0.1)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        match = LISTENING.search(text)
        if match:
            server.port = int(match.group(2))
            return server
    stop(server)
    pytest.fail(f"{args} did not report listening (exit code {proc.poll()})")


def stop(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.kill()
        server.proc.wait(timeout=TIMEOUT)


def get(
    conn: http.client.HTTPConnection, method: str, path: str, **kwargs: object
) -> tuple[http.client.HTTPResponse, bytes]:
    conn.request(method, path, **kwargs)  # type: ignore[arg-type]
    response = conn.getresponse()
    return response, response.read()


def connect(port: int, source: str | None = None) -> socket.socket:
    sock = socket.create_connection(
        ("127.0.0.1", port), timeout=TIMEOUT, source_address=(source, 0) if source else None
    )
    sock.settimeout(TIMEOUT)
    return sock


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
    except ConnectionRefusedError:
        return True
    return False


def unused_port() -> int:
    """A port nothing listens on (bound, then released): connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def standin() -> Iterator[Server]:
    server = start(
        ["-m", "fargate_api.twin.servers.standin_server", "--port", "0", "--bind", "127.0.0.1"],
        env={"FA_TASK_ID": TASK_ID, "FA_PRIVATE_IP": PRIVATE_IP},
    )
    yield server
    stop(server)


@pytest.fixture
def echo() -> Iterator[Server]:
    server = start(
        ["-m", "fargate_api.twin.servers.echo_server", "--bind", "127.0.0.1", "--port", "0"]
    )
    yield server
    stop(server)


# --------------------------------------------------------------------------------------
# Stand-in server
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/some/deep/path?x=1&y=2"),
        ("POST", "/api/orders"),
        ("PUT", "/x"),
        ("DELETE", "/x/1"),
        ("PATCH", "/x"),
        ("OPTIONS", "*"),
        ("PURGE", "/cache"),
    ],
)
def test_standin_answers_200_naming_the_task(standin: Server, method: str, path: str) -> None:
    conn = standin.connection()
    body_in = b'{"a": 1}' if method in ("POST", "PUT", "PATCH") else None
    response, body = get(conn, method, path, body=body_in)
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/html"
    assert int(response.getheader("Content-Length", "-1")) == len(body)
    assert f"task={TASK_ID} ip={PRIVATE_IP}" in body.decode()
    conn.close()


def test_standin_head_sends_headers_without_a_body(standin: Server) -> None:
    conn = standin.connection()
    response, body = get(conn, "HEAD", "/index.html")
    assert response.status == 200
    assert int(response.getheader("Content-Length", "0")) > 0
    assert body == b""
    conn.close()
    # http.client drops what follows a HEAD response; a raw socket sees every byte.
    with connect(standin.port) as sock:
        sock.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = read_all(sock)
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"\r\n\r\n"), reply


def test_standin_keeps_the_connection_alive(standin: Server) -> None:
    conn = standin.connection()
    response, _ = get(conn, "GET", "/one")
    assert response.getheader("Connection") == "keep-alive"
    first_socket = conn.sock
    assert first_socket is not None  # http.client drops the socket when the server closes
    response, _ = get(conn, "POST", "/two", body=b"x" * 1000)
    assert response.status == 200
    assert conn.sock is first_socket
    # A chunked body is consumed too, so the connection stays in step.
    conn.putrequest("POST", "/three")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    conn.send(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    response, _ = get(conn, "GET", "/four")
    assert response.status == 200
    assert conn.sock is first_socket
    conn.close()


def test_standin_whoami_is_json(standin: Server) -> None:
    conn = standin.connection()
    response, body = get(conn, "GET", "/__twin/whoami?x=1", headers={"X-Forwarded-For": "1.2.3.4"})
    assert response.status == 200
    assert response.getheader("Content-Type") == "application/json"
    whoami = json.loads(body)
    assert whoami["task_id"] == TASK_ID
    assert whoami["private_ip"] == PRIVATE_IP
    assert whoami["client_ip"] == "127.0.0.1"
    assert whoami["x_forwarded_for"] == "1.2.3.4"
    conn.close()


def test_standin_writes_one_combined_log_line_per_request(standin: Server) -> None:
    conn = standin.connection()
    get(conn, "GET", "/logged?q=1", headers={"User-Agent": "twin-test/1", "Referer": "http://r/"})
    get(conn, "HEAD", "/head", headers={"User-Agent": 'quote"d'})
    conn.close()
    first = standin.line(standin.stdout)
    assert re.fullmatch(
        r"127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "
        r'"GET /logged\?q=1 HTTP/1\.1" 200 \d+ "http://r/" "twin-test/1"',
        first,
    ), first
    second = standin.line(standin.stdout)
    assert second.endswith('"HEAD /head HTTP/1.1" 200 0 "-" "quote\\x22d"'), second
    with pytest.raises(queue.Empty):
        standin.stdout.get(timeout=0.2)  # exactly one line per request


def test_standin_survives_bad_clients(standin: Server) -> None:
    with connect(standin.port) as sock:  # a garbage request line
        sock.sendall(b"\x00\x01 nonsense\r\n\r\n")
        assert read_all(sock).startswith(b"HTTP/1.1 400")
    with connect(standin.port) as sock:  # a bad Content-Length: answered, then closed
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: zzz\r\n\r\n")
        reply = read_all(sock)
        assert reply.startswith(b"HTTP/1.1 200") and b"Connection: close" in reply
    stalled = connect(standin.port)  # a request cut short, its client gone quiet
    stalled.sendall(b"GET / HT")
    with connect(standin.port) as sock:  # a reset instead of a request
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connect(standin.port).close()  # connect and leave
    conn = standin.connection()
    response, _ = get(conn, "GET", "/still-there")  # served while the stalled client waits
    assert response.status == 200
    conn.close()
    stalled.close()
    assert standin.proc.poll() is None


def test_standin_exits_0_promptly_on_sigterm_despite_an_idle_keepalive_connection(
    standin: Server,
) -> None:
    conn = standin.connection()
    get(conn, "GET", "/")  # the connection now idles, kept alive
    code, elapsed = standin.terminate()
    assert code == 0
    assert elapsed < PROMPT_EXIT  # the drain waits up to 10 s for busy connections only
    assert refused(standin.port)
    conn.close()


def test_standin_finishes_an_in_flight_request_on_sigterm(standin: Server) -> None:
    with connect(standin.port) as sock:
        sock.sendall(b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345")
        time.sleep(0.5)  # headers parsed: the request is in flight, waiting for its body
        standin.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        sock.sendall(b"67890")
        reply = read_all(sock)
    assert reply.startswith(b"HTTP/1.1 200"), reply
    assert b"Connection: close" in reply
    assert standin.proc.wait(timeout=PROMPT_EXIT) == 0


# --------------------------------------------------------------------------------------
# Echo server
# --------------------------------------------------------------------------------------


def test_echo_answers_the_client_source_address(echo: Server) -> None:
    conn = echo.connection()
    response, body = get(conn, "GET", "/")
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("text/plain")
    assert body == b"127.0.0.1\n"
    response, body = get(conn, "GET", "/json")
    assert json.loads(body) == {"ip": "127.0.0.1"}
    response, body = get(conn, "HEAD", "/")
    assert response.status == 200 and body == b""
    conn.close()
    # Another source address: the answer follows the packet, it is not a constant.
    other = echo.connection(source_address=("127.0.0.3", 0))
    assert get(other, "GET", "/anything")[1] == b"127.0.0.3\n"
    assert json.loads(get(other, "GET", "/json?pretty=0")[1]) == {"ip": "127.0.0.3"}
    other.close()
    # The access log: lines are written after each response, so threads serving two
    # connections may log in either order.
    clients = sorted(echo.line(echo.stdout).split()[0] for _ in range(5))
    assert clients == ["127.0.0.1"] * 3 + ["127.0.0.3"] * 2


def test_echo_exits_0_promptly_on_sigterm(echo: Server) -> None:
    conn = echo.connection()
    get(conn, "GET", "/")
    code, elapsed = echo.terminate()
    assert code == 0 and elapsed < PROMPT_EXIT
    assert refused(echo.port)
    conn.close()


# --------------------------------------------------------------------------------------
# Forwarder
# --------------------------------------------------------------------------------------


class _BackendHandler(socketserver.BaseRequestHandler):
    """Reads to EOF, then answers ``name|peer ip|data``: only a half-close gets a reply."""

    server: _BackendServer

    def handle(self) -> None:
        self.request.settimeout(TIMEOUT)
        data = read_all(self.request)
        peer = self.client_address[0]
        self.request.sendall(f"{self.server.name}|{peer}|".encode() + data)


class _BackendServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    name = ""


@dataclass
class Backend:
    name: str
    server: _BackendServer

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])


@pytest.fixture
def backends() -> Iterator[list[Backend]]:
    started: list[Backend] = []
    for name in ("A", "B"):
        server = _BackendServer(("127.0.0.1", 0), _BackendHandler)
        server.name = name
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        started.append(Backend(name, server))
    yield started
    for backend in started:
        backend.server.shutdown()
        backend.server.server_close()


def forwarder(*args: str) -> Server:
    return start(["-m", "fargate_api.twin.servers.forwarder", "--listen", "127.0.0.1:0", *args])


@pytest.fixture
def forwarders() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        stop(server)


def exchange(port: int, data: bytes, source: str | None = None) -> bytes:
    """Sends, half-closes, and reads the reply: the backend answers only after EOF."""
    with connect(port, source) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        return read_all(sock)


def test_forwarder_copies_both_ways_across_a_half_close(
    backends: list[Backend], forwarders: list[Server]
) -> None:
    fwd = forwarder("--target", f"127.0.0.1:{backends[0].port}")
    forwarders.append(fwd)
    assert exchange(fwd.port, b"hello") == b"A|127.0.0.1|hello"
    payload = os.urandom(3 * 1024 * 1024)  # more than any socket buffer: back-pressure
    assert exchange(fwd.port, payload) == b"A|127.0.0.1|" + payload


def test_forwarder_uses_targets_round_robin(
    backends: list[Backend], forwarders: list[Server]
) -> None:
    a, b = backends
    fwd = forwarder("--target", f"127.0.0.1:{a.port}", "--target", f"127.0.0.1:{b.port}")
    forwarders.append(fwd)
    names = [exchange(fwd.port, b"x").split(b"|")[0] for _ in range(4)]
    assert names == [b"A", b"B", b"A", b"B"]


def test_forwarder_skips_a_target_that_refuses(
    backends: list[Backend], forwarders: list[Server]
) -> None:
    a, b = backends
    dead = unused_port()
    fwd = forwarder(
        *("--target", f"127.0.0.1:{a.port}"),
        *("--target", f"127.0.0.1:{dead}"),
        *("--target", f"127.0.0.1:{b.port}"),
    )
    forwarders.append(fwd)
    replies = [exchange(fwd.port, b"x") for _ in range(6)]
    assert all(reply.endswith(b"|x") for reply in replies), replies
    assert {reply.split(b"|")[0] for reply in replies} == {b"A", b"B"}
    assert f"127.0.0.1:{dead}" in fwd.line(fwd.stderr)  # the skip is reported


def test_forwarder_closes_the_client_when_no_target_answers(forwarders: list[Server]) -> None:
    port = unused_port()
    fwd = forwarder("--target", f"127.0.0.1:{port}")
    forwarders.append(fwd)
    for _ in range(2):
        with connect(fwd.port) as sock:  # cut at once (a reset): nothing to send to
            assert read_all(sock) == b""
    assert f"127.0.0.1:{port}" in fwd.line(fwd.stderr)
    assert fwd.proc.poll() is None  # and keeps serving


def test_forwarder_binds_the_source_address(
    backends: list[Backend], forwarders: list[Server]
) -> None:
    fwd = forwarder("--target", f"127.0.0.1:{backends[0].port}", "--source", "127.0.0.2")
    forwarders.append(fwd)
    assert exchange(fwd.port, b"src") == b"A|127.0.0.2|src"


def test_forwarder_accepts_on_an_inherited_socket(
    backends: list[Backend], forwarders: list[Server]
) -> None:
    listener = open_listener()
    port = int(listener.getsockname()[1])
    fd = listener.fileno()
    command = forwarder_command(sys.executable, fd, [("127.0.0.1", backends[1].port)], None)
    try:
        fwd = start(command[1:], pass_fds=(fd,))
    finally:
        listener.close()  # the parent's copy: only the forwarder holds the port now
    forwarders.append(fwd)
    assert fwd.port == port
    assert exchange(port, b"fd") == b"B|127.0.0.1|fd"
    code, elapsed = fwd.terminate()
    assert code == 0 and elapsed < PROMPT_EXIT
    assert refused(port)  # no copy of the listening socket survives the forwarder


def test_forwarder_exits_0_on_sigterm_and_cuts_idle_connections_after_the_grace(
    backends: list[Backend], forwarders: list[Server]
) -> None:
    fwd = forwarder("--target", f"127.0.0.1:{backends[0].port}", "--grace", "0.5")
    forwarders.append(fwd)
    with connect(fwd.port) as sock:
        sock.sendall(b"pending")  # the backend waits for EOF that never comes
        time.sleep(0.2)
        code, elapsed = fwd.terminate()
        assert code == 0
        assert 0.4 < elapsed < PROMPT_EXIT  # waited for the open connection, not forever
        assert read_all(sock) == b""  # the client learns the connection is gone
    assert refused(fwd.port)


def test_forwarder_command_line() -> None:
    assert forwarder_command(
        "/venv/bin/python", 7, [("10.0.0.1", 80), ("10.0.0.2", 8080)], "192.0.2.10", label="fa-x-"
    ) == [
        *("/venv/bin/python", "-m", "fargate_api.twin.servers.forwarder", "--listen-fd", "7"),
        *("--target", "10.0.0.1:80", "--target", "10.0.0.2:8080"),
        *("--source", "192.0.2.10", "--label", "fa-x-"),
    ]
    with pytest.raises(ValueError, match="at least one target"):
        forwarder_command("python", 3, [], None)


def test_open_listener_is_inheritable_and_listening() -> None:
    with open_listener() as sock:
        assert sock.get_inheritable()
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10.0.0.1:80", Endpoint("10.0.0.1", 80)), ("[::1]:8080", Endpoint("::1", 8080))],
)
def test_parse_endpoint(text: str, expected: Endpoint) -> None:
    assert parse_endpoint(text) == expected
    assert parse_endpoint(str(expected)) == expected


@pytest.mark.parametrize("text", ["10.0.0.1", ":80", "10.0.0.1:http", "10.0.0.1:70000"])
def test_parse_endpoint_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="ADDRESS:PORT"):
        parse_endpoint(text)
