"""A task's server for the deployment tests: says which release answered, and can be a
bad release that passes its health check but fails real requests.

Every answer is JSON {"release": $RELEASE}. With FAIL_EVERY=N, every N-th request to a
path other than the health check answers 500: a revision that looks healthy to the load
balancer and still fails 1/N of its users, which only an alarm on the 5xx rate catches.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HEALTH_PATH = "/health"
_COUNT = itertools.count(1)
_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        release = os.environ.get("RELEASE", "")
        every = int(os.environ.get("FAIL_EVERY", "0"))
        status = 200
        if every and self.path != HEALTH_PATH:
            with _LOCK:
                number = next(_COUNT)
            status = 500 if number % every == 0 else 200
        body = json.dumps({"release": release}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # thousands of requests: the test reads the probe's record instead


def main() -> None:
    server = ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main()
