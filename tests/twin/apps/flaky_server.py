"""A task's server for the twin tests: 200 everywhere, until told to fail its health check.

It answers 500 on every path while the file named by FLAKY_FAIL_DIR/<FA_TASK_ID> exists,
so a test can make exactly one task unhealthy from outside and watch the twin (the ALB
and the ECS scheduler) take it out and replace it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        task = os.environ.get("FA_TASK_ID", "")
        failing = (Path(os.environ["FLAKY_FAIL_DIR"]) / task).exists()
        body = json.dumps({"task": task, "ip": os.environ.get("FA_PRIVATE_IP")}).encode()
        self.send_response(500 if failing else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        sys.stdout.write(f"{self.address_string()} {format % args}\n")
        sys.stdout.flush()


def main() -> None:
    server = ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main()
