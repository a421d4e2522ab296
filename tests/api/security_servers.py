"""A second real app on its own loopback port, configured like `shutter serve` configures uvicorn
(resolvers.security.server_options), for tests that need other settings than the shared live
server's (a small websocket limit, an untrusted proxy)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn

from app import create_app
from resolvers.security import server_options
from settings import Settings
from tests.conftest import free_port


@contextlib.asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[str]:
    """Serve `create_app(settings)` with the CLI's security options; yields the base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="on",
            **server_options(settings),
        )
    )
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
        if task.done():
            task.result()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
