"""What the twin tests' probes share (apps/probe.py, apps/route_probe.py): keep-alive GET
loops, several threads per target, until a deadline or SIGTERM, then one JSON line per
record.

The probes run as scripts (`python apps/NAME.py SECONDS OUT.jsonl TARGET...`), so their
folder is on sys.path and they import this module by its bare name.
"""

from __future__ import annotations

import http.client
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

TIMEOUT = 5.0
STOP = threading.Event()


def answers(
    url: str, until: float, headers: Mapping[str, str] | None = None
) -> Iterator[tuple[float, int, bytes]]:
    """(sent, status, body) for each GET of ``url`` over one keep-alive connection, until
    ``until`` (time.monotonic) or SIGTERM. ``sent`` is when the request was sent (epoch
    seconds); a connection error gives status 0 and an empty body, and the next request
    opens a new connection after a short pause."""
    parts = urlsplit(url)
    connection: http.client.HTTPConnection | None = None
    while time.monotonic() < until and not STOP.is_set():
        sent = time.time()
        try:
            if connection is None:
                connection = http.client.HTTPConnection(
                    parts.hostname or "", parts.port or 80, timeout=TIMEOUT
                )
            connection.request("GET", parts.path or "/", headers=dict(headers or {}))
            response = connection.getresponse()
            status, body = response.status, response.read()
        except (OSError, http.client.HTTPException):
            status, body = 0, b""
        yield sent, status, body
        if status == 0:
            if connection is not None:
                connection.close()
            connection = None
            time.sleep(0.05)


def run(
    worker: Callable[[int, str, float, list[Any]], None], workers: int, *, ordered: bool
) -> None:
    """The probe's command line: ``SECONDS OUT.jsonl TARGET...``. Runs ``workers`` threads
    of ``worker(index, target, until, records)`` per target, then writes ``records`` to
    OUT.jsonl, one JSON line each (sorted when ``ordered``)."""
    seconds, path, targets = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    until = time.monotonic() + seconds
    records: list[Any] = []
    threads = [
        threading.Thread(target=worker, args=(i, target, until, records))
        for i, target in enumerate(targets)
        for _ in range(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with open(path, "w") as out:
        for record in sorted(records) if ordered else records:
            out.write(json.dumps(record) + "\n")
