"""Steady load that remembers every answer: when, which listener, status, which release,
and when its request was sent.

wrk counts failures; the deployment tests also need to know which revision answered
each request and when, to measure a canary's share or a test listener's isolation. Run
inside the twin's internet namespace: `probe.py SECONDS OUT.jsonl URL [URL...]`; each
URL gets WORKERS keep-alive connections. A connection error is recorded as status 0.
Each record is [answered, url index, status, release, sent] (epoch seconds): the send
time orders requests by when the load balancer routed them, which answer times do not
(a slow answer can arrive after a later request's).
SIGTERM ends it early; the record is written either way.
"""

from __future__ import annotations

import http.client
import json
import signal
import sys
import threading
import time
from urllib.parse import urlsplit

WORKERS = 3
TIMEOUT = 5.0


STOP = threading.Event()


Record = tuple[float, int, int, str, float]


def _worker(index: int, url: str, until: float, out: list[Record]) -> None:
    parts = urlsplit(url)
    connection: http.client.HTTPConnection | None = None
    while time.monotonic() < until and not STOP.is_set():
        sent = time.time()
        try:
            if connection is None:
                connection = http.client.HTTPConnection(
                    parts.hostname or "", parts.port or 80, timeout=TIMEOUT
                )
            connection.request("GET", parts.path or "/")
            response = connection.getresponse()
            body = response.read()
            try:
                release = str(json.loads(body).get("release", ""))
            except ValueError:
                release = ""
            out.append((time.time(), index, response.status, release, sent))
        except (OSError, http.client.HTTPException):
            out.append((time.time(), index, 0, "", sent))
            if connection is not None:
                connection.close()
            connection = None
            time.sleep(0.05)


def main() -> None:
    seconds, path, urls = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
    signal.signal(signal.SIGTERM, lambda *_: STOP.set())
    until = time.monotonic() + seconds
    records: list[Record] = []
    threads = [
        threading.Thread(target=_worker, args=(i, url, until, records))
        for i, url in enumerate(urls)
        for _ in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with open(path, "w") as out:
        for record in sorted(records):
            out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
