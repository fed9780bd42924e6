"""A delaying TCP proxy inside a task's namespace: FIS's network latency without netem.

FIS's ``aws:ecs:task-network-latency`` puts ``tc netem`` on the task's interface, which
delays every packet the task sends. Where the kernel has no netem, the twin sends the
task's TCP through this proxy instead (fis/network_rules.py ``latency_redirect_ruleset``):

* outbound connections arrive by a ``nat`` redirect; ``SO_ORIGINAL_DST`` gives the real
  destination;
* inbound connections arrive by TPROXY on the same transparent socket; the accepted
  socket's own address is the real destination (``SO_ORIGINAL_DST`` says the same).

The proxy connects to the real destination with ``SO_MARK`` set, which the redirect
skips, and copies both ways keeping half-close. What the TASK sends (the replies of an
inbound connection, the requests of an outbound one) is held ``delay`` ms (± uniform
jitter, never reordered within a connection) before it is written, and a connection's
setup takes ``delay`` ms once: the same added time netem gives the task's SYN/SYN-ACK and
data. What the task receives passes at once, as netem on egress leaves ingress alone.

Usage: ``python -m fargate_api.twin.fis.delay_proxy --port P --delay-ms N
[--jitter-ms J] --mark M [--label TEXT]``. ``--port 0`` picks a free port. When the
proxy listens it prints ``ready port=P`` on stdout and closes it (the caller waits for
that line before redirecting anything); everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import socket
import struct
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from fargate_api.twin.servers.byte_pipe import (
    CHUNK,
    Connections,
    close_streams,
    half_close,
    pipe,
    reset,
)

MODULE = "fargate_api.twin.fis.delay_proxy"
SO_ORIGINAL_DST = 80  # linux/netfilter_ipv4.h
IP_TRANSPARENT = 19  # linux/in.h: accept TPROXY'd connections for any address
SO_MARK = 36  # linux/socket.h
CONNECT_TIMEOUT = 10.0
GRACE = 0.5  # seconds open connections get after SIGTERM
LISTEN_BACKLOG = 256
QUEUE_CHUNKS = 64  # held chunks per direction before the reader waits (backpressure)
_SOCKADDR_IN = struct.Struct("!2xH4s8x")  # family (skipped), port, address, padding

Address = tuple[str, int]


@dataclass(frozen=True)
class Delay:
    ms: float
    jitter_ms: float

    def sample(self, rng: random.Random) -> float:
        """One delay in seconds: ms ± uniform jitter, never below zero."""
        jitter = rng.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0
        return max(0.0, self.ms + jitter) / 1000.0


def parse_sockaddr_in(raw: bytes) -> Address:
    """(address, port) of a ``struct sockaddr_in`` as getsockopt returns it."""
    if len(raw) < _SOCKADDR_IN.size:
        raise ValueError(f"sockaddr_in needs {_SOCKADDR_IN.size} bytes, got {len(raw)}")
    port, packed = _SOCKADDR_IN.unpack_from(raw)
    return socket.inet_ntoa(packed), int(port)


def original_destination(sock: socket.socket) -> Address:
    """Where the client meant to connect: conntrack's original destination (a redirect
    rewrote it), or the socket's own address (TPROXY leaves it as it was)."""
    try:
        return parse_sockaddr_in(sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16))
    except (OSError, ValueError):
        host, port = sock.getsockname()[:2]
        return str(host), int(port)


