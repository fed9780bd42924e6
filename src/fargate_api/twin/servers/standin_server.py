"""The built-in stand-in for the reference's nginx image: 200 on every path and method.

The twin has no container runtime, so an ECS container whose image only has to "serve
HTTP 200" (nginx, httpd, the ECS sample) runs this instead. It behaves like the parts of
nginx the rest of the twin can observe: HTTP/1.1 keep-alive (HAProxy reuses connections
to targets, as the ALB does), one combined-format access-log line per request on stdout
(the awslogs driver ships stdout, so the twin's log files look like CloudWatch's), and a
graceful stop on SIGTERM (ECS sends SIGTERM, then SIGKILL after stopTimeout: a server
that dropped in-flight requests would make deployments look flakier than on AWS).

The body names the task that answered (``FA_TASK_ID`` and ``FA_PRIVATE_IP``, set by the
twin), so tests can see how the load balancer spread requests; ``/__twin/whoami`` gives
the same as JSON.

The HTTP machinery (``TwinHTTPServer``, ``TwinRequestHandler``, ``serve``) is shared with
``echo_server``: both must survive whatever clients on a test network send them.

Usage: ``python -m fargate_api.twin.servers.standin_server --port N [--bind ADDR]``.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import select
import signal
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any, ClassVar, Literal

KEEPALIVE_TIMEOUT = 75.0  # nginx's keepalive_timeout default, seconds
DRAIN_TIMEOUT = 10.0  # the longest SIGTERM waits for in-flight requests, seconds
MAX_BODY = 16 * 1024 * 1024  # request bodies beyond this are not read (connection closes)
WHOAMI_PATH = "/__twin/whoami"
_READ_CHUNK = 64 * 1024

_State = Literal["idle", "busy", "shut"]


class _Connections:
    """Which connections sit between requests, so that SIGTERM closes exactly those.

    A graceful stop must not wait for idle keep-alive connections (a client may hold one
    for minutes) yet must finish requests already being served. Each connection is
    "busy" from the moment its request line is parsed until the response is written.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._states: dict[socket.socket, _State] = {}
        self.stopping = False

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._states[sock] = "idle"

    def remove(self, sock: socket.socket) -> None:
        with self._lock:
            self._states.pop(sock, None)
            if not self._states:
                self._drained.notify_all()

    def idle(self, sock: socket.socket) -> bool:
        """Marks the connection as waiting for a request; False: close it instead."""
        with self._lock:
            if self.stopping and not _has_pending_data(sock):
                self._states[sock] = "shut"
                return False
            if self._states.get(sock) != "shut":
                self._states[sock] = "idle"
            return True

    def busy(self, sock: socket.socket) -> bool:
        """Marks the connection as serving a request; False: stop() already closed it."""
        with self._lock:
            if self._states.get(sock) == "shut":
                return False
            self._states[sock] = "busy"
            return True

    def stop(self) -> None:
        """Closes idle connections; busy ones close after their response."""
        with self._lock:
            self.stopping = True
            for sock, state in self._states.items():
                # A request that already arrived on an idle connection is served: the
                # client could not tell it apart from one that arrived a moment earlier.
                if state == "idle" and not _has_pending_data(sock):
                    self._states[sock] = "shut"
                    _shutdown(sock)

    def wait_drained(self, timeout: float) -> bool:
        with self._lock:
            return self._drained.wait_for(lambda: not self._states, timeout)


def _has_pending_data(sock: socket.socket) -> bool:
    """True when bytes (or EOF) wait to be read; never blocks."""
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return False


