"""The access log: one JSON line per request, written when the response ends."""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fargate_example_api.jsonlog import ACCESS_LOGGER

log = logging.getLogger(ACCESS_LOGGER)

# The ALB's health checks every few seconds per task would drown the log at INFO.
QUIET_PATHS = frozenset({"/health"})


class AccessLogMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware): it does not buffer or copy the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status: int | None = None
        outcome = "completed"

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except asyncio.CancelledError:
            outcome = "cancelled"  # e.g. still running when the graceful shutdown timed out
            raise
        except Exception:
            outcome = "failed"
            status = status or 500
            raise
        finally:
            path = str(scope.get("path", ""))
            client = scope.get("client")
            headers = dict(scope.get("headers") or [])
            fields = {
                "method": scope.get("method"),
                "path": path,
                "query": scope.get("query_string", b"").decode("latin-1") or None,
                "status": status,
                "duration_ms": round((time.perf_counter() - start) * 1000, 2),
                "client_ip": client[0] if client else None,
                "user_agent": headers.get(b"user-agent", b"").decode("latin-1") or None,
                # The ALB adds X-Amzn-Trace-Id: the same id is in its access logs.
                "trace_id": headers.get(b"x-amzn-trace-id", b"").decode("latin-1") or None,
                "outcome": outcome,
            }
            level = logging.DEBUG if path in QUIET_PATHS and status == 200 else logging.INFO
            extra = {key: value for key, value in fields.items() if value is not None}
            log.log(level, "%s %s %s", scope.get("method"), path, status or outcome, extra=extra)
