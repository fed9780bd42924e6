"""A task's server for the several-services tests: says which service and task answered.

Every answer is JSON {"service": $SERVICE (else the container's name), "task": the twin's
task id, "path": the request path, "host": the Host header}, so that a probe from the
internet host can check each request reached the service its listener rule names.
"""

from __future__ import annotations

import os

from json_server import JsonHandler, serve


class Handler(JsonHandler):
    def answer(self) -> tuple[int, object]:
        body = {
            "service": os.environ.get("SERVICE") or os.environ.get("ECS_CONTAINER_NAME", ""),
            "task": os.environ.get("FA_TASK_ID", ""),
            "path": self.path,
            "host": self.headers.get("Host", ""),
        }
        return 200, body


def main() -> None:
    serve(Handler)


if __name__ == "__main__":
    main()