def _shutdown(sock: socket.socket) -> None:
    """Wakes a handler blocked reading the socket: its read returns EOF."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class TwinHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that can stop gracefully and never dies of a bad client."""

    daemon_threads = True  # the drain in serve() is bounded; threads must not block exit
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[TwinRequestHandler]) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.connections = _Connections()
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN: in a namespace without DNS that
        # lookup can hang for seconds, and nothing here needs the name.
        socketserver.TCPServer.server_bind(self)
        host, port = self.socket.getsockname()[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Registered here, in the accepting thread, so that a stop that follows the
        # accept always knows the connection, even before its thread runs.
        self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        try:
            super().shutdown_request(request)
        finally:
            self.connections.remove(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback per broken client; one line is enough to tell a
        # reset connection from a bug.
        kind, value = sys.exc_info()[:2]
        name = kind.__name__ if kind is not None else "error"
        _write_line(sys.stderr, f"connection from {_host(client_address)}: {name}: {value}")


class TwinRequestHandler(BaseHTTPRequestHandler):
    """Answers every method the same way; subclasses only choose the reply."""

    protocol_version = "HTTP/1.1"
    # http.server assumes HTTP/0.9 for a request line it cannot read, and HTTP/0.9 has no
    # status line: the client would get a bare error page it cannot tell from content.
    default_request_version = "HTTP/1.0"
    timeout = KEEPALIVE_TIMEOUT  # also bounds how long a slow client can hold a thread
    # Headers and body go out in two writes; with Nagle on, the body would wait for the
    # client's delayed ACK (about 40 ms) on every kept-alive request after the first.
    disable_nagle_algorithm = True
    server: TwinHTTPServer
    server_version = "fargate-api-twin"
    _log_lock: ClassVar[threading.Lock] = threading.Lock()

    def reply(self) -> tuple[int, str, bytes]:
        """(status, content type, body) for the current request."""
        raise NotImplementedError

    def version_string(self) -> str:
        return self.server_version  # no Python version: the Server header names the role

    def __getattr__(self, name: str) -> Callable[[], None]:
        # http.server dispatches to do_<METHOD>; every method gets the same answer, as
        # nginx's default server does for any method it does not reject.
        if name.startswith("do_"):
            return self._respond
        raise AttributeError(name)

    def handle_one_request(self) -> None:
        if not self.server.connections.idle(self.connection):
            self.close_connection = True
            return
        super().handle_one_request()

    def parse_request(self) -> bool:
        if not self.server.connections.busy(self.connection):
            self.close_connection = True
            return False
        return super().parse_request()

    def _respond(self) -> None:
        if not self._discard_body():
            self.close_connection = True
        if self.server.connections.stopping:
            self.close_connection = True  # the last response on this connection
        status, content_type, body = self.reply()
        self.send_response_only(status)
        self.send_header("Server", self.version_string())
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close" if self.close_connection else "keep-alive")
        self.end_headers()
        sent = 0
        if self.command != "HEAD":
            self.wfile.write(body)
            sent = len(body)
        self.wfile.flush()
        self.log_request(status, sent)

    def _discard_body(self) -> bool:
        """Reads and drops the request body so the next request parses; False: can't."""
        encoding = self.headers.get("Transfer-Encoding", "")
        if encoding:
            if encoding.split(",")[-1].strip().lower() != "chunked":
                return False
            return self._discard_chunked()
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return True
        try:
            length = int(length_text)
        except ValueError:
            return False
        if length < 0 or length > MAX_BODY:
            return False
        return self._discard(length)

    def _discard(self, length: int) -> bool:
        while length > 0:
            chunk = self.rfile.read(min(length, _READ_CHUNK))
            if not chunk:
                return False
            length -= len(chunk)
        return True

    def _discard_chunked(self) -> bool:
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                return False
            if size < 0:
                return False
            if size == 0:
                break
            total += size
            if total > MAX_BODY or not self._discard(size + 2):  # data + CRLF
                return False
        for _ in range(100):  # trailer fields, up to the empty line
            line = self.rfile.readline(8192)
            if line in (b"\r\n", b"\n", b""):
                return line != b""
        return False

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One nginx "combined" line per request on stdout: what awslogs would ship."""
        status = int(code) if isinstance(code, int) else code  # HTTPStatus -> "200"
        sent = size if isinstance(size, int) else 0
        headers = getattr(self, "headers", None)
        referer = headers.get("Referer", "-") if headers is not None else "-"
        agent = headers.get("User-Agent", "-") if headers is not None else "-"
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S %z")
        request = getattr(self, "requestline", "")
        line = (
            f"{_host(self.client_address)} - - [{stamp}] "
            f'"{_escape(request)}" {status} {sent} "{_escape(referer)}" "{_escape(agent)}"'
        )
        with self._log_lock:
            _write_line(sys.stdout, line)

    def log_message(self, format: str, *args: Any) -> None:
        # Errors (bad request lines, timeouts) go to stderr, which the twin also keeps.
        _write_line(sys.stderr, f"{_host(self.client_address)}: {_escape(format % args)}")

    @property
    def client_ip(self) -> str:
        return _host(self.client_address)


def _host(address: Any) -> str:
    """The client's address as text; IPv4-mapped IPv6 addresses shown as IPv4."""
    host = str(address[0]) if isinstance(address, tuple) and address else str(address)
    return host.removeprefix("::ffff:") if "." in host else host


def _escape(text: str) -> str:
    """Escapes quotes and control bytes, as nginx does, so a line stays one line."""
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char in '"\\' or code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02X}")
        else:
            out.append(char)
    return "".join(out)


def _write_line(stream: Any, line: str) -> None:
    """Writes and flushes one line; a closed log stream must not take the server down."""
    try:
        stream.write(line + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass


def serve(server: TwinHTTPServer, drain_timeout: float = DRAIN_TIMEOUT) -> int:
    """Serves until SIGTERM or SIGINT, then stops gracefully; returns the exit code (0)."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    worker.start()
    while not stop.wait(1.0) and worker.is_alive():
        pass
    server.shutdown()  # no more accept()
    server.server_close()  # new connections are refused, not queued
    server.connections.stop()
    server.connections.wait_drained(drain_timeout)
    return 0


def listen(
    handler: type[TwinRequestHandler], bind: str, port: int, name: str
) -> TwinHTTPServer | None:
    """The server, or None after a one-line message when the address can't be used."""
    try:
        server = TwinHTTPServer((bind, port), handler)
    except OSError as exc:
        _write_line(sys.stderr, f"{name}: cannot listen on {bind}:{port}: {exc}")
        return None
    # Stderr, not stdout: stdout is the access log. Tests read the port from this line.
    _write_line(sys.stderr, f"{name}: listening on {server.server_name}:{server.server_port}")
    return server


def argument_parser(prog: str, description: str, default_bind: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--port", type=int, required=True, help="TCP port (0: any free port)")
    parser.add_argument("--bind", default=default_bind, help=f"address (default {default_bind})")
    # The twin passes its prefix here so that every process it starts can be found by it.
    parser.add_argument("--label", help="ignored; marks the command line")
    return parser


class StandInHandler(TwinRequestHandler):
    """nginx's welcome page, naming the task that answered."""

    server_version = "nginx (fargate-api twin stand-in)"

    def reply(self) -> tuple[int, str, bytes]:
        task_id = os.environ.get("FA_TASK_ID", "")
        private_ip = os.environ.get("FA_PRIVATE_IP", "")
        if self.path.split("?", 1)[0] == WHOAMI_PATH:
            whoami = {
                "task_id": task_id or None,
                "private_ip": private_ip or None,
                "hostname": socket.gethostname(),
                "client_ip": self.client_ip,
                "x_forwarded_for": self.headers.get("X-Forwarded-For"),
                "host": self.headers.get("Host"),
                "path": self.path,
            }
            return 200, "application/json", (json.dumps(whoami) + "\n").encode()
        body = (
            "<!DOCTYPE html>\n<html>\n<head><title>Welcome to nginx!</title></head>\n<body>\n"
            "<h1>Welcome to nginx!</h1>\n"
            "<p>fargate-api local twin stand-in for the nginx image.</p>\n"
            f"<p>task={html.escape(task_id or '-')} ip={html.escape(private_ip or '-')}</p>\n"
            "</body>\n</html>\n"
        )
        return 200, "text/html", body.encode()


def run_server(
    handler: type[TwinRequestHandler], module: str, description: str, argv: Sequence[str] | None
) -> int:
    """The command line both small servers share: parse, listen, serve until SIGTERM."""
    parser = argument_parser(f"python -m fargate_api.twin.servers.{module}", description, "0.0.0.0")
    args = parser.parse_args(argv)
    server = listen(handler, args.bind, args.port, module)
    if server is None:
        return 1
    return serve(server)


def main(argv: Sequence[str] | None = None) -> int:
    return run_server(
        StandInHandler,
        "standin_server",
        "Stand-in for a stock web server image: HTTP 200 on every path.",
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
