"""A task's server for the twin tests: 200 everywhere, until told to fail its health check.

It answers 500 on every path while the file named by FLAKY_FAIL_DIR/<FA_TASK_ID> exists,
so a test can make exactly one task unhealthy from outside and watch the twin (the ALB
and the ECS scheduler) take it out and replace it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from json_server import JsonHandler, serve


class Handler(JsonHandler):
    def answer(self) -> tuple[int, object]:
        task = os.environ.get("FA_TASK_ID", "")
        failing = (Path(os.environ["FLAKY_FAIL_DIR"]) / task).exists()
        body = {"task": task, "ip": os.environ.get("FA_PRIVATE_IP")}
        return 500 if failing else 200, body

    def log_message(self, format: str, *args: object) -> None:
        sys.stdout.write(f"{self.address_string()} {format % args}\n")
        sys.stdout.flush()


def main() -> None:
    serve(Handler)


if __name__ == "__main__":
    main()
