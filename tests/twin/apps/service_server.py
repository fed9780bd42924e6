"""A task's server for the several-services tests: says which service and task answered.

Every answer is JSON {"service": $SERVICE (else the container's name), "task": the twin's
task id, "path": the request path, "host": the Host header}, so that a probe from the
internet host can check each request reached the service its listener rule names.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        answer = {
            "service": os.environ.get("SERVICE") or os.environ.get("ECS_CONTAINER_NAME", ""),
            "task": os.environ.get("FA_TASK_ID", ""),
            "path": self.path,
            "host": self.headers.get("Host", ""),
        }
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # thousands of requests: the probe keeps the record


def main() -> None:
    server = ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    main()
