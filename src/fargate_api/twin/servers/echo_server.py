"""The twin internet's "what is my IP" service, like checkip.amazonaws.com.

A task's egress goes through a NAT gateway on AWS, so the address a server on the
internet sees is the NAT gateway's Elastic IP, not the task's private address. This
service lives in the twin's internet namespace and answers with the source address it
sees, which lets a test (or a curious user) check that egress was NATed as the templates
say: ``curl http://<echo address>/`` from inside a task prints the NAT's public address.

``GET /`` (any path) answers the address as plain text with a trailing newline;
``/json`` answers ``{"ip": "..."}``.

Usage: ``python -m fargate_api.twin.servers.echo_server --bind ADDR --port N``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from fargate_api.twin.servers.standin_server import TwinRequestHandler, run_server

JSON_PATH = "/json"


class EchoHandler(TwinRequestHandler):
    """Answers with the client's source address."""

    server_version = "fargate-api-twin-checkip"

    def reply(self) -> tuple[int, str, bytes]:
        if self.path.split("?", 1)[0] == JSON_PATH:
            return 200, "application/json", (json.dumps({"ip": self.client_ip}) + "\n").encode()
        return 200, "text/plain; charset=utf-8", f"{self.client_ip}\n".encode()


def main(argv: Sequence[str] | None = None) -> int:
    return run_server(
        EchoHandler,
        "echo_server",
        "What-is-my-IP service: answers the client's source address.",
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
