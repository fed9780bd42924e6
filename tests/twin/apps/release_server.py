"""A task's server for the deployment tests: says which release answered, and can be a
bad release that passes its health check but fails real requests.

Every answer is JSON {"release": $RELEASE}. With FAIL_EVERY=N, every N-th request to a
path other than the health check answers 500: a revision that looks healthy to the load
balancer and still fails 1/N of its users, which only an alarm on the 5xx rate catches.
"""

from __future__ import annotations

import itertools
import os
import threading

from json_server import JsonHandler, serve

HEALTH_PATH = "/health"
_COUNT = itertools.count(1)
_LOCK = threading.Lock()


class Handler(JsonHandler):
    def answer(self) -> tuple[int, object]:
        release = os.environ.get("RELEASE", "")
        every = int(os.environ.get("FAIL_EVERY", "0"))
        status = 200
        if every and self.path != HEALTH_PATH:
            with _LOCK:
                number = next(_COUNT)
            status = 500 if number % every == 0 else 200
        return status, {"release": release}


def main() -> None:
    serve(Handler)


if __name__ == "__main__":
    main()
