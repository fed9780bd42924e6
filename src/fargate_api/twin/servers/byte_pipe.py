"""Copying a TCP connection's bytes between two asyncio streams, for the twin's relays.

The forwarder (servers/forwarder.py) and fault injection's delaying proxy
(fis/delay_proxy.py) both sit in the middle of a client's connection and must look to
each side like the other end: an EOF is passed on as a half-close (a client that shuts
down its sending side still gets the reply), and a broken side is passed on as a reset,
not left waiting for data forever. Both also let open connections finish for a grace
period on SIGTERM. Kept to the standard library: each runs as ``python -m`` in a
namespace of the twin.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

CHUNK = 64 * 1024


def half_close(sink: asyncio.StreamWriter) -> None:
    """Passes an EOF on, unless the sink is already going away."""
    if sink.can_write_eof() and not sink.transport.is_closing():
        sink.write_eof()


def reset(sink: asyncio.StreamWriter, source_writer: asyncio.StreamWriter) -> None:
    """One side broke: the other must learn it (a reset), not wait for data forever."""
    sink.transport.abort()
    source_writer.transport.abort()


async def pipe(
    source: asyncio.StreamReader, sink: asyncio.StreamWriter, source_writer: asyncio.StreamWriter
) -> None:
    """Copies until EOF, then half-closes the sink; on an error, resets both sides."""
    try:
        while data := await source.read(CHUNK):
            sink.write(data)
            await sink.drain()
        half_close(sink)
    except OSError:
        reset(sink, source_writer)


class Connections:
    """The handler tasks of open connections, so that a SIGTERM can let them finish."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()

    @contextlib.contextmanager
    def tracking(self) -> Iterator[None]:
        """Counts the current task as an open connection while the block runs."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def drain(self, grace: float) -> None:
        """Gives open connections ``grace`` seconds, then cuts the rest."""
        pending = set(self._tasks)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)


def close_streams(*streams: asyncio.StreamWriter | None) -> None:
    """Closes both ends of a relayed connection (an end never opened is None)."""
    for stream in streams:
        if stream is not None:
            stream.close()
