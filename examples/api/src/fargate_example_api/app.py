"""The ASGI application: `create_app()` builds it from `Settings` (the environment)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Literal

import httpx
from fastapi import FastAPI, Query, Request, Response, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from fargate_example_api import __version__, jsonlog
from fargate_example_api.items import ItemStore
from fargate_example_api.items import router as items_router
from fargate_example_api.middleware import AccessLogMiddleware
from fargate_example_api.settings import Settings
from fargate_example_api.whoami import TaskIdentity, WhoAmI, resolve_identity, whoami

log = logging.getLogger(jsonlog.LOGGER)

MAX_DEBUG_DELAY = 120.0


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Slept(BaseModel):
    slept: float


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves on this path (FastAPI has a route per method)."""
    methods: set[str] = set()
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path_regex.match(path):
            methods |= route.methods or set()
    return sorted(methods)


async def _http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's handler, but a 405's Allow header lists all the path's methods.

    Starlette fills it from the first route whose path matched, so `PATCH /items/1`
    would say `Allow: GET` although PUT and DELETE work too (RFC 9110 wants them all).
    """
    if not isinstance(exc, StarletteHTTPException):  # registered for these only
        raise exc
    if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        allow = ", ".join(allowed_methods(request.app, request.url.path))
        exc = StarletteHTTPException(
            exc.status_code, exc.detail, {**(exc.headers or {}), "Allow": allow}
        )
    return await http_exception_handler(request, exc)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings if settings is not None else Settings.from_env()
    jsonlog.set_task_id(settings.task_id)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(follow_redirects=False) as client:
            app.state.http = client
            identity = await resolve_identity(settings, client)
            app.state.identity = identity
            jsonlog.set_task_id(identity.task_id)
            facts = {
                "version": __version__,
                "private_ip": identity.private_ip,
                "availability_zone": identity.availability_zone,
                "revision": identity.revision,
                "echo_url": settings.echo_url,
            }
            log.info("started", extra={k: v for k, v in facts.items() if v is not None})
            yield
            log.info("application shutdown")

    app = FastAPI(
        title="fargate-example-api",
        version=__version__,
        summary="A small JSON API deployed by fargate-api: items, health and whoami.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.items = ItemStore()
    app.state.identity = TaskIdentity.from_settings(settings)
    app.add_middleware(AccessLogMiddleware)
    app.include_router(items_router)
    app.add_exception_handler(StarletteHTTPException, _http_error)

    @app.get("/health", tags=["ops"])
    async def health() -> Health:
        """The load balancer's health check: answers at once, calls nothing."""
        return Health()

    @app.get("/whoami", tags=["ops"])
    async def get_whoami(request: Request) -> WhoAmI:
        """The task that answered, and its egress IP as an echo service sees it."""
        client: httpx.AsyncClient | None = getattr(request.app.state, "http", None)
        if client is None:  # served without the lifespan (some test clients)
            async with httpx.AsyncClient(follow_redirects=False) as own:
                return await whoami(request.app.state.identity, own, settings)
        return await whoami(request.app.state.identity, client, settings)

    if settings.debug_routes:

        @app.get("/debug/slow", include_in_schema=False)
        async def slow(
            seconds: Annotated[float, Query(ge=0, le=MAX_DEBUG_DELAY)] = 1.0,
        ) -> Slept:
            """A request that stays in flight: tests of graceful shutdown."""
            log.info("slow request started", extra={"seconds": seconds})
            await asyncio.sleep(seconds)
            return Slept(slept=seconds)

    return app
