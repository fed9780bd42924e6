"""Runs the app under uvicorn with the timeouts a task behind an ALB needs.

* ``keep_alive`` (default 75 s) must exceed the load balancer's idle timeout (ALB
  default 60 s; fargate-api's default 30 s): the ALB then always closes an idle
  connection first. The other way round, uvicorn may close a connection at the moment
  the ALB sends a new request on it, and the client gets a 502.
* ``graceful_timeout`` (default 20 s) bounds the shutdown after SIGTERM: uvicorn stops
  listening, lets in-flight requests finish for at most that long, cancels the rest, runs
  the lifespan shutdown and exits 0. It must stay below the task's stopTimeout (ECS's
  SIGKILL), with a margin for the lifespan shutdown.

One process per task: Fargate scales by adding tasks, and a single process shuts down
and reports health as one unit.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType

import uvicorn

from fargate_example_api import jsonlog
from fargate_example_api.app import create_app
from fargate_example_api.settings import Settings

DEFAULT_PORT = 8080
DEFAULT_KEEP_ALIVE = 75
DEFAULT_GRACEFUL_TIMEOUT = 20
HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT)

log = logging.getLogger(jsonlog.LOGGER)


def build_server(
    *,
    host: str = "0.0.0.0",
    port: int = DEFAULT_PORT,
    keep_alive: int = DEFAULT_KEEP_ALIVE,
    graceful_timeout: int = DEFAULT_GRACEFUL_TIMEOUT,
    log_level: str = "info",
    settings: Settings | None = None,
) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        workers=None,
        lifespan="on",  # a failing start-up is fatal, not ignored
        timeout_keep_alive=keep_alive,
        timeout_graceful_shutdown=graceful_timeout,
        log_config=jsonlog.logging_config(log_level),
        log_level=log_level,
        access_log=False,  # AccessLogMiddleware writes the access log as JSON
        # Behind the ALB: the client's address comes from X-Forwarded-For. Only the ALB
        # can reach a task (its security group), so every peer is a trusted proxy.
        proxy_headers=True,
        forwarded_allow_ips="*",
        server_header=False,
    )
    return uvicorn.Server(config)


def serve(server: uvicorn.Server) -> int:
    """Runs until SIGTERM or SIGINT, then shuts down gracefully; the exit status.

    uvicorn re-raises the signal it caught once it has shut down, so that the previous
    handler runs; with Python's default handler the process would then die of SIGTERM
    (exit 143, which ECS shows as a kill). A no-op handler here makes a graceful stop
    exit 0.
    """
    received: list[int] = []

    def note(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, note) for sig in HANDLED_SIGNALS}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not server.started:
        return 1  # the lifespan start-up failed (logged); a failed bind exits 3 in run()
    if received:
        log.info("exited after %s", signal.Signals(received[0]).name, extra={"exit_status": 0})
    return 0
