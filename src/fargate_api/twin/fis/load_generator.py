"""Open-loop HTTP load from the twin's internet host, run inside the CLI process.

Each request is due at a fixed time (start + i / rate), whether or not the earlier ones
answered: a closed loop (wrk, ab) slows down when the service does, and so under-counts
exactly the failures an outage causes. A request is timed from when it was due, so a
client that could only send it late still pays for the wait.

The sockets are made inside the internet namespace and used from any thread: a socket
belongs to the namespace it was created in (netns_socket.inside), so one thread lives in
that namespace and hands out sockets, and the rest of this process never leaves its own.
Every connection is plain HTTP/1.1 with `Connection: close` (or TLS with the twin's CA
when the load balancer's first listener is HTTPS), to one of the load balancer's
addresses in turn, as a browser resolving the ALB's DNS name each time would.
"""

from __future__ import annotations

import errno
import itertools
import queue
import random
import socket
import ssl
import struct
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from fargate_api.twin.fis.experiment_contracts import RequestSample
from fargate_api.twin.host.netns_socket import inside

MAX_ANSWER = 1 << 20
SOCKET_WAIT = 5.0
DNS_PORT = 53


class NamespaceSockets:
    """Sockets of one network namespace, for any thread: a thread that stays in the
    namespace creates them on request."""

    def __init__(self, netns: str) -> None:
        self.netns = netns
        self._requests: queue.Queue[tuple[int, Future[socket.socket]] | None] = queue.Queue()
        self._ready = threading.Event()
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._serve, name=f"sockets-{netns}", daemon=True)
        self._thread.start()
        self._ready.wait(SOCKET_WAIT)
        if self._error is not None:
            raise self._error

    def _serve(self) -> None:
        try:
            with inside(self.netns):
                self._ready.set()
                while (item := self._requests.get()) is not None:
                    kind, future = item
                    try:
                        future.set_result(socket.socket(socket.AF_INET, kind))
                    except OSError as exc:
                        future.set_exception(exc)
        except OSError as exc:
            self._error = exc
            self._ready.set()

    def socket(self, kind: int = socket.SOCK_STREAM) -> socket.socket:
        future: Future[socket.socket] = Future()
        self._requests.put((kind, future))
        return future.result(timeout=SOCKET_WAIT)

    def close(self) -> None:
        self._requests.put(None)
        self._thread.join(SOCKET_WAIT)


@dataclass(frozen=True)
class Endpoint:
    """How to talk to the load balancer: scheme, port, the Host header (and TLS server
    name), and the CA bundle that signed an HTTPS listener's certificate."""

    scheme: str = "http"
    port: int = 80
    host: str = ""
    ca_file: str | None = None


def describe_error(exc: BaseException) -> str:
    """A failure in the words a load test report uses, so that they can be counted."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError):
        return "connection reset"
    if isinstance(exc, ssl.SSLError):
        return f"tls: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "no route to host"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def http_get(
    sock: socket.socket, address: str, endpoint: Endpoint, path: str, timeout: float
) -> tuple[int, bytes]:
    """One GET on a fresh socket; the answer's status and body. Raises OSError (or
    ValueError for an answer that is not HTTP)."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    conn: socket.socket = sock
    try:
        sock.connect((address, endpoint.port))
        if endpoint.scheme == "https":
            context = ssl.create_default_context(cafile=endpoint.ca_file)
            conn = context.wrap_socket(sock, server_hostname=endpoint.host or None)
        host = endpoint.host or address
        conn.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
            "User-Agent: fargate-api-experiment\r\nAccept: */*\r\n\r\n".encode()
        )
        chunks = []
        size = 0
        while size < MAX_ANSWER:
            conn.settimeout(max(0.001, deadline - time.monotonic()))
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        conn.close()
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/"):
        raise ValueError("not an HTTP answer")
    return int(status_line[1]), body


