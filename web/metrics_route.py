"""GET /metrics: the Prometheus metrics in the text exposition format (metrics.EXPOSITION_REGISTRY:
this process's, or with several API processes the merge of every process of the set, the worker
of `shutter run` included), plus the values read at scrape time (the arq queue depth).

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

from metrics import EXPOSITION_REGISTRY, MULTIPROCESS_DIR, QUEUE_DEPTH, SCRAPE_TIME_REGISTRY
from resources import Resources
from settings import Settings
from storage.jobs import queue_depth

log = logging.getLogger("shutter.metrics")

SCRAPE_READ_TIMEOUT_SECONDS = 1.0


def metrics_route(settings: Settings) -> Route:
    """The /metrics route for these settings (mount it only when METRICS_ENABLED)."""
    token = settings.metrics_token

    async def metrics(request: Request) -> Response:
        """Render every metric. Side effects: one ZCARD on Redis (the queue depth gauge); with
        several processes, reads every process's metric files."""
        if not _allowed(request, token):
            return PlainTextResponse("forbidden\n", status_code=403)
        resources: Resources = request.app.state.resources
        try:
            depth = await asyncio.wait_for(
                queue_depth(resources.redis), SCRAPE_READ_TIMEOUT_SECONDS
            )
        except Exception:  # Redis down: the rest of the metrics are still worth serving
            log.warning("queue depth unavailable for /metrics", exc_info=True)
            body = await _render_exposition()
        else:
            QUEUE_DEPTH.set(depth)
            read_now = generate_latest(SCRAPE_TIME_REGISTRY)  # before another scrape sets it
            body = await _render_exposition() + read_now
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics, methods=["GET"])


async def _render_exposition() -> bytes:
    """metrics.EXPOSITION_REGISTRY in the text format. With several processes, merging their
    files takes tens of milliseconds (about 95 ms for 4 processes with 200 operation names each,
    measured on the 2-core development machine): it runs in a thread then, so that the event
    loop keeps serving meanwhile. With one process, in the loop as before (no thread hop)."""
    if MULTIPROCESS_DIR is None:
        return generate_latest(EXPOSITION_REGISTRY)
    return await asyncio.to_thread(generate_latest, EXPOSITION_REGISTRY)


def _allowed(request: Request, token: str | None) -> bool:
    if token is not None:
        presented = request.headers.get("authorization", "")
        return hmac.compare_digest(presented.encode(), f"Bearer {token}".encode())
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
