"""Steady load over several routes that remembers which service answered each request.

Run inside the twin's internet namespace: `route_probe.py SECONDS OUT.jsonl ROUTE...`,
each ROUTE `URL` or `URL@HOST` (the Host header to send, e.g. a host-header rule's name,
to an address URL). Each route gets WORKERS keep-alive connections. Each record is
[route index, status, service, task] (status 0: the connection failed); service and task
come from apps/service_server.py's JSON answers ("" for another answer, such as the
listener's fixed response). SIGTERM ends it early.
"""

from __future__ import annotations

import json

from load_probe import answers, run

WORKERS = 2

Record = tuple[int, int, str, str]


def _worker(index: int, route: str, until: float, out: list[Record]) -> None:
    url, _, host = route.partition("@")
    headers = {"Host": host} if host else {}
    for _sent, status, body in answers(url, until, headers):
        service, task = _served_by(body) if status else ("", "")
        out.append((index, status, service, task))


def _served_by(body: bytes) -> tuple[str, str]:
    try:
        answer = json.loads(body)
        return str(answer.get("service", "")), str(answer.get("task", ""))
    except (ValueError, AttributeError):
        return "", ""


def main() -> None:
    run(_worker, WORKERS, ordered=False)


if __name__ == "__main__":
    main()