def resolve_a(sockets: NamespaceSockets, name: str, server: str, timeout: float = 0.5) -> list[str]:
    """The A records a resolver answers for `name` (one UDP query, no cache): how the
    load follows the ALB's DNS name as Route 53 drops a failed node's address."""
    query_id = random.randint(0, 0xFFFF)
    question = b"".join(
        bytes([len(label)]) + label.encode() for label in name.rstrip(".").split(".")
    )
    packet = struct.pack(">HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + question + b"\0"
    packet += struct.pack(">HH", 1, 1)
    sock = sockets.socket(socket.SOCK_DGRAM)
    try:
        sock.settimeout(timeout)
        sock.sendto(packet, (server, DNS_PORT))
        answer = sock.recv(4096)
    finally:
        sock.close()
    return _a_records(answer, query_id)


def _a_records(answer: bytes, query_id: int) -> list[str]:
    if len(answer) < 12:
        raise ValueError("short DNS answer")
    got_id, flags, questions, answers = struct.unpack(">HHHH", answer[:8])
    if got_id != query_id or flags & 0x000F not in (0, 3):
        raise ValueError(f"DNS answer with rcode {flags & 0x000F}")
    offset = 12
    for _ in range(questions):
        offset = _skip_name(answer, offset) + 4
    found = []
    for _ in range(answers):
        offset = _skip_name(answer, offset)
        kind, _cls, _ttl, length = struct.unpack(">HHIH", answer[offset : offset + 10])
        offset += 10
        if kind == 1 and length == 4:
            found.append(socket.inet_ntoa(answer[offset : offset + 4]))
        offset += length
    return found


def _skip_name(data: bytes, offset: int) -> int:
    while True:
        length = data[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:
            return offset + 2
        offset += 1 + length


class LoadGenerator:
    """`rate` GETs a second for `duration` seconds, each on its own connection; the
    targets can change while it runs (set_targets), as DNS answers do."""

    def __init__(
        self,
        sockets: NamespaceSockets,
        endpoint: Endpoint,
        *,
        path: str,
        rate: float,
        duration: float,
        timeout: float,
    ) -> None:
        self.sockets = sockets
        self.endpoint = endpoint
        self.path = path
        self.rate = rate
        self.duration = duration
        self.timeout = timeout
        self._targets: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self._samples: list[RequestSample] = []
        self._stop = threading.Event()
        self._rotation = itertools.count()
        workers = min(1024, int(rate * (timeout + 1)) + 8)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="load")
        self._thread = threading.Thread(target=self._schedule, name="load-schedule", daemon=True)
        self._start = 0.0

    def set_targets(self, addresses: Sequence[str]) -> None:
        with self._lock:
            self._targets = tuple(addresses)

    def start(self, start: float) -> None:
        """Starts at `start` (time.monotonic()), the experiment's t = 0."""
        self._start = start
        self._thread.start()

    def _schedule(self) -> None:
        total = int(self.rate * self.duration)
        for index in range(total):
            due = self._start + index / self.rate
            delay = due - time.monotonic()
            if self._stop.wait(max(0.0, delay)):
                return
            self._pool.submit(self._one, due)

    def _one(self, due: float) -> None:
        with self._lock:
            targets = self._targets
        t = round(due - self._start, 3)
        if not targets:
            self._record(RequestSample(t=t, latency_ms=0.0, ok=False, error="no address"))
            return
        address = targets[next(self._rotation) % len(targets)]
        try:
            status, _ = http_get(
                self.sockets.socket(), address, self.endpoint, self.path, self.timeout
            )
        except (OSError, ValueError) as exc:
            latency = round((time.monotonic() - due) * 1000, 2)
            self._record(
                RequestSample(
                    t=t, latency_ms=latency, ok=False, error=describe_error(exc), target=address
                )
            )
            return
        latency = round((time.monotonic() - due) * 1000, 2)
        self._record(
            RequestSample(
                t=t,
                latency_ms=latency,
                ok=200 <= status < 400,
                status=status,
                error=None if 200 <= status < 400 else f"HTTP {status}",
                target=address,
            )
        )

    def _record(self, sample: RequestSample) -> None:
        with self._lock:
            self._samples.append(sample)

    def samples(self) -> list[RequestSample]:
        with self._lock:
            return sorted(self._samples, key=lambda s: s.t)

    def done(self) -> bool:
        return not self._thread.is_alive()

    def stop(self) -> None:
        """No new requests; those in flight end within their timeout."""
        self._stop.set()

    def wait(self, timeout: float) -> None:
        self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)
