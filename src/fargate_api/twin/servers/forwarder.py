"""A TCP forwarder that crosses network namespaces: a listening socket in one, the
outgoing connections in another.

The twin's namespaces are not reachable from the host's own network, yet a user wants
``curl http://127.0.0.1:8080/`` to reach the twin's load balancer as the internet would.
The parent creates the listening socket in its own namespace (``open_listener``) and
starts this forwarder inside the twin's internet namespace (``ip netns exec``) with the
socket inherited (``pass_fds``): a socket stays in the namespace it was created in, so
the forwarder accepts on the host and connects from the internet, where its packets
cross the internet gateway like any client's.

Targets are used round-robin, like DNS answers for an ALB's nodes; a target that
refuses (or times out) is skipped for the next one, as a browser retries another
address. Bytes are copied both ways with half-close kept: a client that shuts down its
sending side still gets the reply.

Usage: ``python -m fargate_api.twin.servers.forwarder (--listen-fd FD | --listen ADDR:PORT)
--target IP:PORT [--target IP:PORT ...] [--source ADDR] [--grace SECONDS]
[--label TEXT]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
from asyncio import trsock
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from fargate_api.twin.servers.byte_pipe import Connections, close_streams, pipe

MODULE = "fargate_api.twin.servers.forwarder"
CONNECT_TIMEOUT = 5.0  # seconds before a silent target is skipped
GRACE = 2.0  # seconds open connections get to finish after SIGTERM
LISTEN_BACKLOG = 128

Host = str | IPv4Address | IPv6Address


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_endpoint(text: str) -> Endpoint:
    """``IP:PORT`` or ``[IPv6]:PORT``; raises ValueError with the offending text."""
    host, sep, port_text = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r} is not ADDRESS:PORT")
    return Endpoint(host, int(port_text))


def open_listener(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket the forwarder can inherit (pass its fileno() in pass_fds).

    The socket belongs to the namespace of the process that calls this. After starting
    the forwarder, close the parent's copy: while it stays open the port keeps accepting
    into a backlog nobody reads once the forwarder has exited.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def forwarder_command(
    python: str,
    fd: int,
    targets: Iterable[tuple[Host, int]],
    source: Host | None = None,
    *,
    label: str | None = None,
) -> list[str]:
    """The forwarder's command line; wrap it in ``host.in_netns`` to run it elsewhere.

    ``label`` only shows on the command line: a twin passes its prefix so that a sweep by
    command line finds the forwarder.
    """
    endpoints = [Endpoint(str(target_host), int(port)) for target_host, port in targets]
    if not endpoints:
        raise ValueError("a forwarder needs at least one target")
    command = [python, "-m", MODULE, "--listen-fd", str(fd)]
    for endpoint in endpoints:
        command += ["--target", str(endpoint)]
    if source is not None:
        command += ["--source", str(source)]
    if label:
        command += ["--label", label]
    return command


class Forwarder:
    """Accepted connections, each copied to the next target that accepts."""

    def __init__(
        self,
        targets: Sequence[Endpoint],
        source: str | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        if not targets:
            raise ValueError("a forwarder needs at least one target")
        self._targets = tuple(targets)
        self._source = source
        self._connect_timeout = connect_timeout
        self._next = 0
        self._connections = Connections()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._connections.tracking():
            up_writer: asyncio.StreamWriter | None = None
            try:
                upstream = await self._connect()
                if upstream is None:
                    writer.transport.abort()  # a reset, as when nobody listens
                    return
                up_reader, up_writer = upstream
                await asyncio.gather(
                    pipe(reader, up_writer, writer), pipe(up_reader, writer, up_writer)
                )
            finally:
                close_streams(writer, up_writer)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        count = len(self._targets)
        first = self._next
        self._next = (self._next + 1) % count
        local_addr = (self._source, 0) if self._source else None
        for offset in range(count):
            target = self._targets[(first + offset) % count]
            try:
                return await asyncio.wait_for(
                    asyncio.open_connection(target.host, target.port, local_addr=local_addr),
                    self._connect_timeout,
                )
            except (OSError, TimeoutError) as exc:
                _say(f"target {target}: {type(exc).__name__}: {exc or 'timed out'}")
        return None

    async def drain(self, grace: float) -> None:
        await self._connections.drain(grace)


def _say(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(f"forwarder: {message}", file=sys.stderr, flush=True)


def _inherited_listener(fd: int) -> socket.socket:
    sock = socket.socket(fileno=fd)
    if sock.type != socket.SOCK_STREAM or not sock.getsockopt(
        socket.SOL_SOCKET, socket.SO_ACCEPTCONN
    ):
        sock.detach()
        raise ValueError(f"file descriptor {fd} is not a listening TCP socket")
    return sock


async def run(
    listener: socket.socket | Endpoint,
    targets: Sequence[Endpoint],
    source: str | None = None,
    grace: float = GRACE,
) -> int:
    """Forwards until SIGTERM or SIGINT; returns the exit code."""
    forwarder = Forwarder(targets, source)
    if isinstance(listener, socket.socket):
        server = await asyncio.start_server(forwarder.handle, sock=listener, backlog=LISTEN_BACKLOG)
    else:
        server = await asyncio.start_server(
            forwarder.handle,
            listener.host,
            listener.port,
            reuse_address=True,
            backlog=LISTEN_BACKLOG,
        )
    names = ", ".join(_sockname(sock) for sock in server.sockets)
    _say(f"listening on {names} -> {', '.join(str(target) for target in targets)}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()  # stop accepting first, then let open connections finish
    await forwarder.drain(grace)
    return 0


def _sockname(sock: socket.socket | trsock.TransportSocket) -> str:
    host, port = sock.getsockname()[:2]
    return str(Endpoint(str(host), int(port)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description="TCP forwarder: accept on one socket, connect round-robin to targets.",
    )
    listen = parser.add_mutually_exclusive_group(required=True)
    listen.add_argument("--listen-fd", type=int, help="inherited listening socket")
    listen.add_argument("--listen", type=parse_endpoint, help="ADDRESS:PORT to listen on")
    parser.add_argument("--target", type=parse_endpoint, action="append", required=True)
    parser.add_argument("--source", help="source address of outgoing connections")
    parser.add_argument("--grace", type=float, default=GRACE, help="seconds after SIGTERM")
    parser.add_argument("--label", help="ignored; marks the command line")
    args = parser.parse_args(argv)
    try:
        listener: socket.socket | Endpoint = (
            _inherited_listener(args.listen_fd) if args.listen_fd is not None else args.listen
        )
        return asyncio.run(run(listener, args.target, args.source, args.grace))
    except (OSError, ValueError) as exc:
        _say(str(exc))
        return 1


if __name__ == "__main__":
    sys.exit(main())
