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

import json
import time

from load_probe import answers, run

WORKERS = 3

Record = tuple[float, int, int, str, float]


def _worker(index: int, url: str, until: float, out: list[Record]) -> None:
    for sent, status, body in answers(url, until):
        out.append((time.time(), index, status, _release(body) if status else "", sent))


def _release(body: bytes) -> str:
    try:
        return str(json.loads(body).get("release", ""))
    except ValueError:
        return ""


def main() -> None:
    run(_worker, WORKERS, ordered=True)


if __name__ == "__main__":
    main()
