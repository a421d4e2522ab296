"""create_app(settings) -> the Starlette application: GraphQL over HTTP and websockets, the
offline GraphiQL explorer, and health probes. The lifespan opens the process's Resources."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from resources import Resources, load_or_create_secret_key, open_resources
from schema.build import build_schema
from services import media as media_service
from settings import Settings
from storage import pg
from storage.blobs import local_blob_store
from tracing import tracing_middleware
from web.account_pages import account_page_routes
from web.blob_routes import blob_routes
from web.connections import ConnectionsMiddleware, WebSocketRegistry
from web.graphiql import GRAPHIQL_STATIC_DIR
from web.graphql_endpoint import GraphQLEndpoint
from web.metrics_route import metrics_route
from web.request_ids import RequestIdMiddleware
from web.security import security_middleware

log = logging.getLogger("shutter.app")

READINESS_TIMEOUT_SECONDS = 1.0
"""How long /readyz waits for each service's answer: a stopped Redis or PostgreSQL is "not
ready" within this time (probes such as Kubernetes' time out after 1 s by default)."""

GC_YOUNG_THRESHOLD = 10_000
"""Net container allocations between young-generation collections (CPython's default is 700).

A full collection stops the event loop for as long as it takes to traverse every object that
arrived after start-up, and each open websocket keeps a few hundred (uvicorn's and Strawberry's
per-socket state, its tasks and coroutine chains): with 1,000 subscribed sockets one full
collection took 250-310 ms, the whole p99 of a request. CPython runs one whenever the objects
promoted to the oldest generation since the last reach a quarter of it, and at the default
threshold every request's in-flight objects are caught and promoted many times over. At 10,000
far fewer are, so full collections become rare (none in a 20 s run of 20 likes/s with 1,000
subscriptions, from one every ~20 s), while a young collection still scans only ~10,000 objects
(a few ms). Measured with `python -m bench.notify`.
"""


def create_app(settings: Settings) -> Starlette:
    """The ASGI app. Connections open in the lifespan, so one app object serves one process."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_resources(settings) as resources:
            app.state.resources = resources
            await resources.events.start()
            # Objects alive after start-up live for the whole process: keep them out of the
            # collector's generations so full collections stay short under load
            # (docs/architecture.md).
            gc.collect()
            gc.freeze()
            # Young collections rarer: fewer objects promoted, so rarer full collections, whose
            # pause grows with the number of open websockets (see GC_YOUNG_THRESHOLD).
            gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
            try:
                yield
            finally:
                await resources.events.stop()

    graphql = GraphQLEndpoint(build_schema(settings), settings=settings)
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        *account_page_routes(),
    ]
    if settings.metrics_enabled:
        routes.append(metrics_route(settings))
    if settings.storage_backend == "local":
        # The local backend is stateless: these routes check the same signatures as the store
        # the resources open (same settings, same key).
        store = local_blob_store(settings, signing_key=load_or_create_secret_key(settings).encode())

        async def accepts_upload(key: str) -> bool:
            resources: Resources = app.state.resources
            return await media_service.accepts_upload(resources.db, key)

        routes += blob_routes(
            store, max_upload_bytes=settings.max_video_bytes, accepts_upload=accepts_upload
        )
    if settings.graphiql_enabled:
        routes += [
            Route("/", lambda _: RedirectResponse("/graphql")),
            Route("/graphiql", lambda _: RedirectResponse("/graphql")),
            Mount("/graphiql/static", StaticFiles(directory=GRAPHIQL_STATIC_DIR)),
        ]
    # RequestIdMiddleware stays outermost (only tracing wraps it): every answer, refusals
    # included, carries the id. The access log and websocket tracking see refusals too.
    websockets = WebSocketRegistry()
    middleware = [
        *tracing_middleware(),
        Middleware(RequestIdMiddleware),
        Middleware(ConnectionsMiddleware, registry=websockets, access_log=settings.access_log),
        *security_middleware(settings),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    # Closed with 1001 when the server shuts down (cli's server calls close_all).
    app.state.websockets = websockets
    return app


async def healthz(_: Request) -> Response:
    """The process is up (liveness)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """PostgreSQL and Redis both answer (readiness); 503 naming what does not."""
    resources: Resources = request.app.state.resources
    checks = {
        "postgres": _check("postgres", pg.ping(resources.db)),
        "redis": _check("redis", resources.redis.ping()),
    }
    results = dict(zip(checks, await asyncio.gather(*checks.values()), strict=True))
    ready = all(results.values())
    body = {"status": "ready" if ready else "not ready"} | {
        name: "ok" if ok else "unavailable" for name, ok in results.items()
    }
    return JSONResponse(body, status_code=200 if ready else 503)


async def _check(name: str, probe: Awaitable[object]) -> bool:
    """Whether `probe` succeeded within READINESS_TIMEOUT_SECONDS. Side effect: a warning line
    (the error's class and message, no traceback: probes repeat every few seconds) if not."""
    try:
        await asyncio.wait_for(probe, READINESS_TIMEOUT_SECONDS)
    except Exception as error:  # any failure means "not ready"; the probe says which, not why
        log.warning("readiness probe failed: %s: %s: %s", name, type(error).__name__, error)
        return False
    return True