def open_listener(port: int) -> socket.socket:
    """A transparent listening socket on every address: TPROXY needs IP_TRANSPARENT,
    and a redirect (to 127.0.0.1) reaches it too."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_IP, IP_TRANSPARENT, 1)
        sock.bind(("0.0.0.0", port))
        sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class DelayProxy:
    """Accepted connections, each relayed to its real destination with the task's side
    delayed."""

    def __init__(self, port: int, delay: Delay, mark: int, *, seed: int | None = None) -> None:
        self.port = port
        self.delay = delay
        self.mark = mark
        self._rng = random.Random(seed)
        self._connections = Connections()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._connections.tracking():
            up_writer: asyncio.StreamWriter | None = None
            try:
                sock: socket.socket = writer.get_extra_info("socket")
                destination = original_destination(sock)
                local_port = int(sock.getsockname()[1])
                peer = writer.get_extra_info("peername")
                # A redirected (outbound) connection arrives on the proxy's own port; a
                # TPROXY'd (inbound) one keeps the task's port as its local address.
                inbound = local_port != self.port
                if destination[1] == self.port and not inbound:
                    _say(f"{peer}: no original destination (not redirected here); refused")
                    writer.transport.abort()
                    return
                await asyncio.sleep(self.delay.sample(self._rng))  # the delayed SYN / SYN-ACK
                upstream = await self._connect(destination)
                if upstream is None:
                    writer.transport.abort()  # a reset, as the real destination gave
                    return
                up_reader, up_writer = upstream
                if inbound:  # the task is the server: what comes back is what it sends
                    pipes = (
                        pipe(reader, up_writer, writer),
                        self._delayed_pipe(up_reader, writer, up_writer),
                    )
                else:  # the task is the client: what it sends goes out
                    pipes = (
                        self._delayed_pipe(reader, up_writer, writer),
                        pipe(up_reader, writer, up_writer),
                    )
                await asyncio.gather(*pipes)
            except OSError as exc:
                _say(f"connection failed: {exc}")
            finally:
                close_streams(writer, up_writer)

    async def _connect(
        self, destination: Address
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            # The redirect skips marked packets: without it, this would come back here.
            sock.setsockopt(socket.SOL_SOCKET, SO_MARK, self.mark)
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            await asyncio.wait_for(loop.sock_connect(sock, destination), CONNECT_TIMEOUT)
            return await asyncio.open_connection(sock=sock)
        except (OSError, TimeoutError) as exc:
            sock.close()
            _say(f"{destination[0]}:{destination[1]}: {type(exc).__name__}: {exc or 'timed out'}")
            return None

    async def _delayed_pipe(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        source_writer: asyncio.StreamWriter,
    ) -> None:
        """Copies like ``byte_pipe.pipe``, each chunk (and the EOF) released ``delay`` after it
        was read, in order: a chunk never leaves before the one read before it."""
        held: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(QUEUE_CHUNKS)

        async def read() -> None:
            release = 0.0
            try:
                while True:
                    data = await source.read(CHUNK)
                    release = max(release, time.monotonic() + self.delay.sample(self._rng))
                    await held.put((release, data))
                    if not data:
                        return
            except OSError:
                await held.put((0.0, b""))
                reset(sink, source_writer)

        async def write() -> None:
            try:
                while True:
                    release, data = await held.get()
                    wait = release - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    if not data:
                        half_close(sink)
                        return
                    sink.write(data)
                    await sink.drain()
            except OSError:
                reset(sink, source_writer)

        reader = asyncio.ensure_future(read())
        try:
            await write()
        finally:
            if not reader.done():
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader

    async def drain(self, grace: float) -> None:
        await self._connections.drain(grace)


def _say(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(f"delay-proxy: {message}", file=sys.stderr, flush=True)


def _announce(port: int) -> None:
    """``ready port=P`` on stdout, then stdout closed (pointed at stderr): the caller
    reads one line from a pipe and must never block a proxy that logs later."""
    with contextlib.suppress(OSError, ValueError):
        print(f"ready port={port}", flush=True)
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())


async def run(port: int, delay: Delay, mark: int, grace: float = GRACE) -> int:
    """Relays until SIGTERM or SIGINT; returns the exit code."""
    listener = open_listener(port)
    bound = int(listener.getsockname()[1])
    proxy = DelayProxy(bound, delay, mark)
    server = await asyncio.start_server(proxy.handle, sock=listener, backlog=LISTEN_BACKLOG)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    _say(f"listening on port {bound}: +{delay.ms:g} ms ± {delay.jitter_ms:g} ms, mark {mark:#x}")
    _announce(bound)
    await stop.wait()
    server.close()
    await proxy.drain(grace)
    _say("stopped")
    return 0


def _mark(text: str) -> int:
    value = int(text, 0)
    if not 0 < value <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError(f"mark {text} is outside 1-0xffffffff")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description="Delaying TCP proxy for redirected (and TPROXY'd) connections.",
    )
    parser.add_argument("--port", type=int, required=True, help="port to listen on; 0: any")
    parser.add_argument("--delay-ms", type=float, required=True)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--mark", type=_mark, required=True, help="SO_MARK of its connections")
    parser.add_argument("--grace", type=float, default=GRACE, help="seconds after SIGTERM")
    parser.add_argument("--label", help="ignored; marks the command line")
    args = parser.parse_args(argv)
    if args.delay_ms < 0 or args.jitter_ms < 0:
        parser.error("--delay-ms and --jitter-ms cannot be negative")
    try:
        return asyncio.run(
            run(args.port, Delay(args.delay_ms, args.jitter_ms), args.mark, args.grace)
        )
    except OSError as exc:
        _say(str(exc))
        return 1


if __name__ == "__main__":
    sys.exit(main())
