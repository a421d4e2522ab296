"""GET /metrics: the process's Prometheus metrics in the text exposition format, plus the values
read at scrape time (the arq queue depth).

Guarded: with METRICS_TOKEN set, only requests with `Authorization: Bearer <token>` get an
answer; without it, only loopback clients (a sidecar or node agent scraping locally)."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from metrics import QUEUE_DEPTH, REGISTRY, SCRAPE_TIME_REGISTRY
from resources import Resources
from settings import Settings
from storage.jobs import queue_depth

log = logging.getLogger("shutter.metrics")

SCRAPE_READ_TIMEOUT_SECONDS = 1.0


def metrics_route(settings: Settings) -> Route:
    """The /metrics route for these settings (mount it only when METRICS_ENABLED)."""
    token = settings.metrics_token

    async def metrics(request: Request) -> Response:
        """Render every metric. Side effect: one ZCARD on Redis (the queue depth gauge)."""
        if not _allowed(request, token):
            return PlainTextResponse("forbidden\n", status_code=403)
        resources: Resources = request.app.state.resources
        try:
            depth = await asyncio.wait_for(
                queue_depth(resources.redis), SCRAPE_READ_TIMEOUT_SECONDS
            )
        except Exception:  # Redis down: the rest of the metrics are still worth serving
            log.warning("queue depth unavailable for /metrics", exc_info=True)
            body = generate_latest(REGISTRY)
        else:
            QUEUE_DEPTH.set(depth)
            body = generate_latest(REGISTRY) + generate_latest(SCRAPE_TIME_REGISTRY)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics, methods=["GET"])


def _allowed(request: Request, token: str | None) -> bool:
    if token is not None:
        presented = request.headers.get("authorization", "")
        return hmac.compare_digest(presented.encode(), f"Bearer {token}".encode())
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
