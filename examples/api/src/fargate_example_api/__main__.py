"""`python -m fargate_example_api [--host H] [--port P] ...`: the container's entry point.

Every option falls back to an environment variable, so the task definition can set them
without a command: PORT, HOST, KEEP_ALIVE_TIMEOUT, GRACEFUL_SHUTDOWN_TIMEOUT, LOG_LEVEL.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from fargate_example_api import __version__
from fargate_example_api.server import (
    DEFAULT_GRACEFUL_TIMEOUT,
    DEFAULT_KEEP_ALIVE,
    DEFAULT_PORT,
    build_server,
    serve,
)
from fargate_example_api.settings import Settings, SettingsError

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port")
    return value


def parser() -> argparse.ArgumentParser:
    env = os.environ
    p = argparse.ArgumentParser(
        prog="python -m fargate_example_api",
        description="Serve fargate-example-api with uvicorn (JSON logs, graceful SIGTERM).",
    )
    p.add_argument("--version", action="version", version=__version__)
    p.add_argument("--host", default=env.get("HOST") or "0.0.0.0")
    p.add_argument("--port", type=_port, default=env.get("PORT") or str(DEFAULT_PORT))
    p.add_argument(
        "--keep-alive",
        type=_positive_int,
        default=env.get("KEEP_ALIVE_TIMEOUT") or str(DEFAULT_KEEP_ALIVE),
        help="seconds an idle connection stays open; must exceed the ALB idle timeout "
        f"(default {DEFAULT_KEEP_ALIVE})",
    )
    p.add_argument(
        "--graceful-timeout",
        type=_positive_int,
        default=env.get("GRACEFUL_SHUTDOWN_TIMEOUT") or str(DEFAULT_GRACEFUL_TIMEOUT),
        help="seconds in-flight requests get after SIGTERM; keep it below the task's "
        f"stopTimeout (default {DEFAULT_GRACEFUL_TIMEOUT})",
    )
    p.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default=(env.get("LOG_LEVEL") or "info").lower(),
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"fargate_example_api: {exc}", file=sys.stderr)
        return 2
    server = build_server(
        host=args.host,
        port=args.port,
        keep_alive=args.keep_alive,
        graceful_timeout=args.graceful_timeout,
        log_level=args.log_level,
        settings=settings,
    )
    return serve(server)


if __name__ == "__main__":
    raise SystemExit(main())
