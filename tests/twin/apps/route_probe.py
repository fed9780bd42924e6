"""Steady load over several routes that remembers which service answered each request.

Run inside the twin's internet namespace: `route_probe.py SECONDS OUT.jsonl ROUTE...`,
each ROUTE `URL` or `URL@HOST` (the Host header to send, e.g. a host-header rule's name,
to an address URL). Each route gets WORKERS keep-alive connections. Each record is
[route index, status, service, task] (status 0: the connection failed); service and task
come from apps/service_server.py's JSON answers ("" for another answer, such as the
listener's fixed response). SIGTERM ends it early.
"""

from __future__ import annotations

import http.client
import json
import signal
import sys
import threading
import time
from urllib.parse import urlsplit

WORKERS = 2
TIMEOUT = 5.0
STOP = threading.Event()

Record = tuple[int, int, str, str]


def _worker(index: int, route: str, until: float, out: list[Record]) -> None:
    url, _, host = route.partition("@")
    parts = urlsplit(url)
    headers = {"Host": host} if host else {}
    connection: http.client.HTTPConnection | None = None
    while time.monotonic() < until and not STOP.is_set():
        try:
            if connection is None:
                connection = http.client.HTTPConnection(
                    parts.hostname or "", parts.port or 80, timeout=TIMEOUT
                )
            connection.request("GET", parts.path or "/", headers=headers)
            response = connection.getresponse()
            body = response.read()
            try:
                answer = json.loads(body)
                service, task = str(answer.get("service", "")), str(answer.get("task", ""))
            except (ValueError, AttributeError):
                service, task = "", ""
            out.append((index, response.status, service, task))
        except (OSError, http.client.HTTPException):
            out.append((index, 0, "", ""))
            if connection is not None:
                connection.close()
            connection = None
            time.sleep(0.05)


def main() -> None:
    seconds, path, routes = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    until = time.monotonic() + seconds
    records: list[Record] = []
    threads = [
        threading.Thread(target=_worker, args=(i, route, until, records))
        for i, route in enumerate(routes)
        for _ in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with open(path, "w") as out:
        for record in records:
            out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
