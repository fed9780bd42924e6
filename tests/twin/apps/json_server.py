"""What the task servers of the twin tests share (apps/service_server.py,
apps/flaky_server.py, apps/release_server.py): a threading HTTP/1.1 server on the port
given as the only argument, answering JSON, that SIGTERM stops.

The servers run as scripts (`python apps/NAME.py PORT`), so their folder is on sys.path
and they import this module by its bare name.
"""

from __future__ import annotations

import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JsonHandler(BaseHTTPRequestHandler):
    """Keep-alive GETs answered by `answer` (status, JSON body); no log line per request
    (thousands of requests: the probe keeps the record)."""

    protocol_version = "HTTP/1.1"

    def answer(self) -> tuple[int, object]:
        raise NotImplementedError

    def do_GET(self) -> None:
        status, answer = self.answer()
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(handler: type[BaseHTTPRequestHandler]) -> None:
    """Serve ``handler`` on 0.0.0.0:<sys.argv[1]> until SIGTERM."""
    server = ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()
